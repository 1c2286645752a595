#pragma once
#include <torch/torch.h>

#include <optional>
#include <vector>

namespace ganpp {

// A multilayer perceptron held in a torch::nn::Sequential — Linear, then (ReLU or LeakyReLU, Linear) repeated, one
// activation kind for all hidden layers — run as one autograd node: the forward pass is the same addmm and
// activation calls, the backward pass the same matrix products, written out by hand. Autograd then records one node
// per network instead of two per layer, the per-step cost that small models (2-D toy GANs, small batches) are
// bound by. The module's parameters stay where they are (checkpoints, export and optimisers see no difference).
// Twice differentiable in the input (gradient penalties, R1): with piecewise-linear activations the input gradient
// depends on the weights and not, almost everywhere, on the activations.
class FusedMlp {
 public:
  // The fused form of `net`, or nothing when it is not such a stack (other layers, spectral norm, no bias).
  static std::optional<FusedMlp> of(torch::nn::Sequential& net);
  // Same as net->forward(x) for float [N, in] inputs; falls back to it under autocast.
  torch::Tensor forward(torch::nn::Sequential& net, const torch::Tensor& x) const;

 private:
  std::vector<torch::nn::LinearImpl*> layers_;
  double slope_ = 0;  // negative slope of the hidden activations (0: ReLU)
};

}  // namespace ganpp
