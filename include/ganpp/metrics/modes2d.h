#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "ganpp/data/toy.h"

namespace ganpp {

// PacGAN's mode-coverage protocol on a 2-D Gaussian mixture: a sample is high quality (HQ) when its Mahalanobis
// distance to the nearest mode is below `threshold` (3, i.e. within 3 sigma); a mode is captured when it is the
// nearest mode of at least one HQ sample; reverse KL = KL(HQ mode histogram || uniform over modes).
struct ModeCoverage {
  int64_t num_modes = 0, modes_captured = 0, samples = 0, high_quality = 0;
  double hq_fraction = 0, reverse_kl = 0;  // reverse_kl is +inf when no sample is high quality
  std::vector<int64_t> histogram;          // HQ samples per mode
};

ModeCoverage mode_coverage(const torch::Tensor& samples, const Mixture2D& mixture, double threshold = 3.0);

}  // namespace ganpp
