#pragma once
#include <torch/torch.h>

#include <array>
#include <string>
#include <vector>

namespace ganpp {

// A 2-D mixture of isotropic Gaussians with equal weights (PacGAN's ring and grid benchmarks).
struct Mixture2D {
  std::vector<std::array<double, 2>> centers;
  double sigma = 0.01;

  static Mixture2D ring(int64_t n, double radius, double sigma);
  static Mixture2D grid(int64_t k, double spacing, double sigma);
  // "ring" (= ring:8:1:0.01), "grid" (= grid:5:2:0.05), "ring:N:R:SIGMA", "grid:K:SPACING:SIGMA".
  static Mixture2D parse(const std::string& layout);
  // n samples [n,2], reproducible from seed; `components` (optional) receives the mixture component of each, int64 [n].
  torch::Tensor sample(int64_t n, uint64_t seed, torch::Tensor* components = nullptr) const;
  torch::Tensor centers_tensor() const;
};

}  // namespace ganpp
