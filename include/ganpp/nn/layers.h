#pragma once
#include <torch/torch.h>

#include <memory>

namespace ganpp {

// Spectral normalisation (Miyato et al. 2018) of any Conv2d, ConvTranspose2d or Linear layer: the layer runs with
// W / sigma(W), sigma estimated by power iteration (one step per training forward, persistent u and v).
class SpectralNormImpl : public torch::nn::Module {
 public:
  explicit SpectralNormImpl(std::shared_ptr<torch::nn::Module> layer, int64_t power_iterations = 1, double eps = 1e-12);
  torch::Tensor forward(const torch::Tensor& x);
  // The current estimate of the largest singular value of the weight (as a [out, rest] matrix).
  torch::Tensor sigma();
  // W / sigma with the current u, v (no power iteration).
  torch::Tensor normalized_weight();
  const std::shared_ptr<torch::nn::Module>& layer() const { return layer_; }

  torch::Tensor weight_orig, bias, u, v;

 private:
  torch::Tensor weight_matrix() const;
  void power_iteration(int64_t n);

  std::shared_ptr<torch::nn::Module> layer_;  // holds the options; its own weight is not used
  int64_t iters_;
  double eps_;
};
TORCH_MODULE(SpectralNorm);

// Appends `layer` to `seq`, wrapped in spectral norm when `sn`.
template <class Holder>
void push_layer(torch::nn::Sequential& seq, Holder layer, bool sn) {
  if (sn) seq->push_back(SpectralNorm(layer.ptr()));
  else seq->push_back(layer);
}

// Batch norm whose batch statistics span every data-parallel worker (current_process_group()) in training mode:
// the per-channel sums and sums of squares are all-reduced (in float64), so N workers with batch B normalise like one
// process with batch N*B, gradients included. The same parameters, buffers, names and arithmetic as
// torch::nn::BatchNorm2d (checkpoints interchange); in a single process, in eval mode or with sync = false it
// computes exactly what BatchNorm2d computes.
class SyncBatchNorm2dImpl : public torch::nn::Module {
 public:
  explicit SyncBatchNorm2dImpl(const torch::nn::BatchNorm2dOptions& o, bool sync = true);
  explicit SyncBatchNorm2dImpl(int64_t channels) : SyncBatchNorm2dImpl(torch::nn::BatchNorm2dOptions(channels)) {}
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& os) const override;

  torch::nn::BatchNorm2dOptions options;
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  bool sync_;
};
TORCH_MODULE(SyncBatchNorm2d);

// Minibatch standard deviation (Karras et al. 2018): appends one feature map with the mean over channels and
// pixels of the per-group standard deviation of the features. Groups of `group` samples (the batch size must be
// divisible by min(group, batch)).
class MinibatchStdDevImpl : public torch::nn::Module {
 public:
  explicit MinibatchStdDevImpl(int64_t group = 4) : group_(group) {}
  torch::Tensor forward(const torch::Tensor& x);
  int64_t group() const { return group_; }

 private:
  int64_t group_;
};
TORCH_MODULE(MinibatchStdDev);

}  // namespace ganpp
