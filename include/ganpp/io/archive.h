#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace ganpp {

// A file of named tensors plus JSON metadata: ganpp's checkpoint and weights format.
//   "GANPPAR1" | u64 header length | header JSON | u32 CRC-32 of header | payload (raw little-endian tensors)
// The header lists each tensor's dtype, shape and byte range and the payload's CRC-32. Loading validates every
// size against the real file before allocating and verifies both checksums before building a tensor; it never
// executes anything from the file.
struct Archive {
  nlohmann::json meta = nlohmann::json::object();
  std::map<std::string, torch::Tensor> tensors;
};

std::string encode_archive(const Archive& a);
// CRC-32 (zlib's polynomial) of a byte range; `ganpp inspect --tensors` prints it per tensor.
uint32_t crc32_bytes(const void* data, size_t n);
Archive decode_archive(const std::string& bytes, const std::string& source);
// Written atomically: temp file, fsync, rename. A failure leaves any previous file intact.
void save_archive(const std::filesystem::path& path, const Archive& a);
Archive load_archive(const std::filesystem::path& path);

// Module parameters and buffers <-> archive entries under `prefix/`.
void put_module(Archive& a, const std::string& prefix, const torch::nn::Module& m);
// Loads every parameter and buffer of `m` from `prefix/...`; names what is missing or mis-shaped.
void get_module(const Archive& a, const std::string& prefix, torch::nn::Module& m, const std::string& source);

}  // namespace ganpp
