#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "ganpp/core/config.h"
#include "ganpp/metrics/modes2d.h"

namespace ganpp {

// PacGAN's 2-D mode-coverage benchmark (PROTOCOLS.md): for each loss and seed, train on 100,000 samples of a
// ring or grid mixture, then score 2,500 samples from fixed noise. Writes, per run, the samples as CSV and a
// scatter plot; returns mean and std over seeds.
struct ModeBenchOptions {
  std::string layout = "grid";              // ring, grid, ring:N:R:S, grid:K:D:S
  std::vector<std::string> losses = {"ns"};
  int64_t seeds = 10;
  int64_t first_seed = 0;                   // seeds first_seed .. first_seed + seeds - 1
  std::filesystem::path out;                // required
  std::vector<std::string> overrides;       // --set on top of the benchmark recipe
  int64_t eval_samples = 2500;
  int64_t threads = 0;
  bool quiet = true;
};

struct ModeBenchRow {
  std::string loss;
  std::vector<ModeCoverage> runs;
  double modes_mean = 0, modes_std = 0, hq_mean = 0, hq_std = 0, kl_mean = 0, kl_std = 0, seconds_per_run = 0;
};

// The recipe every run of `loss` starts from (MLP GAN; docs/results.md), before `overrides`.
Config mode_bench_recipe(const std::string& loss);
std::vector<ModeBenchRow> run_mode_benchmark(const ModeBenchOptions& opt);
std::string format_mode_table(const std::vector<ModeBenchRow>& rows, const ModeBenchOptions& opt);

}  // namespace ganpp
