#include "ganpp/train/run.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>

#include "ganpp/core/error.h"
#include "ganpp/io/image.h"
#include "ganpp/io/plot.h"

namespace fs = std::filesystem;

namespace ganpp {

fs::path checkpoint_path(const fs::path& run_dir, int64_t step) {
  return run::checkpoints(run_dir) / fmt::format("step_{:08d}.ckpt", step);
}

std::vector<fs::path> list_checkpoints(const fs::path& run_dir) {
  std::vector<fs::path> out;
  fs::path d = run::checkpoints(run_dir);
  if (!fs::is_directory(d)) return out;
  for (auto& e : fs::directory_iterator(d)) {
    std::string n = e.path().filename().string();
    if (e.is_regular_file() && n.rfind("step_", 0) == 0 && e.path().extension() == ".ckpt") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

fs::path latest_checkpoint(const fs::path& run_dir) {
  if (!fs::is_directory(run_dir)) throw Error(fmt::format("run folder '{}' does not exist", run_dir.string()));
  auto all = list_checkpoints(run_dir);
  if (all.empty()) throw Error(fmt::format("run folder '{}' has no checkpoints in checkpoints/", run_dir.string()));
  return all.back();
}

Archive load_checkpoint(const fs::path& path) {
  Archive a = load_archive(path);
  if (a.meta.value("format", "") != "ganpp-checkpoint")
    throw Error(fmt::format("'{}' is a ganpp archive but not a training checkpoint", path.string()));
  return a;
}

nlohmann::json spec_to_json(const DataSpec& s) {
  return {{"name", s.name}, {"shape", s.shape}, {"num_classes", s.num_classes}, {"class_names", s.class_names}};
}

DataSpec spec_from_json(const nlohmann::json& j) {
  DataSpec s;
  s.name = j.at("name").get<std::string>();
  s.shape = j.at("shape").get<std::vector<int64_t>>();
  s.num_classes = j.at("num_classes").get<int64_t>();
  s.class_names = j.at("class_names").get<std::vector<std::string>>();
  return s;
}

LoadedGenerator load_generator(const fs::path& run_dir, const fs::path& checkpoint, bool prefer_ema) {
  LoadedGenerator out{Config(), {}, nullptr, 0, false, {}};
  out.checkpoint = checkpoint.empty() ? latest_checkpoint(run_dir) : checkpoint;
  Archive a = load_checkpoint(out.checkpoint);
  try {
    out.config = Config::from_yaml_string(a.meta.at("config").get<std::string>(), out.checkpoint.string() + " (config)");
    out.spec = spec_from_json(a.meta.at("data_spec"));
    out.step = a.meta.at("step").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("'{}': checkpoint metadata is incomplete: {}", out.checkpoint.string(), e.what()));
  }
  out.g = create_generator(out.config, out.spec);
  out.ema = prefer_ema && a.meta.value("has_ema", false);
  get_module(a, out.ema ? "G_ema" : "G", *out.g, out.checkpoint.string());
  out.g->eval();
  return out;
}

void write_sample_grid(const fs::path& png, const torch::Tensor& samples, const DataSpec& spec,
                       const torch::Tensor& real, int64_t nrow) {
  if (spec.is_image()) {
    write_png(png, make_grid(samples, nrow));
    return;
  }
  auto s = samples.detach().to(torch::kDouble).contiguous();
  if (s.size(1) >= 2) {
    auto column = [](const torch::Tensor& m, int64_t j) {
      auto c = m.select(1, j).to(torch::kDouble).contiguous();
      return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    };
    std::vector<Series> series;
    if (real.defined()) series.push_back({"real", column(real, 0), column(real, 1)});
    series.push_back({"generated", column(s, 0), column(s, 1)});
    PlotOptions o;
    o.title = "samples (" + spec.name + ")";
    o.width = o.height = 640;
    o.equal_aspect = true;
    write_png(png, scatter_plot(series, o));
    return;
  }
  // 1-D: histograms of real and generated values on shared bins.
  auto gen = s.select(1, 0);
  double lo = gen.min().item<double>(), hi = gen.max().item<double>();
  if (real.defined()) {
    lo = std::min(lo, real.min().item<double>());
    hi = std::max(hi, real.max().item<double>());
  }
  if (!(hi > lo)) hi = lo + 1;
  const int64_t bins = 50;
  auto hist = [&](const torch::Tensor& v) {
    auto h = torch::histc(v.to(torch::kFloat), bins, lo, hi).to(torch::kDouble);
    h = h / std::max(1.0, h.sum().item<double>()) / ((hi - lo) / bins);
    return std::vector<double>(h.data_ptr<double>(), h.data_ptr<double>() + bins);
  };
  std::vector<double> centers(bins);
  for (int64_t i = 0; i < bins; ++i) centers[i] = lo + (i + 0.5) * (hi - lo) / bins;
  std::vector<Series> series;
  if (real.defined()) series.push_back({"real", centers, hist(real.reshape({-1}))});
  series.push_back({"generated", centers, hist(gen)});
  PlotOptions o;
  o.title = "sample density (" + spec.name + ")";
  o.xlabel = "x";
  write_png(png, line_plot(series, o));
}

}  // namespace ganpp
