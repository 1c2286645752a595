#include "ganpp/losses/likelihood.h"

namespace ganpp {
namespace {

// The original minimax game: G minimises log(1 - D(G(z))) = -softplus(logit). It saturates when D is confident.
class MinimaxLoss : public LikelihoodLoss {
 public:
  using LikelihoodLoss::LikelihoodLoss;
  torch::Tensor g_loss(const torch::Tensor& fake, const torch::Tensor&) const override {
    return -torch::softplus(fake).mean();
  }
};

LossRegistry::Registrar reg("minimax", "original saturating minimax: G minimises log(1 - D(G(z)))",
                            [](const Config& cfg) { return std::make_shared<MinimaxLoss>(real_label(cfg)); });

}  // namespace
}  // namespace ganpp
