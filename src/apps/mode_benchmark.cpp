#include "ganpp/apps/mode_benchmark.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ganpp/core/error.h"
#include "ganpp/io/image.h"
#include "ganpp/io/plot.h"
#include "ganpp/train/trainer.h"

namespace fs = std::filesystem;

namespace ganpp {

Config mode_bench_recipe(const std::string& loss) {
  Config c;
  c.set("loss.name", loss);
  for (auto kv : {"data.dataset=mixture2d", "data.samples=100000", "data.prefetch=0", "model.name=mlp",
                  "model.z_dim=2", "model.hidden=256", "model.layers=3", "train.batch_size=500",
                  "train.max_steps=16000", "optim.g_lr=0.0005", "optim.d_lr=0.0005", "optim.beta1=0.5",
                  "optim.beta2=0.999", "optim.decay_start=0.5", "optim.decay_to=0", "ema.enabled=true",
                  "ema.decay=0.99", "log.every=500",
                  "log.sample_every=0", "log.checkpoint_every=0", "log.keep_checkpoints=1", "log.warn_after=1000000"})
    c.apply_override(kv);
  // A zero-centred gradient penalty on real/fake interpolates (weight 0.1, annealed to 0 by step 12,000) keeps D
  // smooth early, so that G is pulled toward modes it has not reached yet; without it 3 of 10 grid seeds lost 3-4
  // modes and a ring seed collapsed to 3 (docs/results.md). The Wasserstein losses keep their own Lipschitz
  // constraint (clipping, or WGAN-GP's penalty) instead.
  if (loss != "wgan" && loss != "wgan-gp")
    for (auto kv : {"loss.gp=0.1", "loss.gp_center=0", "loss.gp_steps=12000"}) c.apply_override(kv);
  return c;
}

namespace {

std::pair<double, double> mean_std(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m += x;
  m /= double(v.size());
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return {m, v.size() > 1 ? std::sqrt(s / double(v.size() - 1)) : 0.0};
}

std::string safe_name(std::string s) {
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') ch = '_';
  return s;
}

}  // namespace

std::vector<ModeBenchRow> run_mode_benchmark(const ModeBenchOptions& opt) {
  if (opt.out.empty()) throw Error("mode benchmark: an output folder is required");
  if (opt.seeds < 1) throw Error("mode benchmark: --seeds must be at least 1");
  Mixture2D mixture = Mixture2D::parse(opt.layout);
  std::vector<ModeBenchRow> rows;
  for (auto& loss : opt.losses) {
    ModeBenchRow row;
    row.loss = loss;
    std::vector<double> modes, hq, kl;
    double seconds = 0;
    for (int64_t seed = opt.first_seed; seed < opt.first_seed + opt.seeds; ++seed) {
      Config cfg = mode_bench_recipe(loss);
      cfg.set("data.layout", opt.layout);
      for (auto& o : opt.overrides) cfg.apply_override(o);
      cfg.set("seed", std::to_string(seed));
      cfg.set("threads", std::to_string(opt.threads));
      fs::path dir = opt.out / safe_name(opt.layout) / safe_name(loss) / fmt::format("seed{}", seed);
      fs::remove_all(dir);
      auto t0 = std::chrono::steady_clock::now();
      Trainer trainer(cfg, dir, TrainerOptions{false, opt.quiet});
      trainer.run();
      const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      seconds += train_s;
      // 2,500 samples from fixed noise (seeded by the run's seed), EMA generator when kept.
      Generator g = trainer.ema_generator() ? trainer.ema_generator() : trainer.task().generator();
      g->eval();
      auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(1000 + seed));
      torch::Tensor x;
      {
        torch::NoGradGuard ng;
        auto z = trainer.task().noise(opt.eval_samples, gen).to(g->parameters().front().device());
        x = g->forward(z).to(torch::kCPU, torch::kDouble).contiguous();
      }
      ModeCoverage mc = mode_coverage(x, mixture);
      std::ofstream(dir / "result.json") << nlohmann::json{{"layout", opt.layout}, {"loss", loss}, {"seed", seed},
                                                          {"modes", mc.modes_captured}, {"num_modes", mc.num_modes},
                                                          {"hq", mc.hq_fraction}, {"reverse_kl", mc.reverse_kl},
                                                          {"seconds", train_s}}.dump()
                                         << "\n";
      std::ofstream csv(dir / "eval_samples.csv");
      for (int64_t i = 0; i < x.size(0); ++i) csv << fmt::format("{:.9g},{:.9g}\n", x[i][0].item<double>(), x[i][1].item<double>());
      if (!csv) throw Error(fmt::format("cannot write '{}'", (dir / "eval_samples.csv").string()));
      auto cx = mixture.centers_tensor();
      std::vector<double> mx, my, gx(x.data_ptr<double>(), x.data_ptr<double>() + x.numel());
      for (int64_t i = 0; i < cx.size(0); ++i) mx.push_back(cx[i][0].item<double>()), my.push_back(cx[i][1].item<double>());
      Series s_gen{"generated", {}, {}};
      for (int64_t i = 0; i < x.size(0); ++i) s_gen.x.push_back(gx[2 * i]), s_gen.y.push_back(gx[2 * i + 1]);
      PlotOptions po;
      po.title = fmt::format("{} {} seed {}: {}/{} modes, {:.1f}% HQ", opt.layout, loss, seed, mc.modes_captured,
                             mc.num_modes, 100 * mc.hq_fraction);
      po.width = po.height = 640;
      po.equal_aspect = true;
      write_png(dir / "eval_scatter.png", scatter_plot({Series{"modes", mx, my}, s_gen}, po));
      row.runs.push_back(mc);
      modes.push_back(double(mc.modes_captured));
      hq.push_back(100 * mc.hq_fraction);
      kl.push_back(mc.reverse_kl);
      if (!opt.quiet)
        std::cerr << fmt::format("{} {} seed {}: {}/{} modes, {:.1f}% HQ, reverse KL {:.4f}\n", opt.layout, loss, seed,
                                 mc.modes_captured, mc.num_modes, 100 * mc.hq_fraction, mc.reverse_kl);
    }
    std::tie(row.modes_mean, row.modes_std) = mean_std(modes);
    std::tie(row.hq_mean, row.hq_std) = mean_std(hq);
    std::tie(row.kl_mean, row.kl_std) = mean_std(kl);
    row.seconds_per_run = seconds / double(opt.seeds);
    rows.push_back(row);
  }
  return rows;
}

std::string format_mode_table(const std::vector<ModeBenchRow>& rows, const ModeBenchOptions& opt) {
  Mixture2D m = Mixture2D::parse(opt.layout);
  std::string t = fmt::format("| loss | modes (of {}) | high quality % | reverse KL | s/run |\n|---|---|---|---|---|\n",
                              m.centers.size());
  for (auto& r : rows)
    t += fmt::format("| {} | {:.1f} ± {:.1f} | {:.1f} ± {:.1f} | {:.4f} ± {:.4f} | {:.1f} |\n", r.loss, r.modes_mean,
                     r.modes_std, r.hq_mean, r.hq_std, r.kl_mean, r.kl_std, r.seconds_per_run);
  return t;
}

}  // namespace ganpp
