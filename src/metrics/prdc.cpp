#include "ganpp/metrics/prdc.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "ganpp/core/error.h"

namespace ganpp {
namespace {

constexpr int64_t kBlock = 1024;
constexpr double kInf = std::numeric_limits<double>::infinity();

void check(const torch::Tensor& x, const char* what, int64_t k) {
  if (x.dim() != 2) throw Error(fmt::format("{} features must be [N, D]", what));
  if (x.size(0) < k + 1)
    throw Error(fmt::format("{} has {} samples; k-nearest-neighbour metrics with k = {} need at least {}", what,
                            x.size(0), k, k + 1));
  if (!torch::isfinite(x).all().item<bool>()) throw Error(fmt::format("{} features contain NaN or Inf", what));
}

// best[rows] <- the k smallest of best[rows] and each row of cand (both sorted ascending afterwards).
void merge_smallest(torch::Tensor best, const torch::Tensor& cand) {
  const int64_t k = best.size(1);
  auto c = std::get<0>(cand.topk(std::min(k, cand.size(1)), 1, /*largest=*/false, /*sorted=*/false));
  best.copy_(std::get<0>(torch::cat({best, c}, 1).topk(k, 1, /*largest=*/false, /*sorted=*/true)));
}

// Polynomial KID kernel of a block of inner products of centred rows: with x = xc + c, x·y = xc·yc + ux + uy + c·c
// where u = xc·c, so the kernel of the raw features comes from the centred Gram block without a second GEMM.
torch::Tensor poly_kernel(const torch::Tensor& gc, const torch::Tensor& us, const torch::Tensor& ut, double cc,
                          double dim) {
  return ((gc + us.unsqueeze(1) + ut.unsqueeze(0) + cc) / dim + 1).pow_(3);
}

struct SelfSweep {
  torch::Tensor nearest;  // [n, kmax]: squared distances to the kmax nearest other rows, ascending
  torch::Tensor kernel_member;  // [n, S]: (K with zero diagonal) · member, when member is given
};

// One pass over the upper triangle of x·xᵀ in blocks: k-NN squared distances (self excluded) and, optionally, the
// kernel matrix times the 0/1 subset-membership columns.
SelfSweep self_sweep(const torch::Tensor& x, const torch::Tensor& x2, int64_t kmax, const torch::Tensor& member,
                     const torch::Tensor& u = {}, double cc = 0) {
  const int64_t n = x.size(0);
  const double dim = double(x.size(1));
  SelfSweep r;
  r.nearest = torch::full({n, kmax}, kInf, torch::kDouble);
  if (member.defined()) r.kernel_member = torch::zeros_like(member);
  for (int64_t s = 0; s < n; s += kBlock) {
    const int64_t bs = std::min(kBlock, n - s);
    auto xs = x.narrow(0, s, bs);
    for (int64_t t = s; t < n; t += kBlock) {
      const int64_t bt = std::min(kBlock, n - t);
      auto g = xs.mm(x.narrow(0, t, bt).t());
      auto d2 = (x2.narrow(0, s, bs).unsqueeze(1) + x2.narrow(0, t, bt).unsqueeze(0) - 2 * g).clamp_min_(0);
      if (s == t) d2.diagonal().fill_(kInf);
      merge_smallest(r.nearest.narrow(0, s, bs), d2);
      if (s != t) merge_smallest(r.nearest.narrow(0, t, bt), d2.t());
      if (member.defined()) {
        auto k = poly_kernel(g, u.narrow(0, s, bs), u.narrow(0, t, bt), cc, dim);
        if (s == t) k.diagonal().zero_();
        r.kernel_member.narrow(0, s, bs).add_(k.mm(member.narrow(0, t, bt)));
        if (s != t) r.kernel_member.narrow(0, t, bt).add_(k.t().mm(member.narrow(0, s, bs)));
      }
    }
  }
  return r;
}

// 0/1 membership columns: one per KID subset, then one column of all ones (the full-sample MMD).
torch::Tensor membership(int64_t n, const std::vector<torch::Tensor>& subsets) {
  auto m = torch::zeros({n, int64_t(subsets.size()) + 1}, torch::kDouble);
  for (size_t i = 0; i < subsets.size(); ++i) m.select(1, int64_t(i)).index_fill_(0, subsets[i], 1.0);
  m.select(1, int64_t(subsets.size())).fill_(1.0);
  return m;
}


// ---- float32 Gram matrices with an exact float64 re-check ---------------------------------------------------------
// The GEMMs dominate; in float32 they run twice as fast. Every decision that float32 could get wrong is redone in
// float64: |fl32(a·b) - a·b| <= (D u / (1 - D u) + 3u) |a| |b| for any summation order (u = 2^-24, the 3u covers the
// rounding of the float64 features to float32), so a squared distance is known to within
// band = 2 (that) max|a| max|b| + 16 u (max|a|² + max|b|²) (the float32 additions and the rounded thresholds).
// Comparisons further than `band` from their threshold are decided in float32; the rest, and the k nearest
// neighbours that define the radii, are recomputed in float64 from the features, so PR/DC counts are those of
// the all-float64 computation.

double sq_dist_band(double max_norm_a, double max_norm_b, int64_t dim) {
  const double u = std::ldexp(1.0, -24), du = double(dim) * u;
  const double gram = (du / (1 - du) + 3 * u) * max_norm_a * max_norm_b;
  return 1.01 * (2 * gram + 16 * u * (max_norm_a * max_norm_a + max_norm_b * max_norm_b));
}

// Float64 squared distances |a[ia[p]] - b[ib[p]]|² for index pairs p, summed as differences of the uncentred
// features (a, b contiguous float64): no cancellation, so it is exact for integer-valued features and within a few
// ulps otherwise -- the arbiter for everything float32 could not decide. No gathered copies.
torch::Tensor pair_sq_dist(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& ia,
                           const torch::Tensor& ib) {
  const int64_t n = ia.numel(), dim = a.size(1);
  auto out = torch::empty({n}, torch::kDouble);
  auto iac = ia.contiguous(), ibc = ib.contiguous();
  const double *pa = a.data_ptr<double>(), *pb = b.data_ptr<double>();
  const int64_t *ja = iac.data_ptr<int64_t>(), *jb = ibc.data_ptr<int64_t>();
  double* po = out.data_ptr<double>();
  at::parallel_for(0, n, 256, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const double *x = pa + ja[p] * dim, *y = pb + jb[p] * dim;
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t k = 0;
      for (; k + 4 <= dim; k += 4) {
        const double d0 = x[k] - y[k], d1 = x[k + 1] - y[k + 1], d2 = x[k + 2] - y[k + 2], d3 = x[k + 3] - y[k + 3];
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
      }
      for (; k < dim; ++k) s0 += (x[k] - y[k]) * (x[k] - y[k]);
      po[p] = (s0 + s1) + (s2 + s3);
    }
  });
  return out;
}

struct FastSelf {
  torch::Tensor nearest;        // [n, kmax] exact float64 squared k-NN distances, ascending
  torch::Tensor kernel_member;  // as SelfSweep
  int64_t rechecked_rows = 0;   // rows whose candidates did not provably contain the k nearest (full float64 row)
};

// x: centred features (float64), raw: the same rows uncentred (for the float64 re-check).
FastSelf self_sweep_fast(const torch::Tensor& x, const torch::Tensor& raw, const torch::Tensor& x2, int64_t kmax,
                         const torch::Tensor& member, const torch::Tensor& u, double cc) {
  const int64_t n = x.size(0), extra = 8, kc = std::min(kmax + extra, n - 1);
  const double dim = double(x.size(1));
  auto xf = x.to(torch::kFloat), x2f = x2.to(torch::kFloat);
  auto norms = x2.sqrt();
  const double max_norm = norms.max().item<double>();
  FastSelf r;
  auto cand_v = torch::full({n, kc}, std::numeric_limits<float>::infinity(), torch::kFloat);
  auto cand_i = torch::zeros({n, kc}, torch::kLong);
  if (member.defined()) r.kernel_member = torch::zeros_like(member);
  auto merge = [&](int64_t row0, int64_t rows, const torch::Tensor& d2, int64_t col0) {
    auto [v, i] = d2.topk(std::min(kc, d2.size(1)), 1, /*largest=*/false, /*sorted=*/false);
    auto bv = cand_v.narrow(0, row0, rows), bi = cand_i.narrow(0, row0, rows);
    auto [mv, mi] = torch::cat({bv, v}, 1).topk(kc, 1, /*largest=*/false, /*sorted=*/true);
    auto ni = torch::cat({bi, i + col0}, 1).gather(1, mi);
    bv.copy_(mv);
    bi.copy_(ni);
  };
  for (int64_t s = 0; s < n; s += kBlock) {
    const int64_t bs = std::min(kBlock, n - s);
    auto xs = xf.narrow(0, s, bs);
    for (int64_t t = s; t < n; t += kBlock) {
      const int64_t bt = std::min(kBlock, n - t);
      auto g = xs.mm(xf.narrow(0, t, bt).t());
      auto d2 = (x2f.narrow(0, s, bs).unsqueeze(1) + x2f.narrow(0, t, bt).unsqueeze(0) - 2 * g);
      if (s == t) d2.diagonal().fill_(std::numeric_limits<float>::infinity());
      merge(s, bs, d2, t);
      if (s != t) merge(t, bt, d2.t(), s);
      if (member.defined()) {
        auto k = poly_kernel(g.to(torch::kDouble), u.narrow(0, s, bs), u.narrow(0, t, bt), cc, dim);
        if (s == t) k.diagonal().zero_();
        r.kernel_member.narrow(0, s, bs).add_(k.mm(member.narrow(0, t, bt)));
        if (s != t) r.kernel_member.narrow(0, t, bt).add_(k.t().mm(member.narrow(0, s, bs)));
      }
    }
  }
  // Exact distances of the candidates; the k-th is exact if no non-candidate can be closer: every non-candidate's
  // float32 distance is >= the last candidate's, so its exact one is >= that minus the band.
  auto rows = torch::arange(n, torch::kLong).unsqueeze(1).expand({n, kc}).reshape(-1);
  auto exact = std::get<0>(pair_sq_dist(raw, raw, rows, cand_i.reshape(-1)).view({n, kc}).sort(1));
  r.nearest = exact.narrow(1, 0, kmax).contiguous();
  const double band = sq_dist_band(max_norm, max_norm, x.size(1));
  auto safe = cand_v.select(1, kc - 1).to(torch::kDouble) - band >= r.nearest.select(1, kmax - 1);
  if (kc == n - 1) safe.fill_(true);  // every other row is a candidate
  auto bad = (~safe).nonzero().flatten();
  r.rechecked_rows = bad.numel();
  for (int64_t j = 0; j < bad.numel(); ++j) {
    const int64_t i = bad[j].item<int64_t>();
    auto d2 = (raw - raw[i]).pow_(2).sum(1);
    d2[i] = kInf;
    r.nearest[i].copy_(std::get<0>(d2.topk(kmax, 0, /*largest=*/false, /*sorted=*/true)));
  }
  return r;
}

}  // namespace

torch::Tensor knn_radii(const torch::Tensor& x0, int64_t k) {
  check(x0, "features", k);
  auto x = x0.to(torch::kDouble);
  x = (x - x.mean(0, true)).contiguous();
  return self_sweep(x, x.pow(2).sum(1), k, {}).nearest.select(1, k - 1).sqrt();
}

PairwiseResult pairwise_metrics(const torch::Tensor& real0, const torch::Tensor& fake0, const PairwiseOptions& opt) {
  const int64_t kmax = std::max(opt.pr_k, opt.dc_k);
  check(real0, "real", kmax);
  check(fake0, "fake", opt.pr_k);
  if (real0.size(1) != fake0.size(1))
    throw Error(fmt::format("real and fake features differ in dimension ({} vs {})", real0.size(1), fake0.size(1)));
  // Centre both sets on the real mean (distances unchanged, less cancellation in |a|² + |b|² - 2a·b).
  auto real_raw = real0.to(torch::kDouble).contiguous(), fake_raw = fake0.to(torch::kDouble).contiguous();
  auto real = real_raw, fake = fake_raw;
  auto c = real.mean(0);
  real = (real - c).contiguous();
  fake = (fake - c).contiguous();
  auto ur = real.mv(c), uf = fake.mv(c);
  const double cc = c.dot(c).item<double>();
  auto r2 = real.pow(2).sum(1), f2 = fake.pow(2).sum(1);
  const int64_t dim_i = real.size(1);
  const double dim = double(dim_i);
  PairwiseResult out;
  torch::Tensor mr, mf;
  if (opt.kid) {
    std::vector<torch::Tensor> sr, sf;
    for (auto& [ir, jf] : kid_subsets(real.size(0), fake.size(0), opt.kid_subset_size, opt.kid_subsets, opt.kid_seed,
                                      out.kid)) {
      sr.push_back(ir);
      sf.push_back(jf);
    }
    mr = membership(real.size(0), sr);
    mf = membership(fake.size(0), sf);
  }
  PrdcResult& r = out.prdc;
  r.n_real = real.size(0);
  r.n_fake = fake.size(0);
  torch::Tensor real_near, fake_near, real_km, fake_km;
  if (opt.fp64) {
    auto rs = self_sweep(real, r2, kmax, mr, ur, cc);
    auto fs = self_sweep(fake, f2, opt.pr_k, mf, uf, cc);
    real_near = rs.nearest, fake_near = fs.nearest, real_km = rs.kernel_member, fake_km = fs.kernel_member;
  } else {
    auto rs = self_sweep_fast(real, real_raw, r2, kmax, mr, ur, cc);
    auto fs = self_sweep_fast(fake, fake_raw, f2, opt.pr_k, mf, uf, cc);
    real_near = rs.nearest, fake_near = fs.nearest, real_km = rs.kernel_member, fake_km = fs.kernel_member;
    r.rechecked_rows = rs.rechecked_rows + fs.rechecked_rows;
  }
  auto real_pr = real_near.select(1, opt.pr_k - 1).contiguous(), real_dc = real_near.select(1, opt.dc_k - 1).contiguous();
  auto fake_pr = fake_near.select(1, opt.pr_k - 1).contiguous();

  auto covered = torch::zeros({r.n_real}, torch::kBool), recalled = torch::zeros({r.n_real}, torch::kBool);
  auto precise = torch::zeros({r.n_fake}, torch::kBool);
  torch::Tensor kmr = opt.kid ? torch::zeros({r.n_fake, mr.size(1)}, torch::kDouble) : torch::Tensor();
  const auto gram_type = opt.fp64 ? torch::kDouble : torch::kFloat;
  auto realg = real.to(gram_type), fakeg = fake.to(gram_type), r2g = r2.to(gram_type), f2g = f2.to(gram_type);
  // Thresholds shifted by the float32 error band (zero in float64): d2 <= lo is surely below, d2 > hi surely above.
  const double band =
      opt.fp64 ? 0.0 : sq_dist_band(f2.max().item<double>() > 0 ? std::sqrt(f2.max().item<double>()) : 0.0,
                                    std::sqrt(r2.max().item<double>()), dim_i);
  auto lo = [&](const torch::Tensor& t) { return (t - band).to(gram_type); };
  auto hi = [&](const torch::Tensor& t) { return (t + band).to(gram_type); };
  auto rpr_lo = lo(real_pr), rpr_hi = hi(real_pr), rdc_lo = lo(real_dc), rdc_hi = hi(real_dc);
  auto fpr_lo = lo(fake_pr), fpr_hi = hi(fake_pr);
  std::vector<torch::Tensor> unsure_fake, unsure_real, unsure_dc;
  for (int64_t s = 0; s < r.n_fake; s += kBlock) {
    const int64_t bs = std::min(kBlock, r.n_fake - s);
    auto fb = fakeg.narrow(0, s, bs);
    auto prec = precise.narrow(0, s, bs);
    for (int64_t t = 0; t < r.n_real; t += kBlock) {
      const int64_t bt = std::min(kBlock, r.n_real - t);
      auto g = fb.mm(realg.narrow(0, t, bt).t());
      auto d2 = (f2g.narrow(0, s, bs).unsqueeze(1) + r2g.narrow(0, t, bt).unsqueeze(0) - 2 * g);
      if (opt.fp64) d2.clamp_min_(0);
      auto p_yes = d2 <= rpr_lo.narrow(0, t, bt).unsqueeze(0);
      prec |= p_yes.any(1);
      auto r_yes = d2 <= fpr_lo.narrow(0, s, bs).unsqueeze(1);
      auto rec = recalled.narrow(0, t, bt);
      rec |= r_yes.any(0);
      auto inside = d2 < rdc_lo.narrow(0, t, bt).unsqueeze(0);
      r.density_count += inside.sum().item<int64_t>();
      auto cov = covered.narrow(0, t, bt);
      cov |= inside.any(0);
      if (!opt.fp64) {
        auto dc_unsure = (d2 < rdc_hi.narrow(0, t, bt).unsqueeze(0)) & ~inside;
        auto unsure = ((d2 <= rpr_hi.narrow(0, t, bt).unsqueeze(0)) & ~p_yes) |
                      ((d2 <= fpr_hi.narrow(0, s, bs).unsqueeze(1)) & ~r_yes) | dc_unsure;
        auto flat = unsure.view(-1).nonzero().flatten();
        if (flat.numel() > 0) {
          unsure_fake.push_back(flat.div(bt, "floor") + s);
          unsure_real.push_back(flat.remainder(bt) + t);
          unsure_dc.push_back(dc_unsure.view(-1).index_select(0, flat));
        }
      }
      if (opt.kid)
        kmr.narrow(0, s, bs).add_(poly_kernel(g.to(torch::kDouble), uf.narrow(0, s, bs), ur.narrow(0, t, bt), cc, dim)
                                      .mm(mr.narrow(0, t, bt)));
    }
  }
  if (!unsure_fake.empty()) {
    // The pairs float32 could not decide, in float64.
    auto fi = torch::cat(unsure_fake), ri = torch::cat(unsure_real), dc = torch::cat(unsure_dc);
    r.rechecked_pairs = fi.numel();
    auto d2 = pair_sq_dist(fake_raw, real_raw, fi, ri);
    auto rpr = real_pr.index_select(0, ri), rdc = real_dc.index_select(0, ri), fpr = fake_pr.index_select(0, fi);
    precise.index_fill_(0, fi.masked_select(d2 <= rpr), true);
    recalled.index_fill_(0, ri.masked_select(d2 <= fpr), true);
    auto in = d2 < rdc;
    covered.index_fill_(0, ri.masked_select(in), true);
    r.density_count += (in & dc).sum().item<int64_t>();
  }
  r.precision_count = precise.sum().item<int64_t>();
  r.recall_count = recalled.sum().item<int64_t>();
  r.coverage_count = covered.sum().item<int64_t>();
  r.precision = double(r.precision_count) / double(r.n_fake);
  r.recall = double(r.recall_count) / double(r.n_real);
  r.density = double(r.density_count) / double(opt.dc_k * r.n_fake);
  r.coverage = double(r.coverage_count) / double(r.n_real);

  if (opt.kid) {
    auto sxx = (mr * real_km).sum(0), syy = (mf * fake_km).sum(0), sxy = (mf * kmr).sum(0);
    auto m = mr.sum(0), n = mf.sum(0);
    auto mmd = (sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2 * sxy / (m * n)).contiguous();
    std::vector<double> v(mmd.data_ptr<double>(), mmd.data_ptr<double>() + mmd.numel());
    out.kid_full = v.back();
    v.pop_back();
    kid_summarise(v, out.kid);
  }
  return out;
}

PrdcResult prdc(const torch::Tensor& real, const torch::Tensor& fake, int64_t pr_k, int64_t dc_k) {
  PairwiseOptions o;
  o.pr_k = pr_k;
  o.dc_k = dc_k;
  return pairwise_metrics(real, fake, o).prdc;
}

torch::Tensor realism_scores(const torch::Tensor& real0, const torch::Tensor& fake0, int64_t k) {
  check(real0, "real", k);
  auto real = real0.to(torch::kDouble).contiguous(), fake = fake0.to(torch::kDouble).contiguous();
  auto radii = knn_radii(real, k);
  auto r2 = real.pow(2).sum(1), f2 = fake.pow(2).sum(1);
  auto out = torch::empty({fake.size(0)}, torch::kDouble);
  for (int64_t s = 0; s < fake.size(0); s += kBlock) {
    int64_t b = std::min(kBlock, fake.size(0) - s);
    auto d2 = (f2.narrow(0, s, b).unsqueeze(1) + r2.unsqueeze(0) - 2 * fake.narrow(0, s, b).mm(real.t())).clamp_min_(0);
    out.narrow(0, s, b).copy_(std::get<0>((radii.unsqueeze(0) / d2.sqrt_().clamp_min_(1e-12)).max(1)));
  }
  return out;
}

}  // namespace ganpp
