#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

#include "ganpp/core/config.h"
#include "ganpp/core/registry.h"

namespace ganpp {

// An adversarial objective on D's raw outputs (logits/critic values), both to be minimised:
// D minimises d_loss(real, fake); G minimises g_loss(fake, real).
class AdversarialLoss {
 public:
  virtual ~AdversarialLoss() = default;
  virtual torch::Tensor d_loss(const torch::Tensor& real, const torch::Tensor& fake) const = 0;
  virtual torch::Tensor g_loss(const torch::Tensor& fake, const torch::Tensor& real) const = 0;
  // True when D's output is a logit of P(real), so sigmoid(D) is worth logging.
  virtual bool is_likelihood() const { return false; }
  // True when g_loss uses D's outputs on real data too (relativistic losses).
  virtual bool g_needs_real() const { return false; }
  // Gradient-penalty weight this loss implies when loss.gp is not set (wgan-gp: 10).
  virtual double default_gp() const { return 0; }
};

// The real-label target of likelihood losses: 1, or less with one-sided label smoothing (loss.label_smoothing).
double real_label(const Config& cfg);

using LossRegistry = Registry<AdversarialLoss, const Config&>;

std::shared_ptr<AdversarialLoss> create_loss(const Config& cfg);

}  // namespace ganpp
