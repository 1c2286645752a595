#include "ganpp/losses/loss.h"

namespace ganpp {
namespace {

// The original minimax game: G minimises log(1 - D(G(z))) = -softplus(logit). It saturates when D is confident.
class MinimaxLoss : public AdversarialLoss {
 public:
  explicit MinimaxLoss(double real_target) : t_(real_target) {}
  // Binary cross-entropy with target t for reals (t < 1: one-sided label smoothing).
  torch::Tensor d_loss(const torch::Tensor& real, const torch::Tensor& fake) const override {
    auto r = t_ == 1.0 ? torch::softplus(-real) : t_ * torch::softplus(-real) + (1 - t_) * torch::softplus(real);
    return r.mean() + torch::softplus(fake).mean();
  }
  torch::Tensor g_loss(const torch::Tensor& fake, const torch::Tensor&) const override {
    return -torch::softplus(fake).mean();
  }
  bool is_likelihood() const override { return true; }

 private:
  double t_;
};

LossRegistry::Registrar reg("minimax", "original saturating minimax: G minimises log(1 - D(G(z)))",
                            [](const Config& cfg) { return std::make_shared<MinimaxLoss>(real_label(cfg)); });

}  // namespace
}  // namespace ganpp
