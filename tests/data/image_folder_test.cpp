#include <gtest/gtest.h>

#include <fstream>
#include <set>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#include "ganpp/core/error.h"
#include "ganpp/data/dataset.h"
#include "ganpp/io/image.h"
#include "test_util.h"

using namespace ganpp;
namespace fs = std::filesystem;

namespace {
Image solid(int w, int h, int c, uint8_t v) {
  Image img;
  img.width = w;
  img.height = h;
  img.channels = c;
  img.pixels.assign(size_t(w) * h * c, v);
  return img;
}
Config folder_config(const fs::path& d) {
  Config c;
  c.set("data.dataset", "image-folder");
  c.set("data.path", d.string());
  c.set("data.resolution", "16");
  return c;
}
}  // namespace

TEST(ImageFolder, LoadsMixedSizesAndFormatsWithClassesFromSubfolders) {
  auto d = test::temp_dir("folder");
  fs::create_directories(d / "cats");
  fs::create_directories(d / "dogs");
  write_png(d / "cats" / "a.png", solid(40, 20, 3, 200));  // wide RGB
  write_png(d / "cats" / "b.png", solid(17, 33, 1, 51));   // tall grayscale
  Image j = solid(24, 24, 3, 128);
  ASSERT_TRUE(stbi_write_jpg((d / "dogs" / "c.jpg").c_str(), 24, 24, 3, j.pixels.data(), 95));
  Config c = folder_config(d);
  c.set("data.channels", "3");
  auto ds = create_dataset(c);
  ASSERT_EQ(ds->size(), 3);
  EXPECT_EQ(ds->spec().shape, (std::vector<int64_t>{3, 16, 16}));
  EXPECT_EQ(ds->spec().class_names, (std::vector<std::string>{"cats", "dogs"}));
  auto x = ds->get({0, 1, 2}, {0, 0, 0});
  EXPECT_NEAR(x[0].mean().item<float>(), 200 / 127.5 - 1, 1e-5);
  EXPECT_NEAR(x[1].mean().item<float>(), 51 / 127.5 - 1, 1e-5);  // gray replicated to RGB
  EXPECT_NEAR(x[2].mean().item<float>(), 128 / 127.5 - 1, 0.02);  // JPEG is lossy
  auto y = ds->labels({0, 1, 2});
  EXPECT_EQ(y[0].item<int64_t>(), 0);
  EXPECT_EQ(y[2].item<int64_t>(), 1);
}

TEST(ImageFolder, RandomCropsDependOnlyOnTheSeed) {
  auto d = test::temp_dir("folder_crop");
  Image g = solid(64, 48, 1, 0);
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 64; ++x) g.pixels[y * 64 + x] = static_cast<uint8_t>(x * 4);
  write_png(d / "ramp.png", g);
  Config c = folder_config(d);
  c.set("data.image_size", "48");
  c.set("data.crop", "random");
  auto ds = create_dataset(c);
  EXPECT_EQ(ds->spec().shape, (std::vector<int64_t>{1, 16, 16}));
  EXPECT_FALSE(ds->labels({0}).defined());
  auto a = ds->get({0}, {11}), b = ds->get({0}, {11});
  EXPECT_TRUE(torch::equal(a, b));
  bool differs = false;
  for (uint64_t s = 1; s < 20 && !differs; ++s) differs = !torch::equal(ds->get({0}, {s}), a);
  EXPECT_TRUE(differs);
}

TEST(ImageFolder, CropsPerImageTurnFewPhotosIntoManyPatches) {
  auto d = test::temp_dir("folder_patches");
  fs::create_directories(d / "dark");
  fs::create_directories(d / "light");
  Image ramp = solid(64, 48, 1, 0);
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 64; ++x) ramp.pixels[y * 64 + x] = static_cast<uint8_t>(x * 2);
  write_png(d / "dark" / "ramp.png", ramp);
  write_png(d / "light" / "flat.png", solid(50, 50, 1, 250));
  Config c = folder_config(d);
  c.set("data.image_size", "48");
  c.set("data.crop", "random");
  c.set("data.crops_per_image", "5");
  auto ds = create_dataset(c);
  ASSERT_EQ(ds->size(), 10);  // 2 images x 5 crops
  // Sample i is a crop of image i % 2 (sorted: dark/ramp.png, light/flat.png); labels follow the image.
  EXPECT_TRUE(torch::equal(ds->labels({0, 1, 2, 3, 8, 9}), torch::tensor({0, 1, 0, 1, 0, 1}, torch::kLong)));
  EXPECT_NEAR(ds->get({1}, {7}).mean().item<double>(), 250 / 127.5 - 1, 1e-5);
  std::set<double> lefts;  // the ramp's value at the crop's left edge tells where the crop starts
  for (uint64_t s = 0; s < 10; ++s) lefts.insert(ds->get({2 * static_cast<int64_t>(s % 5)}, {s})[0][0][0][0].item<double>());
  EXPECT_GT(lefts.size(), 3u);
  c.set("data.crop", "center");
  std::string m = test::error_message([&] { create_dataset(c); });
  EXPECT_NE(m.find("data.crops_per_image=5 needs data.crop=random"), std::string::npos) << m;
}

TEST(ImageFolder, UnreadableImageAndEmptyFolderAreClearErrors) {
  auto d = test::temp_dir("folder_bad");
  write_png(d / "ok.png", solid(8, 8, 1, 10));
  std::ofstream(d / "broken.png") << "this is not a png";
  try {
    create_dataset(folder_config(d));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("cannot decode image"), std::string::npos) << m;
    EXPECT_NE(m.find("broken.png"), std::string::npos) << m;
  }
  auto empty = test::temp_dir("folder_empty");
  try {
    create_dataset(folder_config(empty));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds no images"), std::string::npos) << e.what();
  }
}

TEST(ImageIO, PngRoundTripAndGrid) {
  auto d = test::temp_dir("png");
  Image img = solid(5, 3, 3, 0);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 7);
  write_png(d / "x.png", img, {{"Software", "ganpp"}});
  Image back = decode_image(d / "x.png");
  EXPECT_EQ(back.width, 5);
  EXPECT_EQ(back.height, 3);
  EXPECT_EQ(back.pixels, img.pixels);
  auto batch = torch::full({5, 1, 4, 4}, 1.0f);
  Image grid = make_grid(batch, 3, 2);
  EXPECT_EQ(grid.width, 3 * 6 + 2);
  EXPECT_EQ(grid.height, 2 * 6 + 2);
  EXPECT_EQ(grid.channels, 1);
  auto t = to_uint8(torch::tensor({-1.0f, 0.0f, 1.0f, 2.0f}));
  EXPECT_EQ(t[0].item<int>(), 0);
  EXPECT_EQ(t[1].item<int>(), 128);  // 127.5 rounds half away from zero
  EXPECT_EQ(t[2].item<int>(), 255);
  EXPECT_EQ(t[3].item<int>(), 255);
}
