#include "ganpp/core/resources.h"
#include "ganpp/apps/evaluate.h"
#include "ganpp/core/device.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "ganpp/core/error.h"
#include "ganpp/data/augment.h"
#include "ganpp/data/dataset.h"
#include "ganpp/io/archive.h"
#include "ganpp/io/image.h"
#include "ganpp/io/npz.h"
#include "ganpp/metrics/fid.h"
#include "ganpp/metrics/inception_score.h"
#include "ganpp/metrics/kid.h"
#include "ganpp/metrics/prdc.h"
#include "ganpp/train/run.h"
#include "ganpp/train/trainer.h"

namespace fs = std::filesystem;

namespace ganpp {
namespace {

bool ends_with(const std::string& s, const std::string& e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

// Images of a folder, all of one size and channel count (else an error naming the odd file).
std::vector<fs::path> folder_images(const fs::path& dir) {
  std::vector<fs::path> files;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    std::string x = e.path().extension().string();
    std::transform(x.begin(), x.end(), x.begin(), ::tolower);
    if (e.is_regular_file() && (x == ".png" || x == ".jpg" || x == ".jpeg" || x == ".bmp")) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw Error(fmt::format("'{}' holds no images (.png .jpg .jpeg .bmp)", dir.string()));
  return files;
}

// The config a run folder was trained with (so that real images are prepared like the fake ones); its data section
// is all that is needed, so the weights are not loaded.
Config run_data_config(const std::string& run) { return Config::from_yaml_file(run::config(run)); }

// Cache file for the real features of a dataset source, or empty when the source is not a dataset.
fs::path feature_cache_path(const std::string& spec, const std::string& features, int64_t n) {
  if (fs::exists(spec.substr(0, spec.find('@')))) return {};
  std::string key = spec;
  if (auto at = spec.find('@'); at != std::string::npos) {
    // Prepared like a run: the run's data section decides the images.
    Config c = run_data_config(spec.substr(at + 1));
    key = spec.substr(0, at) + "|" + std::to_string(c.get_int("data.resolution")) + "|" + c.get_str("data.fit");
  }
  key += "|" + features + "|" + std::to_string(n);
  const char* env = std::getenv("GANPP_CACHE");
  const char* home = std::getenv("HOME");
  fs::path dir = env ? fs::path(env) : fs::path(home ? home : "/tmp") / ".cache" / "ganpp";
  return dir / "features" / fmt::format("{:016x}.npz", std::hash<std::string>{}(key));
}

}  // namespace

bool ImageSource::is_stats() const { return ends_with(spec, ".npz") && fs::is_regular_file(spec); }

void ImageSource::for_each_batch(int64_t n, int64_t batch,
                                 const std::function<void(const torch::Tensor&, const torch::Tensor&)>& fn) const {
  torch::NoGradGuard ng;
  if (fs::is_directory(spec) && fs::exists(fs::path(spec) / "checkpoints")) {
    LoadedGenerator lg = load_generator(spec);
    lg.g->to(device);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(12345);
    const int64_t k = lg.g->num_classes();
    for (int64_t done = 0; done < n; done += batch) {
      int64_t b = std::min(batch, n - done);
      torch::Tensor y;
      if (k > 0) y = cycle_labels(b, k, done);  // class-balanced over the whole set
      auto z = latent_noise(b, lg.g->z_dim(), lg.config.get_str("model.z_dist") == "uniform", gen).to(device);
      fn(lg.g->forward(z, y.defined() ? y.to(device) : y), y);
    }
    return;
  }
  if (fs::is_directory(spec)) {
    auto files = folder_images(spec);
    Image first = decode_image(files[0]);
    int64_t count = std::min<int64_t>(n, static_cast<int64_t>(files.size()));
    std::vector<torch::Tensor> buf;
    for (int64_t i = 0; i < count; ++i) {
      Image img = decode_image(files[static_cast<size_t>(i)]);
      if (img.width != first.width || img.height != first.height || img.channels != first.channels)
        throw Error(fmt::format("'{}' is {}x{}x{} but '{}' is {}x{}x{}: an evaluation folder needs images of one size "
                                "and channel count",
                                files[static_cast<size_t>(i)].string(), img.width, img.height, img.channels,
                                files[0].string(), first.width, first.height, first.channels));
      buf.push_back(to_unit_range(image_to_tensor(img)));
      if (static_cast<int64_t>(buf.size()) == batch || i + 1 == count) {
        fn(torch::stack(buf), torch::Tensor());
        buf.clear();
      }
    }
    return;
  }
  // A dataset name, optionally "name:path"; its test split, prepared like the run given as `run:` prefix if any.
  std::string name = spec, path, run;
  if (auto at = name.find('@'); at != std::string::npos) run = name.substr(at + 1), name = name.substr(0, at);
  if (auto c = name.find(':'); c != std::string::npos) path = name.substr(c + 1), name = name.substr(0, c);
  if (!DatasetRegistry::instance().has(name))
    throw Error(fmt::format("--real/--fake '{}' is neither a folder, a run folder, a .npz statistics file nor a dataset "
                            "(datasets: fashion-mnist, mnist:PATH, idx:PATH)",
                            spec));
  Config c = run.empty() ? Config() : run_data_config(run);
  c.set("data.dataset", name);
  if (!path.empty()) c.set("data.path", path);
  if (run.empty()) c.set("data.resolution", "28");
  c.set("data.split", "test");
  c.set("data.limit", "0");
  for (auto k : {"data.hflip", "data.rotate", "data.translate"}) c.set(k, "0");
  auto ds = create_dataset(c);
  int64_t count = std::min(n, ds->size());
  for (int64_t s = 0; s < count; s += batch) {
    std::vector<int64_t> idx;
    for (int64_t i = s; i < std::min(count, s + batch); ++i) idx.push_back(i);
    fn(ds->get(idx, std::vector<uint64_t>(idx.size(), 0)), ds->labels(idx));
  }
}

namespace {

void check_metrics(const std::vector<std::string>& metrics) {
  for (auto& m : metrics)
    if (m != "fid" && m != "kid" && m != "is" && m != "pr" && m != "dc")
      throw Error(fmt::format("--metrics: unknown metric '{}'; expected fid, kid, is, pr, dc", m));
}

// The requested metrics from real statistics/features and fake features (+ logits for IS) into `r`.
void add_metrics(nlohmann::json& r, const EvalOptions& opt, const FeatureStats& real_stats, const FeatureStats& fake_stats,
                 const torch::Tensor& real, const torch::Tensor& fake, const torch::Tensor& logits, int64_t is_splits,
                 const std::string& no_logits) {
  auto want = [&](const std::string& m) { return std::find(opt.metrics.begin(), opt.metrics.end(), m) != opt.metrics.end(); };
  if (want("fid")) r["fid"] = frechet_distance(real_stats, fake_stats);
  const bool pairwise = want("pr") || want("dc");
  if (want("kid") && !pairwise) {
    auto k = kernel_inception_distance(real, fake, opt.kid_subset, opt.kid_subsets, static_cast<uint64_t>(opt.seed));
    r["kid"] = {{"mean", k.mean}, {"std", k.std}, {"subset_size", k.subset_size}, {"subsets", k.subsets}};
  }
  if (want("is")) {
    if (!logits.defined()) throw Error(no_logits);
    auto is = inception_score(logits, is_splits);
    r["is"] = {{"mean", is.mean}, {"std", is.std}, {"splits", is.splits}};
  }
  if (pairwise) {
    // PR/DC need the full real-real, fake-fake and fake-real distance matrices; KID's subsets (and the full-sample
    // MMD²) are summed from the same inner products in that one sweep.
    PairwiseOptions po;
    po.kid = want("kid");
    po.kid_subset_size = opt.kid_subset;
    po.kid_subsets = opt.kid_subsets;
    po.kid_seed = static_cast<uint64_t>(opt.seed);
    auto pw = pairwise_metrics(real, fake, po);
    auto& p = pw.prdc;
    if (want("pr")) r["precision"] = p.precision, r["recall"] = p.recall;
    if (want("dc")) r["density"] = p.density, r["coverage"] = p.coverage;
    if (po.kid)
      r["kid"] = {{"mean", pw.kid.mean}, {"std", pw.kid.std}, {"subset_size", pw.kid.subset_size},
                  {"subsets", pw.kid.subsets}, {"full", pw.kid_full}};
  }
}

// Metrics straight from saved feature arrays (e.g. another tool's, or ganpp's --save-features).
nlohmann::json evaluate_features(const EvalOptions& opt) {
  auto a = load_npz(opt.from_features);
  const std::string src = opt.from_features.string();
  if (!a.count("real") || !a.count("fake"))
    throw Error(fmt::format("'{}' needs arrays 'real' and 'fake' (one row per image)", src));
  auto real = a["real"], fake = a["fake"];
  if (real.dim() != 2 || fake.dim() != 2 || real.size(1) != fake.size(1))
    throw Error(fmt::format("'{}': 'real' and 'fake' must be [N, D] with the same D", src));
  nlohmann::json r;
  r["features"] = "precomputed (" + src + ")";
  r["real"] = {{"source", src}, {"samples", real.size(0)}};
  r["fake"] = {{"source", src}, {"samples", fake.size(0)}};
  add_metrics(r, opt, feature_stats(real), feature_stats(fake), real, fake, a.count("logits") ? a["logits"] : torch::Tensor(), 10,
              fmt::format("'{}' has no 'logits' array for IS", src));
  return r;
}

}  // namespace

nlohmann::json evaluate(const EvalOptions& opt) {
  check_metrics(opt.metrics);
  if (!opt.from_features.empty()) return evaluate_features(opt);
  const torch::Device device = parse_device(opt.device);
  auto fx = create_feature_extractor(opt.features);
  fx->to(device);
  auto want = [&](const std::string& m) { return std::find(opt.metrics.begin(), opt.metrics.end(), m) != opt.metrics.end(); };
  // Features (not images) are kept: the real ones go to the cache, the fake ones serve KID/PR/DC/--save-features.
  nlohmann::json report;
  report["features"] = fx->describe();
  report["requested_samples"] = opt.n;

  // Real images prepared like the run's own data when the fake side is a run folder.
  std::string real_spec = opt.real;
  if (fs::is_directory(opt.fake) && fs::exists(fs::path(opt.fake) / "checkpoints") && !fs::exists(opt.real) &&
      real_spec.find('@') == std::string::npos)
    real_spec += "@" + opt.fake;

  struct Side {
    StatsAccumulator stats;
    std::vector<torch::Tensor> feats, logits, labels, class_feats;
    int64_t n = 0;
  };
  // keep: the feature rows themselves are needed (KID, PR/DC, --save-features, the real-side cache); FID and IS
  // need only running statistics and logits. Images are never held beyond one batch.
  auto run_side = [&](const std::string& spec, Side& side, const char* label, bool keep) {
    ImageSource src{spec, device};
    auto t0 = std::chrono::steady_clock::now();
    src.for_each_batch(opt.n, opt.batch, [&](const torch::Tensor& images, const torch::Tensor& labels) {
      auto [f, l] = fx->extract(images);
      side.stats.add(f);
      if (keep) side.feats.push_back(f.to(torch::kFloat));
      if (labels.defined()) {  // per-class metrics: features by label
        side.labels.push_back(labels);
        if (!keep) side.class_feats.push_back(f.to(torch::kFloat));
      }
      if (l.defined()) side.logits.push_back(l.to(torch::kDouble));
      side.n += images.size(0);
      if (opt.progress)
        std::cerr << fmt::format("\r{}: {} images, {:.0f} img/s   ", label, side.n,
                                 side.n / std::max(1e-9, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()))
                  << std::flush;
    });
    if (opt.progress) std::cerr << "\n";
    report[std::string(label) + "_images_per_s"] =
        side.n / std::max(1e-9, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  };

  Side real, fake;
  FeatureStats real_stats;
  ImageSource real_src{real_spec};
  if (real_src.is_stats()) {
    real_stats = load_stats(real_spec);
    if (want("kid") || want("pr") || want("dc"))
      throw Error(fmt::format("--real '{}' is a statistics file: it supports FID only (drop kid/pr/dc)", real_spec));
    report["real"] = {{"source", real_spec}, {"samples", real_stats.n}};
  } else {
    fs::path cache = opt.cache ? feature_cache_path(real_spec, fx->describe(), opt.n) : fs::path();
    // A cache written before labels were stored is recomputed (per-class metrics need them).
    std::map<std::string, torch::Tensor> a;
    if (!cache.empty() && fs::exists(cache)) a = load_npz(cache);
    if (a.count("features") && a.count("labels")) {
      real.stats.add(a.at("features"));
      real.feats.push_back(a.at("features"));
      if (a.at("labels").numel() > 0) real.labels.push_back(a.at("labels").to(torch::kLong));
      real.n = a.at("features").size(0);
      report["real_cache"] = cache.string();
    } else {
      run_side(real_spec, real, "real", true);
      if (!cache.empty()) {
        fs::create_directories(cache.parent_path());
        save_npz(cache, {{"features", torch::cat(real.feats)},
                         {"labels", real.labels.empty() ? torch::zeros({0}, torch::kLong) : torch::cat(real.labels)}});
      }
    }
    real_stats = real.stats.stats();
    report["real"] = {{"source", real_spec}, {"samples", real.n}};
  }
  run_side(opt.fake, fake, "fake", want("kid") || want("pr") || want("dc") || !opt.save_features.empty());
  report["fake"] = {{"source", opt.fake}, {"samples", fake.n}};
  if (real.n && real.n < opt.n) report["warning_real"] = fmt::format("only {} real images available", real.n);
  if (fake.n < opt.n) report["warning_fake"] = fmt::format("only {} fake images available", fake.n);
  if (fake.n < 2) throw Error("evaluation needs at least 2 fake images");

  torch::Tensor rf = !real.feats.empty() ? torch::cat(real.feats) : torch::Tensor();
  torch::Tensor ff = !fake.feats.empty() ? torch::cat(fake.feats) : torch::Tensor();
  add_metrics(report, opt, real_stats, fake.stats.stats(), rf, ff, fake.logits.empty() ? torch::Tensor() : torch::cat(fake.logits),
              std::min<int64_t>(10, fake.n), "IS needs class logits; this feature network gives none");
  // A conditional run against a labelled dataset: how often the feature network recognises the requested class,
  // and FID per class (real images of class c against samples generated for class c).
  if (!fake.labels.empty()) {
    auto fy = torch::cat(fake.labels);
    nlohmann::json pc;
    if (!fake.logits.empty()) {
      auto pred = torch::cat(fake.logits).argmax(1);
      report["class_accuracy"] = (pred == fy).to(torch::kDouble).mean().item<double>();
      for (int64_t c = 0; c <= fy.max().item<int64_t>(); ++c) {
        auto m = fy == c;
        pc[std::to_string(c)]["accuracy"] = (pred.masked_select(m) == c).to(torch::kDouble).mean().item<double>();
      }
    }
    if (!real.labels.empty() && rf.defined() && want("fid")) {
      auto ry = torch::cat(real.labels);
      auto fx_all = ff.defined() ? ff : torch::cat(fake.class_feats);
      for (int64_t c = 0; c <= fy.max().item<int64_t>(); ++c) {
        auto r_c = rf.index_select(0, (ry == c).nonzero().reshape({-1}));
        auto f_c = fx_all.index_select(0, (fy == c).nonzero().reshape({-1}));
        if (r_c.size(0) < 2 || f_c.size(0) < 2) continue;
        pc[std::to_string(c)]["fid"] = frechet_distance(feature_stats(r_c), feature_stats(f_c));
        pc[std::to_string(c)]["real"] = r_c.size(0);
        pc[std::to_string(c)]["fake"] = f_c.size(0);
      }
    }
    if (!pc.empty()) report["per_class"] = pc;
  }
  if (!opt.save_features.empty()) {
    std::map<std::string, torch::Tensor> arrays{{"fake", ff}};
    if (rf.defined()) arrays["real"] = rf;
    if (!fake.logits.empty()) arrays["logits"] = torch::cat(fake.logits).to(torch::kFloat);
    save_npz(opt.save_features, arrays);
    report["saved_features"] = opt.save_features.string();
  }
  report["peak_rss_mb"] = peak_rss_mb();
  return report;
}

std::string format_report(const nlohmann::json& r) {
  std::string s = fmt::format("features: {}\nreal: {} ({} samples)\nfake: {} ({} samples)\n", r["features"].get<std::string>(),
                              r["real"]["source"].get<std::string>(), r["real"]["samples"].get<int64_t>(),
                              r["fake"]["source"].get<std::string>(), r["fake"]["samples"].get<int64_t>());
  if (r.contains("fid")) s += fmt::format("FID       {:.4f}\n", r["fid"].get<double>());
  if (r.contains("kid")) s += fmt::format("KID       {:.6f} ± {:.6f} ({} subsets of {})\n", r["kid"]["mean"].get<double>(),
                                          r["kid"]["std"].get<double>(), r["kid"]["subsets"].get<int64_t>(),
                                          r["kid"]["subset_size"].get<int64_t>());
  if (r.contains("kid") && r["kid"].contains("full"))
    s += fmt::format("KID (all samples, unbiased) {:.6f}\n", r["kid"]["full"].get<double>());
  if (r.contains("is")) s += fmt::format("IS        {:.4f} ± {:.4f}\n", r["is"]["mean"].get<double>(), r["is"]["std"].get<double>());
  if (r.contains("precision")) s += fmt::format("precision {:.4f}  recall {:.4f}\n", r["precision"].get<double>(), r["recall"].get<double>());
  if (r.contains("density")) s += fmt::format("density   {:.4f}  coverage {:.4f}\n", r["density"].get<double>(), r["coverage"].get<double>());
  if (r.contains("class_accuracy"))
    s += fmt::format("generated samples classified as the requested class: {:.2f} %\n", 100 * r["class_accuracy"].get<double>());
  if (r.contains("per_class")) {
    s += "per class:";
    for (auto& [c, v] : r["per_class"].items()) {
      s += fmt::format("  {}:", c);
      if (v.contains("fid")) s += fmt::format(" FID {:.3f}", v["fid"].get<double>());
      if (v.contains("accuracy")) s += fmt::format(" acc {:.1f}%", 100 * v["accuracy"].get<double>());
    }
    s += "\n";
  }
  for (auto w : {"warning_real", "warning_fake"})
    if (r.contains(w)) s += "warning: " + r[w].get<std::string>() + "\n";
  return s;
}

double train_evaluator(const EvaluatorTrainOptions& opt) {
  if (opt.out.empty()) throw Error("evaluator train: --out is required");
  set_threads(opt.threads);
  torch::manual_seed(static_cast<uint64_t>(opt.seed));
  auto load = [&](const std::string& split) {
    Config c;
    c.set("data.dataset", opt.dataset);
    if (!opt.data_path.empty()) c.set("data.path", opt.data_path);
    c.set("data.resolution", "28");
    c.set("data.split", split);
    if (split == "train" && opt.limit > 0) c.set("data.limit", std::to_string(opt.limit));
    return create_dataset(c);
  };
  auto train = load("train"), test = load("test");
  if (train->spec().num_classes < 2) throw Error(fmt::format("dataset '{}' has no class labels", opt.dataset));
  EvaluatorNet net(train->spec().num_classes, train->spec().shape[0], opt.width);
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(opt.lr));
  AugmentOptions aug;
  aug.translate = 0.5;
  aug.translate_frac = 0.08;
  aug.hflip = opt.hflip ? 0.5 : 0.0;
  Loader loader(train, opt.batch, static_cast<uint64_t>(opt.seed), aug, 2);
  const int64_t steps = opt.epochs * loader.batches_per_epoch();
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < steps; ++step) {
    // Cosine learning-rate decay.
    double lr = opt.lr * 0.5 * (1 + std::cos(M_PI * double(step) / double(steps)));
    for (auto& g : adam.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
    Batch b = loader.next();
    net->train();
    auto logits = net->forward(b.x).second;
    auto loss = torch::nn::functional::cross_entropy(logits, b.y);
    adam.zero_grad();
    loss.backward();
    adam.step();
    if ((step + 1) % loader.batches_per_epoch() == 0)
      std::cerr << fmt::format("epoch {}/{}: loss {:.4f}, {:.0f} s\n", (step + 1) / loader.batches_per_epoch(),
                               opt.epochs, loss.item<double>(),
                               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  net->eval();
  torch::NoGradGuard ng;
  int64_t correct = 0;
  for (int64_t s = 0; s < test->size(); s += 500) {
    std::vector<int64_t> idx;
    for (int64_t i = s; i < std::min(test->size(), s + 500); ++i) idx.push_back(i);
    auto pred = net->forward(test->get(idx, std::vector<uint64_t>(idx.size(), 0))).second.argmax(1);
    correct += (pred == test->labels(idx)).sum().item<int64_t>();
  }
  double acc = double(correct) / double(test->size());
  Archive a;
  put_module(a, "net", *net);
  a.meta = {{"format", "ganpp-evaluator"}, {"dataset", opt.dataset}, {"classes", train->spec().num_classes},
            {"channels", train->spec().shape[0]}, {"class_names", train->spec().class_names}, {"test_accuracy", acc},
            {"test_samples", test->size()}, {"epochs", opt.epochs}, {"seed", opt.seed}, {"batch", opt.batch},
            {"lr", opt.lr}, {"hflip", opt.hflip}, {"width", opt.width}, {"train_limit", opt.limit}};
  if (opt.out.has_parent_path()) fs::create_directories(opt.out.parent_path());
  save_archive(opt.out, a);
  return acc;
}

}  // namespace ganpp
