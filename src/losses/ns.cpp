#include "ganpp/losses/loss.h"

namespace ganpp {
namespace {

// D maximises log D(x) + log(1 - D(G(z))); G maximises log D(G(z)) (Goodfellow et al.'s non-saturating trick).
// With D = sigmoid(logit): -log D = softplus(-logit), -log(1 - D) = softplus(logit).
class NonSaturatingLoss : public AdversarialLoss {
 public:
  torch::Tensor d_loss(const torch::Tensor& real, const torch::Tensor& fake) const override {
    return torch::softplus(-real).mean() + torch::softplus(fake).mean();
  }
  torch::Tensor g_loss(const torch::Tensor& fake, const torch::Tensor&) const override {
    return torch::softplus(-fake).mean();
  }
  bool is_likelihood() const override { return true; }
};

LossRegistry::Registrar reg("ns", "non-saturating: D log-likelihood, G maximises log D(G(z))",
                            [](const Config&) { return std::make_shared<NonSaturatingLoss>(); });

}  // namespace
}  // namespace ganpp
