#pragma once
#include <torch/torch.h>

namespace ganpp {

// How transposed convolutions are computed (`model.conv_transpose`). The result is the same up to float rounding.
enum class ConvTransposeImpl {
  Auto,    // OneDnn for layers with at least 8 output channels, Native for thinner ones (measured: docs/results.md)
  OneDnn,  // as the input gradient (backward-data) of the matching convolution, which torch runs on oneDNN on CPU
  Native,  // torch::conv_transpose2d: on CPU, torch 1.13's slow_conv_transpose2d (im2col + BLAS)
};
ConvTransposeImpl parse_conv_transpose_impl(const std::string& name);
// The implementation a layer with `out_channels` outputs gets: Auto resolved by a fixed rule, never by timing, so
// that a run and its resume compute with the same kernels (bit-exact resume).
ConvTransposeImpl resolve_conv_transpose_impl(ConvTransposeImpl impl, int64_t out_channels);

// torch::conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups, dilation), computed as the
// backward-data pass of conv2d(·, weight) where oneDNN runs it (CPU float32 tensors); elsewhere (CUDA, other
// dtypes) it is torch::conv_transpose2d itself. Differentiable in x, weight and bias (twice, too).
torch::Tensor conv_transpose2d_onednn(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                      torch::IntArrayRef stride, torch::IntArrayRef padding,
                                      torch::IntArrayRef output_padding, int64_t groups, torch::IntArrayRef dilation);

// A torch::nn::ConvTranspose2d (same options, parameters, initialisation and state-dict names) whose forward
// uses conv_transpose2d_onednn. Code that inspects ConvTranspose2dImpl (spectral norm, export) sees it as one.
class OneDnnConvTranspose2dImpl : public torch::nn::ConvTranspose2dImpl {
 public:
  using torch::nn::ConvTranspose2dImpl::ConvTranspose2dImpl;
  torch::Tensor forward(const torch::Tensor& x);
  // The base class declares a defaulted `output_size` argument; this forward has none (public: Sequential asks).
  bool _forward_has_default_args() override { return false; }
};
TORCH_MODULE(OneDnnConvTranspose2d);

}  // namespace ganpp
