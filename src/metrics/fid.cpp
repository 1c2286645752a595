#include "ganpp/metrics/fid.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ganpp/core/error.h"
#include "ganpp/io/npz.h"

namespace ganpp {

void StatsAccumulator::add(const torch::Tensor& f) {
  if (f.dim() != 2) throw Error(fmt::format("features must be [N, D], got {}", fmt::join(f.sizes(), "x")));
  auto x = f.detach().to(torch::kCPU, torch::kDouble);
  if (!torch::isfinite(x).all().item<bool>()) throw Error("features contain NaN or Inf");
  if (!sum_.defined()) {
    sum_ = torch::zeros({x.size(1)}, torch::kDouble);
    outer_ = torch::zeros({x.size(1), x.size(1)}, torch::kDouble);
  } else if (x.size(1) != sum_.size(0)) {
    throw Error(fmt::format("feature dimension changed from {} to {}", sum_.size(0), x.size(1)));
  }
  sum_ += x.sum(0);
  outer_.addmm_(x.t(), x);
  n_ += x.size(0);
}

FeatureStats StatsAccumulator::stats() const {
  if (n_ < 2) throw Error(fmt::format("statistics need at least 2 samples, got {}", n_));
  FeatureStats s;
  s.n = n_;
  s.mu = sum_ / double(n_);
  s.sigma = (outer_ - double(n_) * torch::outer(s.mu, s.mu)) / double(n_ - 1);
  s.sigma = (s.sigma + s.sigma.t()) / 2;
  return s;
}

FeatureStats feature_stats(const torch::Tensor& features) {
  StatsAccumulator acc;
  acc.add(features);
  return acc.stats();
}

double frechet_distance(const FeatureStats& a, const FeatureStats& b) {
  if (a.mu.numel() != b.mu.numel())
    throw Error(fmt::format("FID: feature dimensions differ ({} vs {})", a.mu.numel(), b.mu.numel()));
  auto c1 = a.sigma.to(torch::kDouble), c2 = b.sigma.to(torch::kDouble);
  auto diff = (a.mu.to(torch::kDouble) - b.mu.to(torch::kDouble));
  // sqrt(C1) from its eigendecomposition (C1 is symmetric PSD up to rounding: clip negative eigenvalues).
  auto [w1, v1] = at::linalg_eigh(c1);
  auto s1 = (v1 * w1.clamp_min(0).sqrt().unsqueeze(0)).mm(v1.t());
  auto m = s1.mm(c2).mm(s1);
  m = (m + m.t()) / 2;
  auto lam = at::linalg_eigvalsh(m);
  double tr_sqrt = lam.clamp_min(0).sqrt().sum().item<double>();
  return diff.dot(diff).item<double>() + c1.trace().item<double>() + c2.trace().item<double>() - 2 * tr_sqrt;
}

void save_stats(const std::filesystem::path& path, const FeatureStats& s) {
  save_npz(path, {{"mu", s.mu.to(torch::kDouble)}, {"sigma", s.sigma.to(torch::kDouble)}});
}

FeatureStats load_stats(const std::filesystem::path& path) {
  auto a = load_npz(path);
  if (!a.count("mu") || !a.count("sigma"))
    throw Error(fmt::format("'{}': a statistics file needs arrays 'mu' and 'sigma'", path.string()));
  FeatureStats s;
  s.mu = a["mu"].to(torch::kDouble);
  s.sigma = a["sigma"].to(torch::kDouble);
  if (s.mu.dim() != 1 || s.sigma.dim() != 2 || s.sigma.size(0) != s.mu.size(0) || s.sigma.size(1) != s.mu.size(0))
    throw Error(fmt::format("'{}': 'mu' is {} and 'sigma' is {}; expected [D] and [D, D]", path.string(),
                            fmt::join(s.mu.sizes(), "x"), fmt::join(s.sigma.sizes(), "x")));
  if (a.count("n")) s.n = a["n"].item<int64_t>();
  return s;
}

}  // namespace ganpp
