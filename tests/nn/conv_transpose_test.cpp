#include <gtest/gtest.h>

#include <set>

#include "ganpp/core/error.h"
#include "ganpp/models/gan.h"
#include "ganpp/nn/conv_transpose.h"
#include "ganpp/nn/layers.h"

using namespace ganpp;
namespace nn = torch::nn;

namespace {
double rel_err(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(b.abs().max().item<double>(), 1e-30);
}

// How many nodes of the autograd graph behind `y` have a name containing `part`.
int count_nodes(const torch::Tensor& y, const std::string& part) {
  std::vector<torch::autograd::Node*> todo{y.grad_fn().get()};
  std::set<torch::autograd::Node*> seen;
  int n = 0;
  while (!todo.empty()) {
    auto* node = todo.back();
    todo.pop_back();
    if (!node || !seen.insert(node).second) continue;
    if (node->name().find(part) != std::string::npos) ++n;
    for (auto& e : node->next_edges()) todo.push_back(e.function.get());
  }
  return n;
}
}  // namespace

// The reference is torch's own transposed convolution (slow_conv_transpose2d on CPU), an independent code path.
TEST(ConvTranspose, OneDnnMatchesTorchValueGradientsAndSecondOrder) {
  torch::manual_seed(0);
  struct Case {
    int64_t cin, cout, k, h, w, stride, pad, out_pad, groups, dil, batch;
  };
  std::vector<Case> cases = {
      {100, 32, 4, 1, 1, 1, 0, 0, 1, 1, 8},  // DCGAN's first layer: z -> 4x4
      {32, 16, 4, 4, 4, 2, 1, 0, 1, 1, 8},   // DCGAN's upsampling layer
      {16, 3, 4, 8, 8, 2, 1, 0, 1, 1, 3},    // to RGB, odd batch
      {6, 4, 3, 5, 7, 2, 1, 1, 2, 1, 2},     // non-square, output padding, groups
      {4, 5, 3, 6, 6, 1, 2, 0, 1, 2, 1},     // dilation, batch 1
      {3, 3, 1, 4, 4, 3, 0, 2, 1, 1, 4},     // 1x1 kernel, stride 3
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.cin << "->" << c.cout << " k" << c.k << " s" << c.stride << " p" << c.pad
                                      << " op" << c.out_pad << " g" << c.groups << " d" << c.dil);
    auto x = torch::randn({c.batch, c.cin, c.h, c.w}, torch::requires_grad());
    auto wt = torch::randn({c.cin, c.cout / c.groups, c.k, c.k}, torch::requires_grad());
    auto b = torch::randn({c.cout}, torch::requires_grad());
    std::vector<int64_t> s{c.stride, c.stride}, p{c.pad, c.pad}, op{c.out_pad, c.out_pad}, d{c.dil, c.dil};
    auto want = torch::conv_transpose2d(x, wt, b, s, p, op, c.groups, d);
    auto got = conv_transpose2d_onednn(x, wt, b, s, p, op, c.groups, d);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_LT(rel_err(got, want), 1e-5);
    auto g = torch::randn_like(want);
    auto gw = torch::autograd::grad({want}, {x, wt, b}, {g}, true, true);
    auto gg = torch::autograd::grad({got}, {x, wt, b}, {g}, true, true);
    for (int i = 0; i < 3; ++i) EXPECT_LT(rel_err(gg[i], gw[i]), 1e-5) << "gradient " << i;
    // Second order (as a gradient penalty through G would need): d/d(x, w) of |dL/dx|² + |dL/dw|² (dL/dx depends
    // on w only, dL/dw on x only: the operation is bilinear).
    auto hw = torch::autograd::grad({gw[0].pow(2).sum() + gw[1].pow(2).sum()}, {x, wt});
    auto hg = torch::autograd::grad({gg[0].pow(2).sum() + gg[1].pow(2).sum()}, {x, wt});
    for (int i = 0; i < 2; ++i) EXPECT_LT(rel_err(hg[i], hw[i]), 1e-4) << "second order " << i;
  }
}

TEST(ConvTranspose, NonFloatOrGradFreeInputsTakeTheSamePath) {
  auto x = torch::randn({2, 4, 3, 3}, torch::kDouble), w = torch::randn({4, 2, 4, 4}, torch::kDouble);
  auto want = torch::conv_transpose2d(x, w, {}, 2, 1);
  EXPECT_TRUE(torch::allclose(conv_transpose2d_onednn(x, w, {}, {2, 2}, {1, 1}, {0, 0}, 1, {1, 1}), want));
  torch::NoGradGuard ng;
  auto xf = x.to(torch::kFloat), wf = w.to(torch::kFloat);
  EXPECT_LT(rel_err(conv_transpose2d_onednn(xf, wf, {}, {2, 2}, {1, 1}, {0, 0}, 1, {1, 1}), want.to(torch::kFloat)), 1e-5);
}

TEST(ConvTranspose, DcganUsesTheChosenImplementationWithIdenticalParameters) {
  DataSpec spec{"t", {1, 32, 32}, 0, {}};
  auto make = [&](const std::string& impl, const std::string& sn = "none") {
    Config c;
    c.set("model.g_channels", "8");
    c.set("model.d_channels", "8");
    c.set("model.z_dim", "16");
    c.set("model.spectral_norm", sn);
    c.set("model.conv_transpose", impl);
    torch::manual_seed(5);
    return create_models(c, spec);
  };
  auto a = make("auto", "g"), b = make("native", "g");
  // Same initialisation and state-dict names: checkpoints are interchangeable between the two.
  auto pa = a.g->named_parameters(), pb = b.g->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].key(), pb[i].key());
    EXPECT_TRUE(torch::equal(pa[i].value(), pb[i].value())) << pa[i].key();
  }
  // Train mode: batch norm keeps the activations O(1), so float rounding stays at float precision.
  auto z = torch::randn({4, 16});
  for (auto sn : {"none", "g"}) {
    auto m = make("onednn", sn), n = make("native", sn);
    EXPECT_LT(rel_err(m.g->forward(z), n.g->forward(z)), 1e-5) << sn;
  }
  // Each of the 4 transposed convolutions runs the oneDNN function (its autograd node), plain and under spectral
  // norm; auto leaves the 1-channel image layer native; the native stack runs none.
  for (const std::string sn : {"none", "g"}) {
    auto o = make("onednn", sn), a2 = make("auto", sn), n = make("native", sn);
    for (auto* m : {&o, &a2, &n}) m->g->train();
    EXPECT_EQ(count_nodes(o.g->forward(z), "ConvTransposeFn"), 4) << sn;
    EXPECT_EQ(count_nodes(a2.g->forward(z), "ConvTransposeFn"), 3) << sn;
    EXPECT_EQ(count_nodes(a2.g->forward(z), "ConvolutionBackward"), 1) << sn;
    EXPECT_EQ(count_nodes(n.g->forward(z), "ConvTransposeFn"), 0) << sn;
    EXPECT_EQ(count_nodes(n.g->forward(z), "ConvolutionBackward"), 4) << sn;
  }
  EXPECT_EQ(resolve_conv_transpose_impl(ConvTransposeImpl::Auto, 8), ConvTransposeImpl::OneDnn);
  EXPECT_EQ(resolve_conv_transpose_impl(ConvTransposeImpl::Auto, 7), ConvTransposeImpl::Native);
  EXPECT_EQ(resolve_conv_transpose_impl(ConvTransposeImpl::Native, 512), ConvTransposeImpl::Native);
  Config bad;
  EXPECT_THROW(bad.set("model.conv_transpose", "fast"), std::exception);
  EXPECT_THROW(parse_conv_transpose_impl("fast"), Error);
}
