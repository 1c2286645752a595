#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <filesystem>

#include "commands.h"
#include "ganpp/train/trainer.h"

namespace fs = std::filesystem;

namespace ganpp::cli {

void add_train(CLI::App& app) {
  struct Opts {
    std::string config, out;
    std::vector<std::string> sets;
    int64_t max_steps = -1, threads = -1;
    double max_minutes = -1;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("train", "train a GAN from a YAML config into a run folder");
  c->add_option("--config,-c", o->config, "YAML config (see configs/ and `ganpp config --list`)")->required();
  c->add_option("--out,-o", o->out, "run folder (default: runs/<config name>-<time>)");
  c->add_option("--set", o->sets, "override a config key, e.g. --set train.batch_size=32 (repeatable)");
  c->add_option("--max-steps", o->max_steps, "stop after this many steps (train.max_steps)");
  c->add_option("--max-minutes", o->max_minutes, "stop after this many minutes (train.max_minutes)");
  c->add_option("--threads", o->threads, "torch threads (default: all cores)");
  c->add_flag("--quiet,-q", o->quiet, "no progress output");
  c->callback([o] {
    Config cfg = Config::from_yaml_file(o->config);
    for (auto& s : o->sets) cfg.apply_override(s);
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
    Trainer trainer(cfg, out, TrainerOptions{false, o->quiet});
    trainer.run();
  });
}

void add_resume(CLI::App& app) {
  struct Opts {
    std::string run;
    int64_t max_steps = -1, threads = -1;
    double max_minutes = -1;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("resume", "continue a run exactly where its last checkpoint left off");
  c->add_option("--run,-r", o->run, "run folder")->required();
  c->add_option("--max-steps", o->max_steps, "new step limit (train.max_steps)");
  c->add_option("--max-minutes", o->max_minutes, "stop after this many minutes of this invocation");
  c->add_option("--threads", o->threads, "torch threads (default: the run's setting)");
  c->add_flag("--quiet,-q", o->quiet, "no progress output");
  c->callback([o] {
    fs::path run = o->run;
    if (!fs::is_directory(run)) throw Error(fmt::format("run folder '{}' does not exist", run.string()));
    Config cfg = Config::from_yaml_file(run / "config.yaml");
    if (o->max_steps >= 0) cfg.set("train.max_steps", std::to_string(o->max_steps), "--max-steps");
    cfg.set("train.max_minutes", fmt::format("{}", o->max_minutes >= 0 ? o->max_minutes : 0.0), "--max-minutes");
    if (o->threads >= 0) cfg.set("threads", std::to_string(o->threads), "--threads");
    Trainer trainer(cfg, run, TrainerOptions{true, o->quiet});
    trainer.run();
  });
}

}  // namespace ganpp::cli
