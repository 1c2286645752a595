#include "ganpp/losses/likelihood.h"

namespace ganpp {
namespace {

// D maximises log D(x) + log(1 - D(G(z))); G maximises log D(G(z)) (Goodfellow et al.'s non-saturating trick).
// With D = sigmoid(logit): -log D = softplus(-logit).
class NonSaturatingLoss : public LikelihoodLoss {
 public:
  using LikelihoodLoss::LikelihoodLoss;
  torch::Tensor g_loss(const torch::Tensor& fake, const torch::Tensor&) const override {
    return torch::softplus(-fake).mean();
  }
};

LossRegistry::Registrar reg("ns", "non-saturating: D log-likelihood, G maximises log D(G(z))",
                            [](const Config& cfg) { return std::make_shared<NonSaturatingLoss>(real_label(cfg)); });

}  // namespace
}  // namespace ganpp
