#include "ganpp/losses/loss.h"

namespace ganpp {
namespace {

// D maximises log D(x) + log(1 - D(G(z))); G maximises log D(G(z)) (Goodfellow et al.'s non-saturating trick).
// With D = sigmoid(logit): -log D = softplus(-logit), -log(1 - D) = softplus(logit).
class NonSaturatingLoss : public AdversarialLoss {
 public:
  explicit NonSaturatingLoss(double real_target) : t_(real_target) {}
  // Binary cross-entropy with target t for reals (t < 1: one-sided label smoothing).
  torch::Tensor d_loss(const torch::Tensor& real, const torch::Tensor& fake) const override {
    auto r = t_ == 1.0 ? torch::softplus(-real) : t_ * torch::softplus(-real) + (1 - t_) * torch::softplus(real);
    return r.mean() + torch::softplus(fake).mean();
  }
  torch::Tensor g_loss(const torch::Tensor& fake, const torch::Tensor&) const override {
    return torch::softplus(-fake).mean();
  }
  bool is_likelihood() const override { return true; }

 private:
  double t_;
};

LossRegistry::Registrar reg("ns", "non-saturating: D log-likelihood, G maximises log D(G(z))",
                            [](const Config& cfg) { return std::make_shared<NonSaturatingLoss>(real_label(cfg)); });

}  // namespace
}  // namespace ganpp
