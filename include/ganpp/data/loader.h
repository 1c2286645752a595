#pragma once
#include <torch/torch.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "ganpp/data/augment.h"
#include "ganpp/data/dataset.h"

namespace ganpp {

struct Batch {
  torch::Tensor x;  // [B, ...]
  torch::Tensor y;  // int64 [B] or undefined
};

// Position in the data stream: epoch and the index of the next sample within that epoch's permutation.
struct LoaderState {
  int64_t epoch = 0;
  int64_t pos = 0;
  bool operator==(const LoaderState& o) const { return epoch == o.epoch && pos == o.pos; }
};

// Shuffled mini-batches (drop-last), assembled and augmented on a background thread while the trainer computes.
// The stream is a pure function of (seed, state): epoch e uses the permutation seeded by (seed, e), and sample
// randomness is keyed by (seed, epoch, position), so restoring a state reproduces the same batches exactly.
class Loader {
 public:
  // Data-parallel workers: `batch_size` is the global batch; shard `shard` of `shards` gets its rows
  // [shard * batch_size / shards, (shard + 1) * batch_size / shards) of every global batch (and only loads those),
  // so N workers see exactly the samples one process would, whatever N.
  // `balance_classes`: every epoch draws each class equally often (labelled datasets; small classes repeat).
  Loader(std::shared_ptr<Dataset> dataset, int64_t batch_size, uint64_t seed, AugmentOptions aug = {},
         int prefetch = 2, int shard = 0, int shards = 1, bool balance_classes = false);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  Batch next();
  // State after the last batch returned by next().
  LoaderState state() const { return state_; }
  void restore(LoaderState s);
  int64_t batches_per_epoch() const { return dataset_->size() / batch_size_; }

  // The permutation of epoch `epoch` (exposed for tests).
  std::vector<int64_t> permutation(int64_t epoch) const;
  // Batch starting at `s` (synchronously); advances `s`.
  Batch make_batch(LoaderState& s) const;

 private:
  void start();
  void stop();
  void work(LoaderState from);

  std::shared_ptr<Dataset> dataset_;
  int64_t batch_size_;
  int shard_ = 0, shards_ = 1;
  uint64_t seed_;
  AugmentOptions aug_;
  size_t prefetch_;
  LoaderState state_;

  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<Batch, LoaderState>> queue_;
  std::exception_ptr error_;
  bool stopping_ = false;
  std::vector<std::vector<int64_t>> by_class_;  // sample indices per class (balance_classes only)
  mutable std::vector<int64_t> perm_cache_;
  mutable int64_t perm_epoch_ = -1;
};

}  // namespace ganpp
