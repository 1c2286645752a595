#include "ganpp/losses/loss.h"

namespace ganpp {
namespace {

// Least squares GAN (Mao et al. 2017), targets a=0 (fake), b=1 (real), c=1 (G's target).
class LeastSquaresLoss : public AdversarialLoss {
 public:
  torch::Tensor d_loss(const torch::Tensor& real, const torch::Tensor& fake) const override {
    return 0.5 * (real - 1).pow(2).mean() + 0.5 * fake.pow(2).mean();
  }
  torch::Tensor g_loss(const torch::Tensor& fake, const torch::Tensor&) const override {
    return 0.5 * (fake - 1).pow(2).mean();
  }
};

LossRegistry::Registrar reg("lsgan", "least squares: D regresses real to 1 and fake to 0, G pushes fake to 1",
                            [](const Config&) { return std::make_shared<LeastSquaresLoss>(); });

}  // namespace
}  // namespace ganpp
