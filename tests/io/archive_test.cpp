#include <gtest/gtest.h>

#include <fstream>

#include "ganpp/core/error.h"
#include "ganpp/io/archive.h"
#include "test_util.h"

using namespace ganpp;

namespace {
std::string error_of(const std::string& bytes) {
  try {
    decode_archive(bytes, "x.ckpt");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Archive, RoundTripsTensorsOfEachDtypeAndMetadata) {
  Archive a;
  a.meta = {{"step", 12}, {"name", "run"}};
  a.tensors["f"] = torch::randn({3, 4});
  a.tensors["d"] = torch::randn({2}, torch::kDouble);
  a.tensors["l"] = torch::tensor({1, -2, 3}, torch::kLong);
  a.tensors["u"] = torch::randint(0, 255, {5}, torch::kByte);
  a.tensors["b"] = torch::tensor({true, false});
  a.tensors["scalar"] = torch::tensor(3.5);
  a.tensors["empty"] = torch::empty({0, 7});
  a.tensors["strided"] = torch::arange(12, torch::kFloat).view({3, 4}).t();
  auto d = test::temp_dir("archive");
  save_archive(d / "a.ckpt", a);
  Archive b = load_archive(d / "a.ckpt");
  EXPECT_EQ(b.meta, a.meta);
  ASSERT_EQ(b.tensors.size(), a.tensors.size());
  for (auto& [k, v] : a.tensors) {
    EXPECT_EQ(b.tensors[k].scalar_type(), v.scalar_type()) << k;
    EXPECT_TRUE(torch::equal(b.tensors[k], v)) << k;
  }
}

TEST(Archive, RefusesCorruptTruncatedAndForeignFiles) {
  Archive a;
  a.tensors["w"] = torch::randn({64});
  std::string bytes = encode_archive(a);
  std::string flipped = bytes;
  flipped[flipped.size() - 3] ^= 0x40;
  EXPECT_NE(error_of(flipped).find("payload checksum mismatch"), std::string::npos) << error_of(flipped);
  EXPECT_NE(error_of(bytes.substr(0, bytes.size() - 10)).find("truncated"), std::string::npos);
  EXPECT_NE(error_of(bytes.substr(0, 12)).find("too short"), std::string::npos);
  EXPECT_NE(error_of("PK\x03\x04 a zip file, not ours at all").find("wrong magic"), std::string::npos);
  std::string header_flip = bytes;
  header_flip[20] ^= 0x01;
  EXPECT_NE(error_of(header_flip).find("header checksum mismatch"), std::string::npos);
  // A header claiming a terabyte is refused before any allocation.
  std::string huge = bytes;
  uint64_t tb = 1ull << 40;
  std::memcpy(&huge[8], &tb, 8);
  EXPECT_NE(error_of(huge).find("exceeds the file"), std::string::npos);
  EXPECT_NE(error_of(bytes + "extra").find("padded"), std::string::npos);
}

TEST(Archive, ModuleRoundTripAndShapeMismatch) {
  torch::nn::Linear src(3, 2), dst(3, 2), other(4, 2);
  Archive a;
  put_module(a, "net", *src);
  get_module(a, "net", *dst, "mem");
  EXPECT_TRUE(torch::equal(src->weight, dst->weight));
  try {
    get_module(a, "net", *other, "mem");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("net/weight' has shape 2x3, the model expects 2x4"), std::string::npos) << e.what();
  }
  try {
    get_module(a, "missing", *dst, "mem");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has no tensor 'missing/weight'"), std::string::npos) << e.what();
  }
}
