#include <fmt/format.h>

#include <iostream>
#include <sstream>

#include "commands.h"
#include "ganpp/apps/evaluate.h"
#include "ganpp/core/error.h"
#include "ganpp/train/trainer.h"

namespace ganpp::cli {

void add_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  auto metrics = std::make_shared<std::string>("fid,kid,is,pr,dc");
  auto json = std::make_shared<bool>(false);
  auto threads = std::make_shared<int64_t>(0);
  auto* c = app.add_subcommand("eval", "FID, KID, IS, precision/recall, density/coverage of generated images");
  c->add_option("--real", o->real, "dataset (fashion-mnist, mnist:PATH), image folder, or pytorch-fid stats .npz");
  c->add_option("--fake", o->fake, "image folder or run folder (samples from its generator)");
  c->add_option("--from-features", o->from_features, "metrics from an .npz with 'real' and 'fake' feature arrays");
  c->add_option("--metrics", *metrics, "comma-separated: fid,kid,is,pr,dc")->capture_default_str();
  c->add_option("--features", o->features, "inception:FILE.npz[:pytorch-fid|tf1|bicubic], inception-ts:FILE.pt, fashion, mnist, evaluator:FILE")
      ->capture_default_str();
  c->add_option("--n", o->n, "samples per side")->capture_default_str();
  c->add_option("--batch", o->batch, "feature batch size")->capture_default_str();
  c->add_option("--save-features", o->save_features, "write real/fake features (and logits) as .npz");
  c->add_option("--threads", *threads, "torch threads (default: all cores)");
  c->add_option("--device", o->device, "feature network and run-folder generator device: cpu, cuda, cuda:N")
      ->capture_default_str();
  c->add_flag("--json", *json, "print the report as JSON");
  c->add_flag("!--no-cache", o->cache, "recompute the real features instead of using the cache");
  c->callback([o, metrics, json, threads] {
    set_threads(*threads);
    if (o->from_features.empty() && (o->real.empty() || o->fake.empty()))
      throw Error("eval needs --real and --fake (or --from-features F.npz)");
    o->metrics.clear();
    std::stringstream ss(*metrics);
    for (std::string m; std::getline(ss, m, ',');)
      if (!m.empty()) o->metrics.push_back(m);
    auto report = evaluate(*o);
    std::cout << (*json ? report.dump(2) + "\n" : format_report(report));
  });
}

void add_evaluator(CLI::App& app) {
  auto o = std::make_shared<EvaluatorTrainOptions>();
  auto* ev = app.add_subcommand("evaluator", "ganpp's domain evaluators (classifiers whose features serve the metrics)");
  ev->require_subcommand(1);
  auto* c = ev->add_subcommand("train", "train an evaluator on a labelled dataset and report its test accuracy");
  c->add_option("--dataset", o->dataset, "fashion-mnist or mnist")->capture_default_str();
  c->add_option("--data-path", o->data_path, "dataset folder (mnist: the IDX files)");
  c->add_option("--out", o->out, "weights file, e.g. evaluators/fashion.ganpp")->required();
  c->add_option("--epochs", o->epochs, "epochs")->capture_default_str();
  c->add_option("--batch", o->batch, "batch size")->capture_default_str();
  c->add_option("--width", o->width, "channel multiplier of the network (features stay 128-d)")
      ->capture_default_str()
      ->check(CLI::Range(1, 8));
  c->add_option("--lr", o->lr, "Adam learning rate (cosine decay)")->capture_default_str();
  c->add_option("--seed", o->seed, "seed")->capture_default_str();
  c->add_option("--limit", o->limit, "use only the first N training images (0 = all)");
  c->add_option("--threads", o->threads, "torch threads (default: all cores)");
  c->add_flag("!--no-hflip", o->hflip, "no horizontal flips (digits)");
  c->callback([o] {
    double acc = train_evaluator(*o);
    std::cout << fmt::format("test accuracy {:.2f}% -> {}\n", 100 * acc, o->out.string());
  });
}

}  // namespace ganpp::cli
