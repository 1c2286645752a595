#include <gtest/gtest.h>

#include <cmath>

#include "ganpp/core/error.h"
#include "ganpp/losses/loss.h"

using namespace ganpp;

namespace {
std::shared_ptr<AdversarialLoss> loss(const std::string& name) {
  Config c;
  c.set("loss.name", name);
  return create_loss(c);
}
double sp(double x) { return std::log1p(std::exp(x)); }  // softplus, closed form
torch::Tensor t(std::vector<float> v) { return torch::tensor(v); }
// d loss / d logits for the generator loss at `fake`.
torch::Tensor g_grad(const std::shared_ptr<AdversarialLoss>& l, std::vector<float> fake) {
  auto f = t(fake).requires_grad_(true);
  l->g_loss(f, {}).backward();
  return f.grad();
}
}  // namespace

TEST(Losses, ValuesMatchClosedForms) {
  auto real = t({2.0f, -0.5f}), fake = t({-1.0f, 0.5f});
  EXPECT_NEAR(loss("ns")->d_loss(real, fake).item<double>(), (sp(-2) + sp(0.5)) / 2 + (sp(-1) + sp(0.5)) / 2, 1e-6);
  EXPECT_NEAR(loss("ns")->g_loss(fake, {}).item<double>(), (sp(1) + sp(-0.5)) / 2, 1e-6);
  EXPECT_NEAR(loss("minimax")->d_loss(real, fake).item<double>(), (sp(-2) + sp(0.5)) / 2 + (sp(-1) + sp(0.5)) / 2, 1e-6);
  // log(1 - sigmoid(f)) = -softplus(f)
  EXPECT_NEAR(loss("minimax")->g_loss(fake, {}).item<double>(), -(sp(-1) + sp(0.5)) / 2, 1e-6);
  EXPECT_NEAR(loss("wgan")->d_loss(real, fake).item<double>(), (-1 + 0.5) / 2 - (2 - 0.5) / 2, 1e-6);
  EXPECT_NEAR(loss("wgan")->g_loss(fake, {}).item<double>(), 0.25, 1e-6);
  EXPECT_NEAR(loss("lsgan")->d_loss(real, fake).item<double>(), 0.5 * (1 + 2.25) / 2 + 0.5 * (1 + 0.25) / 2, 1e-6);
  EXPECT_NEAR(loss("lsgan")->g_loss(fake, {}).item<double>(), 0.5 * (4 + 0.25) / 2, 1e-6);
  EXPECT_NEAR(loss("hinge")->d_loss(real, fake).item<double>(), (0 + 1.5) / 2 + (0 + 1.5) / 2, 1e-6);
  EXPECT_NEAR(loss("hinge")->g_loss(fake, {}).item<double>(), 0.25, 1e-6);
}

TEST(Losses, GeneratorGradientsPushFakeTowardReal) {
  // Every generator loss decreases when D scores the fake as more real.
  for (auto name : {"ns", "minimax", "wgan", "lsgan", "hinge"})
    EXPECT_LT(g_grad(loss(name), {0.0f}).item<float>(), 0.0f) << name;
  // D's loss decreases when real scores rise and fake scores fall.
  for (auto name : {"ns", "minimax", "wgan", "lsgan", "hinge"}) {
    auto r = t({0.5f}).requires_grad_(true), f = t({0.5f}).requires_grad_(true);
    loss(name)->d_loss(r, f).backward();
    EXPECT_LT(r.grad().item<float>(), 0.0f) << name;
    EXPECT_GT(f.grad().item<float>(), 0.0f) << name;
  }
}

TEST(Losses, MinimaxSaturatesWhereNonSaturatingDoesNot) {
  // When D confidently rejects the fake (logit -10), the minimax gradient vanishes: d/df[-softplus(f)] = -sigmoid(f).
  double mm = g_grad(loss("minimax"), {-10.0f}).item<double>();
  double ns = g_grad(loss("ns"), {-10.0f}).item<double>();
  EXPECT_NEAR(mm, -1.0 / (1.0 + std::exp(10.0)), 1e-9);
  EXPECT_NEAR(ns, -1.0 / (1.0 + std::exp(-10.0)), 1e-6);
  EXPECT_GT(std::fabs(ns) / std::fabs(mm), 1e4);
}

TEST(Losses, RegistryNamesTheValidChoices) {
  try {
    LossRegistry::instance().create("loss (loss.name)", "nope", Config());
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("unknown loss (loss.name) 'nope'"), std::string::npos) << m;
    EXPECT_NE(m.find("hinge"), std::string::npos) << m;
  }
}
