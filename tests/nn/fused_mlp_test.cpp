// The fused MLP against the same torch::nn::Sequential run layer by layer: values, every gradient, the second-order
// gradient a gradient penalty takes, and which stacks it accepts.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ganpp/nn/fused_mlp.h"
#include "ganpp/nn/layers.h"

using namespace ganpp;
namespace nn = torch::nn;

namespace {

nn::Sequential stack(int64_t in, int64_t h, int64_t out, int layers, double slope) {
  nn::Sequential s;
  for (int i = 0; i < layers; ++i) {
    s->push_back(nn::Linear(i == 0 ? in : h, h));
    if (slope == 0)
      s->push_back(nn::ReLU(true));
    else
      s->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(slope).inplace(true)));
  }
  s->push_back(nn::Linear(layers == 0 ? in : h, out));
  return s;
}

double rel(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).norm().item<double>() / (b.norm().item<double>() + 1e-30);
}

}  // namespace

TEST(FusedMlp, SameValuesAndGradientsAsTheLayerByLayerStack) {
  for (double slope : {0.0, 0.2})
    for (int layers : {0, 1, 3}) {
      torch::manual_seed(layers);
      auto net = stack(5, 16, 3, layers, slope);
      auto fused = FusedMlp::of(net);
      ASSERT_TRUE(fused.has_value()) << layers;
      auto x = torch::randn({9, 5}).requires_grad_(true);
      auto r = torch::randn({9, 3});
      std::vector<torch::Tensor> wrt{x};
      for (auto& p : net->parameters()) wrt.push_back(p);
      auto a = net->forward(x), b = fused->forward(net, x);
      EXPECT_LT(rel(b, a), 1e-6) << "slope " << slope << " layers " << layers;
      auto ga = torch::autograd::grad({(a * r).sum()}, wrt), gb = torch::autograd::grad({(b * r).sum()}, wrt);
      for (size_t i = 0; i < wrt.size(); ++i) EXPECT_LT(rel(gb[i], ga[i]), 1e-6) << "gradient " << i << " slope " << slope;
    }
}

TEST(FusedMlp, GradientPenaltyThroughTheInputGradientMatches) {
  // R1/GP: || d D(x) / dx ||^2, differentiated again with respect to D's weights.
  torch::manual_seed(3);
  auto net = stack(2, 32, 1, 3, 0.2);
  auto fused = FusedMlp::of(net);
  ASSERT_TRUE(fused.has_value());
  auto x = torch::randn({17, 2});
  auto penalty_grads = [&](bool use_fused) {
    auto xi = x.clone().requires_grad_(true);
    auto out = use_fused ? fused->forward(net, xi) : net->forward(xi);
    auto gx = torch::autograd::grad({out.sum()}, {xi}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
    return torch::autograd::grad({gx.pow(2).sum(1).mean()}, net->parameters(), {}, false, false, /*allow_unused=*/true);
  };
  auto a = penalty_grads(false), b = penalty_grads(true);
  ASSERT_EQ(a.size(), b.size());
  auto params = net->parameters();
  double largest = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    // Undefined = no dependence = zero (the input gradient depends on the biases only through the activations'
    // derivatives, which are constant almost everywhere: autograd returns zeros there, the fused node nothing).
    auto ai = a[i].defined() ? a[i] : torch::zeros_like(params[i]);
    auto bi = b[i].defined() ? b[i] : torch::zeros_like(params[i]);
    largest = std::max(largest, ai.abs().max().item<double>());
    if (ai.abs().max().item<double>() == 0)
      EXPECT_EQ(bi.abs().max().item<double>(), 0) << "parameter " << i;
    else
      EXPECT_LT(rel(bi, ai), 1e-5) << "parameter " << i;
  }
  EXPECT_GT(largest, 0) << "the penalty has a gradient";
}

TEST(FusedMlp, FrozenWeightsGetNoGradientAndTheInputGetsOne) {
  // G's update runs D with requires_grad off on D's weights: only the input gradient is computed.
  torch::manual_seed(4);
  auto net = stack(2, 8, 1, 2, 0.2);
  auto fused = FusedMlp::of(net);
  for (auto& p : net->parameters()) p.requires_grad_(false);
  auto x = torch::randn({4, 2}).requires_grad_(true);
  fused->forward(net, x).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  for (auto& p : net->parameters()) EXPECT_FALSE(p.grad().defined());
  auto x2 = x.detach().clone().requires_grad_(true);
  net->forward(x2).sum().backward();
  EXPECT_LT(rel(x.grad(), x2.grad()), 1e-6);
}

TEST(FusedMlp, AcceptsOnlyPlainLinearStacks) {
  nn::Sequential mixed;
  mixed->push_back(nn::Linear(2, 4));
  mixed->push_back(nn::ReLU());
  mixed->push_back(nn::Linear(4, 4));
  mixed->push_back(nn::LeakyReLU());
  mixed->push_back(nn::Linear(4, 1));
  EXPECT_FALSE(FusedMlp::of(mixed).has_value()) << "two activation kinds";
  nn::Sequential trailing;
  trailing->push_back(nn::Linear(2, 4));
  trailing->push_back(nn::ReLU());
  EXPECT_FALSE(FusedMlp::of(trailing).has_value()) << "ends with an activation";
  nn::Sequential nobias;
  nobias->push_back(nn::Linear(nn::LinearOptions(2, 1).bias(false)));
  EXPECT_FALSE(FusedMlp::of(nobias).has_value()) << "no bias";
  nn::Sequential tanh;
  tanh->push_back(nn::Linear(2, 4));
  tanh->push_back(nn::Tanh());
  tanh->push_back(nn::Linear(4, 1));
  EXPECT_FALSE(FusedMlp::of(tanh).has_value()) << "not piecewise linear";
  nn::Sequential sn;
  push_layer(sn, nn::Linear(2, 4), true);
  sn->push_back(nn::ReLU());
  sn->push_back(nn::Linear(4, 1));
  EXPECT_FALSE(FusedMlp::of(sn).has_value()) << "spectral norm";
}
