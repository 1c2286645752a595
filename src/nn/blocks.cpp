#include "ganpp/nn/blocks.h"

#include <fmt/format.h>

#include <cmath>

#include "ganpp/core/error.h"
#include "ganpp/nn/layers.h"

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace ganpp {
namespace {

// Xavier-uniform weights (SNGAN's initialisation: gain sqrt(2) inside residual branches, 1 elsewhere), zero bias.
template <class Holder>
nn::AnyModule wrap(Holder layer, bool sn, double gain) {
  {
    torch::NoGradGuard ng;
    nn::init::xavier_uniform_(layer->weight, gain);
    if (layer->bias.defined()) layer->bias.zero_();
  }
  if (sn) return nn::AnyModule(SpectralNorm(layer.ptr()));
  return nn::AnyModule(layer);
}

nn::AnyModule conv(int64_t in, int64_t out, int64_t k, bool sn, double gain, bool bias = true) {
  return wrap(nn::Conv2d(nn::Conv2dOptions(in, out, k).padding(k / 2).bias(bias)), sn, gain);
}

torch::Tensor up2(const torch::Tensor& x) {
  return F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
}
torch::Tensor down2(const torch::Tensor& x) { return F::avg_pool2d(x, F::AvgPool2dFuncOptions(2)); }

}  // namespace

nn::AnyModule make_conv(int64_t in, int64_t out, int64_t k, bool sn, bool bias) { return conv(in, out, k, sn, 1.0, bias); }

nn::AnyModule make_linear(int64_t in, int64_t out, bool sn, bool bias) {
  return wrap(nn::Linear(nn::LinearOptions(in, out).bias(bias)), sn, 1.0);
}

EqualizedConv2dImpl::EqualizedConv2dImpl(int64_t in, int64_t out, int64_t k, int64_t padding, double gain)
    : padding_(padding), scale_(gain / std::sqrt(double(in * k * k))) {
  weight = register_parameter("weight", torch::randn({out, in, k, k}));
  bias = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor EqualizedConv2dImpl::forward(const torch::Tensor& x) {
  return torch::conv2d(x, weight * scale_, bias, 1, padding_);
}

EqualizedLinearImpl::EqualizedLinearImpl(int64_t in, int64_t out, double gain) : scale_(gain / std::sqrt(double(in))) {
  weight = register_parameter("weight", torch::randn({out, in}));
  bias = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor EqualizedLinearImpl::forward(const torch::Tensor& x) { return torch::linear(x, weight * scale_, bias); }

torch::Tensor pixel_norm(const torch::Tensor& x) { return x * torch::rsqrt(x.pow(2).mean(1, true) + 1e-8); }

void check_labels(const torch::Tensor& labels, int64_t batch, int64_t classes, const char* who) {
  if (!labels.defined()) throw Error(fmt::format("{}: a conditional network needs class labels", who));
  if (labels.is_floating_point()) {  // class weights (mixtures of classes, e.g. class interpolation)
    if (labels.dim() != 2 || labels.size(0) != batch || labels.size(1) != classes)
      throw Error(fmt::format("{}: class weights must be [{}, {}], got {}", who, batch, classes, fmt::join(labels.sizes(), "x")));
    return;
  }
  if (labels.scalar_type() != torch::kLong || labels.dim() != 1 || labels.size(0) != batch)
    throw Error(fmt::format("{}: labels must be int64 [{}], got {} {}", who, batch, std::string(c10::toString(labels.scalar_type())),
                            fmt::join(labels.sizes(), "x")));
  if (batch > 0) {
    const int64_t lo = labels.min().item<int64_t>(), hi = labels.max().item<int64_t>();
    if (lo < 0 || hi >= classes)
      throw Error(fmt::format("{}: label {} out of range: expected 0..{}", who, lo < 0 ? lo : hi, classes - 1));
  }
}

ConditionalBatchNorm2dImpl::ConditionalBatchNorm2dImpl(int64_t channels, int64_t classes) : classes_(classes) {
  bn = register_module("bn", SyncBatchNorm2d(nn::BatchNorm2dOptions(channels).affine(classes == 0)));
  if (classes > 0) {
    gamma = register_module("gamma", nn::Embedding(classes, channels));
    beta = register_module("beta", nn::Embedding(classes, channels));
    torch::NoGradGuard ng;
    gamma->weight.fill_(1.0);
    beta->weight.zero_();
  }
}

torch::Tensor ConditionalBatchNorm2dImpl::forward(const torch::Tensor& x, const torch::Tensor& labels) {
  auto y = bn->forward(x);
  if (classes_ == 0) return y;
  check_labels(labels, x.size(0), classes_, "conditional batch norm");
  const int64_t c = x.size(1);
  if (labels.is_floating_point())  // class weights: the weighted mix of the classes' scales and shifts
    return y * labels.matmul(gamma->weight).view({-1, c, 1, 1}) + labels.matmul(beta->weight).view({-1, c, 1, 1});
  return y * gamma->forward(labels).view({-1, c, 1, 1}) + beta->forward(labels).view({-1, c, 1, 1});
}

SelfAttention2dImpl::SelfAttention2dImpl(int64_t channels, bool sn) {
  if (channels < 8 || channels % 8 != 0)
    throw Error(fmt::format("self-attention needs a multiple of 8 channels, got {}", channels));
  q_ = conv(channels, channels / 8, 1, sn, 1.0, false);
  k_ = conv(channels, channels / 8, 1, sn, 1.0, false);
  v_ = conv(channels, channels / 2, 1, sn, 1.0, false);
  o_ = conv(channels / 2, channels, 1, sn, 1.0, false);
  register_module("q", q_.ptr());
  register_module("k", k_.ptr());
  register_module("v", v_.ptr());
  register_module("o", o_.ptr());
  gamma = register_parameter("gamma", torch::zeros({1}));
}

torch::Tensor SelfAttention2dImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (h % 2 || w % 2) throw Error(fmt::format("self-attention needs even feature-map sizes, got {}x{}", h, w));
  auto q = q_.forward(x).view({b, c / 8, h * w});                              // [B, C/8, N]
  auto k = F::max_pool2d(k_.forward(x), F::MaxPool2dFuncOptions(2)).view({b, c / 8, h * w / 4});
  auto v = F::max_pool2d(v_.forward(x), F::MaxPool2dFuncOptions(2)).view({b, c / 2, h * w / 4});
  auto attn = torch::softmax(torch::bmm(q.transpose(1, 2), k), -1);          // [B, N, N/4]
  last_attention = attn.detach();
  auto o = torch::bmm(v, attn.transpose(1, 2)).view({b, c / 2, h, w});
  return x + gamma * o_.forward(o);
}

ResBlockUpImpl::ResBlockUpImpl(int64_t in, int64_t out, int64_t classes, bool sn) {
  bn1_ = register_module("bn1", ConditionalBatchNorm2d(in, classes));
  bn2_ = register_module("bn2", ConditionalBatchNorm2d(out, classes));
  c1_ = conv(in, out, 3, sn, std::sqrt(2.0));
  c2_ = conv(out, out, 3, sn, std::sqrt(2.0));
  sc_ = conv(in, out, 1, sn, 1.0);
  register_module("c1", c1_.ptr());
  register_module("c2", c2_.ptr());
  register_module("sc", sc_.ptr());
}

torch::Tensor ResBlockUpImpl::forward(const torch::Tensor& x, const torch::Tensor& labels) {
  auto h = c1_.forward(up2(torch::relu(bn1_->forward(x, labels))));
  h = c2_.forward(torch::relu(bn2_->forward(h, labels)));
  return h + sc_.forward(up2(x));
}

ResBlockDownImpl::ResBlockDownImpl(int64_t in, int64_t out, bool downsample, bool first, bool sn)
    : down_(downsample), first_(first), learnable_sc_(in != out || downsample) {
  c1_ = conv(in, out, 3, sn, std::sqrt(2.0));
  c2_ = conv(out, out, 3, sn, std::sqrt(2.0));
  register_module("c1", c1_.ptr());
  register_module("c2", c2_.ptr());
  if (learnable_sc_) {
    sc_ = conv(in, out, 1, sn, 1.0);
    register_module("sc", sc_.ptr());
  }
}

torch::Tensor ResBlockDownImpl::forward(const torch::Tensor& x) {
  auto h = first_ ? c1_.forward(x) : c1_.forward(torch::relu(x));
  h = c2_.forward(torch::relu(h));
  if (down_) h = down2(h);
  torch::Tensor s = x;
  if (learnable_sc_) {
    if (first_) s = sc_.forward(down_ ? down2(x) : x);
    else {
      s = sc_.forward(x);
      if (down_) s = down2(s);
    }
  }
  return h + s;
}

ClassHeadImpl::ClassHeadImpl(int64_t features, int64_t classes, bool acgan, bool sn) : acgan_(acgan) {
  if (acgan) {
    aux_ = make_linear(features, classes, sn);
    register_module("aux", aux_.ptr());
  } else {
    embed_ = register_module("embed", nn::Embedding(classes, features));
    torch::NoGradGuard ng;
    nn::init::xavier_uniform_(embed_->weight);
  }
}

std::pair<torch::Tensor, torch::Tensor> ClassHeadImpl::forward(const torch::Tensor& phi, const torch::Tensor& labels) {
  if (acgan_) return {torch::Tensor(), aux_.forward(phi)};
  return {(embed_->forward(labels) * phi).sum(1), torch::Tensor()};
}

}  // namespace ganpp
