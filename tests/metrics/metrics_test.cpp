#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ganpp/core/config.h"
#include "ganpp/core/error.h"
#include "ganpp/io/npz.h"
#include "ganpp/metrics/fid.h"
#include "ganpp/metrics/features.h"
#include "ganpp/metrics/inception.h"
#include "ganpp/metrics/inception_score.h"
#include "ganpp/metrics/kid.h"
#include "ganpp/metrics/prdc.h"
#include "test_util.h"

using namespace ganpp;
namespace fs = std::filesystem;

namespace {

// Runs Debian's python3 on a reference script; returns its exit code and output.
int python(const std::string& args, std::string* out) {
  std::string cmd = std::string(test::system_python()) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  out->clear();
  while (fgets(buf, sizeof buf, p)) *out += buf;
  int rc = pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string script(const std::string& name) { return std::string(GANPP_SOURCE_DIR) + "/tests/reference/" + name; }

double rel(double a, double b) { return std::fabs(a - b) / std::max(1e-300, std::fabs(b)); }

}  // namespace

TEST(Fid, ClosedFormForGaussians) {
  // Diagonal covariances: FID = |mu1-mu2|^2 + sum(s1 + s2 - 2 sqrt(s1 s2)).
  auto s1 = torch::tensor({1.0, 4.0, 0.25}, torch::kDouble), s2 = torch::tensor({9.0, 1.0, 0.25}, torch::kDouble);
  FeatureStats a{torch::tensor({0.0, 1.0, 2.0}, torch::kDouble), torch::diag(s1), 10};
  FeatureStats b{torch::tensor({1.0, 1.0, 0.0}, torch::kDouble), torch::diag(s2), 10};
  double want = (1 + 0 + 4) + (1 + 9 - 2 * 3) + (4 + 1 - 2 * 2) + 0;
  EXPECT_NEAR(frechet_distance(a, b), want, 1e-10);
  // A rotated (non-diagonal) pair with commuting covariances: C2 = R diag R^T, C1 = R diag' R^T.
  double c = std::cos(0.7), s = std::sin(0.7);
  auto r = torch::tensor({c, -s, s, c}, torch::kDouble).view({2, 2});
  FeatureStats p{torch::zeros({2}, torch::kDouble), r.mm(torch::diag(torch::tensor({4.0, 1.0}, torch::kDouble))).mm(r.t()), 5};
  FeatureStats q{torch::zeros({2}, torch::kDouble), r.mm(torch::diag(torch::tensor({1.0, 9.0}, torch::kDouble))).mm(r.t()), 5};
  EXPECT_NEAR(frechet_distance(p, q), (4 + 1 - 2 * 2) + (1 + 9 - 2 * 3), 1e-10);
  EXPECT_NEAR(frechet_distance(p, p), 0.0, 1e-10);
}

TEST(Fid, StreamingStatsEqualBatchStatsAndWorkBelowTheDimension) {
  auto x = torch::randn({50, 64}, torch::kDouble);
  StatsAccumulator acc;
  for (int i = 0; i < 5; ++i) acc.add(x.narrow(0, i * 10, 10));
  auto s = acc.stats();
  auto mu = x.mean(0);
  auto cov = (x - mu).t().mm(x - mu) / 49.0;
  EXPECT_TRUE(torch::allclose(s.mu, mu, 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(s.sigma, cov, 1e-10, 1e-10));
  // 50 samples in 64-D: singular covariances, still a finite, non-negative distance.
  auto y = torch::randn({40, 64}, torch::kDouble) + 0.3;
  double f = frechet_distance(s, feature_stats(y));
  EXPECT_TRUE(std::isfinite(f));
  EXPECT_GT(f, 0.0);
  EXPECT_THROW(acc.add(torch::randn({3, 8})), Error);  // dimension changed
  StatsAccumulator nan;
  EXPECT_THROW(nan.add(torch::full({3, 4}, NAN)), Error);
}

TEST(Metrics, AgreeWithTheNumpyScipyReference) {
  auto d = test::temp_dir("metrics_ref");
  torch::manual_seed(11);
  auto real = torch::randn({400, 24}, torch::kDouble);
  auto mix = torch::randn({24, 24}, torch::kDouble) * 0.2 + torch::eye(24, torch::kDouble);
  auto fake = (torch::randn({350, 24}, torch::kDouble).mm(mix) + 0.15);
  auto logits = torch::randn({350, 10}, torch::kDouble) * 2;
  save_npz(d / "f.npz", {{"real", real}, {"fake", fake}, {"logits", logits}});
  std::string out;
  ASSERT_EQ(python(script("metrics_reference.py") + " --features " + (d / "f.npz").string() + " --out " +
                       (d / "ref.json").string(),
                   &out),
            0)
      << out;
  auto ref = nlohmann::json::parse(read_file(d / "ref.json"));
  // FID to 1e-6 relative (against pytorch-fid's sqrtm formula and the eigenvalue formula).
  double fid = frechet_distance(feature_stats(real), feature_stats(fake));
  EXPECT_LT(rel(fid, ref["fid"].get<double>()), 1e-6) << fid << " vs " << ref["fid"];
  EXPECT_LT(rel(fid, ref["fid_eig"].get<double>()), 1e-9);
  // KID on all samples (no subset sampling), 1e-6 relative.
  EXPECT_LT(rel(mmd2_unbiased_poly(real, fake), ref["kid_full"].get<double>()), 1e-6);
  // IS with 10 contiguous splits.
  auto is = inception_score(logits, 10);
  EXPECT_LT(rel(is.mean, ref["is_mean"].get<double>()), 1e-9);
  EXPECT_LT(std::fabs(is.std - ref["is_std"].get<double>()), 1e-9);
  // Precision/recall and density/coverage: exactly the same counts.
  auto r = prdc(real, fake);
  EXPECT_EQ(r.precision_count, ref["precision_count"].get<int64_t>());
  EXPECT_EQ(r.recall_count, ref["recall_count"].get<int64_t>());
  EXPECT_EQ(r.density_count, ref["density_count"].get<int64_t>());
  EXPECT_EQ(r.coverage_count, ref["coverage_count"].get<int64_t>());
  EXPECT_DOUBLE_EQ(r.density, ref["density"].get<double>());
  // The one-sweep PR/DC + KID path: the same counts, and KID over all samples (one subset of every sample) equal to
  // the reference's full-sample MMD², both from float32 Gram matrices (default) and in float64.
  for (bool fp64 : {false, true}) {
    PairwiseOptions o;
    o.kid = true;
    o.kid_subset_size = 350;
    o.kid_subsets = 2;
    o.fp64 = fp64;
    auto pw = pairwise_metrics(real, fake, o);
    EXPECT_EQ(pw.prdc.precision_count, ref["precision_count"].get<int64_t>()) << fp64;
    EXPECT_EQ(pw.prdc.recall_count, ref["recall_count"].get<int64_t>()) << fp64;
    EXPECT_EQ(pw.prdc.density_count, ref["density_count"].get<int64_t>()) << fp64;
    EXPECT_EQ(pw.prdc.coverage_count, ref["coverage_count"].get<int64_t>()) << fp64;
    EXPECT_LT(rel(pw.kid_full, ref["kid_full"].get<double>()), 1e-6) << fp64;
  }
}

namespace {

// PR/DC counts in exact integer arithmetic (int64 squared distances), straight from the definitions.
PrdcResult exact_integer_prdc(const torch::Tensor& real0, const torch::Tensor& fake0, int64_t pr_k, int64_t dc_k) {
  auto real = real0.to(torch::kLong), fake = fake0.to(torch::kLong);
  auto sq = [](const torch::Tensor& a, const torch::Tensor& b) {
    std::vector<torch::Tensor> rows;
    for (int64_t s = 0; s < a.size(0); s += 100)
      rows.push_back((a.narrow(0, s, std::min<int64_t>(100, a.size(0) - s)).unsqueeze(1) - b.unsqueeze(0)).pow(2).sum(2));
    return torch::cat(rows);
  };
  auto kth = [&](const torch::Tensor& x, int64_t k) {
    auto d = sq(x, x);
    d.diagonal().fill_(std::numeric_limits<int64_t>::max());
    return std::get<0>(d.sort(1)).select(1, k - 1);
  };
  auto rpr = kth(real, pr_k), rdc = kth(real, dc_k), fpr = kth(fake, pr_k);
  auto d = sq(fake, real);  // [fake, real]
  PrdcResult r;
  r.precision_count = (d <= rpr.unsqueeze(0)).any(1).sum().item<int64_t>();
  r.recall_count = (d <= fpr.unsqueeze(1)).any(0).sum().item<int64_t>();
  auto inside = d < rdc.unsqueeze(0);
  r.density_count = inside.sum().item<int64_t>();
  r.coverage_count = inside.any(0).sum().item<int64_t>();
  return r;
}

}  // namespace

TEST(Metrics, Float32GramPathGivesExactCounts) {
  // Inputs chosen to sit on float32's error band: integer features (many exactly tied distances, so any rounding
  // flips comparisons; checked against exact int64 arithmetic), a large common offset (cancellation in
  // |a|² + |b|² - 2a·b) and near-duplicates (both checked against the float64 path); 2,500-3,000 rows so blocks are
  // partial.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  auto ireal = (torch::randn({3000, 16}, gen, torch::kDouble) * 2).round();
  auto ifake = (torch::randn({2500, 16}, gen, torch::kDouble) * 2.2 + 0.3).round();
  auto fast = pairwise_metrics(ireal, ifake);
  auto want = exact_integer_prdc(ireal, ifake, 3, 5);
  EXPECT_EQ(fast.prdc.precision_count, want.precision_count);
  EXPECT_EQ(fast.prdc.recall_count, want.recall_count);
  EXPECT_EQ(fast.prdc.density_count, want.density_count);
  EXPECT_EQ(fast.prdc.coverage_count, want.coverage_count);
  EXPECT_GT(fast.prdc.rechecked_pairs + fast.prdc.rechecked_rows, 0) << "ties must go through the float64 re-check";

  struct Case {
    const char* name;
    torch::Tensor real, fake;
    bool kid;  // KID's cubic kernel on features offset by 100 cancels beyond float64 in any implementation
  };
  auto base = torch::randn({2600, 64}, gen, torch::kDouble);
  std::vector<Case> cases = {
      {"offset", torch::randn({2500, 64}, gen, torch::kDouble) * 0.01 + 100,
       torch::randn({2600, 64}, gen, torch::kDouble) * 0.011 + 100.002, false},
      {"near-duplicates", base, base + torch::randn({2600, 64}, gen, torch::kDouble) * 1e-4, true},
      {"integer", ireal, ifake, true},
  };
  for (auto& c : cases) {
    PairwiseOptions o32, o64;
    o32.kid = o64.kid = c.kid;
    o32.kid_subsets = o64.kid_subsets = 5;
    o64.fp64 = true;
    auto a = pairwise_metrics(c.real, c.fake, o32), b = pairwise_metrics(c.real, c.fake, o64);
    if (std::string(c.name) != "integer") {  // ties: float64's |a|²+|b|²-2a·b rounding decides them arbitrarily
      EXPECT_EQ(a.prdc.precision_count, b.prdc.precision_count) << c.name;
      EXPECT_EQ(a.prdc.recall_count, b.prdc.recall_count) << c.name;
      EXPECT_EQ(a.prdc.density_count, b.prdc.density_count) << c.name;
      EXPECT_EQ(a.prdc.coverage_count, b.prdc.coverage_count) << c.name;
    }
    EXPECT_EQ(b.prdc.rechecked_pairs, 0) << c.name;
    if (!c.kid) continue;
    // KID: float32 inner products, float64 kernels and sums -> within 1e-6 of float64.
    EXPECT_LT(std::fabs(a.kid.mean - b.kid.mean), 1e-6 * std::fabs(b.kid.mean)) << c.name;
    EXPECT_LT(std::fabs(a.kid_full - b.kid_full), 1e-6 * std::fabs(b.kid_full)) << c.name;
    // The fused subsets are kernel_inception_distance's subsets (same seed).
    auto k = kernel_inception_distance(c.real, c.fake, 1000, 5, 0);
    EXPECT_LT(std::fabs(b.kid.mean - k.mean), 1e-9 * std::fabs(k.mean)) << c.name;
    EXPECT_LT(std::fabs(b.kid.std - k.std), 1e-9 * std::fabs(k.std)) << c.name;
  }
}

TEST(Metrics, PrdcReadmeSanityCase) {
  // Naeem et al.'s README: 10,000 real and 10,000 fake from N(0, I) in 1000-D, k = 5 ->
  // precision ~0.477, recall ~0.471, density ~1.056, coverage ~0.974 (these fluctuate run to run). For identical
  // distributions E[density] = 1 exactly (a fresh sample is inside a real point's k-NN ball with probability k/N),
  // so the tolerance on density spans both the README's draw and the expectation.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(2024);
  auto real = torch::randn({10000, 1000}, gen, torch::kFloat), fake = torch::randn({10000, 1000}, gen, torch::kFloat);
  auto r = prdc(real, fake, 5, 5);
  EXPECT_NEAR(r.precision, 0.477, 0.02);
  EXPECT_NEAR(r.recall, 0.471, 0.02);
  EXPECT_NEAR(r.density, 1.03, 0.07);
  EXPECT_NEAR(r.coverage, 0.974, 0.01);
}

TEST(Metrics, BadInputsAreClearErrorsOrWarnedClamps) {
  auto a = torch::randn({20, 8}), b = torch::randn({30, 8});
  auto k = kernel_inception_distance(a, b, 1000, 3);
  EXPECT_TRUE(k.clamped);
  EXPECT_EQ(k.subset_size, 20);
  auto msg = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(msg([&] { prdc(torch::randn({4, 8}), b); }).find("real has 4 samples"), std::string::npos);
  EXPECT_NE(msg([&] { prdc(a, torch::randn({30, 9})); }).find("differ in dimension"), std::string::npos);
  auto nan = b.clone();
  nan[3][2] = NAN;
  EXPECT_NE(msg([&] { prdc(a, nan); }).find("NaN"), std::string::npos);
  EXPECT_NE(msg([&] { kernel_inception_distance(a, torch::randn({30, 9})); }).find("dimensions differ"), std::string::npos);
  EXPECT_NE(msg([&] { inception_score(torch::randn({5, 10}), 10); }).find("cannot make 10 splits"), std::string::npos);
  auto d = test::temp_dir("stats_bad");
  save_npz(d / "s.npz", {{"mu", torch::zeros({4}, torch::kDouble)}, {"sigma", torch::eye(3, torch::kDouble)}});
  EXPECT_NE(msg([&] { load_stats(d / "s.npz"); }).find("expected [D] and [D, D]"), std::string::npos);
  save_npz(d / "t.npz", {{"mean", torch::zeros({4})}});
  EXPECT_NE(msg([&] { load_stats(d / "t.npz"); }).find("needs arrays 'mu' and 'sigma'"), std::string::npos);
  EXPECT_NE(msg([&] { FidInceptionV3 net; load_fid_inception_npz(*net, d / "none.npz"); }).find("pt_inception-2015-12-05"),
            std::string::npos);
}

TEST(Npz, RoundTripsWithNumpyBothWays) {
  auto d = test::temp_dir("npz");
  auto f = torch::randn({3, 4}), l = torch::tensor({1, -5, 7}, torch::kLong);
  save_npz(d / "a.npz", {{"f", f}, {"l", l}, {"s", torch::tensor(2.5, torch::kDouble)}});
  auto back = load_npz(d / "a.npz");
  EXPECT_TRUE(torch::equal(back["f"], f));
  EXPECT_TRUE(torch::equal(back["l"], l));
  std::string out;
  std::string py = "-c \"import numpy as np; a = np.load('" + (d / "a.npz").string() +
                   "'); assert a['f'].shape == (3, 4) and a['f'].dtype == np.float32; assert list(a['l']) == [1, -5, 7]; "
                   "assert float(a['s']) == 2.5; np.savez_compressed('" + (d / "c.npz").string() +
                   "', x=np.arange(12, dtype=np.float64).reshape(3, 4), b=np.array([True, False]))\"";
  ASSERT_EQ(python(py, &out), 0) << out;
  auto c = load_npz(d / "c.npz");  // deflate-compressed entries
  EXPECT_TRUE(torch::equal(c["x"], torch::arange(12, torch::kDouble).view({3, 4})));
  EXPECT_EQ(c["b"].scalar_type(), torch::kBool);
  std::string bytes = read_file(d / "a.npz");
  bytes[bytes.size() / 2] ^= 0x5A;
  EXPECT_THROW(decode_npz(bytes, "x.npz"), Error);
  EXPECT_THROW(decode_npz(bytes.substr(0, 40), "x.npz"), Error);
}

TEST(FidInception, KeysAndOutputsMatchPytorchFidBuiltFromTorchvision) {
  auto d = test::temp_dir("inception");
  // The same parameter names and shapes as pytorch-fid's state dict (dumped from torchvision by the reference).
  FidInceptionV3 net;
  std::ifstream keys(script("fid_inception_keys.txt"));
  std::map<std::string, std::string> want;
  for (std::string name, shape; keys >> name >> shape;) want[name] = shape;
  std::map<std::string, std::string> have;
  auto shape_of = [](const torch::Tensor& t) {
    std::string s;
    for (auto v : t.sizes()) s += (s.empty() ? "" : "x") + std::to_string(v);
    return s;
  };
  for (auto& p : net->named_parameters()) have[p.key()] = shape_of(p.value());
  for (auto& b : net->named_buffers())
    if (b.key().find("num_batches_tracked") == std::string::npos) have[b.key()] = shape_of(b.value());
  EXPECT_EQ(have.size(), want.size());
  EXPECT_EQ(have, want);
  // Identical random weights in both; two images through the bilinear resize; pool3 and logits to 1e-4.
  std::string out;
  ASSERT_EQ(python(script("fid_inception.py") + " --make-weights " + (d / "w.npz").string() + " --seed 3", &out), 0) << out;
  load_fid_inception_npz(*net, d / "w.npz");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  auto x = torch::rand({2, 3, 64, 80}, gen, torch::kFloat);
  save_npz(d / "in.npz", {{"x", x}});
  ASSERT_EQ(python(script("fid_inception.py") + " --weights " + (d / "w.npz").string() + " --input " +
                       (d / "in.npz").string() + " --out " + (d / "out.npz").string(),
                   &out),
            0)
      << out;
  auto ref = load_npz(d / "out.npz");
  torch::NoGradGuard ng;
  auto pool3 = net->pool3(inception_input(x, ResizeMode::PytorchFid));
  auto logits = net->logits_from_pool3(pool3);
  ASSERT_EQ(pool3.sizes(), ref["pool3"].sizes());
  double e1 = ((pool3 - ref["pool3"]).norm() / ref["pool3"].norm()).item<double>();
  double e2 = ((logits - ref["logits"]).norm() / ref["logits"].norm()).item<double>();
  EXPECT_LT(e1, 1e-4);
  EXPECT_LT(e2, 1e-4);
  EXPECT_GT(ref["pool3"].abs().max().item<double>(), 1e-3);  // not a degenerate all-zero network
  // The extractor behind `--features inception:` runs the network on chunks of images on the CPU: 10 images (two
  // chunks, the second partial) whose first two are the reference's give the reference's features for those two,
  // and chunking changes no image's features.
  auto fx = create_feature_extractor("inception:" + (d / "w.npz").string());
  auto batch = torch::cat({x, torch::rand({8, 3, 64, 80}, gen, torch::kFloat)}) * 2 - 1;
  auto [feats, fx_logits] = fx->extract(batch);
  ASSERT_EQ(feats.sizes(), (std::vector<int64_t>{10, 2048}));
  ASSERT_EQ(fx_logits.size(0), 10);
  auto first = feats.narrow(0, 0, 2);
  EXPECT_LT(((first - ref["pool3"]).norm() / ref["pool3"].norm()).item<double>(), 1e-4);
  auto whole = net->pool3(inception_input((batch + 1) / 2, ResizeMode::PytorchFid));
  EXPECT_LT(((feats - whole).norm() / whole.norm()).item<double>(), 1e-5);
}

TEST(FidInception, Tf1AndBicubicResizeModes) {
  // TF1 resize_bilinear(align_corners=False): source = dst * in/out, computed independently in numpy.
  auto d = test::temp_dir("tf1");
  auto x = torch::rand({1, 3, 7, 5}, torch::kFloat);
  auto u8 = (x * 255).round() / 255;  // exactly representable uint8 levels
  save_npz(d / "x.npz", {{"x", u8}});
  std::string out, py = "-c \"import numpy as np; x = np.load('" + (d / "x.npz").string() +
                        "')['x'].astype(np.float64) * 255\n"
                        "def ax(n, o):\n    s = np.arange(o) * (n / o); lo = np.floor(s).astype(int); hi = np.minimum(lo + 1, n - 1); return lo, hi, s - lo\n"
                        "y0, y1, fy = ax(7, 299); x0, x1, fx = ax(5, 299)\n"
                        "r = x[:, :, y0, :] + (x[:, :, y1, :] - x[:, :, y0, :]) * fy[None, None, :, None]\n"
                        "o = r[:, :, :, x0] + (r[:, :, :, x1] - r[:, :, :, x0]) * fx[None, None, None, :]\n"
                        "np.save('" + (d / "y.npy").string() + "', np.ascontiguousarray((o - 128) / 128, dtype=np.float32))\"";
  ASSERT_EQ(python(py, &out), 0) << out;
  auto want = decode_npy(read_file(d / "y.npy"), "y.npy");
  auto got = inception_input(u8, ResizeMode::Tf1);
  EXPECT_LT((got - want).abs().max().item<double>(), 1e-5);
  // Bicubic: right size and range, and a constant image stays constant.
  auto c = inception_input(torch::full({2, 1, 20, 30}, 0.25f), ResizeMode::Bicubic);
  EXPECT_EQ(c.sizes(), (std::vector<int64_t>{2, 3, 299, 299}));
  EXPECT_LT((c + 0.5).abs().max().item<double>(), 1e-5);
}
