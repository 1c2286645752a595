#include "ganpp/data/idx.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <zlib.h>

#include "ganpp/core/error.h"

namespace fs = std::filesystem;

namespace ganpp {
namespace {

// Reads a whole file through zlib, which passes non-gzip files through unchanged.
std::string read_maybe_gz(const fs::path& path) {
  if (!fs::exists(path)) throw Error(fmt::format("IDX file '{}' does not exist", path.string()));
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(fmt::format("cannot open IDX file '{}'", path.string()));
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  int err = 0;
  const char* msg = gzerror(f, &err);
  std::string m = msg ? msg : "";
  gzclose(f);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END))
    throw Error(fmt::format("IDX file '{}' is corrupt or truncated (gzip: {})", path.string(), m));
  return out;
}

}  // namespace

IdxArray parse_idx(const std::string& bytes, const std::string& source) {
  if (bytes.size() < 4)
    throw Error(fmt::format("IDX file '{}' is truncated: {} bytes, shorter than the 4-byte magic", source, bytes.size()));
  auto u8 = reinterpret_cast<const unsigned char*>(bytes.data());
  if (u8[0] != 0 || u8[1] != 0)
    throw Error(fmt::format("'{}' is not an IDX file: magic bytes {:02x} {:02x} {:02x} {:02x}, expected 00 00 08 0N",
                            source, u8[0], u8[1], u8[2], u8[3]));
  if (u8[2] != 0x08)
    throw Error(fmt::format("IDX file '{}' has element type 0x{:02x}; ganpp reads unsigned bytes (0x08)", source, u8[2]));
  int ndim = u8[3];
  if (ndim < 1 || ndim > 4) throw Error(fmt::format("IDX file '{}' declares {} dimensions; expected 1 to 4", source, ndim));
  size_t header = 4 + 4 * static_cast<size_t>(ndim);
  if (bytes.size() < header)
    throw Error(fmt::format("IDX file '{}' is truncated inside its header ({} of {} bytes)", source, bytes.size(), header));
  IdxArray a;
  // The product of the non-zero dimensions is bounded before it can overflow (a zero dimension makes the count 0,
  // but the tensor's shape still has to be allocatable).
  constexpr uint64_t kMaxItems = uint64_t(1) << 40;
  uint64_t count = 1, nonzero = 1;
  for (int i = 0; i < ndim; ++i) {
    const unsigned char* p = u8 + 4 + 4 * i;
    uint64_t d = (uint64_t(p[0]) << 24) | (uint64_t(p[1]) << 16) | (uint64_t(p[2]) << 8) | uint64_t(p[3]);
    a.dims.push_back(static_cast<int64_t>(d));
    if (d > 0 && nonzero > kMaxItems / d)
      throw Error(fmt::format("IDX file '{}' declares an absurd size (dimensions {})", source, fmt::join(a.dims, " x ")));
    if (d > 0) nonzero *= d;
    count *= d;
  }
  if (bytes.size() - header != count)
    throw Error(fmt::format("IDX file '{}' is {}: header declares {} data bytes, file has {}", source,
                            bytes.size() - header < count ? "truncated" : "oversized", count, bytes.size() - header));
  a.data = torch::empty(a.dims, torch::kUInt8);
  if (count > 0) std::memcpy(a.data.data_ptr<uint8_t>(), u8 + header, count);  // a zero dimension: no data
  return a;
}

IdxArray read_idx(const fs::path& path) { return parse_idx(read_maybe_gz(path), path.string()); }

torch::Tensor read_idx_images(const fs::path& path) {
  IdxArray a = read_idx(path);
  if (a.dims.size() != 3)
    throw Error(fmt::format("IDX file '{}' has {} dimensions; images need 3 (count, rows, cols)", path.string(), a.dims.size()));
  return a.data.unsqueeze(1);
}

torch::Tensor read_idx_labels(const fs::path& path) {
  IdxArray a = read_idx(path);
  if (a.dims.size() != 1)
    throw Error(fmt::format("IDX file '{}' has {} dimensions; labels need 1", path.string(), a.dims.size()));
  return a.data.to(torch::kLong);
}

}  // namespace ganpp
