#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ganpp/core/config.h"
#include "ganpp/core/registry.h"

namespace ganpp {

// What a dataset yields: sample shape ({C,H,W} for images, {D} for vectors) and classes, if labelled.
struct DataSpec {
  std::string name;
  std::vector<int64_t> shape;
  int64_t num_classes = 0;
  std::vector<std::string> class_names;
  bool is_image() const { return shape.size() == 3; }
};

// A finite, indexable dataset. Images come out as float in [-1, 1]; vectors as they are.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual const DataSpec& spec() const = 0;
  // Samples at `indices`, [B, shape...]. `seeds` (one per sample) drive any per-sample randomness (random crops),
  // so that a batch depends only on (indices, seeds), never on thread timing.
  virtual torch::Tensor get(const std::vector<int64_t>& indices, const std::vector<uint64_t>& seeds) const = 0;
  // int64 labels [B], or an undefined tensor when the dataset has none.
  virtual torch::Tensor labels(const std::vector<int64_t>& indices) const { return {}; }
};

// Images (uint8 [N,C,H,W]) or vectors (float [N,D]) held in memory, with optional int64 labels [N].
class TensorDataset : public Dataset {
 public:
  TensorDataset(torch::Tensor data, torch::Tensor labels, DataSpec spec);
  int64_t size() const override { return data_.size(0); }
  const DataSpec& spec() const override { return spec_; }
  torch::Tensor get(const std::vector<int64_t>& indices, const std::vector<uint64_t>& seeds) const override;
  torch::Tensor labels(const std::vector<int64_t>& indices) const override;
  const torch::Tensor& data() const { return data_; }

 private:
  torch::Tensor data_, labels_;
  DataSpec spec_;
};

using DatasetRegistry = Registry<Dataset, const Config&>;

// Builds the dataset named by `data.dataset`; refuses an empty one.
std::shared_ptr<Dataset> create_dataset(const Config& cfg);

// uint8 images [N,C,h,w] -> uint8 [N,C,R,R] by padding (centred, black) or bilinear resizing.
torch::Tensor fit_images(const torch::Tensor& images, int64_t resolution, const std::string& mode);

// The seed for synthetic data, derived from the config's top-level `seed`.
uint64_t mix64_seed(const Config& cfg);

// uint8 -> float in [-1, 1].
inline torch::Tensor to_unit_range(const torch::Tensor& u8) { return u8.to(torch::kFloat).div_(127.5).sub_(1.0); }

}  // namespace ganpp
