#include "ganpp/losses/loss.h"

namespace ganpp {
namespace {

// Wasserstein critic: D maximises E[D(x)] - E[D(G(z))]. Needs a Lipschitz constraint (clipping, a gradient
// penalty or spectral norm) to be meaningful.
class WassersteinLoss : public AdversarialLoss {
 public:
  torch::Tensor d_loss(const torch::Tensor& real, const torch::Tensor& fake) const override {
    return fake.mean() - real.mean();
  }
  torch::Tensor g_loss(const torch::Tensor& fake, const torch::Tensor&) const override { return -fake.mean(); }
};

LossRegistry::Registrar reg("wgan", "Wasserstein critic loss (pair with a Lipschitz constraint)",
                            [](const Config&) { return std::make_shared<WassersteinLoss>(); });

}  // namespace
}  // namespace ganpp
