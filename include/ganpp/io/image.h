#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace ganpp {

// 8-bit interleaved pixels (HWC).
struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

using PngText = std::vector<std::pair<std::string, std::string>>;

// Decodes PNG, JPEG, BMP, GIF, TGA, PNM; `channels` = 0 keeps the file's own, 1/3 converts.
Image decode_image(const std::filesystem::path& path, int channels = 0);
Image decode_image_bytes(const std::string& bytes, const std::string& source, int channels = 0);
// Writes a PNG atomically, with optional tEXt chunks (provenance metadata).
// durable = false: see write_file_atomic (bulk writers sync once at the end).
void write_png(const std::filesystem::path& path, const Image& img, const PngText& text = {}, bool durable = true);
std::string encode_png(const Image& img, const PngText& text = {});

// uint8 [C,H,W] tensor <-> Image.
torch::Tensor image_to_tensor(const Image& img);
Image tensor_to_image(const torch::Tensor& chw_u8);
// Float images in [-1,1] -> uint8 (round, clamp).
torch::Tensor to_uint8(const torch::Tensor& x);
// A grid of `nrow` images per row with `pad` pixels between them; input [N,C,H,W] float in [-1,1].
Image make_grid(const torch::Tensor& batch, int64_t nrow = 0, int64_t pad = 2);

}  // namespace ganpp
