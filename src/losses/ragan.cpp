#include "ganpp/losses/loss.h"

namespace ganpp {
namespace {

// Relativistic average GAN (Jolicoeur-Martineau 2018), non-saturating form: D estimates whether a real sample is
// more realistic than the average fake, and vice versa; G gets gradients from both real and fake terms.
class RelativisticAverageLoss : public AdversarialLoss {
 public:
  torch::Tensor d_loss(const torch::Tensor& real, const torch::Tensor& fake) const override {
    return torch::softplus(-(real - fake.mean())).mean() + torch::softplus(fake - real.mean()).mean();
  }
  torch::Tensor g_loss(const torch::Tensor& fake, const torch::Tensor& real) const override {
    return torch::softplus(-(fake - real.mean())).mean() + torch::softplus(real - fake.mean()).mean();
  }
  bool g_needs_real() const override { return true; }
};

LossRegistry::Registrar reg("ragan", "relativistic average GAN (non-saturating)",
                            [](const Config&) { return std::make_shared<RelativisticAverageLoss>(); });

}  // namespace
}  // namespace ganpp
