#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "ganpp/core/error.h"
#include "ganpp/data/augment.h"
#include "ganpp/data/dataset.h"
#include "ganpp/io/image.h"

namespace fs = std::filesystem;

namespace ganpp {
namespace {

bool is_image_file(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  return e == ".png" || e == ".jpg" || e == ".jpeg" || e == ".bmp" || e == ".gif" || e == ".tga" || e == ".ppm" ||
         e == ".pgm";
}

// Resizes uint8 [C,h,w] so that its short side is `s` (antialiased when shrinking).
torch::Tensor resize_short_side(const torch::Tensor& img, int64_t s) {
  int64_t h = img.size(1), w = img.size(2);
  if (std::min(h, w) == s) return img;
  int64_t nh = h <= w ? s : std::max<int64_t>(s, (h * s + w / 2) / w);
  int64_t nw = h <= w ? std::max<int64_t>(s, (w * s + h / 2) / h) : s;
  namespace F = torch::nn::functional;
  auto y = F::interpolate(img.unsqueeze(0).to(torch::kFloat),
                          F::InterpolateFuncOptions().size(std::vector<int64_t>{nh, nw}).mode(torch::kBilinear)
                              .align_corners(false).antialias(s < std::min(h, w)));
  return y.squeeze(0).round().clamp(0, 255).to(torch::kUInt8);
}

// Images from a folder (recursively). When every image lies in a first-level subfolder, those subfolders are the
// classes (the ImageFolder convention). Each image is resized to short side data.image_size, then cropped to
// data.resolution squared: centred once at load time, or at a random place per sample (data.crop=random).
class ImageFolderDataset : public Dataset {
 public:
  explicit ImageFolderDataset(const Config& cfg) {
    fs::path root = cfg.get_str("data.path");
    if (root.empty()) throw Error("image-folder: data.path must name a folder of images");
    if (!fs::is_directory(root)) throw Error(fmt::format("image-folder: '{}' is not a folder", root.string()));
    r_ = cfg.get_int("data.resolution");
    int64_t short_side = cfg.get_int("data.image_size");
    if (short_side == 0) short_side = r_;
    if (short_side < r_)
      throw Error(fmt::format("data.image_size={} is smaller than data.resolution={}", short_side, r_));
    random_crop_ = cfg.get_str("data.crop") == "random";
    crops_ = cfg.get_int("data.crops_per_image");
    if (crops_ > 1 && !random_crop_)
      throw Error(fmt::format("data.crops_per_image={} needs data.crop=random (a centre crop is the same every time)", crops_));
    int channels = static_cast<int>(cfg.get_int("data.channels"));

    std::vector<fs::path> files;
    for (auto& e : fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink))
      if (e.is_regular_file() && is_image_file(e.path())) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (files.empty())
      throw Error(fmt::format("image-folder: '{}' holds no images (.png .jpg .jpeg .bmp .gif .tga .ppm .pgm)", root.string()));
    int64_t lim = cfg.get_int("data.limit");
    if (lim > 0 && static_cast<int64_t>(files.size()) > lim) files.resize(static_cast<size_t>(lim));

    bool labelled = std::all_of(files.begin(), files.end(), [&](const fs::path& f) {
      return fs::relative(f, root).has_parent_path();
    });
    std::map<std::string, int64_t> class_index;
    if (labelled) {
      for (auto& f : files) class_index.emplace(fs::relative(f, root).begin()->string(), 0);
      int64_t i = 0;
      for (auto& [k, v] : class_index) {
        v = i++;
        spec_.class_names.push_back(k);
      }
      spec_.num_classes = static_cast<int64_t>(class_index.size());
    }
    if (channels == 0) channels = decode_image(files[0]).channels;  // follow the first image
    std::vector<int64_t> labels;
    for (auto& f : files) {
      auto t = resize_short_side(image_to_tensor(decode_image(f, channels)), short_side);
      if (!random_crop_) t = center_crop(t);
      images_.push_back(t);
      if (labelled) labels.push_back(class_index.at(fs::relative(f, root).begin()->string()));
    }
    if (labelled) labels_ = torch::tensor(labels, torch::kLong);
    if (!random_crop_) stacked_ = torch::stack(images_), images_.clear();
    spec_.name = "image-folder:" + root.string();
    spec_.shape = {channels, r_, r_};
  }

  // With random crops, sample i is a crop of image i % N: an epoch holds crops_per_image crops of every image.
  int64_t size() const override {
    return stacked_.defined() ? stacked_.size(0) : crops_ * static_cast<int64_t>(images_.size());
  }
  const DataSpec& spec() const override { return spec_; }

  torch::Tensor get(const std::vector<int64_t>& indices, const std::vector<uint64_t>& seeds) const override {
    if (stacked_.defined()) return to_unit_range(stacked_.index_select(0, torch::tensor(indices, torch::kLong)));
    std::vector<torch::Tensor> out;
    for (size_t i = 0; i < indices.size(); ++i) {
      const auto& img = images_[static_cast<size_t>(image_of(indices[i]))];
      int64_t h = img.size(1), w = img.size(2);
      uint64_t s = mix64(seeds[i]);
      int64_t top = static_cast<int64_t>(unit_double(s) * double(h - r_ + 1));
      int64_t left = static_cast<int64_t>(unit_double(mix64(s)) * double(w - r_ + 1));
      out.push_back(img.narrow(1, top, r_).narrow(2, left, r_));
    }
    return to_unit_range(torch::stack(out));
  }

  torch::Tensor labels(const std::vector<int64_t>& indices) const override {
    if (!labels_.defined()) return {};
    std::vector<int64_t> img(indices.size());
    for (size_t i = 0; i < indices.size(); ++i) img[i] = image_of(indices[i]);
    return labels_.index_select(0, torch::tensor(img, torch::kLong));
  }

 private:
  int64_t image_of(int64_t index) const {
    return stacked_.defined() ? index : index % static_cast<int64_t>(images_.size());
  }

  torch::Tensor center_crop(const torch::Tensor& t) const {
    int64_t h = t.size(1), w = t.size(2);
    return t.narrow(1, (h - r_) / 2, r_).narrow(2, (w - r_) / 2, r_).contiguous();
  }

  int64_t r_ = 0;
  bool random_crop_ = false;
  int64_t crops_ = 1;
  std::vector<torch::Tensor> images_;
  torch::Tensor stacked_, labels_;
  DataSpec spec_;
};

DatasetRegistry::Registrar folder("image-folder", "a folder of PNG/JPEG images (subfolders = classes)",
                                  [](const Config& cfg) { return std::make_shared<ImageFolderDataset>(cfg); });

}  // namespace
}  // namespace ganpp
