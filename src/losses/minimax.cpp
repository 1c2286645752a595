#include "ganpp/losses/loss.h"

namespace ganpp {
namespace {

// The original minimax game: G minimises log(1 - D(G(z))) = -softplus(logit). It saturates when D is confident.
class MinimaxLoss : public AdversarialLoss {
 public:
  torch::Tensor d_loss(const torch::Tensor& real, const torch::Tensor& fake) const override {
    return torch::softplus(-real).mean() + torch::softplus(fake).mean();
  }
  torch::Tensor g_loss(const torch::Tensor& fake, const torch::Tensor&) const override {
    return -torch::softplus(fake).mean();
  }
  bool is_likelihood() const override { return true; }
};

LossRegistry::Registrar reg("minimax", "original saturating minimax: G minimises log(1 - D(G(z)))",
                            [](const Config&) { return std::make_shared<MinimaxLoss>(); });

}  // namespace
}  // namespace ganpp
