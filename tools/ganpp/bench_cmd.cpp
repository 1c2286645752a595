#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "ganpp/apps/mode_benchmark.h"
#include "ganpp/core/config.h"

namespace ganpp::cli {

void add_bench(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "benchmarks");
  bench->require_subcommand(1);
  auto o = std::make_shared<ModeBenchOptions>();
  auto losses = std::make_shared<std::string>("ns,wgan-gp,lsgan,hinge");
  auto* c = bench->add_subcommand("modes", "PacGAN's 2-D mode-coverage benchmark (ring/grid mixtures)");
  c->add_option("--data", o->layout, "ring, grid, ring:N:RADIUS:SIGMA or grid:K:SPACING:SIGMA")->capture_default_str();
  c->add_option("--losses", *losses, "comma-separated losses")->capture_default_str();
  c->add_option("--seeds", o->seeds, "runs per loss (seeds FIRST..FIRST+N-1)")->capture_default_str();
  c->add_option("--first-seed", o->first_seed, "seed of the first run")->capture_default_str();
  c->add_option("--out", o->out, "output folder (per run: eval_samples.csv, eval_scatter.png)")->required();
  c->add_option("--set", o->overrides, "override the benchmark recipe, e.g. --set train.max_steps=8000");
  c->add_option("--threads", o->threads, "torch threads (default: all cores)");
  c->callback([o, losses] {
    o->losses.clear();
    std::stringstream ss(*losses);
    for (std::string l; std::getline(ss, l, ',');)
      if (!l.empty()) o->losses.push_back(l);
    o->quiet = false;
    auto rows = run_mode_benchmark(*o);
    std::string table = format_mode_table(rows, *o);
    std::cout << table;
    std::ofstream(o->out / "results.md") << "data: " << o->layout << ", seeds: " << o->first_seed << ".." << o->first_seed + o->seeds - 1 << "\n\n" << table;
  });
}

}  // namespace ganpp::cli
