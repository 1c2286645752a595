#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>

#include "ganpp/metrics/inception.h"

namespace ganpp {

// A network whose activations define the feature space of FID/KID/PR/DC and whose class probabilities define IS.
class FeatureExtractor {
 public:
  virtual ~FeatureExtractor() = default;
  // For reports: network, weights and input handling.
  virtual std::string describe() const = 0;
  // images: [N,C,H,W] float in [-1,1] (ganpp's image range), on any device. Returns features [N,D] and logits
  // [N,K] on the CPU.
  virtual std::pair<torch::Tensor, torch::Tensor> extract(const torch::Tensor& images) = 0;
  // Runs the network on `device` from now on (CPU by default).
  virtual void to(const torch::Device& device) = 0;
};

// "inception:FILE.npz[:pytorch-fid|tf1|bicubic]" (pytorch-fid weights), "inception-ts:FILE.pt" (NVIDIA's TorchScript
// inception-2015-12-05.pt), "fashion" / "mnist" (ganpp's shipped evaluators, evaluators/<name>.ganpp), or
// "evaluator:FILE.ganpp" (one trained with `ganpp evaluator train`).
std::unique_ptr<FeatureExtractor> create_feature_extractor(const std::string& spec);

// A small CNN classifier for 1-channel 28x28 images (Fashion-MNIST, MNIST): its 128-d penultimate layer serves as
// features, its softmax as class probabilities. Other sizes are resized (antialiased bilinear) to 28x28.
class EvaluatorNetImpl : public torch::nn::Module {
 public:
  // width multiplies the convolution channels (32, 64, 64, 128); the penultimate features are 128-d at any width.
  explicit EvaluatorNetImpl(int64_t classes = 10, int64_t channels = 1, int64_t width = 1);
  // Returns (features [N,128], logits [N,classes]).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& images);
  torch::nn::Sequential body{nullptr};
  torch::nn::Linear head{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(EvaluatorNet);

// Where the shipped evaluator weights live (the source tree's evaluators/ or GANPP_EVALUATORS).
std::filesystem::path evaluator_path(const std::string& name);

}  // namespace ganpp
