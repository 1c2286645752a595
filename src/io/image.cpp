#include "ganpp/io/image.h"

#include <fmt/format.h>
#include <png.h>

#include <cctype>
#include <cmath>

#include "ganpp/core/config.h"
#include "ganpp/core/error.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_HDR
#define STBI_NO_PIC
#define STBI_NO_PSD
#include <stb_image.h>

namespace fs = std::filesystem;

namespace ganpp {

namespace {

// stb_image 2.27 mishandles binary PNM files (P5/P6) that fuzzing found: header numbers overflow its int (undefined
// behaviour past 2^31), and a 16-bit raster (maximum value > 255) that is shorter than its header says is read past
// the end of its buffer. ganpp reads the header itself first and refuses numbers of more than 9 digits, 16-bit
// rasters and truncated rasters with a clear error.
void check_pnm(const std::string& b, const std::string& source) {
  if (b.size() < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6')) return;
  size_t i = 2;
  auto space = [](char ch) { return std::isspace(static_cast<unsigned char>(ch)) != 0; };
  int64_t v[3] = {0, 0, 0};
  const char* names[3] = {"width", "height", "maximum value"};
  for (int f = 0; f < 3; ++f) {
    while (i < b.size()) {  // whitespace and # comments, as stb skips them
      if (space(b[i])) {
        ++i;
      } else if (b[i] == '#') {
        while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
      } else {
        break;
      }
    }
    const size_t start = i;
    while (i < b.size() && std::isdigit(static_cast<unsigned char>(b[i]))) {
      if (i - start == 9)
        throw Error(fmt::format("cannot decode image '{}': its PNM header {} has more than 9 digits", source, names[f]));
      v[f] = v[f] * 10 + (b[i++] - '0');
    }
    if (i == start) return;  // not a number: stb refuses the file itself
  }
  if (v[2] > 255)
    throw Error(fmt::format("cannot decode image '{}': 16-bit PNM (maximum value {}) is not supported; save it with "
                            "8 bits per channel",
                            source, v[2]));
  const int64_t need = v[0] * v[1] * (b[1] == '6' ? 3 : 1), have = static_cast<int64_t>(b.size()) - int64_t(i) - 1;
  if (have < need)
    throw Error(fmt::format("cannot decode image '{}': truncated PNM raster ({} of {} bytes for {}x{})", source,
                            std::max<int64_t>(have, 0), need, v[0], v[1]));
}

}  // namespace

Image decode_image_bytes(const std::string& bytes, const std::string& source, int channels) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX))
    throw Error(fmt::format("image '{}' is larger than 2 GiB", source));
  check_pnm(bytes, source);
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()), &w, &h, &c))
    throw Error(fmt::format("cannot decode image '{}': {}", source, stbi_failure_reason()));
  if (int64_t(w) * h > (int64_t(1) << 28))
    throw Error(fmt::format("image '{}' is {}x{} pixels; ganpp refuses images over 268M pixels", source, w, h));
  int want = channels;
  if (want == 0) want = (c == 1 || c == 2) ? 1 : 3;  // drop alpha
  stbi_uc* p = stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()), &w,
                                     &h, &c, want);
  if (!p) throw Error(fmt::format("cannot decode image '{}': {}", source, stbi_failure_reason()));
  Image img;
  img.width = w;
  img.height = h;
  img.channels = want;
  img.pixels.assign(p, p + size_t(w) * h * want);
  stbi_image_free(p);
  return img;
}

Image decode_image(const fs::path& path, int channels) {
  if (!fs::exists(path)) throw Error(fmt::format("image '{}' does not exist", path.string()));
  return decode_image_bytes(read_file(path), path.string(), channels);
}

namespace {
void png_write_to_string(png_structp png, png_bytep data, png_size_t len) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  out->append(reinterpret_cast<const char*>(data), len);
}
void png_flush_noop(png_structp) {}
}  // namespace

std::string encode_png(const Image& img, const PngText& text) {
  if (img.channels != 1 && img.channels != 3 && img.channels != 4)
    throw Error(fmt::format("cannot write a PNG with {} channels", img.channels));
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) throw Error("libpng: out of memory");
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw Error("libpng failed to encode an image");
  }
  png_set_write_fn(png, &out, png_write_to_string, png_flush_noop);
  int type = img.channels == 1 ? PNG_COLOR_TYPE_GRAY : img.channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGBA;
  png_set_IHDR(png, info, img.width, img.height, 8, type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  std::vector<png_text> chunks(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    chunks[i].compression = PNG_TEXT_COMPRESSION_NONE;
    chunks[i].key = const_cast<char*>(text[i].first.c_str());
    chunks[i].text = const_cast<char*>(text[i].second.c_str());
    chunks[i].text_length = text[i].second.size();
  }
  if (!chunks.empty()) png_set_text(png, info, chunks.data(), static_cast<int>(chunks.size()));
  png_write_info(png, info);
  for (int y = 0; y < img.height; ++y)
    png_write_row(png, const_cast<png_bytep>(img.pixels.data() + size_t(y) * img.width * img.channels));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

void write_png(const fs::path& path, const Image& img, const PngText& text, bool durable) {
  write_file_atomic(path, encode_png(img, text), durable);
}

torch::Tensor image_to_tensor(const Image& img) {
  auto t = torch::from_blob(const_cast<uint8_t*>(img.pixels.data()), {img.height, img.width, img.channels}, torch::kUInt8);
  return t.permute({2, 0, 1}).clone(at::MemoryFormat::Contiguous);  // owns its memory (from_blob does not)
}

Image tensor_to_image(const torch::Tensor& chw) {
  TORCH_CHECK(chw.dim() == 3 && chw.scalar_type() == torch::kUInt8, "tensor_to_image expects uint8 [C,H,W]");
  auto hwc = chw.permute({1, 2, 0}).contiguous();
  Image img;
  img.channels = static_cast<int>(chw.size(0));
  img.height = static_cast<int>(chw.size(1));
  img.width = static_cast<int>(chw.size(2));
  img.pixels.assign(hwc.data_ptr<uint8_t>(), hwc.data_ptr<uint8_t>() + hwc.numel());
  return img;
}

torch::Tensor to_uint8(const torch::Tensor& x) {
  return x.detach().to(torch::kCPU, torch::kFloat).add(1.0).mul(127.5).round().clamp(0, 255).to(torch::kUInt8);
}

Image make_grid(const torch::Tensor& batch, int64_t nrow, int64_t pad) {
  TORCH_CHECK(batch.dim() == 4, "make_grid expects [N,C,H,W]");
  int64_t n = batch.size(0), c = batch.size(1), h = batch.size(2), w = batch.size(3);
  if (nrow <= 0) nrow = static_cast<int64_t>(std::ceil(std::sqrt(double(n))));
  int64_t rows = (n + nrow - 1) / nrow;
  auto u8 = to_uint8(batch);
  auto grid = torch::full({c, rows * (h + pad) + pad, nrow * (w + pad) + pad}, 255, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    int64_t r = i / nrow, col = i % nrow;
    grid.narrow(1, pad + r * (h + pad), h).narrow(2, pad + col * (w + pad), w).copy_(u8[i]);
  }
  return tensor_to_image(grid);
}

}  // namespace ganpp
