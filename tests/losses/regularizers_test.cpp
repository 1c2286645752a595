#include <gtest/gtest.h>

#include "ganpp/losses/regularizers.h"

using namespace ganpp;

namespace {
// A small smooth critic in double precision.
struct SmallCritic {
  torch::nn::Sequential net{torch::nn::Linear(3, 5), torch::nn::Tanh(), torch::nn::Linear(5, 1)};
  SmallCritic() { net->to(torch::kDouble); }
  torch::Tensor operator()(const torch::Tensor& x) { return net->forward(x).reshape({-1}); }
};

// Central finite-difference gradient of sum(D(x)) w.r.t. x.
torch::Tensor fd_grad(SmallCritic& d, const torch::Tensor& x, double h = 1e-6) {
  torch::NoGradGuard ng;
  auto g = torch::zeros_like(x);
  for (int64_t i = 0; i < x.size(0); ++i)
    for (int64_t j = 0; j < x.size(1); ++j) {
      auto xp = x.clone(), xm = x.clone();
      xp[i][j] += h;
      xm[i][j] -= h;
      g[i][j] = (d(xp).sum() - d(xm).sum()) / (2 * h);
    }
  return g;
}
}  // namespace

TEST(Regularizers, GradientPenaltyEqualsFiniteDifferences) {
  torch::manual_seed(1);
  SmallCritic d;
  auto x = torch::randn({6, 3}, torch::kDouble);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  // With real == fake every interpolate is x itself, so the penalty is a function of x alone.
  auto gp = gradient_penalty([&](const torch::Tensor& t) { return d(t); }, x, x, gen);
  auto norms = fd_grad(d, x).norm(2, 1);
  double want = (norms - 1).pow(2).mean().item<double>();
  EXPECT_NEAR(gp.item<double>(), want, 1e-8);
  // Centre 0 gives the mean squared norm.
  auto gp0 = gradient_penalty([&](const torch::Tensor& t) { return d(t); }, x, x, gen, 0.0);
  EXPECT_NEAR(gp0.item<double>(), norms.pow(2).mean().item<double>(), 1e-8);
  // It is differentiable w.r.t. the critic's weights (double backprop).
  gp.backward();
  double g2 = 0;
  for (auto& p : d.net->parameters())
    if (p.grad().defined()) g2 += p.grad().pow(2).sum().item<double>();  // the output bias gets none
  EXPECT_GT(g2, 0.0);
}

TEST(Regularizers, GradientPenaltyInterpolatesBetweenRealAndFake) {
  torch::manual_seed(2);
  SmallCritic d;
  auto real = torch::randn({4, 3}, torch::kDouble), fake = torch::randn({4, 3}, torch::kDouble);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
  auto gen_copy = gen.clone();
  auto gp = gradient_penalty([&](const torch::Tensor& t) { return d(t); }, real, fake, gen);
  auto e = torch::rand({4, 1}, gen_copy, torch::kDouble);
  auto xh = e * real + (1 - e) * fake;
  double want = (fd_grad(d, xh).norm(2, 1) - 1).pow(2).mean().item<double>();
  EXPECT_NEAR(gp.item<double>(), want, 1e-8);
}

TEST(Regularizers, R1EqualsFiniteDifferences) {
  torch::manual_seed(3);
  SmallCritic d;
  auto x = torch::randn({5, 3}, torch::kDouble).requires_grad_(true);
  auto out = d(x);
  double r1 = gradient_square_penalty(out, x).item<double>();
  double want = fd_grad(d, x.detach()).pow(2).sum(1).mean().item<double>();
  EXPECT_NEAR(r1, want, 1e-8);
}
