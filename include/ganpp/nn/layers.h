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
