#include "ganpp/core/resources.h"
#include "ganpp/train/trainer.h"

#include "ganpp/train/flat_adam.h"
#include "ganpp/train/validate.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstring>

#include <cmath>
#include <ctime>
#include <fstream>
#include <iostream>
#include <thread>

#include "ganpp/core/device.h"
#include "ganpp/core/error.h"
#include "ganpp/io/image.h"
#include "ganpp/io/plot.h"
#include "ganpp/metrics/fid.h"
#include "ganpp/metrics/inception_score.h"
#include "ganpp/metrics/kid.h"
#include "ganpp/metrics/prdc.h"
#include "ganpp/train/run.h"
#include "ganpp/version.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace ganpp {

void set_threads(int64_t n) {
  int64_t t = n > 0 ? n : static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(static_cast<int>(t));
}

namespace {

std::string hms(double s) {
  if (!std::isfinite(s) || s < 0) return "--:--";
  int64_t t = static_cast<int64_t>(s + 0.5);
  return t >= 3600 ? fmt::format("{}:{:02d}:{:02d}", t / 3600, (t / 60) % 60, t % 60) : fmt::format("{:02d}:{:02d}", t / 60, t % 60);
}

std::string now_iso() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// One progress line: a bar redrawn in place on a terminal, plain lines otherwise.
class Progress {
 public:
  explicit Progress(bool quiet) : quiet_(quiet), tty_(::isatty(STDERR_FILENO)) {}
  void update(int64_t step, int64_t max, double its, double eta, double ld, double lg) {
    if (quiet_) return;
    if (tty_) {
      const int width = 24;
      int fill = max > 0 ? static_cast<int>(width * double(step) / max) : 0;
      std::string bar = std::string(fill, '=') + (fill < width ? ">" : "") + std::string(std::max(0, width - fill - 1), ' ');
      std::cerr << fmt::format("\r[{}] {}/{} | {:.2f} it/s | ETA {} | loss_d {:.4f} loss_g {:.4f}   ", bar, step, max,
                               its, hms(eta), ld, lg)
                << std::flush;
      drawn_ = true;
    } else {
      std::cerr << fmt::format("step {}/{}  {:.2f} it/s  ETA {}  loss_d {:.4f}  loss_g {:.4f}\n", step, max, its,
                               hms(eta), ld, lg);
    }
  }
  void message(const std::string& m) {
    if (quiet_) return;
    warning(m);
  }
  // Shown even with --quiet: events a user must know about (a rollback after divergence).
  void warning(const std::string& m) {
    if (drawn_) std::cerr << "\n", drawn_ = false;
    std::cerr << m << "\n";
  }
  ~Progress() {
    if (drawn_) std::cerr << "\n";
  }

 private:
  bool quiet_, tty_, drawn_ = false;
};

bool all_finite(const torch::nn::Module& m) {
  for (auto& p : m.parameters())
    if (!torch::isfinite(p).all().item<bool>()) return false;
  return true;
}

// Runs G in inference mode (batch norm on running statistics, no power iteration, no graph) on its device and
// restores its mode; the samples come back on the CPU (grids, diagnostics, feature networks).
torch::Tensor generate_eval(GeneratorImpl& g, const torch::Tensor& z) {
  bool was_training = g.is_training();
  g.eval();
  torch::NoGradGuard ng;
  const auto params = g.parameters();
  auto x = g.forward(params.empty() ? z : z.to(params.front().device())).to(torch::kCPU);
  g.train(was_training);
  return x;
}

}  // namespace

// (An evenly spaced subset with sample seed 0 once took 64 identical crops of one photo when the stride was a
// multiple of the image count under data.crops_per_image: the diversity ratio was off by 10^7.)
std::pair<std::vector<int64_t>, std::vector<uint64_t>> reference_sample(int64_t size, int64_t n, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto perm = torch::randperm(size, gen, torch::kLong).narrow(0, 0, n).contiguous();
  std::vector<int64_t> idx(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + n);
  std::vector<uint64_t> seeds(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) seeds[i] = mix64(seed, static_cast<uint64_t>(idx[i]));
  return {idx, seeds};
}

double mean_pairwise_distance(const torch::Tensor& x) {
  auto f = x.detach().reshape({x.size(0), -1}).to(torch::kDouble);
  const int64_t n = f.size(0);
  if (n < 2) return 0.0;
  auto d = torch::cdist(f, f);
  return d.sum().item<double>() / double(n * (n - 1));
}

Trainer::Trainer(Config cfg, fs::path run_dir, TrainerOptions opt)
    : cfg_(std::move(cfg)), dir_(std::move(run_dir)), opt_(opt), noise_gen_(at::make_generator<at::CPUGeneratorImpl>(0)) {
  set_threads(cfg_.get_int("threads"));
  // The loss's default penalty weight (wgan-gp: 10) is written into the effective config, so that config.yaml
  // (where every key is explicit) and a resumed run train with the same penalty.
  if (!cfg_.is_set("loss.gp")) cfg_.set("loss.gp", fmt::format("{}", gp_weight(cfg_)));
  pg_ = current_process_group();
  if (pg_ && pg_->world() == 1) pg_.reset();
  main_ = !pg_ || pg_->rank() == 0;
  if (!main_) opt_.quiet = true;  // rank 0 alone logs, samples and checkpoints
  if (pg_ && cfg_.get_int("train.batch_size") % pg_->world() != 0)
    throw Error(fmt::format("train.batch_size={} is the global batch: it must be divisible by the {} workers",
                            cfg_.get_int("train.batch_size"), pg_->world()));
  if (pg_ && (cfg_.get_int("train.batch_size") / pg_->world()) % cfg_.get_int("train.pack") != 0)
    throw Error(fmt::format("train.batch_size={} over {} workers leaves {} per worker, not divisible by train.pack={}",
                            cfg_.get_int("train.batch_size"), pg_->world(),
                            cfg_.get_int("train.batch_size") / pg_->world(), cfg_.get_int("train.pack")));
  if (const int64_t g = cfg_.get_int("model.mbstd_group"),
      local = cfg_.get_int("train.batch_size") / (pg_ ? pg_->world() : 1) / cfg_.get_int("train.pack");
      pg_ && g > 0 && local % g != 0)
    throw Error(fmt::format("model.mbstd_group={} does not divide each worker's D batch of {} (train.batch_size / "
                            "workers / train.pack): minibatch-stddev groups must lie within a worker to match one process",
                            g, local));
  if (!opt_.resume && !list_checkpoints(dir_).empty())
    throw Error(fmt::format("run folder '{}' already holds a run; continue it with `ganpp resume --run {}` or choose "
                            "another --out",
                            dir_.string(), dir_.string()));
  fs::path resume_from = opt_.resume ? latest_checkpoint(dir_) : fs::path();
  std::error_code ec;
  if (main_) {
    for (auto d : {run::samples(dir_), run::plots(dir_), run::checkpoints(dir_)}) {
      fs::create_directories(d, ec);
      if (ec) throw Error(fmt::format("cannot create run folder '{}': {}", d.string(), ec.message()));
    }
    for (auto d : {dir_, run::checkpoints(dir_)})
      if (::access(d.c_str(), W_OK) != 0)
        throw Error(fmt::format("run folder '{}' is not writable ({}): checkpoints, samples and logs go there; choose "
                                "another --out or fix its permissions",
                                d.string(), std::strerror(errno)));
    // Temporary files of checkpoint writes that a killed process left behind (never valid checkpoints).
    for (auto& e : fs::directory_iterator(run::checkpoints(dir_), ec))
      if (e.path().filename().string().find(".tmp.") != std::string::npos) fs::remove(e.path(), ec);
  }

  const uint64_t seed = static_cast<uint64_t>(cfg_.get_int("seed"));
  torch::manual_seed(seed);
  data_ = create_dataset(cfg_);
  task_ = create_task(cfg_, data_->spec());
  if (cfg_.get_bool("ema.enabled")) {
    ema_ = task_->make_generator();
    copy_weights(*ema_, *task_->generator());
    flatten_parameters(ema_->parameters());  // one buffer: the average is updated by one op when G's is flat too
  }
  loader_ = std::make_unique<Loader>(data_, cfg_.get_int("train.batch_size"), mix64(seed, 2),
                                     AugmentOptions::from_config(cfg_), static_cast<int>(cfg_.get_int("data.prefetch")),
                                     pg_ ? pg_->rank() : 0, pg_ ? pg_->world() : 1, cfg_.get_bool("data.balance_classes"));
  noise_gen_ = at::make_generator<at::CPUGeneratorImpl>(mix64(seed, 1));
  {
    auto g = at::make_generator<at::CPUGeneratorImpl>(mix64(seed, 3));
    int64_t n = cfg_.get_int("log.samples");
    if (!data_->spec().is_image()) n = std::max<int64_t>(n, 1000);
    fixed_noise_ = task_->noise(n, g);
  }
  if (!data_->spec().is_image()) {
    std::vector<int64_t> idx(static_cast<size_t>(std::min<int64_t>(data_->size(), 2000)));
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int64_t>(i);
    real_reference_ = data_->get(idx, std::vector<uint64_t>(idx.size(), 0));
  }
  {
    // Diversity reference: as many data samples as the diversity probe uses.
    const int64_t n = std::min<int64_t>({data_->size(), fixed_noise_.size(0), data_->spec().is_image() ? 64 : 1000});
    auto [idx, seeds] = reference_sample(data_->size(), n, mix64(seed, 4));
    diversity_real_ = data_->get(idx, seeds);
    real_diversity_ = mean_pairwise_distance(diversity_real_);
  }
  if (cfg_.get_int("eval.every") > 0 && main_) {
    if (!data_->spec().is_image()) throw Error("eval.every > 0 needs image data (the metrics use an image feature network)");
    evaluator_ = create_feature_extractor(cfg_.get_str("eval.features"));
    evaluator_->to(parse_device(cfg_.get_str("device")));
    const int64_t n = std::min(cfg_.get_int("eval.n"), data_->size());
    auto [idx, seeds] = reference_sample(data_->size(), n, mix64(seed, 5));
    std::vector<torch::Tensor> feats;
    for (int64_t s = 0; s < n; s += 250) {
      const int64_t e = std::min(n, s + 250);
      feats.push_back(evaluator_->extract(data_->get({idx.begin() + s, idx.begin() + e}, {seeds.begin() + s, seeds.begin() + e}))
                          .first.to(torch::kFloat));
    }
    eval_real_ = torch::cat(feats);
  }
  if (opt_.resume) {
    restore(resume_from);
    if (main_) cfg_.save(run::config(dir_));
  } else if (main_) {
    cfg_.save(run::config(dir_));
    write_file_atomic(run::metrics(dir_), "");
  }
  if (pg_) pg_->barrier();  // the run folder exists before any worker goes on
}

Trainer::~Trainer() = default;

void Trainer::restore(const fs::path& ckpt) {
  Archive a = load_checkpoint(ckpt);
  const std::string src = ckpt.string();
  auto need = [&](const std::string& k) -> const torch::Tensor& {
    auto it = a.tensors.find(k);
    if (it == a.tensors.end()) throw Error(fmt::format("'{}': checkpoint has no '{}'", src, k));
    return it->second;
  };
  task_->load(a, src);
  if (ema_) {
    if (a.meta.value("has_ema", false)) get_module(a, "G_ema", *ema_, src);
    else copy_weights(*ema_, *task_->generator());
  }
  try {
    step_ = a.meta.at("step").get<int64_t>();
    wall_before_ = a.meta.at("wall_s").get<double>();
    peak_grad_g_ = a.meta.value("peak_grad_norm_g", 0.0);
    best_value_ = a.meta.value("best_value", 0.0);
    best_step_ = a.meta.value("best_step", int64_t(-1));
    lr_scale_ = a.meta.value("lr_scale", 1.0);
    rollbacks_ = a.meta.value("rollbacks", int64_t(0));
    loader_->restore(LoaderState{a.meta.at("epoch").get<int64_t>(), a.meta.at("pos").get<int64_t>()});
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("'{}': checkpoint metadata is incomplete: {}", src, e.what()));
  }
  noise_gen_.set_state(need("rng/noise"));
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(need("rng/torch"));
  }
  fixed_noise_ = need("fixed_noise").clone();
  // metrics.jsonl: keep what the checkpoint covers, drop lines logged after it by the interrupted run.
  history_.clear();
  std::string kept;
  if (fs::exists(run::metrics(dir_))) {
    std::ifstream in(run::metrics(dir_));
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      try {
        auto j = nlohmann::json::parse(line);
        if (j.at("step").get<int64_t>() > step_) continue;
        std::map<std::string, double> h;
        for (auto& [k, v] : j.items())
          if (v.is_number()) h[k] = v.get<double>();
        history_.push_back(h);
        kept += line + "\n";
      } catch (const std::exception&) {
        // A line torn by a crash mid-write: dropped.
      }
    }
  }
  if (main_) write_file_atomic(run::metrics(dir_), kept);
  last_checkpoint_ = ckpt;
}

double Trainer::wall_seconds() const {
  return wall_before_ + std::chrono::duration<double>(Clock::now() - t_start_).count();
}

void Trainer::update_ema() {
  if (!ema_) return;
  torch::NoGradGuard ng;
  auto g = task_->generator();
  if (step_ < cfg_.get_int("ema.start")) {
    copy_weights(*ema_, *g);
    return;
  }
  const double decay = cfg_.get_float("ema.decay");
  // G and its average are the same architecture: their parameter and buffer lists correspond one to one.
  const auto src = g->parameters(), dst = ema_->parameters();
  bool same_layout = src.size() == dst.size();
  for (size_t i = 0; same_layout && i < src.size(); ++i) same_layout = src[i].strides() == dst[i].strides();
  const torch::Tensor src_flat = same_layout ? flat_view(src) : torch::Tensor(), dst_flat = flat_view(dst);
  if (src_flat.defined() && dst_flat.defined() && src_flat.numel() == dst_flat.numel()) {
    dst_flat.lerp_(src_flat, 1.0 - decay);  // one op (the flat Adam keeps G's parameters in one buffer)
  } else {
    for (size_t i = 0; i < dst.size(); ++i) dst[i].lerp_(src[i], 1.0 - decay);
  }
  const auto bsrc = g->buffers(), bdst = ema_->buffers();
  for (size_t i = 0; i < bdst.size(); ++i) bdst[i].copy_(bsrc[i]);
}

std::vector<std::string> Trainer::diagnose(std::map<std::string, double>& stats) {
  std::vector<std::string> out;
  // Mode collapse: samples from fixed noise are much less diverse than real data.
  Generator g = task_->generator();
  auto x = generate_eval(*g, fixed_noise_.narrow(0, 0, diversity_real_.size(0)));
  const double div = real_diversity_ > 0 ? mean_pairwise_distance(x) / real_diversity_ : 1.0;
  stats["diversity"] = div;
  const bool warm = step_ >= cfg_.get_int("log.warn_after");
  if (warm && div < cfg_.get_float("log.collapse_threshold")) {
    collapse_.add(step_);
    stats["warn_mode_collapse"] = 1;
    out.push_back(fmt::format(
        "warning: possible mode collapse at step {}: generated samples are {:.2f}x as diverse as real ones. Try "
        "train.pack=2..4 (PacGAN), model.mbstd_group=4, loss.name=wgan-gp or hinge, lower optim.g_lr, or "
        "more D steps (train.n_critic)",
        step_, div));
  }
  // Vanishing gradients: D is confident and G's gradient has all but disappeared.
  auto gn = stats.find("grad_norm_g");
  if (gn != stats.end()) peak_grad_g_ = std::max(peak_grad_g_, gn->second);
  if (warm && gn != stats.end() && gn->second < cfg_.get_float("log.vanish_threshold") * peak_grad_g_) {
    bool confident = true;
    std::string conf;
    if (task_->likelihood_outputs() && stats.count("p_real") && stats.count("p_fake")) {
      confident = stats["p_real"] > 0.9 && stats["p_fake"] < 0.1;
      conf = fmt::format(" while D is confident (D(x) = {:.3f}, D(G(z)) = {:.3f})", stats["p_real"], stats["p_fake"]);
    }
    if (confident) {
      vanishing_.add(step_);
      stats["warn_vanishing_gradient"] = 1;
      out.push_back(fmt::format(
          "warning: vanishing gradients at step {}: G's gradient norm is {:.2e} ({:.2g}% of its peak){}. Try loss.name=ns (not minimax), "
          "lsgan, hinge or wgan-gp; TTUR with optim.d_lr below optim.g_lr; loss.instance_noise or "
          "loss.label_smoothing; or a smaller D",
          step_, gn->second, 100 * gn->second / peak_grad_g_, conf));
    }
  }
  return out;
}

std::string Trainer::diagnostics_summary() const {
  auto one = [](const char* what, const Warnings& w) {
    return w.count == 0 ? fmt::format("no {} warnings", what)
                        : fmt::format("{} {} warning(s), steps {}..{}", w.count, what, w.first_step, w.last_step);
  };
  return "diagnostics: " + one("vanishing-gradient", vanishing_) + "; " + one("mode-collapse", collapse_);
}

namespace {
struct Diverged {
  std::string what;
};
}  // namespace

void Trainer::check_finite(const torch::Tensor& loss_d, const torch::Tensor& loss_g) {
  double ld = loss_d.item<double>(), lg = loss_g.item<double>();
  // Fault injection for the divergence tests: GANPP_FAULT_NAN_STEP=N makes loss_d NaN once, at step N.
  static int64_t inject = [] {
    const char* e = std::getenv("GANPP_FAULT_NAN_STEP");
    return e ? std::atoll(e) : int64_t(-1);
  }();
  if (inject >= 0 && step_ == inject) {
    ld = std::nan("");
    inject = -1;
  }
  if (pg_) {  // every worker takes the same decision: diverged when any worker's loss is not finite
    std::vector<torch::Tensor> bad{torch::tensor({std::isfinite(ld) ? 0.0 : 1.0, std::isfinite(lg) ? 0.0 : 1.0}, torch::kDouble)};
    pg_->all_reduce_sum(bad);
    if (bad[0][0].item<double>() > 0 && std::isfinite(ld)) ld = std::nan("");
    if (bad[0][1].item<double>() > 0 && std::isfinite(lg)) lg = std::nan("");
  }
  if (std::isfinite(ld) && std::isfinite(lg)) return;
  throw Diverged{!std::isfinite(ld) ? fmt::format("loss_d = {}", ld) : fmt::format("loss_g = {}", lg)};
}

bool Trainer::roll_back(const std::string& why) {
  if (cfg_.get_str("train.on_divergence") != "rollback" || last_checkpoint_.empty() ||
      rollbacks_ >= cfg_.get_int("train.max_rollbacks"))
    return false;
  const int64_t diverged_at = step_;
  const double wall = wall_seconds(), scale = lr_scale_ * cfg_.get_float("train.rollback_lr_scale");
  const int64_t n = rollbacks_ + 1;
  restore(last_checkpoint_);
  lr_scale_ = scale;
  rollbacks_ = n;
  wall_before_ = wall - std::chrono::duration<double>(Clock::now() - t_start_).count();
  nlohmann::json ev = {{"step", step_},           {"event", "rollback"},  {"diverged_at", diverged_at},
                       {"reason", why},           {"lr_scale", lr_scale_}, {"rollbacks", rollbacks_},
                       {"checkpoint", last_checkpoint_.string()}};
  if (main_) std::ofstream(run::metrics(dir_), std::ios::app) << ev.dump() << "\n";
  return true;
}

double Trainer::lr_factor() const {
  const double start = cfg_.get_float("optim.decay_start"), to = cfg_.get_float("optim.decay_to");
  const double max_steps = double(cfg_.get_int("train.max_steps"));
  if (start >= 1.0 || max_steps <= 0) return 1.0;
  double t = (double(step_) / max_steps - start) / (1.0 - start);
  return 1.0 - (1.0 - to) * std::clamp(t, 0.0, 1.0);
}

void Trainer::train_step(bool log_step, std::map<std::string, double>& stats) {
  const int64_t n_critic = cfg_.get_int("train.n_critic");
  const double lr = lr_factor() * lr_scale_;
  task_->set_lr_factor(lr);
  if (log_step) stats["lr_factor"] = lr;
  StepContext ctx;
  ctx.noise = &noise_gen_;
  ctx.want_stats = log_step;
  ctx.stats = &stats;
  ctx.step = step_;
  torch::Tensor loss_d;
  Batch b;
  for (int64_t k = 0; k < n_critic; ++k) {
    b = loader_->next();
    ctx.last_d_step = (k == n_critic - 1);
    loss_d = task_->d_step(b, ctx);
  }
  torch::Tensor loss_g = task_->g_step(b, ctx);
  ++step_;
  update_ema();
  check_finite(loss_d, loss_g);
  if (log_step) {
    stats["loss_d"] = loss_d.item<double>();
    stats["loss_g"] = loss_g.item<double>();
  }
}

void Trainer::log_metrics(const std::map<std::string, double>& stats, double it_per_s) {
  nlohmann::json j;
  j["step"] = step_;
  j["epoch"] = loader_->state().epoch;
  for (auto& [k, v] : stats) j[k] = v;
  j["it_per_s"] = it_per_s;
  j["wall_s"] = wall_seconds();
  j["peak_rss_mb"] = peak_rss_mb();
  std::ofstream out(run::metrics(dir_), std::ios::app);
  out << j.dump() << "\n";
  out.flush();
  if (!out) throw Error(fmt::format("cannot append to '{}'", run::metrics(dir_).string()));
  std::map<std::string, double> h(stats);
  h["step"] = double(step_);
  h["it_per_s"] = it_per_s;
  history_.push_back(std::move(h));
}

void Trainer::evaluate_now(std::map<std::string, double>& stats) {
  Generator g = ema_ ? ema_ : task_->generator();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(mix64(static_cast<uint64_t>(cfg_.get_int("seed")), 77));
  std::vector<torch::Tensor> feats, logits;
  const int64_t n = eval_real_.size(0);
  {
    torch::NoGradGuard ng;
    for (int64_t s = 0; s < n; s += 250) {
      auto [f, l] = evaluator_->extract(generate_eval(*g, task_->noise(std::min<int64_t>(250, n - s), gen)));
      feats.push_back(f.to(torch::kFloat));
      if (l.defined()) logits.push_back(l);
    }
  }
  auto fake = torch::cat(feats);
  std::string list = cfg_.get_str("eval.metrics");
  auto want = [&](const std::string& m) { return ("," + list + ",").find("," + m + ",") != std::string::npos; };
  if (want("fid")) stats["fid"] = frechet_distance(feature_stats(eval_real_), feature_stats(fake));
  const bool pairwise = want("pr") || want("dc");
  if (want("kid") && !pairwise) stats["kid"] = kernel_inception_distance(eval_real_, fake, 1000, 10, 0).mean;
  if (want("is") && !logits.empty()) stats["is"] = inception_score(torch::cat(logits), 10).mean;
  if (!logits.empty()) {
    // Mode-collapse signal: entropy of the evaluator's predicted-class histogram, 1 = all classes equally often.
    auto all = torch::cat(logits);
    auto hist = torch::bincount(all.argmax(1), {}, all.size(1)).to(torch::kDouble);
    auto p = hist / hist.sum();
    double h = -(p * (p + 1e-300).log()).sum().item<double>() / std::log(double(all.size(1)));
    stats["class_entropy"] = h;
    if (h < 0.75 && step_ >= cfg_.get_int("log.warn_after")) {
      collapse_.add(step_);
      stats["warn_mode_collapse"] = 1;
      std::cerr << fmt::format("warning: possible mode collapse at step {}: generated classes have normalised entropy "
                               "{:.2f} (1 = balanced); try train.pack, model.mbstd_group or loss.name=wgan-gp\n",
                               step_, h);
    }
  }
  if (pairwise) {
    PairwiseOptions po;
    po.kid = want("kid");
    po.kid_subsets = 10;
    auto pw = pairwise_metrics(eval_real_, fake, po);
    if (po.kid) stats["kid"] = pw.kid.mean;
    auto& r = pw.prdc;
    if (want("pr")) stats["precision"] = r.precision, stats["recall"] = r.recall;
    if (want("dc")) stats["density"] = r.density, stats["coverage"] = r.coverage;
  }
  const std::string best = cfg_.get_str("eval.best");
  if (!best.empty()) {
    auto it = stats.find(best);
    if (it == stats.end())
      throw Error(fmt::format("eval.best = '{}' is not among the computed metrics ({})", best, list));
    const bool lower = best == "fid" || best == "kid";
    if (best_step_ < 0 || (lower ? it->second < best_value_ : it->second > best_value_)) {
      best_value_ = it->second;
      best_step_ = step_;
      save_archive(run::checkpoints(dir_) / "best.ckpt", checkpoint_archive());
    }
    stats["best_" + best] = best_value_;
  }
}

Archive Trainer::checkpoint_archive() {
  for (auto& [name, net] : task_->networks())
    if (!all_finite(*net))
      throw Error(fmt::format("network {} has non-finite weights at step {}; checkpoint not written", name, step_));
  Archive a;
  task_->save(a);
  if (ema_) put_module(a, "G_ema", *ema_);
  a.tensors["rng/noise"] = noise_gen_.get_state();
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    a.tensors["rng/torch"] = gen.get_state();
  }
  a.tensors["fixed_noise"] = fixed_noise_;
  LoaderState ls = loader_->state();
  a.meta = {{"format", "ganpp-checkpoint"}, {"version", 1}, {"ganpp_version", GANPP_VERSION}, {"step", step_},
            {"epoch", ls.epoch}, {"pos", ls.pos}, {"wall_s", wall_seconds()}, {"config", cfg_.to_yaml()},
            {"data_spec", spec_to_json(data_->spec())}, {"has_ema", ema_ != nullptr}, {"saved_at", now_iso()},
            {"peak_grad_norm_g", peak_grad_g_}, {"best_value", best_value_}, {"best_step", best_step_},
            {"lr_scale", lr_scale_}, {"rollbacks", rollbacks_}};
  return a;
}

void Trainer::save_checkpoint() {
  fs::path path = checkpoint_path(dir_, step_);
  if (!main_) {  // rank 0 writes; the others learn where it is and wait until it is complete
    pg_->barrier();
    last_checkpoint_ = path;
    return;
  }
  Archive a = checkpoint_archive();
  try {
    save_archive(path, a);
  } catch (const Error& e) {
    throw Error(fmt::format("{}; training stopped at step {}. {} Free space (or fix the folder) and continue with "
                            "`ganpp resume --run {}`",
                            e.what(), step_,
                            last_checkpoint_.empty()
                                ? std::string("No earlier checkpoint exists.")
                                : fmt::format("The last good checkpoint '{}' is intact.", last_checkpoint_.string()),
                            dir_.string()));
  }
  last_checkpoint_ = path;
  auto all = list_checkpoints(dir_);
  const size_t keep = static_cast<size_t>(cfg_.get_int("log.keep_checkpoints"));
  for (size_t i = 0; i + keep < all.size(); ++i) fs::remove(all[i]);
  if (pg_) pg_->barrier();
}

void Trainer::write_samples() {
  Generator g = ema_ ? ema_ : task_->generator();
  auto out = generate_eval(*g, fixed_noise_);
  // Conditional G: fixed noise row by row, classes in turn, so each grid column is one class.
  write_sample_grid(run::samples(dir_) / fmt::format("step_{:08d}.png", step_), out, data_->spec(), real_reference_,
                    g->num_classes());
}

void Trainer::write_plots() {
  if (history_.empty()) return;
  auto series = [&](const std::string& key) {
    Series s{key, {}, {}};
    for (auto& h : history_) {
      auto it = h.find(key);
      if (it == h.end()) continue;
      s.x.push_back(h.at("step"));
      s.y.push_back(it->second);
    }
    return s;
  };
  auto plot = [&](const std::string& file, const std::string& title, std::vector<std::string> keys) {
    std::vector<Series> ss;
    for (auto& k : keys)
      if (auto s = series(k); !s.x.empty()) ss.push_back(s);
    if (ss.empty()) return;
    PlotOptions o;
    o.title = title;
    o.xlabel = "step";
    write_png(run::plots(dir_) / file, line_plot(ss, o));
  };
  plot("losses.png", "losses", {"loss_d", "loss_g"});
  plot("d_outputs.png", "mean D output on real and fake", {"d_real", "d_fake"});
  plot("probabilities.png", "mean D(x) and D(G(z)) as probabilities", {"p_real", "p_fake"});
  plot("grad_norms.png", "gradient norms", {"grad_norm_d", "grad_norm_g"});
  plot("diagnostics.png", "fake/real diversity and augmentation p", {"diversity", "augment_p", "ada_rt"});
  plot("regularizers.png", "regulariser values", {"gp", "r1", "r2"});
  plot("fid.png", "FID (eval.features)", {"fid"});
  plot("metrics.png", "precision, recall, density, coverage", {"precision", "recall", "density", "coverage"});
  plot("speed.png", "training speed (it/s)", {"it_per_s"});
}

void Trainer::write_model_card(const std::string& stop_reason) {
  std::string nets;
  for (auto& [name, net] : task_->networks()) nets += fmt::format("- {}: {} parameters\n", name, num_parameters(*net));
  std::string last;
  if (!history_.empty())
    for (auto& [k, v] : history_.back()) last += fmt::format("- {}: {:.6g}\n", k, v);
  std::string card = fmt::format(
      "# Model card: {} on {}\n\n"
      "Trained with ganpp {} ({}); stopped at step {} ({}); {:.1f} s of training.\n\n"
      "## Data\n- dataset: {}\n- sample shape: {}\n- classes: {}\n\n"
      "## Networks\n{}\n## Last logged metrics\n{}\n## Diagnostics\n{}\n\n"
      "## Reproduce\n`ganpp train --config config.yaml` (this folder's effective config; seed {}).\n\n"
      "## Limitations\nSamples are synthetic and may reproduce biases of the training data. No quality metric (FID, "
      "precision/recall) was computed for this run unless listed above.\n",
      cfg_.get_str("model.name"), data_->spec().name, GANPP_VERSION, now_iso(), step_, stop_reason, wall_seconds(),
      data_->spec().name, fmt::join(data_->spec().shape, "x"), data_->spec().num_classes, nets, last, diagnostics_summary(),
      cfg_.get_int("seed"));
  write_file_atomic(dir_ / "model_card.md", card);
}

void Trainer::run() {
  t_start_ = Clock::now();
  Progress progress(opt_.quiet);
  const int64_t max_steps = cfg_.get_int("train.max_steps");
  const double max_s = cfg_.get_float("train.max_minutes") * 60.0;
  const int64_t log_every = cfg_.get_int("log.every"), sample_every = cfg_.get_int("log.sample_every");
  const int64_t ckpt_every = cfg_.get_int("log.checkpoint_every");
  if (step_ >= max_steps) {
    progress.message(fmt::format("nothing to do: the run is at step {} and train.max_steps is {}", step_, max_steps));
    return;
  }
  progress.message(fmt::format("training {} on {} ({} samples) from step {} to {}, {} threads; run folder {}",
                               cfg_.get_str("model.name"), data_->spec().name, data_->size(), step_, max_steps,
                               at::get_num_threads(), dir_.string()));
  auto t_log = Clock::now();
  int64_t step_log = step_;
  double its = 0;
  std::string reason = "reached train.max_steps";
  double comm_log = pg_ ? pg_->comm_seconds() : 0.0;
  while (step_ < max_steps) {
    double elapsed = std::chrono::duration<double>(Clock::now() - t_start_).count();
    bool out_of_time = max_s > 0 && elapsed >= max_s;
    if (pg_ && max_s > 0) {  // rank 0's clock decides, so that every worker stops at the same step
      std::vector<torch::Tensor> flag{torch::tensor({main_ && out_of_time ? 1.0 : 0.0}, torch::kDouble)};
      pg_->all_reduce_sum(flag);
      out_of_time = flag[0].item<double>() > 0;
    }
    if (out_of_time) {
      reason = "reached train.max_minutes";
      break;
    }
    const int64_t eval_every = cfg_.get_int("eval.every");
    const bool eval_step = evaluator_ && ((step_ + 1) % eval_every == 0 || step_ + 1 == max_steps);
    const bool log_step = (step_ + 1) % log_every == 0 || step_ + 1 == max_steps || eval_step;
    std::map<std::string, double> stats;
    try {
      train_step(log_step, stats);
    } catch (const Diverged& d) {
      const int64_t at = step_;
      if (roll_back(d.what)) {
        progress.warning(fmt::format("warning: training diverged at step {} ({}); rolled back to step {} ('{}') with "
                                     "learning rates x{:g} (rollback {} of {})",
                                     at, d.what, step_, last_checkpoint_.string(), lr_scale_, rollbacks_,
                                     cfg_.get_int("train.max_rollbacks")));
        t_log = Clock::now();
        step_log = step_;
        continue;
      }
      std::string last = last_checkpoint_.empty() ? "no checkpoint was written yet"
                                                  : fmt::format("the last good checkpoint is '{}'", last_checkpoint_.string());
      std::string hint = cfg_.get_str("train.on_divergence") == "rollback"
                             ? fmt::format("train.max_rollbacks ({}) used up or nothing to roll back to",
                                           cfg_.get_int("train.max_rollbacks"))
                             : "set train.on_divergence=rollback to retry from the last checkpoint with lower learning rates";
      throw Error(fmt::format("training diverged at step {}: {}; stopped without saving ({}; {}). Lower "
                              "optim.d_lr/optim.g_lr or change the loss, then resume or restart",
                              at, d.what, last, hint));
    }
    if (eval_step && main_) evaluate_now(stats);
    if (log_step && pg_) {  // losses averaged over the workers; time spent in collectives
      std::vector<torch::Tensor> l{torch::tensor({stats["loss_d"], stats["loss_g"]}, torch::kDouble)};
      pg_->all_reduce_sum(l);
      stats["loss_d"] = l[0][0].item<double>() / pg_->world();
      stats["loss_g"] = l[0][1].item<double>() / pg_->world();
      stats["workers"] = pg_->world();
      stats["comm_ms_per_step"] = 1000.0 * (pg_->comm_seconds() - comm_log) / double(std::max<int64_t>(1, step_ - step_log));
      comm_log = pg_->comm_seconds();
    }
    if (log_step && !main_) {
      t_log = Clock::now();
      step_log = step_;
    }
    if (log_step && main_) {
      auto now = Clock::now();
      double dt = std::chrono::duration<double>(now - t_log).count();
      its = dt > 0 ? double(step_ - step_log) / dt : 0.0;
      t_log = now;
      step_log = step_;
      auto warnings = diagnose(stats);
      log_metrics(stats, its);
      double eta = its > 0 ? double(max_steps - step_) / its : INFINITY;
      if (max_s > 0) eta = std::min(eta, max_s - std::chrono::duration<double>(now - t_start_).count());
      progress.update(step_, max_steps, its, eta, stats["loss_d"], stats["loss_g"]);
      for (auto& w : warnings)
        if (vanishing_.count <= 3 && collapse_.count <= 3) progress.message(w);
    }
    if (sample_every > 0 && step_ % sample_every == 0 && main_) {
      write_samples();
      write_plots();
    }
    if (ckpt_every > 0 && step_ % ckpt_every == 0) save_checkpoint();
  }
  if (last_checkpoint_ != checkpoint_path(dir_, step_)) save_checkpoint();
  if (!main_) return;
  write_samples();
  write_plots();
  write_model_card(reason);
  progress.message(fmt::format("stopped at step {} ({}); checkpoint {}", step_, reason, last_checkpoint_.string()));
  progress.message(diagnostics_summary());
}

}  // namespace ganpp
