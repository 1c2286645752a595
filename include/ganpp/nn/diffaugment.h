#pragma once
#include <torch/torch.h>

#include "ganpp/core/distributed.h"

#include <string>
#include <vector>

namespace ganpp {

// Differentiable augmentation applied to everything D sees, real and fake alike (Zhao et al. 2020, DiffAugment;
// Karras et al. 2020, ADA). Ops: "color" (brightness, saturation, contrast), "translation" (integer shift up to
// 1/8 of the size, zero fill), "cutout" (a zeroed square of half the size), "flip" (horizontal). Each op is applied
// to each sample with probability p (DiffAugment: p = 1; ADA: p adapted during training). Randomness comes from
// `gen`, so it is checkpointed with the run.
class DiffAugment {
 public:
  DiffAugment() = default;
  explicit DiffAugment(const std::string& policy);  // comma-separated op names; "" = off
  bool enabled() const { return !ops_.empty(); }
  const std::vector<std::string>& ops() const { return ops_; }
  // `shard`: x is part of a data-parallel global batch; per-sample randomness is drawn for the whole batch.
  torch::Tensor operator()(const torch::Tensor& x, double p, torch::Generator& gen, const BatchShard& shard = {}) const;

 private:
  std::vector<std::string> ops_;
};

// ADA's controller: r_t = E[sign(D(real))] over `interval` D steps; p moves by sign(r_t - target) * (batch *
// interval) / (kimg * 1000) and stays in [0, 1].
struct AdaController {
  double p = 0, target = 0.6, kimg = 500;
  int64_t interval = 4;
  double acc_sum = 0;
  int64_t acc_n = 0, steps = 0;
  double last_rt = 0;
  // Feed D's outputs on (augmented) reals after a D step; returns true when p was updated.
  bool update(const torch::Tensor& real_out);
};

}  // namespace ganpp
