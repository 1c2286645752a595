#pragma once
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace ganpp {

// Data-parallel training on c10d, the engine under PyTorch's DistributedDataParallel: a TCPStore rendezvous and
// ProcessGroupGloo collectives (CPU). Workers follow the torchrun conventions: RANK, WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT (LOCAL_RANK is informational).
struct DistOptions {
  int rank = 0, world = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  double timeout_s = 120;  // rendezvous and every collective: a lost worker becomes an error, never a hang
  // From the environment; world 1 when WORLD_SIZE is unset. Bad values are errors naming the variable.
  static DistOptions from_env();
};

// A part of a global mini-batch: rows [offset, offset + rows) of `total`. total = 0: the whole batch (one process).
struct BatchShard {
  int64_t offset = 0, total = 0;
  bool active() const { return total > 0; }
  // Rows to draw for per-sample randomness (the global batch, so that every sample gets the value it would get in a
  // single process), and this shard's part of such a draw.
  int64_t rows(int64_t local) const { return active() ? total : local; }
  torch::Tensor take(const torch::Tensor& global, int64_t local) const {
    return active() ? global.narrow(0, offset, local) : global;
  }
};

// A collective started without waiting for it; wait() blocks until it is done (errors as for the blocking calls).
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  virtual void wait() = 0;
};

class ProcessGroup {
 public:
  // Joins the group (rank 0 hosts the TCPStore); errors name the address and say what failed.
  static std::shared_ptr<ProcessGroup> create(const DistOptions& opt);
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  // In-place sum over ranks of each tensor (CPU, contiguous).
  virtual void all_reduce_sum(std::vector<torch::Tensor>& tensors) = 0;
  // The same, started now and finished by the returned object's wait(); `tensors` must stay alive until then.
  virtual std::unique_ptr<PendingCollective> all_reduce_sum_async(std::vector<torch::Tensor>& tensors) = 0;
  // Rows of every rank's `t` (equal shapes), concatenated in rank order.
  virtual torch::Tensor all_gather(const torch::Tensor& t) = 0;
  // In-place copy of rank `root`'s tensors to every rank.
  virtual void broadcast(std::vector<torch::Tensor>& tensors, int root = 0) = 0;
  virtual void barrier() = 0;
  // Seconds spent in collectives so far (communication plus waiting for the slowest rank).
  virtual double comm_seconds() const = 0;

  // Every rank gets rank 0's values of `params` and `buffers` (start of training: identical replicas).
  void broadcast_module(torch::nn::Module& m);
};

// Averages the gradients of `params` over ranks while the backward pass runs, as DistributedDataParallel's reducer
// does: the parameters are grouped, in reverse registration order (about the order backward produces their
// gradients), into buckets of about `bucket_bytes`; a gradient hook copies each gradient into its bucket, and a
// bucket's all-reduce starts as soon as its last gradient arrives, overlapping the rest of the backward pass.
// finish() starts the buckets still incomplete (parameters that got no gradient in this pass, e.g. layers a growing
// model does not use yet, are the same on every rank and are left alone), waits for all and writes the means into
// the parameters' .grad. Between begin() and finish() run exactly one backward pass.
class GradientBuckets {
 public:
  GradientBuckets(std::shared_ptr<ProcessGroup> pg, std::vector<torch::Tensor> params, int64_t bucket_bytes);
  GradientBuckets(const GradientBuckets&) = delete;
  GradientBuckets& operator=(const GradientBuckets&) = delete;
  void begin();
  void finish();
  size_t num_buckets() const { return buckets_.size(); }
  // Buckets whose all-reduce started during the last backward pass, before finish().
  size_t launched_during_backward() const { return launched_early_; }

 private:
  struct Bucket {
    std::vector<size_t> params;
    std::vector<int64_t> offsets;
    int64_t numel = 0;
    torch::Tensor flat;
    std::vector<torch::Tensor> io;  // {flat}: what the pending all-reduce works on
    std::vector<bool> ready;
    size_t n_ready = 0;
    std::unique_ptr<PendingCollective> work;
  };
  void on_grad(size_t param, const torch::Tensor& g);
  void launch(Bucket& b);

  std::shared_ptr<ProcessGroup> pg_;
  std::vector<torch::Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<std::pair<size_t, size_t>> slot_;  // param -> (bucket, index in bucket)
  bool armed_ = false;
  size_t launched_early_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The process-wide group (set by the training command of a distributed worker; null in a single process). Layers
// that synchronise (SyncBatchNorm2d) use it.
std::shared_ptr<ProcessGroup> current_process_group();
void set_current_process_group(std::shared_ptr<ProcessGroup> pg);

// Sum over ranks, differentiable: the gradient is summed over ranks as well (each rank's loss depends on every
// rank's input through the sum).
torch::Tensor all_reduce_sum_autograd(const torch::Tensor& x, ProcessGroup& pg);

}  // namespace ganpp
