#pragma once
#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>

#include "ganpp/core/config.h"
#include "ganpp/core/registry.h"
#include "ganpp/data/dataset.h"
#include "ganpp/nn/fused_mlp.h"

namespace ganpp {

// How a class-conditional D uses the label (`model.conditional`).
enum class Conditioning {
  None,        // unconditional
  Projection,  // Miyato & Koyama 2018: D(x, y) = psi(phi(x)) + <embed(y), phi(x)>
  AcGan,       // Odena et al. 2017: D also predicts the class (auxiliary classifier, cross-entropy on real and fake)
};
Conditioning parse_conditioning(const std::string& name);  // "none" | "projection" | "acgan"

// G: noise [B, z_dim] (+ int64 labels [B] for conditional models) -> samples [B, shape...]. A conditional G given
// no labels generates the classes in turn (cycle_labels: 0, 1, ..., K-1, 0, ...).
class GeneratorImpl : public torch::nn::Module {
 public:
  explicit GeneratorImpl(int64_t z_dim, int64_t num_classes = 0) : z_dim_(z_dim), num_classes_(num_classes) {}
  virtual torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels = {}) = 0;
  int64_t z_dim() const { return z_dim_; }
  // Classes a conditional G generates (labels in [0, num_classes)); 0 for an unconditional G.
  int64_t num_classes() const { return num_classes_; }

 private:
  int64_t z_dim_, num_classes_;
};

// D: samples [B, shape...] (+ labels) -> one real-valued score (logit) per sample, [B].
class DiscriminatorImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels = {}) = 0;
  // The score and, for an AC-GAN discriminator, class logits [B, classes] (undefined otherwise).
  virtual std::pair<torch::Tensor, torch::Tensor> forward_aux(const torch::Tensor& x, const torch::Tensor& labels = {}) {
    return {forward(x, labels), torch::Tensor()};
  }
  // Real images as D should see them (a progressive D cross-fades them between resolutions during a fade-in).
  virtual torch::Tensor prepare_real(const torch::Tensor& x) { return x; }
};

// Progressive growing (Karras et al. 2018): where training stands. Level l works at base * 2^l pixels; during a
// fade-in alpha ramps 0 -> 1 and the new level is blended with the upsampled output of the previous one.
struct Growth {
  int64_t level = 0;
  double alpha = 1.0;
  bool operator==(const Growth& o) const { return level == o.level && alpha == o.alpha; }
};
// The schedule as a pure function of the G step (so that a resumed run continues exactly): phase 0 trains level 0;
// then each level has a fade-in phase and a stabilisation phase of `steps_per_phase` G steps each; after the last
// level's fade-in it stays at (max_level, 1).
Growth growth_at(int64_t step, int64_t steps_per_phase, int64_t max_level);

// A network that grows: the task sets its level and alpha before every step. They are stored as buffers, so EMA
// copies, checkpoints and sampling see the same stage.
class Growable {
 public:
  virtual ~Growable() = default;
  virtual void set_growth(const Growth& g) = 0;
  virtual Growth growth() const = 0;
  virtual int64_t max_level() const = 0;
};

// Noise for n samples of a z_dim-dimensional generator: N(0, I), or U(-1, 1)^z_dim when `uniform` (model.z_dist).
torch::Tensor latent_noise(int64_t n, int64_t z_dim, bool uniform, torch::Generator& gen);

// Labels for n conditional samples, class-balanced and deterministic: 0, 1, ..., K-1, 0, 1, ... (a grid with K
// columns shows one class per column); `first` continues the cycle at sample `first` (batches of one long run).
torch::Tensor cycle_labels(int64_t n, int64_t num_classes, int64_t first = 0);
// Labels for a training batch: every class n/K or n/K+1 times, in random order from `gen`.
torch::Tensor balanced_labels(int64_t n, int64_t num_classes, torch::Generator& gen);

using Generator = std::shared_ptr<GeneratorImpl>;
using Discriminator = std::shared_ptr<DiscriminatorImpl>;

// A generator that is a plain stack of standard layers: it can be exported to TorchScript layer by layer.
class SequentialGeneratorImpl : public GeneratorImpl {
 public:
  SequentialGeneratorImpl(int64_t z_dim, torch::nn::Sequential net)
      : GeneratorImpl(z_dim), net_(register_module("net", net)) {}
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels = {}) override {
    return fused_ ? fused_->forward(net_, z) : net_->forward(z);
  }
  torch::nn::Sequential& net() { return net_; }
  // Runs the stack as one autograd node when it is a plain MLP (FusedMlp); returns whether it is.
  bool fuse_mlp() { return (fused_ = FusedMlp::of(net_)).has_value(); }

 private:
  torch::nn::Sequential net_;
  std::optional<FusedMlp> fused_;
};

class SequentialDiscriminatorImpl : public DiscriminatorImpl {
 public:
  explicit SequentialDiscriminatorImpl(torch::nn::Sequential net) : net_(register_module("net", net)) {}
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels = {}) override {
    return (fused_ ? fused_->forward(net_, x) : net_->forward(x)).reshape({-1});
  }
  torch::nn::Sequential& net() { return net_; }
  // Runs the stack as one autograd node when it is a plain MLP (FusedMlp); returns whether it is.
  bool fuse_mlp() { return (fused_ = FusedMlp::of(net_)).has_value(); }

 private:
  torch::nn::Sequential net_;
  std::optional<FusedMlp> fused_;
};

// A model family registers one factory building both networks for the data's shape.
struct GanModels {
  Generator g;
  Discriminator d;
};
using ModelRegistry = Registry<GanModels, const Config&, const DataSpec&>;

GanModels create_models(const Config& cfg, const DataSpec& spec);
// A fresh generator of the configured architecture (for EMA copies and sampling).
Generator create_generator(const Config& cfg, const DataSpec& spec);

// DCGAN initialisation: conv weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02), biases 0.
void dcgan_init(torch::nn::Module& m);

// Copies parameters and buffers of `src` into `dst` (same architecture), without autograd.
void copy_weights(torch::nn::Module& dst, const torch::nn::Module& src);

// Parameter count.
int64_t num_parameters(const torch::nn::Module& m);

}  // namespace ganpp
