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

// WGAN-GP: the Wasserstein loss with a gradient penalty of weight 10 unless loss.gp says otherwise.
class WassersteinGpLoss : public WassersteinLoss {
 public:
  double default_gp() const override { return 10.0; }
};

LossRegistry::Registrar reg_gp("wgan-gp", "Wasserstein loss + gradient penalty (loss.gp, default 10)",
                               [](const Config&) { return std::make_shared<WassersteinGpLoss>(); });
LossRegistry::Registrar reg("wgan", "Wasserstein critic loss (pair with a Lipschitz constraint)",
                            [](const Config&) { return std::make_shared<WassersteinLoss>(); });

}  // namespace
}  // namespace ganpp
