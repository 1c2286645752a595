#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>

#include "ganpp/core/config.h"
#include "ganpp/core/registry.h"
#include "ganpp/data/dataset.h"
#include "ganpp/data/loader.h"
#include "ganpp/io/archive.h"
#include "ganpp/models/gan.h"

namespace ganpp {

// What the trainer hands a task for one phase.
struct StepContext {
  torch::Generator* noise = nullptr;          // the run's noise RNG (checkpointed)
  bool want_stats = false;                    // log step: fill `stats` (host syncs allowed)
  bool last_d_step = true;                    // this D phase is the last before a G phase
  int64_t step = 0;                           // G steps completed so far
  std::map<std::string, double>* stats = nullptr;
};

// What one D phase and one G phase compute from a batch. The Trainer owns the loop, the schedule, EMA, logging,
// sampling and checkpoints; an application supplies a Task (image GAN, paired translation, cycle, graphs ...).
class Task {
 public:
  virtual ~Task() = default;
  // One D update (forward, backward, optimiser step). Returns D's loss (detached scalar).
  virtual torch::Tensor d_step(const Batch& batch, StepContext& ctx) = 0;
  // One G update. Returns G's loss (detached scalar).
  virtual torch::Tensor g_step(const Batch& batch, StepContext& ctx) = 0;
  // The generator being trained, and a fresh one of the same architecture (EMA copies, sampling).
  virtual Generator generator() = 0;
  virtual Generator make_generator() const = 0;
  // Noise for n samples.
  virtual torch::Tensor noise(int64_t n, torch::Generator& gen) const = 0;
  // All trainable state (networks and optimisers) to/from a checkpoint.
  virtual void save(Archive& a) const = 0;
  virtual void load(const Archive& a, const std::string& source) = 0;
  // Networks by name, for diagnostics and model cards.
  virtual std::map<std::string, torch::nn::Module*> networks() = 0;
  // Scales every optimiser's learning rate to `factor` x its configured value (learning-rate schedules).
  virtual void set_lr_factor(double factor) = 0;
  // Whether D's outputs are logits of P(real) (then confidence diagnostics apply).
  virtual bool likelihood_outputs() const { return false; }
};

using TaskRegistry = Registry<Task, const Config&, const DataSpec&>;
std::shared_ptr<Task> create_task(const Config& cfg, const DataSpec& spec);

// Global L2 norm of the gradients of `m`'s parameters (0 when none).
double grad_norm(const torch::nn::Module& m);
// Gradient norm of each parameter, keyed "<prefix>/<name>".
void layer_grad_norms(const torch::nn::Module& m, const std::string& prefix, std::map<std::string, double>& out);
void set_requires_grad(torch::nn::Module& m, bool on);
// Drops the gradients of `m`'s parameters (set to none, not zero): a parameter that takes no part in a step gets no
// optimiser update in it, the same in a continuing and in a resumed process (checkpoints hold no gradients).
void clear_grads(torch::nn::Module& m);

// Adam state (moments, step counts, learning rates) to/from an archive, parameter by parameter.
void put_adam(Archive& a, const std::string& prefix, torch::optim::Adam& opt);
void get_adam(const Archive& a, const std::string& prefix, torch::optim::Adam& opt, const std::string& source);

}  // namespace ganpp
