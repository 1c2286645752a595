#pragma once
#include <torch/torch.h>

#include <string>

namespace ganpp {

// The compute device of a run (config key `device`): "cpu" (default), "cuda" or "cuda:N". CUDA needs a libtorch
// built with it and a visible GPU; otherwise the error says how to get one.
torch::Device parse_device(const std::string& name);

// Mixed precision (config key `train.amp`): autocast of the forward passes to bfloat16 (CPU and CUDA) or float16
// (CUDA only, with a loss scaler), or none (float32 throughout).
enum class Amp { None, BFloat16, Float16 };
Amp parse_amp(const std::string& name, const torch::Device& device);

// Autocast on `device` at `amp` for this scope (nothing for Amp::None); the cast cache is cleared on exit.
class AutocastScope {
 public:
  AutocastScope(Amp amp, const torch::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_ = false, cuda_ = false, was_enabled_ = false;
  at::ScalarType was_dtype_ = at::kFloat;
};

// Dynamic loss scaling for float16 training (what torch.cuda.amp.GradScaler does): the loss is multiplied by
// `scale` before backward; unscale() divides the gradients back and reports whether all are finite (then the
// optimiser steps, else the step is skipped); update() halves the scale after an overflow and doubles it after
// `growth_interval` clean steps. Inactive (scale 1, no checks) unless enabled.
class LossScaler {
 public:
  explicit LossScaler(bool enabled = false, double init_scale = 65536.0, int64_t growth_interval = 2000);
  bool enabled() const { return enabled_; }
  torch::Tensor scale(const torch::Tensor& loss) const { return enabled_ ? loss * scale_ : loss; }
  // Divides the gradients of `params` by the scale; true when all of them are finite.
  bool unscale(const std::vector<torch::Tensor>& params) const;
  void update(bool finite);
  double current() const { return scale_; }
  int64_t skipped() const { return skipped_; }
  // State for checkpoints: {scale, clean steps, skipped steps}.
  torch::Tensor state() const;
  void set_state(const torch::Tensor& s);

 private:
  bool enabled_;
  double scale_;
  int64_t growth_interval_, clean_ = 0, skipped_ = 0;
};

// Brings a module's 4-D parameters and buffers (convolution weights) into channels-last memory layout, the one
// oneDNN (CPU) and cuDNN (CUDA tensor cores) compute convolutions in without reordering.
void to_channels_last(torch::nn::Module& m);

}  // namespace ganpp
