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

std::vector<std::pair<torch::Tensor, torch::Tensor>> kid_subsets(int64_t n_real, int64_t n_fake, int64_t subset_size,
                                                                 int64_t subsets, uint64_t seed, KidResult& r) {
  if (subsets < 1) throw Error("KID: the number of subsets must be at least 1");
  r.subsets = subsets;
  r.subset_size = std::min({subset_size, n_real, n_fake});
  if (r.subset_size < subset_size) {
    r.clamped = true;
    std::cerr << fmt::format("ganpp: warning: KID subset size clamped from {} to {} (the smaller sample count)\n",
                             subset_size, r.subset_size);
  }
  if (r.subset_size < 2) throw Error("KID needs at least 2 samples on each side");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<std::pair<torch::Tensor, torch::Tensor>> out;
  for (int64_t i = 0; i < subsets; ++i) {
    auto ir = torch::randperm(n_real, gen, torch::kLong).narrow(0, 0, r.subset_size);
    auto jf = torch::randperm(n_fake, gen, torch::kLong).narrow(0, 0, r.subset_size);
    out.emplace_back(ir, jf);
  }
  return out;
}

void kid_summarise(const std::vector<double>& v, KidResult& r) {
  r.mean = 0;
  r.std = 0;
  for (double x : v) r.mean += x;
  r.mean /= double(v.size());
  for (double x : v) r.std += (x - r.mean) * (x - r.mean);
  r.std = std::sqrt(r.std / double(v.size()));  // population std, as torch-fidelity reports
}

KidResult kernel_inception_distance(const torch::Tensor& real, const torch::Tensor& fake, int64_t subset_size,
                                    int64_t subsets, uint64_t seed) {
  if (real.dim() != 2 || fake.dim() != 2 || real.size(1) != fake.size(1))
    throw Error(fmt::format("KID: feature dimensions differ ({} vs {})", real.size(-1), fake.size(-1)));
  KidResult r;
  auto sets = kid_subsets(real.size(0), fake.size(0), subset_size, subsets, seed, r);
  std::vector<double> v;
  for (auto& [ir, jf] : sets) v.push_back(mmd2_unbiased_poly(real.index_select(0, ir), fake.index_select(0, jf)));
  kid_summarise(v, r);
  return r;
}

}  // namespace ganpp
