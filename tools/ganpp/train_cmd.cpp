#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <filesystem>

#include <thread>

#include "commands.h"
#include "ganpp/core/error.h"
#include "ganpp/train/trainer.h"
#include "launch.h"

namespace fs = std::filesystem;

namespace ganpp::cli {
namespace {

void add_distributed_options(CLI::App* c, int64_t* nproc, std::string* rdzv) {
  c->add_option("--nproc", *nproc,
                "data-parallel workers on this machine (c10d/Gloo; train.batch_size is the global batch, split evenly)")
      ->check(CLI::Range(int64_t(1), int64_t(256)));
  c->add_option("--rdzv", *rdzv,
                "HOST:PORT of rank 0 for multi-host training (each host sets RANK and WORLD_SIZE as torchrun does; "
                "same as MASTER_ADDR/MASTER_PORT)");
}

// Each local worker gets an equal share of the cores (unless --threads or the config says otherwise).
std::string worker_threads(int64_t nproc) {
  const int64_t cores = std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency()));
  return "--threads=" + std::to_string(std::max<int64_t>(1, cores / nproc));
}

}  // namespace

void add_train(CLI::App& app) {
  struct Opts {
    std::string config, out;
    std::vector<std::string> sets;
    int64_t max_steps = -1, threads = -1, nproc = 1;
    double max_minutes = -1;
    bool quiet = false;
    std::string rdzv, device;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("train", "train a GAN from a YAML config into a run folder");
  add_distributed_options(c, &o->nproc, &o->rdzv);
  c->add_option("--config,-c", o->config, "YAML config (see configs/ and `ganpp config --list`)")->required();
  c->add_option("--out,-o", o->out, "run folder (default: runs/<config name>-<time>)");
  c->add_option("--set", o->sets, "override a config key, e.g. --set train.batch_size=32 (repeatable)");
  c->add_option("--max-steps", o->max_steps, "stop after this many steps (train.max_steps)");
  c->add_option("--max-minutes", o->max_minutes, "stop after this many minutes (train.max_minutes)");
  c->add_option("--threads", o->threads, "torch threads (default: all cores)");
  c->add_option("--device", o->device, "cpu, cuda or cuda:N (the config key device)");
  c->add_flag("--quiet,-q", o->quiet, "no progress output");
  c->callback([o] {
    Config cfg = Config::from_yaml_file(o->config);
    for (auto& s : o->sets) cfg.apply_override(s);
    if (!o->device.empty()) cfg.set("device", o->device, "--device");
    if (o->max_steps >= 0) cfg.set("train.max_steps", std::to_string(o->max_steps), "--max-steps");
    if (o->max_minutes >= 0) cfg.set("train.max_minutes", fmt::format("{}", o->max_minutes), "--max-minutes");
    if (o->threads >= 0) cfg.set("threads", std::to_string(o->threads), "--threads");
    fs::path out = o->out;
    if (out.empty()) {
      std::time_t t = std::time(nullptr);
      char buf[32];
      std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&t));
      out = fs::path("runs") / (fs::path(o->config).stem().string() + "-" + buf);
    }
    if (is_launcher(static_cast<int>(o->nproc))) {
      std::vector<std::string> extra;
      if (o->out.empty()) extra = {"--out", out.string()};  // one folder for all workers
      if (o->threads < 0 && cfg.get_int("threads") == 0) extra.push_back(worker_threads(o->nproc));
      launch_workers(static_cast<int>(o->nproc), extra);
      return;
    }
    auto pg = join_workers_from_env(o->rdzv);
    if (pg && o->out.empty()) throw Error("distributed workers need --out: the run folder all of them share");
    Trainer trainer(cfg, out, TrainerOptions{false, o->quiet});
    trainer.run();
  });
}

void add_resume(CLI::App& app) {
  struct Opts {
    std::string run;
    int64_t max_steps = -1, threads = -1, nproc = 1;
    double max_minutes = -1;
    bool quiet = false;
    std::string rdzv, device;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("resume", "continue a run exactly where its last checkpoint left off");
  add_distributed_options(c, &o->nproc, &o->rdzv);
  c->add_option("--run,-r", o->run, "run folder")->required();
  c->add_option("--max-steps", o->max_steps, "new step limit (train.max_steps)");
  c->add_option("--max-minutes", o->max_minutes, "stop after this many minutes of this invocation");
  c->add_option("--threads", o->threads, "torch threads (default: the run's setting)");
  c->add_option("--device", o->device, "continue on another device: cpu, cuda or cuda:N");
  c->add_flag("--quiet,-q", o->quiet, "no progress output");
  c->callback([o] {
    fs::path run = o->run;
    if (!fs::is_directory(run)) throw Error(fmt::format("run folder '{}' does not exist", run.string()));
    Config cfg = Config::from_yaml_file(run / "config.yaml");
    if (o->max_steps >= 0) cfg.set("train.max_steps", std::to_string(o->max_steps), "--max-steps");
    cfg.set("train.max_minutes", fmt::format("{}", o->max_minutes >= 0 ? o->max_minutes : 0.0), "--max-minutes");
    if (o->threads >= 0) cfg.set("threads", std::to_string(o->threads), "--threads");
    if (!o->device.empty()) cfg.set("device", o->device, "--device");
    if (is_launcher(static_cast<int>(o->nproc))) {
      std::vector<std::string> extra;
      if (o->threads < 0 && cfg.get_int("threads") == 0) extra.push_back(worker_threads(o->nproc));
      launch_workers(static_cast<int>(o->nproc), extra);
      return;
    }
    join_workers_from_env(o->rdzv);
    Trainer trainer(cfg, run, TrainerOptions{true, o->quiet});
    trainer.run();
  });
}

}  // namespace ganpp::cli
