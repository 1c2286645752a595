#include <fmt/format.h>

#include <filesystem>

#include "commands.h"
#include "ganpp/core/error.h"
#include "ganpp/io/image.h"
#include "ganpp/models/latent.h"
#include "ganpp/train/run.h"
#include "ganpp/train/trainer.h"

namespace fs = std::filesystem;

namespace ganpp::cli {

// `ganpp interpolate --run R --out strips.png`: rows of images along latent paths between random code pairs.
void add_interpolate(CLI::App& app) {
  struct Opts {
    std::string run, out, checkpoint, mode = "slerp", classes;
    int64_t rows = 8, steps = 10, seed = 0, threads = 0;
    bool no_ema = false;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("interpolate", "image strips along latent paths (linear or spherical) between random codes");
  c->add_option("--run,-r", o->run, "run folder")->required();
  c->add_option("--out,-o", o->out, "PNG file: one row per pair of codes")->required();
  c->add_option("--rows", o->rows, "number of strips (pairs of codes)")->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1024)));
  c->add_option("--steps", o->steps, "images per strip, endpoints included")->capture_default_str()->check(CLI::Range(int64_t(2), int64_t(256)));
  c->add_option("--mode", o->mode, "lerp or slerp")->capture_default_str();
  c->add_option("--seed", o->seed, "noise seed of the endpoints");
  c->add_option("--checkpoint", o->checkpoint, "checkpoint file (default: the run's latest)");
  c->add_option("--threads", o->threads, "torch threads (default: all cores)");
  c->add_flag("--no-ema", o->no_ema, "use G's raw weights even when the run keeps an EMA");
  c->add_option("--classes", o->classes,
                "conditional runs: A,B (names or indices) interpolates the class from A to B with each row's noise fixed; "
                "without it, each row interpolates the noise for one class (row r: class r mod K)");
  c->callback([o] {
    const Interpolation mode = parse_interpolation(o->mode);
    if (fs::path(o->out).extension() != ".png") throw Error(fmt::format("--out '{}': expected a .png file", o->out));
    set_threads(o->threads);
    LoadedGenerator lg = load_generator(o->run, o->checkpoint, !o->no_ema);
    if (!lg.spec.is_image()) throw Error(fmt::format("run '{}' generates vectors, not images: use ganpp sample", o->run));
    auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(o->seed));
    const bool uniform = lg.config.get_str("model.z_dist") == "uniform";
    auto a = latent_noise(o->rows, lg.g->z_dim(), uniform, gen);
    auto b = latent_noise(o->rows, lg.g->z_dim(), uniform, gen);
    const int64_t k = lg.g->num_classes();
    torch::NoGradGuard ng;
    torch::Tensor x;
    if (!o->classes.empty()) {
      auto comma = o->classes.find(',');
      if (comma == std::string::npos) throw Error(fmt::format("--classes '{}': expected two classes A,B", o->classes));
      const int64_t ca = class_index(lg.spec, k, o->classes.substr(0, comma), o->run);
      const int64_t cb = class_index(lg.spec, k, o->classes.substr(comma + 1), o->run);
      // Noise fixed along each row; class weights move linearly from one-hot A to one-hot B.
      auto z = a.repeat_interleave(o->steps, 0);
      auto t = torch::linspace(0, 1, o->steps, torch::kFloat).repeat({o->rows});
      auto w = torch::zeros({o->rows * o->steps, k}, torch::kFloat);
      w.select(1, ca).add_(1 - t);
      w.select(1, cb).add_(t);
      x = lg.g->forward(z, w);
    } else {
      torch::Tensor y;
      if (k > 0) y = cycle_labels(o->rows, k).repeat_interleave(o->steps);
      x = lg.g->forward(interpolate_latents(a, b, o->steps, mode), y);
    }
    fs::path out = o->out;
    if (out.has_parent_path()) fs::create_directories(out.parent_path());
    write_png(out, make_grid(x, o->steps));
    std::cerr << fmt::format("wrote {} strips of {} ({}) from '{}' (step {}) to {}\n", o->rows, o->steps, o->mode,
                             lg.checkpoint.string(), lg.step, out.string());
  });
}

}  // namespace ganpp::cli
