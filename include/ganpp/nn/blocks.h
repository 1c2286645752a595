#pragma once
#include <torch/torch.h>

#include <cmath>
#include <memory>

#include "ganpp/nn/layers.h"

namespace ganpp {

// Building blocks of the ResNet (SNGAN), self-attention (SAGAN) and conditional models.

// A Conv2d (k x k, padding k/2) or Linear layer, wrapped in spectral norm when `sn`.
torch::nn::AnyModule make_conv(int64_t in, int64_t out, int64_t k, bool sn, bool bias = true);
torch::nn::AnyModule make_linear(int64_t in, int64_t out, bool sn, bool bias = true);

// Batch norm whose scale and shift are chosen by the class (de Vries et al. 2017; Miyato & Koyama 2018):
// y = BN(x) * gamma[label] + beta[label], gamma initialised to 1 and beta to 0. With classes = 0 it is an ordinary
// affine BatchNorm2d (the label is ignored).
class ConditionalBatchNorm2dImpl : public torch::nn::Module {
 public:
  ConditionalBatchNorm2dImpl(int64_t channels, int64_t classes);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels = {});
  int64_t classes() const { return classes_; }

  SyncBatchNorm2d bn{nullptr};
  torch::nn::Embedding gamma{nullptr}, beta{nullptr};

 private:
  int64_t classes_;
};
TORCH_MODULE(ConditionalBatchNorm2d);

// Self-attention over the pixels of a feature map (Zhang et al. 2019, SAGAN; BigGAN's layout): queries and keys
// with C/8 channels, values with C/2, keys and values max-pooled 2x2, out = x + gamma * conv(attention), gamma
// learnt and initialised to 0 (the block starts as the identity). 1x1 convolutions, spectral norm when `sn`.
class SelfAttention2dImpl : public torch::nn::Module {
 public:
  SelfAttention2dImpl(int64_t channels, bool sn);
  torch::Tensor forward(const torch::Tensor& x);
  // The attention map of the last forward, [B, HW, HW/4] (for tests and inspection).
  torch::Tensor last_attention;
  torch::Tensor gamma;

 private:
  torch::nn::AnyModule q_, k_, v_, o_;
};
TORCH_MODULE(SelfAttention2d);

// SNGAN generator block: CBN-ReLU-up2-conv3-CBN-ReLU-conv3, plus a shortcut up2-conv1. Nearest upsampling.
class ResBlockUpImpl : public torch::nn::Module {
 public:
  ResBlockUpImpl(int64_t in, int64_t out, int64_t classes, bool sn);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels = {});

 private:
  ConditionalBatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::AnyModule c1_, c2_, sc_;
};
TORCH_MODULE(ResBlockUp);

// SNGAN discriminator block: ReLU-conv3-ReLU-conv3 [-avgpool2], shortcut [conv1] [-avgpool2]. The first block of
// D (`first`) takes the image itself: no leading ReLU, and its shortcut pools before the 1x1 convolution.
class ResBlockDownImpl : public torch::nn::Module {
 public:
  ResBlockDownImpl(int64_t in, int64_t out, bool downsample, bool first, bool sn);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool down_, first_, learnable_sc_;
  torch::nn::AnyModule c1_, c2_, sc_;
};
TORCH_MODULE(ResBlockDown);

// The label-dependent part of a conditional D, applied to pooled features phi [B, C]: the projection term
// <embed(y), phi> ([B]) or AC-GAN class logits ([B, classes]).
class ClassHeadImpl : public torch::nn::Module {
 public:
  ClassHeadImpl(int64_t features, int64_t classes, bool acgan, bool sn);
  // Returns (projection term or undefined, class logits or undefined).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& phi, const torch::Tensor& labels);
  bool acgan() const { return acgan_; }

 private:
  bool acgan_;
  torch::nn::Embedding embed_{nullptr};
  torch::nn::AnyModule aux_;
};
TORCH_MODULE(ClassHead);

// Equalised learning rate (Karras et al. 2018): weights stored ~ N(0, 1) and scaled at run time by
// gain / sqrt(fan_in), so that Adam's per-parameter step sizes act alike on every layer. Bias starts at 0.
class EqualizedConv2dImpl : public torch::nn::Module {
 public:
  EqualizedConv2dImpl(int64_t in, int64_t out, int64_t k, int64_t padding, double gain = std::sqrt(2.0));
  torch::Tensor forward(const torch::Tensor& x);
  double scale() const { return scale_; }
  torch::Tensor weight, bias;

 private:
  int64_t padding_;
  double scale_;
};
TORCH_MODULE(EqualizedConv2d);

class EqualizedLinearImpl : public torch::nn::Module {
 public:
  EqualizedLinearImpl(int64_t in, int64_t out, double gain = std::sqrt(2.0));
  torch::Tensor forward(const torch::Tensor& x);
  double scale() const { return scale_; }
  torch::Tensor weight, bias;

 private:
  double scale_;
};
TORCH_MODULE(EqualizedLinear);

// Pixelwise feature normalisation: x / sqrt(mean over channels of x^2 + 1e-8).
torch::Tensor pixel_norm(const torch::Tensor& x);

// Checks labels for a conditional network: int64 [B] with values in [0, classes), or float class weights [B, classes]
// (a conditional G mixes the classes' embeddings: class interpolation).
void check_labels(const torch::Tensor& labels, int64_t batch, int64_t classes, const char* who);

}  // namespace ganpp
