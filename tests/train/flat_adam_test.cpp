// The flat Adam against torch::optim::Adam on the same parameters and gradients, and through a checkpoint.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ganpp/core/error.h"
#include "ganpp/io/archive.h"
#include "ganpp/train/flat_adam.h"
#include "ganpp/train/task.h"

using namespace ganpp;

namespace {

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  torch::nn::Conv2d conv{nullptr};
  Net() {
    fc = register_module("fc", torch::nn::Linear(5, 7));
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3)));
  }
};

std::shared_ptr<Net> make_net(int seed, bool channels_last) {
  torch::manual_seed(seed);
  auto n = std::make_shared<Net>();
  if (channels_last) {
    torch::NoGradGuard ng;
    auto& w = n->conv->weight;
    w.set_data(w.contiguous(at::MemoryFormat::ChannelsLast));
  }
  return n;
}

// Gradients of a fixed function of the parameters and a per-step input, so both copies see the same gradients.
void backward(Net& n, int step) {
  torch::manual_seed(1000 + step);
  auto x = torch::randn({6, 5}), img = torch::randn({2, 3, 6, 6});
  auto loss = n.fc->forward(x).pow(2).mean() + torch::tanh(n.conv->forward(img)).sum();
  loss.backward();
}

double max_rel(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, (a[i] - b[i]).norm().item<double>() / (b[i].norm().item<double>() + 1e-30));
  return worst;
}

torch::optim::AdamOptions options() { return torch::optim::AdamOptions(2e-3).betas({0.5, 0.99}).eps(1e-8); }

}  // namespace

TEST(FlatAdam, MatchesTorchAdamStepForStep) {
  for (bool cl : {false, true}) {
    auto a = make_net(0, cl), b = make_net(0, cl);
    torch::optim::Adam ref(a->parameters(), options());
    FlatAdam flat(b->parameters(), options());
    EXPECT_EQ(flat.numel(), 5 * 7 + 7 + 4 * 3 * 3 * 3 + 4);
    for (int s = 0; s < 25; ++s) {
      if (s == 10) {  // learning-rate schedules write the group's options
        static_cast<torch::optim::AdamOptions&>(ref.param_groups()[0].options()).lr(5e-4);
        static_cast<torch::optim::AdamOptions&>(flat.param_groups()[0].options()).lr(5e-4);
      }
      clear_grads(*a);
      if (s % 2 == 0)
        flat.zero_flat_grad();
      else
        clear_grads(*b);  // gradients set to none and recreated by backward are taken over too
      backward(*a, s);
      backward(*b, s);
      ref.step();
      flat.step();
    }
    // Same update, term for term; only the vectorised kernels' rounding of differently aligned elements may differ.
    EXPECT_LT(max_rel(a->parameters(), b->parameters()), 1e-6) << "channels_last " << cl;
    // The moments the state map holds (what checkpoints store) are the flat buffer's views and match torch's.
    for (size_t i = 0; i < a->parameters().size(); ++i) {
      auto key = [](const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); };
      auto& sa = static_cast<torch::optim::AdamParamState&>(*ref.state().at(key(a->parameters()[i])));
      auto& sb = static_cast<torch::optim::AdamParamState&>(*flat.state().at(key(b->parameters()[i])));
      EXPECT_EQ(sa.step(), sb.step());
      EXPECT_LT(max_rel({sa.exp_avg(), sa.exp_avg_sq()}, {sb.exp_avg(), sb.exp_avg_sq()}), 1e-6);
    }
    // The layout of every parameter is kept (channels-last weights stay channels-last).
    EXPECT_EQ(b->conv->weight.is_contiguous(at::MemoryFormat::ChannelsLast), cl);
  }
}

TEST(FlatAdam, ParameterWithoutGradientStaysPut) {
  auto n = make_net(1, false);
  FlatAdam flat(n->parameters(), options());
  const auto before = n->conv->weight.detach().clone();
  for (int s = 0; s < 5; ++s) {
    flat.zero_flat_grad();
    torch::manual_seed(s);
    n->fc->forward(torch::randn({3, 5})).sum().backward();  // conv gets no gradient
    flat.step();
  }
  EXPECT_TRUE(torch::equal(n->conv->weight, before));
  EXPECT_FALSE(torch::equal(n->fc->weight, make_net(1, false)->fc->weight));
}

TEST(FlatAdam, CheckpointRoundTripContinuesBitExactly) {
  // Uninterrupted: 12 steps. Interrupted: 6 steps, state and weights through an archive into fresh objects, 6 more.
  auto a = make_net(2, false);
  FlatAdam oa(a->parameters(), options());
  for (int s = 0; s < 12; ++s) {
    oa.zero_flat_grad();
    backward(*a, s);
    oa.step();
  }
  auto b = make_net(2, false);
  Archive ar;
  {
    FlatAdam ob(b->parameters(), options());
    for (int s = 0; s < 6; ++s) {
      ob.zero_flat_grad();
      backward(*b, s);
      ob.step();
    }
    put_adam(ar, "opt", ob);
    for (auto& p : b->named_parameters()) ar.tensors["w/" + p.key()] = p.value().detach().clone();
  }
  auto c = make_net(99, false);
  {
    torch::NoGradGuard ng;
    for (auto& p : c->named_parameters()) p.value().copy_(ar.tensors.at("w/" + p.key()));
  }
  FlatAdam oc(c->parameters(), options());
  get_adam(ar, "opt", oc, "test archive");
  for (int s = 6; s < 12; ++s) {
    oc.zero_flat_grad();
    backward(*c, s);
    oc.step();
  }
  for (size_t i = 0; i < a->parameters().size(); ++i)
    EXPECT_TRUE(torch::equal(a->parameters()[i], c->parameters()[i])) << "parameter " << i;
}

TEST(FlatAdam, RefusesStateWithDifferentStepCounts) {
  // A per-parameter Adam's state where one parameter missed steps cannot be flattened into one step count.
  auto n = make_net(3, false);
  torch::optim::Adam ref(n->parameters(), options());
  clear_grads(*n);
  backward(*n, 0);
  ref.step();
  clear_grads(*n);
  n->fc->forward(torch::randn({3, 5})).sum().backward();
  ref.step();  // fc: 2 steps, conv: 1
  Archive ar;
  put_adam(ar, "opt", ref);
  FlatAdam flat(n->parameters(), options());
  get_adam(ar, "opt", flat, "test archive");
  try {
    flat.step();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("optim.flat=false"), std::string::npos) << e.what();
  }
}

TEST(FlatAdam, FlattenParametersKeepsValuesAndLayoutAndFlatViewAliasesThem) {
  auto n = make_net(4, /*channels_last=*/true);
  std::vector<torch::Tensor> before;
  for (auto& p : n->parameters()) before.push_back(p.detach().clone());
  EXPECT_FALSE(flat_view(n->parameters()).defined()) << "separately allocated parameters are no flat buffer";
  auto buffer = flatten_parameters(n->parameters());
  auto params = n->parameters();
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(torch::equal(params[i], before[i])) << i;
  EXPECT_TRUE(n->conv->weight.is_contiguous(at::MemoryFormat::ChannelsLast));
  auto view = flat_view(params);
  ASSERT_TRUE(view.defined());
  EXPECT_EQ(view.numel(), buffer.numel());
  {
    torch::NoGradGuard ng;
    view.mul_(2);
  }
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(torch::equal(params[i], 2 * before[i])) << i;
  std::vector<torch::Tensor> reversed(params.rbegin(), params.rend());
  EXPECT_FALSE(flat_view(reversed).defined()) << "out of order";
  EXPECT_FALSE(flat_view({params[0], params[2]}).defined()) << "with a gap";
}
