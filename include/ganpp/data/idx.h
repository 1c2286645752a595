#pragma once
#include <torch/torch.h>

#include <filesystem>

namespace ganpp {

// IDX (the MNIST file format), gzipped or raw. Validates the magic, the element type and that the payload has
// exactly the size the header declares.
struct IdxArray {
  std::vector<int64_t> dims;
  torch::Tensor data;  // uint8, shape = dims
};
IdxArray read_idx(const std::filesystem::path& path);
IdxArray parse_idx(const std::string& bytes, const std::string& source);

// Images as uint8 [N,1,H,W] (3-D IDX) and labels as int64 [N] (1-D IDX).
torch::Tensor read_idx_images(const std::filesystem::path& path);
torch::Tensor read_idx_labels(const std::filesystem::path& path);

}  // namespace ganpp
