#include "ganpp/io/npz.h"

#include <fmt/format.h>
#include <zlib.h>

#include <cstring>
#include <regex>

#include "ganpp/core/config.h"
#include "ganpp/core/error.h"

namespace fs = std::filesystem;

namespace ganpp {
namespace {

const std::map<std::string, torch::ScalarType>& npy_types() {
  static const std::map<std::string, torch::ScalarType> m = {
      {"<f4", torch::kFloat}, {"<f8", torch::kDouble}, {"<i8", torch::kLong}, {"<i4", torch::kInt},
      {"|u1", torch::kByte},  {"|b1", torch::kBool},   {"<f2", torch::kHalf}};
  return m;
}

void put16(std::string& s, uint16_t v) { s.append(reinterpret_cast<const char*>(&v), 2); }
void put32(std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
uint16_t get16(const std::string& s, size_t at) {
  uint16_t v;
  std::memcpy(&v, s.data() + at, 2);
  return v;
}
uint32_t get32(const std::string& s, size_t at) {
  uint32_t v;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}

std::string inflate_raw(const std::string& in, size_t expected, const std::string& source) {
  // Deflate expands at most ~1032:1: a larger claim is a corrupt (or hostile) header, refused before allocating.
  if (expected > 1032 * in.size() + 64 || expected > (size_t(1) << 36))
    throw Error(fmt::format("'{}': entry claims {} bytes from {} compressed bytes, more than deflate can produce", source,
                            expected, in.size()));
  std::string out(expected, '\0');
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw Error("zlib: inflateInit failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_FINISH);
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || zs.total_out != expected)
    throw Error(fmt::format("'{}': compressed entry is corrupt", source));
  return out;
}

}  // namespace

std::string encode_npy(const torch::Tensor& t0) {
  auto t = t0.detach().to(torch::kCPU).contiguous();
  std::string descr;
  for (auto& [k, v] : npy_types())
    if (v == t.scalar_type()) descr = k;
  if (descr.empty()) throw Error(fmt::format("npy: unsupported dtype {}", c10::toString(t.scalar_type())));
  std::string shape;
  for (auto d : t.sizes()) shape += std::to_string(d) + ", ";
  if (t.dim() > 1) shape.erase(shape.size() - 2);
  if (t.dim() == 1) shape.erase(shape.size() - 1);
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, shape);
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  put16(out, static_cast<uint16_t>(header.size()));
  out += header;
  out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  return out;
}

torch::Tensor decode_npy(const std::string& b, const std::string& source) {
  auto bad = [&](const std::string& why) { return Error(fmt::format("'{}' is not a valid .npy array: {}", source, why)); };
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0) throw bad("wrong magic");
  int major = static_cast<unsigned char>(b[6]);
  size_t hl, off;
  if (major == 1) hl = get16(b, 8), off = 10;
  else if (major == 2 || major == 3) {
    if (b.size() < 12) throw bad("truncated header");
    hl = get32(b, 8), off = 12;
  } else throw bad(fmt::format("unsupported version {}", major));
  if (hl > b.size() - off) throw bad("header runs past the end");
  std::string h = b.substr(off, hl);
  std::smatch m;
  if (!std::regex_search(h, m, std::regex("'descr':\\s*'([^']*)'"))) throw bad("no 'descr'");
  auto it = npy_types().find(m[1].str());
  if (it == npy_types().end()) throw bad(fmt::format("unsupported dtype '{}'", m[1].str()));
  if (std::regex_search(h, std::regex("'fortran_order':\\s*True"))) throw bad("Fortran order is not supported");
  if (!std::regex_search(h, m, std::regex("'shape':\\s*\\(([^)]*)\\)"))) throw bad("no 'shape'");
  std::vector<int64_t> shape;
  std::string dims = m[1].str();
  uint64_t numel = 1;
  const std::regex number("[0-9]+");
  for (std::sregex_iterator i(dims.begin(), dims.end(), number), e; i != e; ++i) {
    if (i->str().size() > 12) throw bad("dimension too large");
    int64_t d = std::stoll(i->str());
    shape.push_back(d);
    numel *= static_cast<uint64_t>(d);
    if (numel > (uint64_t(1) << 40)) throw bad("impossibly large");
  }
  size_t esz = c10::elementSize(it->second);
  if (b.size() - off - hl != numel * esz)
    throw bad(fmt::format("data is {} bytes, shape needs {}", b.size() - off - hl, numel * esz));
  auto t = torch::empty(shape, torch::TensorOptions().dtype(it->second));
  if (numel) std::memcpy(t.data_ptr(), b.data() + off + hl, numel * esz);
  return t;
}

void save_npz(const fs::path& path, const std::map<std::string, torch::Tensor>& arrays) {
  std::string zip, central;
  uint16_t count = 0;
  for (auto& [name, t] : arrays) {
    std::string data = encode_npy(t), fname = name + ".npy";
    if (data.size() >= 0xFFFFFFFFu) throw Error(fmt::format("npz: array '{}' is over 4 GiB (zip64 not supported)", name));
    uint32_t crc = static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    uint32_t local_off = static_cast<uint32_t>(zip.size());
    put32(zip, 0x04034b50); put16(zip, 20); put16(zip, 0); put16(zip, 0); put16(zip, 0); put16(zip, 0x21);
    put32(zip, crc); put32(zip, static_cast<uint32_t>(data.size())); put32(zip, static_cast<uint32_t>(data.size()));
    put16(zip, static_cast<uint16_t>(fname.size())); put16(zip, 0);
    zip += fname;
    zip += data;
    put32(central, 0x02014b50); put16(central, 20); put16(central, 20); put16(central, 0); put16(central, 0);
    put16(central, 0); put16(central, 0x21); put32(central, crc); put32(central, static_cast<uint32_t>(data.size()));
    put32(central, static_cast<uint32_t>(data.size())); put16(central, static_cast<uint16_t>(fname.size()));
    put16(central, 0); put16(central, 0); put16(central, 0); put16(central, 0); put32(central, 0); put32(central, local_off);
    central += fname;
    ++count;
  }
  uint32_t cd_off = static_cast<uint32_t>(zip.size());
  zip += central;
  put32(zip, 0x06054b50); put16(zip, 0); put16(zip, 0); put16(zip, count); put16(zip, count);
  put32(zip, static_cast<uint32_t>(central.size())); put32(zip, cd_off); put16(zip, 0);
  write_file_atomic(path, zip);
}

std::map<std::string, torch::Tensor> decode_npz(const std::string& b, const std::string& source) {
  auto bad = [&](const std::string& why) { return Error(fmt::format("'{}' is not a valid .npz file: {}", source, why)); };
  if (b.size() < 22) throw bad("too short");
  // End of central directory: search back over a possible comment.
  size_t eocd = std::string::npos;
  for (size_t i = b.size() - 22 + 1; i-- > 0 && b.size() - i <= 22 + 65535;)
    if (get32(b, i) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == std::string::npos) throw bad("no zip directory (truncated?)");
  uint16_t n = get16(b, eocd + 10);
  uint32_t cd_size = get32(b, eocd + 12), cd_off = get32(b, eocd + 16);
  if (size_t(cd_off) + cd_size > eocd) throw bad("zip directory lies outside the file");
  std::map<std::string, torch::Tensor> out;
  size_t p = cd_off;
  for (uint16_t i = 0; i < n; ++i) {
    if (p + 46 > eocd || get32(b, p) != 0x02014b50) throw bad("corrupt zip directory");
    uint16_t method = get16(b, p + 10);
    uint32_t crc = get32(b, p + 16), csize = get32(b, p + 20), usize = get32(b, p + 24);
    uint16_t fl = get16(b, p + 28), xl = get16(b, p + 30), cl = get16(b, p + 32);
    uint32_t loff = get32(b, p + 42);
    if (p + 46 + fl > eocd) throw bad("corrupt zip directory");
    std::string name = b.substr(p + 46, fl);
    p += 46 + size_t(fl) + xl + cl;
    if (csize == 0xFFFFFFFFu || usize == 0xFFFFFFFFu || loff == 0xFFFFFFFFu) throw bad("zip64 entries are not supported");
    if (size_t(loff) + 30 > b.size() || get32(b, loff) != 0x04034b50) throw bad(fmt::format("entry '{}' is corrupt", name));
    size_t data = size_t(loff) + 30 + get16(b, loff + 26) + get16(b, loff + 28);
    if (data > b.size() || csize > b.size() - data) throw bad(fmt::format("entry '{}' is truncated", name));
    std::string raw = b.substr(data, csize);
    if (method == 8) raw = inflate_raw(raw, usize, source + ":" + name);
    else if (method != 0) throw bad(fmt::format("entry '{}' uses unsupported compression {}", name, method));
    if (raw.size() != usize) throw bad(fmt::format("entry '{}' has the wrong size", name));
    if (static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(raw.data()), static_cast<uInt>(raw.size()))) != crc)
      throw bad(fmt::format("entry '{}' fails its CRC check (corrupt)", name));
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    out[name] = decode_npy(raw, source + ":" + name);
  }
  return out;
}

std::map<std::string, torch::Tensor> load_npz(const fs::path& path) {
  if (!fs::exists(path)) throw Error(fmt::format("file '{}' does not exist", path.string()));
  return decode_npz(read_file(path), path.string());
}

}  // namespace ganpp
