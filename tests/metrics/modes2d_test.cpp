// PacGAN's mode-coverage protocol: mixture layouts, the HQ / modes / reverse-KL scoring against closed forms, and
// `ganpp bench modes` end to end (its CSV rescored here by a plain nearest-centre loop).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "ganpp/core/config.h"
#include "ganpp/core/error.h"
#include "ganpp/metrics/modes2d.h"
#include "test_util.h"

using namespace ganpp;
namespace fs = std::filesystem;

TEST(Modes2D, StandardLayoutsArePacGansRingAndGrid) {
  const double pi = std::acos(-1.0);
  Mixture2D ring = Mixture2D::parse("ring");
  ASSERT_EQ(ring.centers.size(), 8u);
  EXPECT_DOUBLE_EQ(ring.sigma, 0.01);
  for (int i = 0; i < 8; ++i) {
    EXPECT_NEAR(ring.centers[i][0], std::cos(2 * pi * i / 8), 1e-12) << i;
    EXPECT_NEAR(ring.centers[i][1], std::sin(2 * pi * i / 8), 1e-12) << i;
  }
  Mixture2D grid = Mixture2D::parse("grid");
  ASSERT_EQ(grid.centers.size(), 25u);
  EXPECT_DOUBLE_EQ(grid.sigma, 0.05);
  std::set<std::pair<double, double>> expected, got;
  for (double x : {-4.0, -2.0, 0.0, 2.0, 4.0})
    for (double y : {-4.0, -2.0, 0.0, 2.0, 4.0}) expected.insert({x, y});
  for (auto& c : grid.centers) got.insert({std::round(c[0] * 1e9) / 1e9, std::round(c[1] * 1e9) / 1e9});
  EXPECT_EQ(got, expected);
  // Any ring(n, r, sigma) and grid(k, spacing, sigma).
  Mixture2D r5 = Mixture2D::parse("ring:5:3:0.2");
  ASSERT_EQ(r5.centers.size(), 5u);
  EXPECT_NEAR(std::hypot(r5.centers[3][0], r5.centers[3][1]), 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(r5.sigma, 0.2);
  Mixture2D g3 = Mixture2D::parse("grid:3:1.5:0.1");
  ASSERT_EQ(g3.centers.size(), 9u);
  double xmax = -1e9;
  for (auto& c : g3.centers) xmax = std::max(xmax, c[0]);
  EXPECT_NEAR(xmax, 1.5, 1e-12);  // centred: {-1.5, 0, 1.5}
  // Samples come from the mixture: each within a few sigma of a centre, components roughly uniform.
  torch::Tensor comp;
  auto s = r5.sample(5000, 7, &comp);
  ASSERT_EQ(s.size(0), 5000);
  auto counts = torch::bincount(comp, {}, 5);
  for (int k = 0; k < 5; ++k) EXPECT_NEAR(counts[k].item<double>() / 5000.0, 0.2, 0.03) << k;
}

TEST(Modes2D, HighQualityModesAndReverseKlMatchTheirClosedForms) {
  Mixture2D ring = Mixture2D::parse("ring");  // sigma 0.01
  const double sg = ring.sigma;
  auto c = [&](int k, int d) { return ring.centers[static_cast<size_t>(k)][static_cast<size_t>(d)]; };
  // 3 samples on mode 0, one on mode 1 at 2.9 sigma (HQ), one beside mode 2 at 3.1 sigma (not HQ), one at the origin.
  auto x = torch::tensor({c(0, 0), c(0, 1), c(0, 0), c(0, 1), c(0, 0) + 0.5 * sg, c(0, 1), c(1, 0) + 2.9 * sg, c(1, 1),
                          c(2, 0), c(2, 1) + 3.1 * sg, 0.0, 0.0},
                         torch::kDouble)
               .reshape({6, 2});
  ModeCoverage m = mode_coverage(x, ring);
  EXPECT_EQ(m.num_modes, 8);
  EXPECT_EQ(m.samples, 6);
  EXPECT_EQ(m.high_quality, 4);
  EXPECT_DOUBLE_EQ(m.hq_fraction, 4.0 / 6.0);
  EXPECT_EQ(m.modes_captured, 2);
  EXPECT_EQ(m.histogram, (std::vector<int64_t>{3, 1, 0, 0, 0, 0, 0, 0}));
  // KL(p || uniform over 8) with p = (3/4, 1/4, 0, ...): sum p log(8 p).
  EXPECT_NEAR(m.reverse_kl, 0.75 * std::log(8 * 0.75) + 0.25 * std::log(8 * 0.25), 1e-12);

  // One sample on every mode: all captured, KL 0.
  ModeCoverage u = mode_coverage(ring.centers_tensor(), ring);
  EXPECT_EQ(u.modes_captured, 8);
  EXPECT_DOUBLE_EQ(u.hq_fraction, 1.0);
  EXPECT_NEAR(u.reverse_kl, 0.0, 1e-12);

  // Nothing high quality: no mode, KL infinite.
  ModeCoverage none = mode_coverage(torch::zeros({10, 2}, torch::kDouble), ring);
  EXPECT_EQ(none.modes_captured, 0);
  EXPECT_EQ(none.high_quality, 0);
  EXPECT_TRUE(std::isinf(none.reverse_kl));

  try {
    mode_coverage(torch::zeros({10, 3}), ring);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs [N, 2] samples, got 10x3"), std::string::npos) << e.what();
  }
}

TEST(Modes2D, BenchCommandWritesTableCsvAndScatterAndItsNumbersRescoreFromTheCsv) {
  auto d = test::temp_dir("bench_modes");
  std::string out;
  ASSERT_EQ(test::run_cli("bench modes --data ring:4:1:0.05 --losses ns,hinge --seeds 2 --out " + test::q(d) +
                              " --threads 1 --set train.max_steps=60 --set model.hidden=16",
                          &out),
            0)
      << out;
  EXPECT_NE(out.find("| ns |"), std::string::npos) << out;
  EXPECT_NE(out.find("| hinge |"), std::string::npos) << out;
  Mixture2D mix = Mixture2D::parse("ring:4:1:0.05");
  for (const char* loss : {"ns", "hinge"})
    for (int seed : {0, 1}) {
      fs::path run = d / "ring_4_1_0.05" / loss / ("seed" + std::to_string(seed));
      ASSERT_TRUE(fs::exists(run / "eval_scatter.png")) << run;
      std::ifstream csv(run / "eval_samples.csv");
      std::vector<int64_t> hist(4, 0);
      int64_t rows = 0, hq = 0;
      for (std::string line; std::getline(csv, line); ++rows) {
        std::istringstream ls(line);
        double x = 0, y = 0;
        char comma = 0;
        ASSERT_TRUE(ls >> x >> comma >> y) << line;
        ASSERT_EQ(comma, ',');
        // Nearest centre by a plain loop; HQ when within 3 sigma of it.
        size_t best = 0;
        double bd = std::numeric_limits<double>::infinity();
        for (size_t k = 0; k < mix.centers.size(); ++k) {
          double dist = std::hypot(x - mix.centers[k][0], y - mix.centers[k][1]);
          if (dist < bd) bd = dist, best = k;
        }
        if (bd < 3 * mix.sigma) ++hq, ++hist[best];
      }
      EXPECT_EQ(rows, 2500) << "2,500 evaluation samples";
      int64_t modes = 0;
      for (auto h : hist) modes += h > 0;
      auto r = nlohmann::json::parse(read_file(run / "result.json"));
      EXPECT_EQ(r["modes"].get<int64_t>(), modes) << run;
      EXPECT_NEAR(r["hq"].get<double>(), double(hq) / 2500.0, 1e-6) << run;  // the CSV holds 9 significant digits
      EXPECT_EQ(r["num_modes"].get<int64_t>(), 4);
    }
}
