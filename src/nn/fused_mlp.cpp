#include "ganpp/nn/fused_mlp.h"
#include <ATen/autocast_mode.h>

namespace ganpp {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// params = (w0, b0, w1, b1, ...); hidden layers apply the activation, the last one does not.
struct FusedMlpFn : torch::autograd::Function<FusedMlpFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, torch::TensorList params, double slope) {
    const size_t n = params.size() / 2;
    std::vector<torch::Tensor> saved{x};
    for (auto& p : params) saved.push_back(p);
    torch::Tensor h = x;
    for (size_t i = 0; i < n; ++i) {
      h = torch::addmm(params[2 * i + 1], h, params[2 * i].t());
      if (i + 1 < n) {
        if (slope == 0)
          h.relu_();
        else
          torch::leaky_relu_(h, slope);
        saved.push_back(h);  // the next layer's input; its sign is the activation's derivative
      }
    }
    ctx->save_for_backward(saved);
    ctx->saved_data["slope"] = slope;
    return h;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const double slope = ctx->saved_data["slope"].toDouble();
    const size_t n = saved.size() / 3;  // x, 2n params, n-1 activations
    auto weight = [&](size_t i) -> const torch::Tensor& { return saved[1 + 2 * i]; };
    auto input = [&](size_t i) -> const torch::Tensor& { return i == 0 ? saved[0] : saved[2 * n + i]; };
    variable_list out(1 + 2 * n + 1);
    torch::Tensor g = grads[0];
    for (size_t i = n; i-- > 0;) {
      if (ctx->needs_input_grad(1 + 2 * i)) out[1 + 2 * i] = g.t().mm(input(i));
      if (ctx->needs_input_grad(2 + 2 * i)) out[2 + 2 * i] = g.sum(0);
      if (i == 0) {
        if (ctx->needs_input_grad(0)) out[0] = g.mm(weight(0));
        break;
      }
      g = g.mm(weight(i));
      g = slope == 0 ? torch::threshold_backward(g, input(i), 0)
                     : torch::leaky_relu_backward(g, input(i), slope, /*self_is_result=*/true);
    }
    return out;
  }
};

}  // namespace

std::optional<FusedMlp> FusedMlp::of(torch::nn::Sequential& net) {
  FusedMlp f;
  bool act_seen = false, expect_linear = true;
  for (const auto& m : net->children()) {
    if (expect_linear) {
      auto* lin = dynamic_cast<torch::nn::LinearImpl*>(m.get());
      // Exactly a Linear (not a subclass, not wrapped in spectral norm) with a bias.
      if (!lin || typeid(*m) != typeid(torch::nn::LinearImpl) || !lin->bias.defined()) return std::nullopt;
      f.layers_.push_back(lin);
    } else {
      double slope = -1;
      if (dynamic_cast<torch::nn::ReLUImpl*>(m.get()))
        slope = 0;
      else if (auto* lr = dynamic_cast<torch::nn::LeakyReLUImpl*>(m.get()))
        slope = lr->options.negative_slope();
      if (slope < 0 || (act_seen && slope != f.slope_)) return std::nullopt;
      f.slope_ = slope;
      act_seen = true;
    }
    expect_linear = !expect_linear;
  }
  if (expect_linear || f.layers_.empty()) return std::nullopt;  // must end with a Linear
  return f;
}

torch::Tensor FusedMlp::forward(torch::nn::Sequential& net, const torch::Tensor& x) const {
  if (x.dim() != 2 || !x.is_floating_point() || at::autocast::is_cpu_enabled() || at::autocast::is_enabled())
    return net->forward(x);
  std::vector<torch::Tensor> params;
  params.reserve(2 * layers_.size());
  for (auto* l : layers_) params.push_back(l->weight), params.push_back(l->bias);
  return FusedMlpFn::apply(x, torch::TensorList(params), slope_);  // as a TensorList: each one an autograd input
}

}  // namespace ganpp
