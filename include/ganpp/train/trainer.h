#pragma once
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ganpp/core/config.h"
#include "ganpp/core/distributed.h"
#include "ganpp/data/loader.h"
#include "ganpp/io/archive.h"
#include "ganpp/metrics/features.h"
#include "ganpp/train/task.h"

namespace ganpp {

struct TrainerOptions {
  bool resume = false;  // continue from the run folder's latest checkpoint
  bool quiet = false;   // no progress output
};

// The one training loop: schedule (n_critic D updates per G update), EMA, logging to metrics.jsonl, progress,
// fixed-noise sample grids, plots, atomic checkpoints with everything needed to resume bit-exactly, and
// divergence detection. Applications plug in through Task.
class Trainer {
 public:
  Trainer(Config cfg, std::filesystem::path run_dir, TrainerOptions opt = {});
  ~Trainer();

  // Trains until train.max_steps or train.max_minutes; writes a final checkpoint, samples, plots and model card.
  void run();

  int64_t step() const { return step_; }
  Task& task() { return *task_; }
  const Config& config() const { return cfg_; }
  Generator ema_generator() { return ema_; }

 private:
  void start_new();
  void restore(const std::filesystem::path& ckpt);
  void train_step(bool log_step, std::map<std::string, double>& stats);
  void update_ema();
  void save_checkpoint();
  Archive checkpoint_archive();
  // Metrics of the (EMA) generator against the training data in the eval.features space; keeps best.ckpt.
  void evaluate_now(std::map<std::string, double>& stats);
  void write_samples();
  void write_plots();
  void write_model_card(const std::string& stop_reason);
  void log_metrics(const std::map<std::string, double>& stats, double it_per_s);
  // Throws Diverged when a loss is NaN/Inf.
  void check_finite(const torch::Tensor& loss_d, const torch::Tensor& loss_g);
  // train.on_divergence = rollback: back to the last checkpoint with lower learning rates; false if not possible.
  bool roll_back(const std::string& why);
  double wall_seconds() const;
  // Learning-rate factor of the schedule at the current step (a pure function of the step).
  double lr_factor() const;
  // Mode-collapse and vanishing-gradient signals for one log step; returns warnings to print.
  std::vector<std::string> diagnose(std::map<std::string, double>& stats);
  std::string diagnostics_summary() const;

  Config cfg_;
  std::filesystem::path dir_;
  TrainerOptions opt_;
  std::shared_ptr<ProcessGroup> pg_;  // data-parallel workers (null in a single process)
  bool main_ = true;                  // rank 0: logs, samples, evaluates and checkpoints
  std::shared_ptr<Dataset> data_;
  std::unique_ptr<Loader> loader_;
  std::shared_ptr<Task> task_;
  Generator ema_;
  torch::Generator noise_gen_;
  torch::Tensor fixed_noise_, real_reference_;
  int64_t step_ = 0;
  double wall_before_ = 0;  // training seconds from earlier invocations
  std::chrono::steady_clock::time_point t_start_;
  std::vector<std::map<std::string, double>> history_;
  std::filesystem::path last_checkpoint_;
  torch::Tensor diversity_real_;  // real samples the fake diversity is compared with
  double real_diversity_ = 0;
  double peak_grad_g_ = 0;  // largest logged G gradient norm (the vanishing-gradient reference)
  std::unique_ptr<FeatureExtractor> evaluator_;
  torch::Tensor eval_real_;  // real features for the training-time metrics
  double best_value_ = 0;
  int64_t best_step_ = -1;
  double lr_scale_ = 1.0;  // product of the rollback learning-rate cuts
  int64_t rollbacks_ = 0;
  struct Warnings {
    int64_t count = 0, first_step = -1, last_step = -1;
    void add(int64_t step) {
      if (count++ == 0) first_step = step;
      last_step = step;
    }
  } vanishing_, collapse_;
};

// Mean pairwise Euclidean distance between the rows of x (flattened samples).
double mean_pairwise_distance(const torch::Tensor& x);
// n of `size` data samples for reference statistics (diversity, training-time metrics): a seeded random subset, each
// with its own sample seed (distinct random crops).
std::pair<std::vector<int64_t>, std::vector<uint64_t>> reference_sample(int64_t size, int64_t n, uint64_t seed);

// Torch threads: n > 0, or all cores.
void set_threads(int64_t n);

}  // namespace ganpp
