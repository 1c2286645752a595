#pragma once
#include "ganpp/losses/loss.h"

namespace ganpp {

// Losses whose D is a logistic classifier of real vs fake: D minimises binary cross-entropy with target t for reals
// (t < 1: one-sided label smoothing) and 0 for fakes. Subclasses choose G's objective.
class LikelihoodLoss : public AdversarialLoss {
 public:
  explicit LikelihoodLoss(double real_target) : t_(real_target) {}
  torch::Tensor d_loss(const torch::Tensor& real, const torch::Tensor& fake) const override {
    auto r = t_ == 1.0 ? torch::softplus(-real) : t_ * torch::softplus(-real) + (1 - t_) * torch::softplus(real);
    return r.mean() + torch::softplus(fake).mean();
  }
  bool is_likelihood() const override { return true; }

 private:
  double t_;
};

}  // namespace ganpp
