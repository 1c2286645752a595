#include "ganpp/io/archive.h"

#include <fmt/format.h>
#include <zlib.h>
#include <fmt/ranges.h>

#include <cstring>

#include "ganpp/core/config.h"
#include "ganpp/core/error.h"

namespace fs = std::filesystem;

namespace ganpp {
namespace {

constexpr char kMagic[8] = {'G', 'A', 'N', 'P', 'P', 'A', 'R', '1'};
constexpr uint64_t kMaxHeader = 64ull << 20;

uint32_t crc(const char* p, size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    c = crc32(c, reinterpret_cast<const Bytef*>(p), chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(c);
}

const std::map<std::string, torch::ScalarType>& dtypes() {
  static const std::map<std::string, torch::ScalarType> m = {
      {"float32", torch::kFloat}, {"float64", torch::kDouble}, {"float16", torch::kHalf}, {"bfloat16", torch::kBFloat16},
      {"int64", torch::kLong},    {"int32", torch::kInt},      {"uint8", torch::kByte},   {"bool", torch::kBool}};
  return m;
}

std::string dtype_name(torch::ScalarType t) {
  for (auto& [k, v] : dtypes())
    if (v == t) return k;
  throw Error(fmt::format("archive: unsupported tensor dtype {}", c10::toString(t)));
}

}  // namespace

uint32_t crc32_bytes(const void* data, size_t n) { return crc(static_cast<const char*>(data), n); }

std::string encode_archive(const Archive& a) {
  nlohmann::json header;
  header["meta"] = a.meta;
  header["tensors"] = nlohmann::json::array();
  std::string payload;
  for (auto& [name, t0] : a.tensors) {
    auto t = t0.detach().to(torch::kCPU).contiguous();
    size_t nbytes = t.numel() * t.element_size();
    header["tensors"].push_back({{"name", name}, {"dtype", dtype_name(t.scalar_type())}, {"shape", t.sizes().vec()},
                                 {"offset", payload.size()}, {"nbytes", nbytes}});
    payload.append(static_cast<const char*>(t.data_ptr()), nbytes);
  }
  header["payload_bytes"] = payload.size();
  header["payload_crc32"] = crc(payload.data(), payload.size());
  std::string h = header.dump();
  std::string out(kMagic, 8);
  uint64_t hl = h.size();
  out.append(reinterpret_cast<const char*>(&hl), 8);
  out += h;
  uint32_t hc = crc(h.data(), h.size());
  out.append(reinterpret_cast<const char*>(&hc), 4);
  out += payload;
  return out;
}

Archive decode_archive(const std::string& bytes, const std::string& source) {
  auto bad = [&](const std::string& why) { return Error(fmt::format("'{}' is not a valid ganpp archive: {}", source, why)); };
  if (bytes.size() < 20) throw bad(fmt::format("file is {} bytes, too short (truncated?)", bytes.size()));
  if (std::memcmp(bytes.data(), kMagic, 8) != 0) throw bad("wrong magic (expected GANPPAR1)");
  uint64_t hl;
  std::memcpy(&hl, bytes.data() + 8, 8);
  if (hl > kMaxHeader || hl > bytes.size() - 20) throw bad(fmt::format("header length {} exceeds the file (truncated?)", hl));
  std::string h = bytes.substr(16, hl);
  uint32_t hc;
  std::memcpy(&hc, bytes.data() + 16 + hl, 4);
  if (crc(h.data(), h.size()) != hc) throw bad("header checksum mismatch (file corrupt)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(h);
  } catch (const std::exception& e) {
    throw bad(std::string("header is not JSON: ") + e.what());
  }
  const size_t payload_off = 20 + hl;
  const uint64_t payload_len = bytes.size() - payload_off;
  Archive a;
  try {
    if (header.value("payload_bytes", uint64_t(0)) != payload_len)
      throw bad(fmt::format("payload is {} bytes, header says {} (truncated or padded)", payload_len,
                            header.value("payload_bytes", uint64_t(0))));
    if (crc(bytes.data() + payload_off, payload_len) != header.at("payload_crc32").get<uint32_t>())
      throw bad("payload checksum mismatch (file corrupt)");
    a.meta = header.at("meta");
    for (auto& e : header.at("tensors")) {
      std::string name = e.at("name").get<std::string>();
      auto it = dtypes().find(e.at("dtype").get<std::string>());
      if (it == dtypes().end()) throw bad(fmt::format("tensor '{}' has unsupported dtype", name));
      std::vector<int64_t> shape = e.at("shape").get<std::vector<int64_t>>();
      uint64_t numel = 1;
      for (auto d : shape) {
        if (d < 0 || d > (int64_t(1) << 40)) throw bad(fmt::format("tensor '{}' has an invalid shape", name));
        numel *= static_cast<uint64_t>(d);
        if (numel > (uint64_t(1) << 40)) throw bad(fmt::format("tensor '{}' is impossibly large", name));
      }
      uint64_t off = e.at("offset").get<uint64_t>(), nb = e.at("nbytes").get<uint64_t>();
      size_t esz = c10::elementSize(it->second);
      if (nb != numel * esz) throw bad(fmt::format("tensor '{}' byte count does not match its shape", name));
      if (off > payload_len || nb > payload_len - off) throw bad(fmt::format("tensor '{}' lies outside the payload", name));
      auto t = torch::empty(shape, torch::TensorOptions().dtype(it->second));
      if (nb) std::memcpy(t.data_ptr(), bytes.data() + payload_off + off, nb);
      a.tensors[name] = t;
    }
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("malformed header: ") + e.what());
  }
  return a;
}

void save_archive(const fs::path& path, const Archive& a) { write_file_atomic(path, encode_archive(a)); }

Archive load_archive(const fs::path& path) {
  if (!fs::exists(path)) throw Error(fmt::format("file '{}' does not exist", path.string()));
  return decode_archive(read_file(path), path.string());
}

void put_module(Archive& a, const std::string& prefix, const torch::nn::Module& m) {
  // Copies on the CPU in the standard (contiguous) layout, whatever the module's device and memory format.
  auto copy = [](const torch::Tensor& t) { return t.detach().to(torch::kCPU, /*non_blocking=*/false, /*copy=*/true).contiguous(); };
  for (auto& p : m.named_parameters(true)) a.tensors[prefix + "/" + p.key()] = copy(p.value());
  for (auto& b : m.named_buffers(true)) a.tensors[prefix + "/" + b.key()] = copy(b.value());
}

void get_module(const Archive& a, const std::string& prefix, torch::nn::Module& m, const std::string& source) {
  torch::NoGradGuard ng;
  auto load = [&](const std::string& key, torch::Tensor& dst) {
    auto it = a.tensors.find(prefix + "/" + key);
    if (it == a.tensors.end())
      throw Error(fmt::format("'{}' has no tensor '{}/{}' (made with a different model config?)", source, prefix, key));
    if (it->second.sizes() != dst.sizes())
      throw Error(fmt::format("'{}': tensor '{}/{}' has shape {}, the model expects {}", source, prefix, key,
                              fmt::join(it->second.sizes(), "x"), fmt::join(dst.sizes(), "x")));
    dst.copy_(it->second);
  };
  for (auto& p : m.named_parameters(true)) load(p.key(), p.value());
  for (auto& b : m.named_buffers(true)) load(b.key(), b.value());
}

}  // namespace ganpp
