#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>

#include "ganpp/core/error.h"
#include "ganpp/data/dataset.h"
#include "ganpp/data/idx.h"
#include "test_util.h"

using namespace ganpp;
namespace fs = std::filesystem;

namespace {

std::string idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data, uint8_t type = 0x08) {
  std::string s = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    s.push_back(static_cast<char>(d >> 24));
    s.push_back(static_cast<char>(d >> 16));
    s.push_back(static_cast<char>(d >> 8));
    s.push_back(static_cast<char>(d));
  }
  s.append(data.begin(), data.end());
  return s;
}

void write_raw(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }
void write_gz(const fs::path& p, const std::string& s) {
  gzFile f = gzopen(p.c_str(), "wb");
  gzwrite(f, s.data(), static_cast<unsigned>(s.size()));
  gzclose(f);
}

std::string error_of(const std::function<void()>& f) { return test::error_message(f); }

}  // namespace

TEST(Idx, ReadsRawAndGzippedImagesAndLabels) {
  auto d = test::temp_dir("idx");
  std::vector<uint8_t> px(2 * 3 * 4);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 10);
  write_raw(d / "img", idx_bytes({2, 3, 4}, px));
  write_gz(d / "img.gz", idx_bytes({2, 3, 4}, px));
  write_gz(d / "lab.gz", idx_bytes({2}, {7, 3}));
  for (auto name : {"img", "img.gz"}) {
    auto t = read_idx_images(d / name);
    ASSERT_EQ(t.sizes(), (std::vector<int64_t>{2, 1, 3, 4}));
    EXPECT_EQ(t[1][0][2][3].item<int>(), 230);  // element 23
    EXPECT_EQ(t[0][0][0][1].item<int>(), 10);
  }
  auto l = read_idx_labels(d / "lab.gz");
  EXPECT_EQ(l.scalar_type(), torch::kLong);
  EXPECT_EQ(l[0].item<int64_t>(), 7);
  EXPECT_EQ(l[1].item<int64_t>(), 3);
}

TEST(Idx, RefusesWrongMagicTruncationAndWrongRank) {
  auto d = test::temp_dir("idx_bad");
  write_raw(d / "png", "\x89PNG\r\n\x1a\n....");
  std::string m = error_of([&] { read_idx_images(d / "png"); });
  EXPECT_NE(m.find("is not an IDX file"), std::string::npos) << m;
  EXPECT_NE(m.find((d / "png").string()), std::string::npos) << m;

  std::string full = idx_bytes({2, 3, 4}, std::vector<uint8_t>(24, 1));
  write_gz(d / "trunc.gz", full.substr(0, full.size() - 5));
  m = error_of([&] { read_idx_images(d / "trunc.gz"); });
  EXPECT_NE(m.find("truncated"), std::string::npos) << m;
  EXPECT_NE(m.find("24 data bytes, file has 19"), std::string::npos) << m;

  write_raw(d / "hdr", full.substr(0, 9));
  m = error_of([&] { read_idx_images(d / "hdr"); });
  EXPECT_NE(m.find("truncated inside its header"), std::string::npos) << m;

  write_raw(d / "float", idx_bytes({1}, {0, 0, 0, 0}, 0x0D));
  m = error_of([&] { read_idx_images(d / "float"); });
  EXPECT_NE(m.find("element type 0x0d"), std::string::npos) << m;

  write_raw(d / "labels", idx_bytes({2}, {1, 2}));
  m = error_of([&] { read_idx_images(d / "labels"); });
  EXPECT_NE(m.find("images need 3"), std::string::npos) << m;

  m = error_of([&] { read_idx_images(d / "missing"); });
  EXPECT_NE(m.find("does not exist"), std::string::npos) << m;

  // A gzip stream cut in the middle.
  write_gz(d / "whole.gz", full);
  std::string gz;
  {
    std::ifstream in(d / "whole.gz", std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  write_raw(d / "cut.gz", gz.substr(0, gz.size() / 2));
  m = error_of([&] { read_idx_images(d / "cut.gz"); });
  EXPECT_FALSE(m.empty());
  EXPECT_NE(m.find((d / "cut.gz").string()), std::string::npos) << m;
}

TEST(Idx, DatasetFitsResolutionAndRefusesEmptyAndMissing) {
  auto d = test::temp_dir("idx_ds");
  write_raw(d / "train-images-idx3-ubyte", idx_bytes({3, 28, 28}, std::vector<uint8_t>(3 * 784, 255)));
  write_raw(d / "train-labels-idx1-ubyte", idx_bytes({3}, {0, 1, 9}));
  Config c;
  c.set("data.dataset", "mnist");
  c.set("data.path", d.string());
  c.set("data.resolution", "32");
  c.set("data.fit", "pad");
  auto ds = create_dataset(c);
  ASSERT_EQ(ds->size(), 3);
  EXPECT_EQ(ds->spec().shape, (std::vector<int64_t>{1, 32, 32}));
  EXPECT_EQ(ds->spec().num_classes, 10);
  auto x = ds->get({0}, {0});
  EXPECT_FLOAT_EQ(x[0][0][0][0].item<float>(), -1.0f);  // padding is black
  EXPECT_FLOAT_EQ(x[0][0][16][16].item<float>(), 1.0f);
  EXPECT_EQ(ds->labels({2})[0].item<int64_t>(), 9);

  c.set("data.fit", "resize");
  c.set("data.resolution", "64");
  EXPECT_EQ(create_dataset(c)->spec().shape, (std::vector<int64_t>{1, 64, 64}));

  write_raw(d / "empty-images", idx_bytes({0, 28, 28}, {}));
  Config e;
  e.set("data.dataset", "idx");
  e.set("data.path", (d / "empty-images").string());
  std::string m = error_of([&] { create_dataset(e); });
  EXPECT_NE(m.find("is empty"), std::string::npos) << m;

  Config f;
  f.set("data.path", (d / "nowhere").string());
  m = error_of([&] { create_dataset(f); });
  EXPECT_NE(m.find("train-images-idx3-ubyte"), std::string::npos) << m;
  EXPECT_NE(m.find("apt-get install dataset-fashion-mnist"), std::string::npos) << m;
}
