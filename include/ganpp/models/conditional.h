#pragma once
#include <torch/torch.h>

#include "ganpp/models/gan.h"
#include "ganpp/nn/blocks.h"

namespace ganpp {

// A generator that is a stack of layers, some of them ConditionalBatchNorm2d (which receive the labels); with
// `onehot_input` the one-hot label is appended to z before the first layer (vector models).
class ConditionalSequentialGeneratorImpl : public GeneratorImpl {
 public:
  ConditionalSequentialGeneratorImpl(int64_t z_dim, int64_t classes, torch::nn::Sequential net, bool onehot_input);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels = {}) override;
  torch::nn::Sequential& net() { return net_; }

 private:
  torch::nn::Sequential net_;
  bool onehot_;
};

// A discriminator body -> features h ([B,C,H,W] or [B,C]) -> head -> one score; with a ClassHead, the features
// summed over pixels (phi) add the projection term or give AC-GAN class logits.
class ConditionalDiscriminatorImpl : public DiscriminatorImpl {
 public:
  ConditionalDiscriminatorImpl(torch::nn::Sequential body, torch::nn::Sequential head, int64_t classes,
                               Conditioning cond, bool sn);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels = {}) override;
  std::pair<torch::Tensor, torch::Tensor> forward_aux(const torch::Tensor& x, const torch::Tensor& labels = {}) override;

 private:
  torch::nn::Sequential body_, head_;
  ClassHead class_head_{nullptr};
  int64_t classes_;
  Conditioning cond_;
};

// Classes for `model.conditional` on this data: 0 when unconditional; an error naming the dataset when the data has
// no labels.
int64_t conditional_classes(const Config& cfg, const DataSpec& spec);

}  // namespace ganpp
