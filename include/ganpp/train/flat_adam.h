#pragma once
// Adam over one flat buffer: torch::optim::Adam's update, term for term, computed for all parameters at once.

#include <torch/optim/adam.h>

#include <array>
#include <cstdint>
#include <vector>

namespace ganpp {

// Moves the tensors' data into one new flat buffer (each keeps its shape and memory layout, now a view into it) and
// returns the buffer.
torch::Tensor flatten_parameters(const std::vector<torch::Tensor>& params);
// The tensors as one 1-D view when they lie back to back, in order and without gaps, in one storage (as after
// flatten_parameters or under the flat Adam); undefined otherwise.
torch::Tensor flat_view(const std::vector<torch::Tensor>& params);

// The parameters, their gradients and both Adam moments each live in one flat buffer; the module's parameters,
// their .grad and the moments in the optimiser's state map are views into those buffers, so checkpoints (which
// read the state map) and everything that reads or writes a parameter or gradient in place work unchanged, and
// a step is 9 tensor ops in all instead of ~10 per parameter — the per-step cost overhead-bound models (small
// MLPs, small batches) pay. Its constants are 0-dim tensors of the parameters' dtype, and the denominator has a
// buffer of its own: a Python-style `m.mul_(beta1)` turns the double into a tensor and casts it to float on every
// call (4 dispatches and an allocation each); multiplying by the same value held as a float tensor gives the same
// bits. A tensor that something replaced (a loaded checkpoint's state, a gradient set to none
// and recreated by backward) is copied back into its slot at the next step.
//
// Unlike torch's Adam, every parameter is updated every step: one that got no gradient is updated with a zero
// gradient (moments that are still zero leave it exactly as it is), and all share one step count. Models whose
// parameters are used only some of the time (progressive growing) therefore keep torch::optim::Adam.
class FlatAdam : public torch::optim::Adam {
 public:
  FlatAdam(const std::vector<torch::Tensor>& params, const torch::optim::AdamOptions& options);
  torch::Tensor step(LossClosure closure = nullptr) override;
  // All gradients to zero in one op (they stay defined: backward accumulates into the flat buffer).
  void zero_flat_grad();
  int64_t numel() const { return numel_; }

 private:
  void bind();         // builds the buffers, adopting the current parameter, gradient and state values
  bool bound() const;  // every parameter, gradient and moment is still the view into its slot

  std::vector<torch::Tensor> params_;
  std::vector<int64_t> offsets_;
  torch::Tensor p_, g_, m_, v_, denom_;
  // beta1, beta2, eps as 0-dim tensors for the values in consts_of_, and sqrt(bias correction 2), refilled per step.
  torch::Tensor beta1_, beta2_, eps_, root_bc2_;
  std::array<double, 3> consts_of_{};
  std::vector<torch::Tensor> gview_;
  int64_t numel_ = 0;
  int64_t step_ = 0;
};

}  // namespace ganpp
