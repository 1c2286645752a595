#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>

namespace ganpp {

// NumPy .npy / .npz (numpy.savez and savez_compressed) for float32/float64/int64/int32/uint8/bool arrays in C order.
// Readers validate the zip structure, the .npy header and every size against the real data before allocating.
std::string encode_npy(const torch::Tensor& t);
torch::Tensor decode_npy(const std::string& bytes, const std::string& source);

// Written as an uncompressed zip (like numpy.savez), atomically.
void save_npz(const std::filesystem::path& path, const std::map<std::string, torch::Tensor>& arrays);
std::map<std::string, torch::Tensor> load_npz(const std::filesystem::path& path);
std::map<std::string, torch::Tensor> decode_npz(const std::string& bytes, const std::string& source);

}  // namespace ganpp
