#include "ganpp/metrics/kid.h"

#include <fmt/format.h>

#include <cmath>
#include <iostream>

#include "ganpp/core/error.h"

namespace ganpp {

double mmd2_unbiased_poly(const torch::Tensor& x0, const torch::Tensor& y0) {
  auto x = x0.to(torch::kDouble), y = y0.to(torch::kDouble);
  const int64_t m = x.size(0), n = y.size(0);
  const double d = double(x.size(1));
  if (m < 2 || n < 2) throw Error("KID needs at least 2 samples on each side");
  auto k = [&](const torch::Tensor& a, const torch::Tensor& b) { return (a.mm(b.t()) / d + 1).pow(3); };
  auto kxx = k(x, x), kyy = k(y, y), kxy = k(x, y);
  double sxx = (kxx.sum() - kxx.diagonal().sum()).item<double>() / double(m * (m - 1));
  double syy = (kyy.sum() - kyy.diagonal().sum()).item<double>() / double(n * (n - 1));
  return sxx + syy - 2 * kxy.mean().item<double>();
}

KidResult kernel_inception_distance(const torch::Tensor& real, const torch::Tensor& fake, int64_t subset_size,
                                    int64_t subsets, uint64_t seed) {
  if (real.size(1) != fake.size(1))
    throw Error(fmt::format("KID: feature dimensions differ ({} vs {})", real.size(1), fake.size(1)));
  if (subsets < 1) throw Error("KID: the number of subsets must be at least 1");
  KidResult r;
  r.subsets = subsets;
  r.subset_size = std::min({subset_size, real.size(0), fake.size(0)});
  if (r.subset_size < subset_size) {
    r.clamped = true;
    std::cerr << fmt::format("ganpp: warning: KID subset size clamped from {} to {} (the smaller sample count)\n",
                             subset_size, r.subset_size);
  }
  if (r.subset_size < 2) throw Error("KID needs at least 2 samples on each side");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<double> v;
  for (int64_t i = 0; i < subsets; ++i) {
    auto ir = torch::randperm(real.size(0), gen, torch::kLong).narrow(0, 0, r.subset_size);
    auto jf = torch::randperm(fake.size(0), gen, torch::kLong).narrow(0, 0, r.subset_size);
    v.push_back(mmd2_unbiased_poly(real.index_select(0, ir), fake.index_select(0, jf)));
  }
  for (double x : v) r.mean += x;
  r.mean /= double(v.size());
  for (double x : v) r.std += (x - r.mean) * (x - r.mean);
  r.std = std::sqrt(r.std / double(v.size()));  // population std, as torch-fidelity reports
  return r;
}

}  // namespace ganpp
