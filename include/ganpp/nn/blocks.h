#pragma once
#include <torch/torch.h>

#include <memory>

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

  torch::nn::BatchNorm2d bn{nullptr};
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

// Checks labels for a conditional network: int64 [B] with values in [0, classes), or float class weights [B, classes]
// (a conditional G mixes the classes' embeddings: class interpolation).
void check_labels(const torch::Tensor& labels, int64_t batch, int64_t classes, const char* who);

}  // namespace ganpp
