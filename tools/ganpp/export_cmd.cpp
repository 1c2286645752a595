#include <fmt/format.h>

#include <iostream>

#include "commands.h"
#include "ganpp/models/export.h"
#include "ganpp/train/run.h"

namespace ganpp::cli {

void add_export(CLI::App& app) {
  struct Opts {
    std::string run, out, checkpoint;
    bool no_ema = false;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("export", "write the generator as TorchScript (loadable by torch.jit.load)");
  c->add_option("--run,-r", o->run, "run folder")->required();
  c->add_option("--out,-o", o->out, "output file, e.g. g.pt")->required();
  c->add_option("--checkpoint", o->checkpoint, "checkpoint file (default: the run's latest)");
  c->add_flag("--no-ema", o->no_ema, "export G's raw weights even when the run keeps an EMA");
  c->callback([o] {
    LoadedGenerator lg = load_generator(o->run, o->checkpoint, !o->no_ema);
    export_torchscript(*lg.g, o->out);
    std::cerr << fmt::format("exported the generator of '{}' (step {}, {} weights) to {}: forward(z[B,{}])\n",
                             lg.checkpoint.string(), lg.step, lg.ema ? "EMA" : "raw", o->out, lg.g->z_dim());
  });
}

}  // namespace ganpp::cli
