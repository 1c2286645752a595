#pragma once
#include <torch/torch.h>

#include <filesystem>

namespace ganpp {

// Mean and covariance (N-1 normalisation) of feature vectors, in float64.
struct FeatureStats {
  torch::Tensor mu;     // [D] float64
  torch::Tensor sigma;  // [D,D] float64
  int64_t n = 0;
};

// Accumulates statistics batch by batch (sums in float64), so that features need not be held in memory.
class StatsAccumulator {
 public:
  void add(const torch::Tensor& features);  // [B, D]
  FeatureStats stats() const;
  int64_t count() const { return n_; }

 private:
  torch::Tensor sum_, outer_;
  int64_t n_ = 0;
};

FeatureStats feature_stats(const torch::Tensor& features);

// Fréchet distance ||mu1-mu2||^2 + Tr(C1 + C2 - 2 (C1 C2)^1/2). The trace term comes from the eigenvalues of the
// symmetric sqrt(C1) C2 sqrt(C1) (no complex sqrtm; fine with fewer samples than dimensions).
double frechet_distance(const FeatureStats& a, const FeatureStats& b);

// pytorch-fid's statistics file: npz with `mu` [D] and `sigma` [D,D].
void save_stats(const std::filesystem::path& path, const FeatureStats& s);
FeatureStats load_stats(const std::filesystem::path& path);

}  // namespace ganpp
