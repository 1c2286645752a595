#include "ganpp/losses/loss.h"

namespace ganpp {
namespace {

// Hinge loss (Lim & Ye 2017; SNGAN, BigGAN): D minimises E[relu(1 - D(x))] + E[relu(1 + D(G(z)))].
class HingeLoss : public AdversarialLoss {
 public:
  torch::Tensor d_loss(const torch::Tensor& real, const torch::Tensor& fake) const override {
    return torch::relu(1 - real).mean() + torch::relu(1 + fake).mean();
  }
  torch::Tensor g_loss(const torch::Tensor& fake, const torch::Tensor&) const override { return -fake.mean(); }
};

LossRegistry::Registrar reg("hinge", "hinge loss (SNGAN/BigGAN)", [](const Config&) { return std::make_shared<HingeLoss>(); });

}  // namespace
}  // namespace ganpp
