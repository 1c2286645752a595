#include <gtest/gtest.h>

#include "ganpp/core/error.h"
#include "ganpp/models/gan.h"

using namespace ganpp;

namespace {
Config small(int64_t depth = 0) {
  Config c;
  c.set("model.g_channels", "8");
  c.set("model.d_channels", "8");
  c.set("model.z_dim", "16");
  c.set("model.depth", std::to_string(depth));
  return c;
}
}  // namespace

TEST(DCGAN, ShapesForEachResolutionAndChannelCount) {
  for (int64_t res : {28, 32, 64}) {
    for (int64_t ch : {1, 3}) {
      DataSpec spec{"t", {ch, res, res}, 0, {}};
      auto m = create_models(small(), spec);
      auto x = m.g->forward(torch::randn({5, 16}));
      EXPECT_EQ(x.sizes(), (std::vector<int64_t>{5, ch, res, res})) << res;
      EXPECT_LE(x.abs().max().item<float>(), 1.0f);  // tanh output
      EXPECT_EQ(m.d->forward(x).sizes(), (std::vector<int64_t>{5})) << res;
    }
  }
}

TEST(DCGAN, WidthAndDepthChangeTheNetworks) {
  DataSpec spec{"t", {1, 32, 32}, 0, {}};
  auto a = create_models(small(0), spec), b = create_models(small(2), spec);
  EXPECT_GT(num_parameters(*b.g), num_parameters(*a.g));
  EXPECT_GT(num_parameters(*b.d), num_parameters(*a.d));
  EXPECT_EQ(b.g->forward(torch::randn({2, 16})).sizes(), (std::vector<int64_t>{2, 1, 32, 32}));
  Config wide = small();
  wide.set("model.g_channels", "16");
  // G's first layer maps z to g_channels * 2^(stages-1) channels: 16 * 4 * 16 (z) * 4 * 4 weights.
  auto w = create_models(wide, spec);
  auto first = w.g->named_parameters()["net.1.weight"];
  EXPECT_EQ(first.sizes(), (std::vector<int64_t>{16, 64, 4, 4}));
}

TEST(DCGAN, WeightInitFollowsRadford) {
  Config c;
  DataSpec spec{"t", {1, 64, 64}, 0, {}};
  torch::manual_seed(0);
  auto m = create_models(c, spec);
  for (auto& p : m.g->named_parameters()) {
    if (p.value().dim() == 4) {
      EXPECT_NEAR(p.value().std().item<double>(), 0.02, 0.002) << p.key();
    }
    if (p.value().dim() == 1 && p.key().find("weight") != std::string::npos) {
      EXPECT_NEAR(p.value().mean().item<double>(), 1.0, 0.01) << p.key();
    }
    if (p.value().dim() == 1 && p.key().find("bias") != std::string::npos) {
      EXPECT_EQ(p.value().abs().sum().item<double>(), 0.0) << p.key();
    }
  }
}

TEST(DCGAN, RefusesUnsupportedResolutionAndVectorData) {
  DataSpec bad{"t", {1, 30, 30}, 0, {}};
  EXPECT_THROW(create_models(small(), bad), Error);
  DataSpec vec{"v", {2}, 0, {}};
  EXPECT_THROW(create_models(small(), vec), Error);
  Config mlp = small();
  mlp.set("model.name", "mlp");
  auto m = create_models(mlp, vec);
  EXPECT_EQ(m.g->forward(torch::randn({7, 16})).sizes(), (std::vector<int64_t>{7, 2}));
  EXPECT_EQ(m.d->forward(torch::randn({7, 2})).sizes(), (std::vector<int64_t>{7}));
}
