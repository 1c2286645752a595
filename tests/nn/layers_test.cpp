#include <gtest/gtest.h>

#include "ganpp/core/error.h"
#include "ganpp/nn/diffaugment.h"
#include "ganpp/nn/layers.h"

using namespace ganpp;
namespace nn = torch::nn;

namespace {
double top_singular_value(const torch::Tensor& m) { return at::linalg_svdvals(m.to(torch::kDouble))[0].item<double>(); }
}  // namespace

TEST(SpectralNorm, SigmaMatchesTheLargestSingularValue) {
  torch::manual_seed(0);
  SpectralNorm conv(nn::Conv2d(nn::Conv2dOptions(3, 8, 3)).ptr());
  SpectralNorm convt(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(8, 4, 4).stride(2).padding(1)).ptr());
  SpectralNorm lin(nn::Linear(10, 6).ptr());
  auto x = torch::randn({2, 3, 8, 8});
  for (int i = 0; i < 100; ++i) conv->forward(x);  // power iterations run in training mode
  for (int i = 0; i < 100; ++i) convt->forward(torch::randn({2, 8, 4, 4}));
  for (int i = 0; i < 100; ++i) lin->forward(torch::randn({2, 10}));
  EXPECT_NEAR(conv->sigma().item<double>(), top_singular_value(conv->weight_orig.reshape({8, -1})), 1e-4);
  EXPECT_NEAR(convt->sigma().item<double>(),
              top_singular_value(convt->weight_orig.transpose(0, 1).reshape({4, -1})), 1e-4);
  EXPECT_NEAR(lin->sigma().item<double>(), top_singular_value(lin->weight_orig), 1e-4);
  // The normalised weight has spectral norm 1, and the layer computes with it.
  EXPECT_NEAR(top_singular_value(lin->normalized_weight().detach()), 1.0, 1e-4);
  lin->eval();
  auto in = torch::randn({3, 10});
  auto want = torch::linear(in, lin->normalized_weight(), lin->bias);
  EXPECT_TRUE(torch::allclose(lin->forward(in), want));
  // Weight gradients flow to weight_orig.
  lin->train();
  lin->forward(in).sum().backward();
  EXPECT_TRUE(lin->weight_orig.grad().defined());
}

TEST(MinibatchStdDev, AppendsTheGroupStandardDeviation) {
  auto x = torch::randn({8, 3, 4, 4});
  MinibatchStdDev m(4);
  auto y = m->forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{8, 4, 4, 4}));
  EXPECT_TRUE(torch::equal(y.narrow(1, 0, 3), x));
  // Groups of 4 consecutive samples: 0-3 and 4-7.
  for (int64_t first : {0, 4}) {
    auto grp = x.narrow(0, first, 4);
    double want = (grp.var(0, false) + 1e-8).sqrt().mean().item<double>();
    EXPECT_NEAR(y[first][3][0][0].item<double>(), want, 1e-5);
    EXPECT_NEAR(y[first + 3][3][2][1].item<double>(), want, 1e-5);
  }
  EXPECT_GT(std::abs(y[0][3][0][0].item<double>() - y[4][3][0][0].item<double>()), 1e-6);
  EXPECT_THROW(m->forward(torch::randn({6, 3, 4, 4})), Error);
}

TEST(DiffAugment, DifferentiableSeededAndIdentityAtPZero) {
  DiffAugment aug("color,translation,cutout");
  auto x = torch::randn({4, 3, 16, 16}, torch::requires_grad());
  auto g1 = at::make_generator<at::CPUGeneratorImpl>(1), g2 = at::make_generator<at::CPUGeneratorImpl>(1);
  auto a = aug(x, 1.0, g1), b = aug(x, 1.0, g2);
  EXPECT_EQ(a.sizes(), x.sizes());
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, x));
  a.sum().backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(aug(x, 0.0, g1), x));
  // Cutout zeroes a square of half the size in every sample.
  DiffAugment cut("cutout");
  auto ones = torch::ones({6, 1, 16, 16});
  auto c = cut(ones, 1.0, g1);
  for (int64_t i = 0; i < 6; ++i) {
    int64_t zeros = (c[i] == 0).sum().item<int64_t>();
    EXPECT_GT(zeros, 0);
    EXPECT_LE(zeros, 64);
  }
  EXPECT_THROW(DiffAugment("colour"), Error);
}

TEST(Ada, ProbabilityRisesWhenDOverfitsAndFallsOtherwise) {
  AdaController ada;
  ada.p = 0.2;
  ada.interval = 4;
  ada.kimg = 1;  // 64*4 / 1000 per update
  auto confident = torch::full({64}, 3.0f);  // D calls every real image real: r_t = 1 > 0.6
  for (int i = 0; i < 4; ++i) ada.update(confident);
  EXPECT_NEAR(ada.p, 0.2 + 0.256, 1e-9);
  EXPECT_DOUBLE_EQ(ada.last_rt, 1.0);
  auto unsure = torch::cat({torch::full({32}, 1.0f), torch::full({32}, -1.0f)});  // r_t = 0 < 0.6
  for (int i = 0; i < 8; ++i) ada.update(unsure);
  EXPECT_NEAR(ada.p, 0.0, 1e-12);  // clamped at 0
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(ada.update(confident));
  EXPECT_TRUE(ada.update(confident));
}
