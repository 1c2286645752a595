#pragma once
#include <torch/torch.h>

namespace ganpp {

// Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD^2 with k(x,y) = (x.y/d + 1)^3, averaged over
// random subsets of `subset_size` (clamped to the sample counts, with a warning) drawn without replacement.
struct KidResult {
  double mean = 0, std = 0;
  int64_t subset_size = 0, subsets = 0;
  bool clamped = false;
};

double mmd2_unbiased_poly(const torch::Tensor& x, const torch::Tensor& y);
KidResult kernel_inception_distance(const torch::Tensor& real, const torch::Tensor& fake, int64_t subset_size = 1000,
                                    int64_t subsets = 50, uint64_t seed = 0);

}  // namespace ganpp
