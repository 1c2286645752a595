#include "ganpp/nn/conv_transpose.h"

#include <fmt/format.h>

#include "ganpp/core/error.h"

namespace ganpp {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::vector<int64_t> vec(const c10::IValue& v) { return v.toIntVector(); }
// Dense in the tensor's own layout (channels-last stays channels-last).
torch::Tensor dense(const torch::Tensor& t) { return t.contiguous(t.suggest_memory_format()); }

// out = conv2d⁻ᵀ(x): the input gradient of y -> conv2d(y, w) taken at grad_output = x. Its own gradients are a
// convolution (for x) and that convolution's weight gradient with the roles of input and grad_output swapped.
struct ConvTransposeFn : torch::autograd::Function<ConvTransposeFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               std::vector<int64_t> stride, std::vector<int64_t> padding,
                               std::vector<int64_t> output_padding, int64_t groups, std::vector<int64_t> dilation) {
    std::vector<int64_t> shape{x.size(0), w.size(1) * groups};
    for (int i = 0; i < 2; ++i)
      shape.push_back((x.size(2 + i) - 1) * stride[i] - 2 * padding[i] + dilation[i] * (w.size(2 + i) - 1) +
                      output_padding[i] + 1);
    // Only the shape of the convolution's "input" is read by its backward-data pass.
    auto out = std::get<0>(at::convolution_backward(dense(x), at::empty(shape, x.options().memory_format(x.suggest_memory_format())), w, c10::nullopt,
                                                    stride, padding, dilation, false, {0, 0}, groups,
                                                    {true, false, false}));
    ctx->save_for_backward({x, w});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    ctx->saved_data["dilation"] = dilation;
    ctx->saved_data["groups"] = groups;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &w = saved[1];
    auto g = dense(grads[0]);
    auto stride = vec(ctx->saved_data["stride"]), padding = vec(ctx->saved_data["padding"]);
    auto dilation = vec(ctx->saved_data["dilation"]);
    const int64_t groups = ctx->saved_data["groups"].toInt();
    torch::Tensor gx, gw;
    if (ctx->needs_input_grad(0))
      gx = at::convolution(g, w, c10::nullopt, stride, padding, dilation, false, {0, 0}, groups);
    if (ctx->needs_input_grad(1))
      gw = std::get<1>(at::convolution_backward(dense(x), g, w, c10::nullopt, stride, padding, dilation, false,
                                                {0, 0}, groups, {false, true, false}));
    return {gx, gw, {}, {}, {}, {}, {}};
  }
};

}  // namespace

ConvTransposeImpl parse_conv_transpose_impl(const std::string& name) {
  if (name == "auto") return ConvTransposeImpl::Auto;
  if (name == "onednn") return ConvTransposeImpl::OneDnn;
  if (name == "native") return ConvTransposeImpl::Native;
  throw Error(fmt::format("model.conv_transpose = '{}': expected one of: auto, onednn, native", name));
}

ConvTransposeImpl resolve_conv_transpose_impl(ConvTransposeImpl impl, int64_t out_channels) {
  if (impl != ConvTransposeImpl::Auto) return impl;
  // oneDNN's backward-data kernels lose to im2col when the output has only a few channels (an image layer).
  return out_channels >= 8 ? ConvTransposeImpl::OneDnn : ConvTransposeImpl::Native;
}

torch::Tensor conv_transpose2d_onednn(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                      torch::IntArrayRef stride, torch::IntArrayRef padding,
                                      torch::IntArrayRef output_padding, int64_t groups, torch::IntArrayRef dilation) {
  const bool applies = x.dim() == 4 && x.is_cpu() && x.scalar_type() == torch::kFloat &&
                       weight.scalar_type() == torch::kFloat && at::globalContext().userEnabledMkldnn();
  if (!applies) return torch::conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups, dilation);
  auto out = ConvTransposeFn::apply(x, weight, stride.vec(), padding.vec(), output_padding.vec(), groups,
                                    dilation.vec());
  if (bias.defined()) out = out + bias.view({1, -1, 1, 1});
  return out;
}

torch::Tensor OneDnnConvTranspose2dImpl::forward(const torch::Tensor& x) {
  auto* pad = c10::get_if<torch::ExpandingArray<2>>(&options.padding());
  if (!pad || !c10::get_if<torch::enumtype::kZeros>(&options.padding_mode()))
    throw Error("ConvTranspose2d (oneDNN): only explicit zero padding is supported");
  return conv_transpose2d_onednn(x, weight, bias, *options.stride(), **pad, *options.output_padding(),
                                 options.groups(), *options.dilation());
}

}  // namespace ganpp
