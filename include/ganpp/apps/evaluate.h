#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ganpp/core/config.h"
#include "ganpp/metrics/features.h"

namespace ganpp {

// Where images for evaluation come from: a dataset name (its test split), an image folder, a run folder (samples
// from its generator) or a statistics file (FID only).
struct ImageSource {
  std::string spec;
  torch::Device device{torch::kCPU};  // where a run folder's generator computes
  // Produces up to n images [N,C,H,W] in [-1,1], batch by batch; `resolution`/`channels` of the other side, when
  // known, so that real and fake are prepared alike.
  // Labels (int64 [B]) come with dataset images (their classes) and with samples of a conditional run (the classes
  // requested, in turn 0, 1, ..., K-1); they are undefined otherwise.
  void for_each_batch(int64_t n, int64_t batch,
                      const std::function<void(const torch::Tensor& images, const torch::Tensor& labels)>& fn) const;
  bool is_stats() const;
};

struct EvalOptions {
  std::string real, fake, features = "fashion";
  std::string device = "cpu";  // feature network and run-folder generators: cpu, cuda, cuda:N
  std::vector<std::string> metrics = {"fid", "kid", "is", "pr", "dc"};
  int64_t n = 10000, batch = 250, seed = 0, kid_subset = 1000, kid_subsets = 50;
  std::filesystem::path save_features;
  std::filesystem::path from_features;  // an .npz with `real`, `fake` (and `logits`): metrics only, no network
  bool progress = true;
  // Real features of dataset sources are cached per (dataset, preparation, feature network, sample count) under
  // $GANPP_CACHE or ~/.cache/ganpp; false recomputes them.
  bool cache = true;
};

// Extracts features for both sides (streaming FID statistics; features kept only when a metric needs them) and
// computes the requested metrics. The JSON report names the sample counts, the feature network and the resize mode.
nlohmann::json evaluate(const EvalOptions& opt);
std::string format_report(const nlohmann::json& report);

// Trains ganpp's domain evaluator (EvaluatorNet) on a dataset's train split and scores it on the test split.
struct EvaluatorTrainOptions {
  std::string dataset = "fashion-mnist", data_path;
  std::filesystem::path out;
  int64_t epochs = 6, batch = 128, seed = 0, threads = 0, limit = 0;  // limit: first N training images (0 = all)
  int64_t width = 1;  // channel multiplier of EvaluatorNet (features stay 128-d)
  double lr = 2e-3;
  bool hflip = true;
};
double train_evaluator(const EvaluatorTrainOptions& opt);

}  // namespace ganpp
