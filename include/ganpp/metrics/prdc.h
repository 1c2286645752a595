#pragma once
#include <torch/torch.h>

namespace ganpp {

// Improved precision & recall (Kynkäänniemi et al. 2019, k = 3, ball membership dist <= radius) and density &
// coverage (Naeem et al. 2020, k = 5, strict dist < radius). Radii = distance to the k-th nearest neighbour within
// the same set, excluding the point itself. Distances in float64, computed block by block.
struct PrdcResult {
  double precision = 0, recall = 0, density = 0, coverage = 0;
  int64_t precision_count = 0, recall_count = 0, density_count = 0, coverage_count = 0;
  int64_t n_real = 0, n_fake = 0;
};

// Distance from each row of x to its k-th nearest other row of x.
torch::Tensor knn_radii(const torch::Tensor& x, int64_t k);
PrdcResult prdc(const torch::Tensor& real, const torch::Tensor& fake, int64_t pr_k = 3, int64_t dc_k = 5);
// Realism score of each fake sample (Kynkäänniemi et al.): max_i radius_i / ||fake - real_i||, radii with k = 3.
torch::Tensor realism_scores(const torch::Tensor& real, const torch::Tensor& fake, int64_t k = 3);

}  // namespace ganpp
