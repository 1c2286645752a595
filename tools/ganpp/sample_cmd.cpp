#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "commands.h"
#include "ganpp/core/config.h"
#include "ganpp/core/error.h"
#include "ganpp/io/image.h"
#include "ganpp/train/run.h"
#include "ganpp/train/trainer.h"

namespace fs = std::filesystem;

namespace ganpp::cli {

int64_t class_index(const DataSpec& spec, int64_t classes, const std::string& s, const std::string& run) {
  if (classes == 0) throw Error(fmt::format("--class {}: run '{}' is unconditional (model.conditional=none)", s, run));
  for (size_t i = 0; i < spec.class_names.size(); ++i)
    if (spec.class_names[i] == s) return static_cast<int64_t>(i);
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (!s.empty() && *end == '\0' && v >= 0 && v < classes) return v;
  std::string names;
  for (size_t i = 0; i < spec.class_names.size(); ++i) names += fmt::format("{}{}={}", i ? ", " : "", i, spec.class_names[i]);
  throw Error(fmt::format("--class '{}': expected a class name or an index 0..{} of run '{}' ({})", s, classes - 1, run, names));
}

void add_sample(CLI::App& app) {
  struct Opts {
    std::string run, out, checkpoint, cls;
    int64_t n = 64, seed = 0, threads = 0, batch = 256;
    bool no_ema = false;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("sample", "generate samples from a run's generator");
  c->add_option("--run,-r", o->run, "run folder")->required();
  c->add_option("--n,-n", o->n, "number of samples")->check(CLI::Range(int64_t(1), int64_t(10000000)));
  c->add_option("--out,-o", o->out, "grid.png (one grid image) or a folder (one PNG per sample; CSV for vector data)")->required();
  c->add_option("--seed", o->seed, "noise seed");
  c->add_option("--checkpoint", o->checkpoint, "checkpoint file (default: the run's latest)");
  c->add_option("--batch", o->batch, "generator batch size")->check(CLI::Range(int64_t(1), int64_t(65536)));
  c->add_option("--threads", o->threads, "torch threads (default: all cores)");
  c->add_flag("--no-ema", o->no_ema, "use G's raw weights even when the run keeps an EMA");
  c->add_option("--class", o->cls, "conditional runs: generate only this class (name or index); default: every class in turn");
  c->callback([o] {
    set_threads(o->threads);
    LoadedGenerator lg = load_generator(o->run, o->checkpoint, !o->no_ema);
    const int64_t k = lg.g->num_classes();
    int64_t cls = -1;  // one class, or -1 for all in turn
    if (!o->cls.empty()) cls = class_index(lg.spec, k, o->cls, o->run);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(o->seed));
    std::vector<torch::Tensor> parts;
    torch::NoGradGuard ng;
    for (int64_t done = 0; done < o->n; done += o->batch) {
      int64_t b = std::min(o->batch, o->n - done);
      torch::Tensor y;
      if (k > 0) y = cls >= 0 ? torch::full({b}, cls, torch::kLong) : cycle_labels(b, k, done);
      parts.push_back(lg.g->forward(latent_noise(b, lg.g->z_dim(), lg.config.get_str("model.z_dist") == "uniform", gen), y));
    }
    auto x = torch::cat(parts);
    fs::path out = o->out;
    if (out.extension() == ".png") {
      if (out.has_parent_path()) fs::create_directories(out.parent_path());
      write_sample_grid(out, x, lg.spec, {}, k > 0 && cls < 0 ? k : 0);
    } else {
      fs::create_directories(out);
      if (lg.spec.is_image()) {
        // Each file atomic, the folder flushed to disk once at the end (not two fsyncs per image).
        for (int64_t i = 0; i < x.size(0); ++i)
          write_png(out / fmt::format("sample_{:06d}.png", i), tensor_to_image(to_uint8(x[i])), {}, false);
        sync_filesystem(out);
      } else {
        std::ofstream csv(out / "samples.csv");
        auto d = x.to(torch::kDouble).contiguous();
        for (int64_t i = 0; i < d.size(0); ++i) {
          for (int64_t j = 0; j < d.size(1); ++j) csv << (j ? "," : "") << fmt::format("{:.9g}", d[i][j].item<double>());
          csv << "\n";
        }
        if (!csv) throw Error(fmt::format("cannot write '{}'", (out / "samples.csv").string()));
      }
    }
    std::cerr << fmt::format("wrote {} samples from '{}' (step {}, {} weights) to {}\n", o->n, lg.checkpoint.string(),
                             lg.step, lg.ema ? "EMA" : "raw", out.string());
  });
}

}  // namespace ganpp::cli
