#include "ganpp/metrics/prdc.h"

#include <fmt/format.h>

#include "ganpp/core/error.h"

namespace ganpp {
namespace {

constexpr int64_t kBlock = 1024;

// Euclidean distances between rows, float64, clamped at 0 before the square root.
torch::Tensor dist(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& a2, const torch::Tensor& b2) {
  auto d2 = a2.unsqueeze(1) + b2.unsqueeze(0) - 2 * a.mm(b.t());
  return d2.clamp_min_(0).sqrt_();
}

void check(const torch::Tensor& x, const char* what, int64_t k) {
  if (x.dim() != 2) throw Error(fmt::format("{} features must be [N, D]", what));
  if (x.size(0) < k + 1)
    throw Error(fmt::format("{} has {} samples; k-nearest-neighbour metrics with k = {} need at least {}", what,
                            x.size(0), k, k + 1));
  if (!torch::isfinite(x).all().item<bool>()) throw Error(fmt::format("{} features contain NaN or Inf", what));
}

}  // namespace

torch::Tensor knn_radii(const torch::Tensor& x0, int64_t k) {
  auto x = x0.to(torch::kDouble).contiguous();
  auto x2 = x.pow(2).sum(1);
  const int64_t n = x.size(0);
  auto out = torch::empty({n}, torch::kDouble);
  for (int64_t s = 0; s < n; s += kBlock) {
    int64_t b = std::min(kBlock, n - s);
    auto d = dist(x.narrow(0, s, b), x, x2.narrow(0, s, b), x2);
    // The k+1 smallest include the point itself (distance 0).
    auto vals = std::get<0>(d.topk(k + 1, 1, /*largest=*/false, /*sorted=*/true));
    out.narrow(0, s, b).copy_(vals.select(1, k));
  }
  return out;
}

PrdcResult prdc(const torch::Tensor& real0, const torch::Tensor& fake0, int64_t pr_k, int64_t dc_k) {
  check(real0, "real", std::max(pr_k, dc_k));
  check(fake0, "fake", pr_k);
  if (real0.size(1) != fake0.size(1))
    throw Error(fmt::format("real and fake features differ in dimension ({} vs {})", real0.size(1), fake0.size(1)));
  auto real = real0.to(torch::kDouble).contiguous(), fake = fake0.to(torch::kDouble).contiguous();
  auto r2 = real.pow(2).sum(1), f2 = fake.pow(2).sum(1);
  auto real_pr = knn_radii(real, pr_k), real_dc = pr_k == dc_k ? real_pr : knn_radii(real, dc_k);
  auto fake_pr = knn_radii(fake, pr_k);
  PrdcResult r;
  r.n_real = real.size(0);
  r.n_fake = fake.size(0);
  auto covered = torch::zeros({r.n_real}, torch::kBool);
  auto recalled = torch::zeros({r.n_real}, torch::kBool);
  for (int64_t s = 0; s < r.n_fake; s += kBlock) {
    int64_t b = std::min(kBlock, r.n_fake - s);
    auto d = dist(fake.narrow(0, s, b), real, f2.narrow(0, s, b), r2);  // [b, N]
    r.precision_count += (d <= real_pr.unsqueeze(0)).any(1).sum().item<int64_t>();
    auto inside = d < real_dc.unsqueeze(0);
    r.density_count += inside.sum().item<int64_t>();
    covered |= inside.any(0);
    recalled |= (d <= fake_pr.narrow(0, s, b).unsqueeze(1)).any(0);
  }
  r.recall_count = recalled.sum().item<int64_t>();
  r.coverage_count = covered.sum().item<int64_t>();
  r.precision = double(r.precision_count) / double(r.n_fake);
  r.recall = double(r.recall_count) / double(r.n_real);
  r.density = double(r.density_count) / double(dc_k * r.n_fake);
  r.coverage = double(r.coverage_count) / double(r.n_real);
  return r;
}

torch::Tensor realism_scores(const torch::Tensor& real0, const torch::Tensor& fake0, int64_t k) {
  check(real0, "real", k);
  auto real = real0.to(torch::kDouble).contiguous(), fake = fake0.to(torch::kDouble).contiguous();
  auto radii = knn_radii(real, k);
  auto r2 = real.pow(2).sum(1), f2 = fake.pow(2).sum(1);
  auto out = torch::empty({fake.size(0)}, torch::kDouble);
  for (int64_t s = 0; s < fake.size(0); s += kBlock) {
    int64_t b = std::min(kBlock, fake.size(0) - s);
    auto d = dist(fake.narrow(0, s, b), real, f2.narrow(0, s, b), r2).clamp_min(1e-12);
    out.narrow(0, s, b).copy_(std::get<0>((radii.unsqueeze(0) / d).max(1)));
  }
  return out;
}

}  // namespace ganpp
