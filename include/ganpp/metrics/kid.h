#pragma once
#include <torch/torch.h>

#include <vector>

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

// The subsets kernel_inception_distance() uses: for each subset, (real indices, fake indices). Sets r.subset_size,
// r.subsets and r.clamped (warning on stderr when clamped).
std::vector<std::pair<torch::Tensor, torch::Tensor>> kid_subsets(int64_t n_real, int64_t n_fake, int64_t subset_size,
                                                                 int64_t subsets, uint64_t seed, KidResult& r);
// Mean and population std of per-subset MMD² values into r.
void kid_summarise(const std::vector<double>& values, KidResult& r);

}  // namespace ganpp
