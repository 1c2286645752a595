#include "ganpp/metrics/features.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/script.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "ganpp/core/error.h"
#include "ganpp/io/archive.h"
#include "ganpp/version.h"

namespace nn = torch::nn;
namespace F = torch::nn::functional;
namespace fs = std::filesystem;

namespace ganpp {

EvaluatorNetImpl::EvaluatorNetImpl(int64_t classes, int64_t channels, int64_t width) {
  nn::Sequential s;
  auto block = [&](int64_t in, int64_t out) {
    s->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false)));
    s->push_back(nn::BatchNorm2d(out));
    s->push_back(nn::ReLU(true));
  };
  const int64_t w = width;
  block(channels, 32 * w);
  s->push_back(nn::MaxPool2d(2));
  block(32 * w, 64 * w);
  block(64 * w, 64 * w);
  s->push_back(nn::MaxPool2d(2));
  block(64 * w, 128 * w);
  s->push_back(nn::AdaptiveAvgPool2d(1));
  s->push_back(nn::Flatten());
  s->push_back(nn::Linear(128 * w, 128));
  s->push_back(nn::ReLU(true));
  body = register_module("body", s);
  dropout = register_module("dropout", nn::Dropout(0.3));
  head = register_module("head", nn::Linear(128, classes));
}

std::pair<torch::Tensor, torch::Tensor> EvaluatorNetImpl::forward(const torch::Tensor& images) {
  auto x = images;
  if (x.size(2) != 28 || x.size(3) != 28)
    x = F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{28, 28}).mode(torch::kBilinear)
                              .align_corners(false).antialias(x.size(2) > 28));
  auto f = body->forward(x);
  return {f, head->forward(dropout->forward(f))};
}

fs::path evaluator_path(const std::string& name) {
  if (const char* env = std::getenv("GANPP_EVALUATORS")) return fs::path(env) / (name + ".ganpp");
  return fs::path(GANPP_EVALUATORS_DIR) / (name + ".ganpp");
}

namespace {

class InceptionFeatures : public FeatureExtractor {
 public:
  InceptionFeatures(const fs::path& weights, ResizeMode mode) : mode_(mode), path_(weights) {
    load_fid_inception_npz(*net_, weights);
    net_->eval();
  }
  std::string describe() const override {
    return fmt::format("FID Inception-v3 pool3 (2048-d) from '{}', resize {}", path_.string(), resize_mode_name(mode_));
  }
  // On the CPU the network runs on chunks of kCpuChunk images whatever the caller's batch: at 299x299 a batch's
  // activations outgrow the caches (2 x 250 images took 73 s in chunks of 250, 51 s in 50s, 41 s in 10s on a
  // 2-core host; bench/speed.sh's FID pipeline). Each image's features do not depend on the others.
  static constexpr int64_t kCpuChunk = 8;
  std::pair<torch::Tensor, torch::Tensor> extract(const torch::Tensor& images) override {
    torch::NoGradGuard ng;
    // split() gives one empty chunk for an empty batch, so the shapes come out right then too.
    const int64_t chunk = device_.is_cpu() ? kCpuChunk : std::max<int64_t>(images.size(0), 1);
    std::vector<torch::Tensor> feats, logits;
    for (const auto& part : images.split(chunk)) {
      auto f = net_->pool3(inception_input((part.to(device_) + 1) / 2, mode_));
      logits.push_back(net_->logits_from_pool3(f).to(torch::kCPU));
      feats.push_back(f.to(torch::kCPU));
    }
    return {torch::cat(feats), torch::cat(logits)};
  }
  void to(const torch::Device& device) override {
    device_ = device;
    net_->to(device);
  }

 private:
  FidInceptionV3 net_;
  torch::Device device_{torch::kCPU};
  ResizeMode mode_;
  fs::path path_;
};

// NVIDIA's TorchScript export: forward(img uint8-range float [N,3,H,W], return_features=True) -> 2048-d features.
class TorchScriptInception : public FeatureExtractor {
 public:
  explicit TorchScriptInception(const fs::path& path) : path_(path) {
    if (!fs::exists(path))
      throw Error(fmt::format("TorchScript Inception '{}' not found: NVIDIA's inception-2015-12-05.pt (from the "
                              "StyleGAN2-ADA metrics) must be copied here by hand; ganpp cannot download it",
                              path.string()));
    try {
      m_ = torch::jit::load(path.string());
    } catch (const c10::Error& e) {
      throw Error(fmt::format("'{}' is not a loadable TorchScript module: {}", path.string(), e.what_without_backtrace()));
    }
    m_.eval();
  }
  std::string describe() const override {
    return fmt::format("TorchScript Inception '{}' (its own resize, uint8 range input)", path_.string());
  }
  std::pair<torch::Tensor, torch::Tensor> extract(const torch::Tensor& images) override {
    torch::NoGradGuard ng;
    // As the StyleGAN2-ADA metrics feed it: uint8 images, (x * 127.5 + 128) truncated, grey repeated to 3 channels.
    // A PNG value v read as v / 127.5 - 1 comes back as v exactly.
    auto x = (images.to(device_) * 127.5 + 128).clamp(0, 255).to(torch::kByte);
    if (x.size(1) == 1) x = x.expand({x.size(0), 3, x.size(2), x.size(3)}).contiguous();
    torch::Tensor f;
    try {
      f = m_.forward({x, /*return_features=*/true}).toTensor();
    } catch (const c10::Error& e) {
      throw Error(fmt::format("TorchScript module '{}' failed on a batch of {} uint8 images {}x{}x{}: {}", path_.string(),
                              x.size(0), x.size(1), x.size(2), x.size(3), e.what_without_backtrace()));
    }
    if (f.dim() != 2 || f.size(0) != x.size(0))
      throw Error(fmt::format("TorchScript module '{}' returned features of shape [{}], expected [{}, D]", path_.string(),
                              fmt::join(f.sizes(), ", "), x.size(0)));
    return {f.to(torch::kCPU, torch::kFloat), torch::Tensor()};
  }
  void to(const torch::Device& device) override {
    device_ = device;
    m_.to(device);
  }

 private:
  torch::jit::Module m_;
  torch::Device device_{torch::kCPU};
  fs::path path_;
};

class EvaluatorFeatures : public FeatureExtractor {
 public:
  explicit EvaluatorFeatures(const fs::path& path) : path_(path) {
    if (!fs::exists(path))
      throw Error(fmt::format("evaluator weights '{}' not found; train them with `ganpp evaluator train` (see "
                              "evaluators/README.md)",
                              path.string()));
    Archive a = load_archive(path);
    if (a.meta.value("format", "") != "ganpp-evaluator")
      throw Error(fmt::format("'{}' is not a ganpp evaluator", path.string()));
    const int64_t width = a.meta.value("width", int64_t(1));
    if (width < 1 || width > 8)
      throw Error(fmt::format("'{}': evaluator width {} is out of range (expected 1..8)", path.string(), width));
    net_ = EvaluatorNet(a.meta.at("classes").get<int64_t>(), a.meta.at("channels").get<int64_t>(), width);
    get_module(a, "net", *net_, path.string());
    net_->eval();
    accuracy_ = a.meta.value("test_accuracy", 0.0);
    dataset_ = a.meta.value("dataset", std::string("?"));
  }
  std::string describe() const override {
    return fmt::format("ganpp evaluator '{}' ({}, test accuracy {:.2f}%, 128-d penultimate features)", path_.string(),
                       dataset_, 100 * accuracy_);
  }
  std::pair<torch::Tensor, torch::Tensor> extract(const torch::Tensor& images) override {
    torch::NoGradGuard ng;
    auto [f, l] = net_->forward(images.to(device_));
    return {f.to(torch::kCPU), l.to(torch::kCPU)};
  }
  void to(const torch::Device& device) override {
    device_ = device;
    net_->to(device);
  }

 private:
  EvaluatorNet net_{nullptr};
  torch::Device device_{torch::kCPU};
  fs::path path_;
  double accuracy_ = 0;
  std::string dataset_;
};

}  // namespace

std::unique_ptr<FeatureExtractor> create_feature_extractor(const std::string& spec) {
  auto colon = spec.find(':');
  std::string kind = spec.substr(0, colon), rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind == "inception") {
    if (rest.empty()) throw Error("--features inception:PATH needs the weight file (an .npz of pytorch-fid's weights)");
    ResizeMode mode = ResizeMode::PytorchFid;
    for (auto m : {":pytorch-fid", ":tf1", ":bicubic"}) {
      std::string s(m);
      if (rest.size() > s.size() && rest.compare(rest.size() - s.size(), s.size(), s) == 0) {
        mode = parse_resize_mode(s.substr(1));
        rest.resize(rest.size() - s.size());
      }
    }
    return std::make_unique<InceptionFeatures>(rest, mode);
  }
  if (kind == "inception-ts") return std::make_unique<TorchScriptInception>(rest);
  if (kind == "fashion" || kind == "mnist") return std::make_unique<EvaluatorFeatures>(evaluator_path(kind));
  if (kind == "evaluator") return std::make_unique<EvaluatorFeatures>(rest);
  throw Error(fmt::format("--features '{}': expected inception:PATH[:pytorch-fid|tf1|bicubic], inception-ts:PATH, "
                          "fashion, mnist or evaluator:PATH",
                          spec));
}

}  // namespace ganpp
