#pragma once
#include <torch/torch.h>

#include "ganpp/metrics/kid.h"

namespace ganpp {

// Improved precision & recall (Kynkäänniemi et al. 2019, k = 3, ball membership dist <= radius) and density &
// coverage (Naeem et al. 2020, k = 5, strict dist < radius). Radii = distance to the k-th nearest neighbour within
// the same set, excluding the point itself. Squared distances in float64 after centring both sets on the real mean,
// compared squared (as the reference), computed block by block (see PairwiseOptions::fp64 for the precision).
struct PrdcResult {
  double precision = 0, recall = 0, density = 0, coverage = 0;
  int64_t precision_count = 0, recall_count = 0, density_count = 0, coverage_count = 0;
  int64_t n_real = 0, n_fake = 0;
  // Work of the float32 path's exact re-check (see PairwiseOptions::fp64): pairs and k-NN rows redone in float64.
  int64_t rechecked_pairs = 0, rechecked_rows = 0;
};

// Distance from each row of x to its k-th nearest other row of x.
torch::Tensor knn_radii(const torch::Tensor& x, int64_t k);
PrdcResult prdc(const torch::Tensor& real, const torch::Tensor& fake, int64_t pr_k = 3, int64_t dc_k = 5);
// Realism score of each fake sample (Kynkäänniemi et al.): max_i radius_i / ||fake - real_i||, radii with k = 3.
torch::Tensor realism_scores(const torch::Tensor& real, const torch::Tensor& fake, int64_t k = 3);

// PR/DC and, optionally, KID from one sweep over the real-real (upper triangle), fake-fake (upper triangle) and
// fake-real Gram matrices: the polynomial kernel of every KID subset is summed from the same inner products the
// distances use (subset membership as 0/1 columns multiplied into each kernel block), so KID costs almost nothing on
// top of PR/DC. The subsets are the ones kernel_inception_distance() draws for the same seed; `kid_full` is the
// unbiased MMD² over all samples.
struct PairwiseOptions {
  int64_t pr_k = 3, dc_k = 5;
  bool kid = false;
  int64_t kid_subset_size = 1000, kid_subsets = 50;
  uint64_t kid_seed = 0;
  // false (default): the Gram matrices in float32 (twice as fast); every PR/DC comparison within float32's proven
  // error band of its threshold, and the k nearest neighbours behind every radius, are recomputed in float64 as sums
  // of squared differences (exact for integer features), so the counts are those of exact arithmetic wherever
  // float64 can tell. KID's kernels are then evaluated in float64 on float32 inner products (agreement with the
  // float64 path measured in tests/metrics). true: Gram matrices and kernels in float64 (|a|²+|b|²-2a·b, like the
  // numpy reference), no re-check.
  bool fp64 = false;
};
struct PairwiseResult {
  PrdcResult prdc;
  KidResult kid;       // valid when PairwiseOptions::kid
  double kid_full = 0;  // valid when PairwiseOptions::kid
};
PairwiseResult pairwise_metrics(const torch::Tensor& real, const torch::Tensor& fake, const PairwiseOptions& opt = {});

}  // namespace ganpp
