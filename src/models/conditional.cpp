#include "ganpp/models/conditional.h"

#include <fmt/format.h>

#include "ganpp/core/error.h"

namespace ganpp {

ConditionalSequentialGeneratorImpl::ConditionalSequentialGeneratorImpl(int64_t z_dim, int64_t classes,
                                                                       torch::nn::Sequential net, bool onehot_input)
    : GeneratorImpl(z_dim, classes), net_(register_module("net", net)), onehot_(onehot_input) {}

torch::Tensor ConditionalSequentialGeneratorImpl::forward(const torch::Tensor& z, const torch::Tensor& labels) {
  const torch::Tensor y = labels.defined() ? labels : cycle_labels(z.size(0), num_classes());
  check_labels(y, z.size(0), num_classes(), "conditional generator");
  torch::Tensor x = z;
  if (onehot_) x = torch::cat({z, y.is_floating_point() ? y.to(z.scalar_type()) : torch::one_hot(y, num_classes()).to(z.scalar_type())}, 1);
  for (auto& layer : *net_) {
    if (auto cbn = std::dynamic_pointer_cast<ConditionalBatchNorm2dImpl>(layer.ptr())) x = cbn->forward(x, y);
    else x = layer.forward(x);
  }
  return x;
}

ConditionalDiscriminatorImpl::ConditionalDiscriminatorImpl(torch::nn::Sequential body, torch::nn::Sequential head,
                                                           int64_t classes, Conditioning cond, bool sn)
    : body_(register_module("body", body)), head_(register_module("head", head)), classes_(classes), cond_(cond) {
  if (cond != Conditioning::None) {
    // The width of phi: run the body once on nothing would need the input shape; the caller's head knows it.
    int64_t features = -1;
    for (auto& p : head_->named_parameters(true))
      if (p.key().find("weight") != std::string::npos) { features = p.value().size(1); break; }
    if (features <= 0) throw Error("conditional discriminator: cannot infer the feature width from its head");
    class_head_ = register_module("class_head", ClassHead(features, classes, cond == Conditioning::AcGan, sn));
  }
}

std::pair<torch::Tensor, torch::Tensor> ConditionalDiscriminatorImpl::forward_aux(const torch::Tensor& x,
                                                                                  const torch::Tensor& labels) {
  auto h = body_->forward(x);
  auto out = head_->forward(h).reshape({-1});
  if (cond_ == Conditioning::None) return {out, torch::Tensor()};
  auto phi = h.dim() == 4 ? h.sum({2, 3}) : h;
  if (cond_ == Conditioning::Projection) {
    check_labels(labels, x.size(0), classes_, "projection discriminator");
    return {out + class_head_->forward(phi, labels).first, torch::Tensor()};
  }
  return {out, class_head_->forward(phi, labels).second};
}

torch::Tensor ConditionalDiscriminatorImpl::forward(const torch::Tensor& x, const torch::Tensor& labels) {
  return forward_aux(x, labels).first;
}

int64_t conditional_classes(const Config& cfg, const DataSpec& spec) {
  if (parse_conditioning(cfg.get_str("model.conditional")) == Conditioning::None) return 0;
  if (spec.num_classes < 2)
    throw Error(fmt::format("model.conditional={}: dataset '{}' has no class labels (a conditional GAN needs them)",
                            cfg.get_str("model.conditional"), spec.name));
  return spec.num_classes;
}

}  // namespace ganpp
