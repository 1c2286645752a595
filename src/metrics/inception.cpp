#include "ganpp/metrics/inception.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ganpp/core/error.h"
#include "ganpp/io/npz.h"

namespace nn = torch::nn;
namespace F = torch::nn::functional;
namespace fs = std::filesystem;

namespace ganpp {
namespace {

// conv (no bias) -> BN (eps 0.001) -> ReLU, with torchvision's names `conv` and `bn`.
class BasicConv2dImpl : public nn::Module {
 public:
  BasicConv2dImpl(int64_t in, int64_t out, std::vector<int64_t> k, std::vector<int64_t> stride = {1, 1},
                  std::vector<int64_t> pad = {0, 0}) {
    if (k.size() == 1) k = {k[0], k[0]};
    conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(in, out, {k[0], k[1]})
                                                  .stride({stride[0], stride[1]})
                                                  .padding({pad[0], pad[1]})
                                                  .bias(false)));
    bn = register_module("bn", nn::BatchNorm2d(nn::BatchNorm2dOptions(out).eps(0.001)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return torch::relu(bn->forward(conv->forward(x))); }
  nn::Conv2d conv{nullptr};
  nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(BasicConv2d);

torch::Tensor avg_pool_fid(const torch::Tensor& x) {
  return F::avg_pool2d(x, F::AvgPool2dFuncOptions(3).stride(1).padding(1).count_include_pad(false));
}

struct Block : nn::Module {
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  BasicConv2d conv(const std::string& name, int64_t in, int64_t out, std::vector<int64_t> k,
                   std::vector<int64_t> stride = {1, 1}, std::vector<int64_t> pad = {0, 0}) {
    return register_module(name, BasicConv2d(in, out, k, stride, pad));
  }
};

struct InceptionA : Block {  // FID variant: avg pool without padding in the count
  BasicConv2d b1, b5_1, b5_2, d1, d2, d3, pool;
  InceptionA(int64_t in, int64_t pool_features)
      : b1(conv("branch1x1", in, 64, {1})), b5_1(conv("branch5x5_1", in, 48, {1})),
        b5_2(conv("branch5x5_2", 48, 64, {5}, {1, 1}, {2, 2})), d1(conv("branch3x3dbl_1", in, 64, {1})),
        d2(conv("branch3x3dbl_2", 64, 96, {3}, {1, 1}, {1, 1})), d3(conv("branch3x3dbl_3", 96, 96, {3}, {1, 1}, {1, 1})),
        pool(conv("branch_pool", in, pool_features, {1})) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    return torch::cat({b1(x), b5_2(b5_1(x)), d3(d2(d1(x))), pool(avg_pool_fid(x))}, 1);
  }
};

struct InceptionB : Block {
  BasicConv2d b3, d1, d2, d3;
  explicit InceptionB(int64_t in)
      : b3(conv("branch3x3", in, 384, {3}, {2, 2})), d1(conv("branch3x3dbl_1", in, 64, {1})),
        d2(conv("branch3x3dbl_2", 64, 96, {3}, {1, 1}, {1, 1})), d3(conv("branch3x3dbl_3", 96, 96, {3}, {2, 2})) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    return torch::cat({b3(x), d3(d2(d1(x))), F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2))}, 1);
  }
};

struct InceptionC : Block {  // FID variant
  BasicConv2d b1, s1, s2, s3, d1, d2, d3, d4, d5, pool;
  InceptionC(int64_t in, int64_t c7)
      : b1(conv("branch1x1", in, 192, {1})), s1(conv("branch7x7_1", in, c7, {1})),
        s2(conv("branch7x7_2", c7, c7, {1, 7}, {1, 1}, {0, 3})), s3(conv("branch7x7_3", c7, 192, {7, 1}, {1, 1}, {3, 0})),
        d1(conv("branch7x7dbl_1", in, c7, {1})), d2(conv("branch7x7dbl_2", c7, c7, {7, 1}, {1, 1}, {3, 0})),
        d3(conv("branch7x7dbl_3", c7, c7, {1, 7}, {1, 1}, {0, 3})), d4(conv("branch7x7dbl_4", c7, c7, {7, 1}, {1, 1}, {3, 0})),
        d5(conv("branch7x7dbl_5", c7, 192, {1, 7}, {1, 1}, {0, 3})), pool(conv("branch_pool", in, 192, {1})) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    return torch::cat({b1(x), s3(s2(s1(x))), d5(d4(d3(d2(d1(x))))), pool(avg_pool_fid(x))}, 1);
  }
};

struct InceptionD : Block {
  BasicConv2d a1, a2, b1, b2, b3, b4;
  explicit InceptionD(int64_t in)
      : a1(conv("branch3x3_1", in, 192, {1})), a2(conv("branch3x3_2", 192, 320, {3}, {2, 2})),
        b1(conv("branch7x7x3_1", in, 192, {1})), b2(conv("branch7x7x3_2", 192, 192, {1, 7}, {1, 1}, {0, 3})),
        b3(conv("branch7x7x3_3", 192, 192, {7, 1}, {1, 1}, {3, 0})), b4(conv("branch7x7x3_4", 192, 192, {3}, {2, 2})) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    return torch::cat({a2(a1(x)), b4(b3(b2(b1(x)))), F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2))}, 1);
  }
};

struct InceptionE : Block {  // FID E_1 (avg pool, padding excluded) or E_2 (max pool)
  BasicConv2d b1, t1, t2a, t2b, d1, d2, d3a, d3b, pool;
  bool max_pool;
  InceptionE(int64_t in, bool max_pool_)
      : b1(conv("branch1x1", in, 320, {1})), t1(conv("branch3x3_1", in, 384, {1})),
        t2a(conv("branch3x3_2a", 384, 384, {1, 3}, {1, 1}, {0, 1})), t2b(conv("branch3x3_2b", 384, 384, {3, 1}, {1, 1}, {1, 0})),
        d1(conv("branch3x3dbl_1", in, 448, {1})), d2(conv("branch3x3dbl_2", 448, 384, {3}, {1, 1}, {1, 1})),
        d3a(conv("branch3x3dbl_3a", 384, 384, {1, 3}, {1, 1}, {0, 1})),
        d3b(conv("branch3x3dbl_3b", 384, 384, {3, 1}, {1, 1}, {1, 0})), pool(conv("branch_pool", in, 192, {1})),
        max_pool(max_pool_) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    auto t = t1(x);
    auto d = d2(d1(x));
    auto p = max_pool ? F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(1).padding(1)) : avg_pool_fid(x);
    return torch::cat({b1(x), torch::cat({t2a(t), t2b(t)}, 1), torch::cat({d3a(d), d3b(d)}, 1), pool(p)}, 1);
  }
};

}  // namespace

FidInceptionV3Impl::FidInceptionV3Impl() {
  auto stem = [&](const std::string& n, int64_t in, int64_t out, std::vector<int64_t> k, std::vector<int64_t> s,
                  std::vector<int64_t> p) { stem_.emplace_back(n, register_module(n, BasicConv2d(in, out, k, s, p))); };
  stem("Conv2d_1a_3x3", 3, 32, {3}, {2, 2}, {0, 0});
  stem("Conv2d_2a_3x3", 32, 32, {3}, {1, 1}, {0, 0});
  stem("Conv2d_2b_3x3", 32, 64, {3}, {1, 1}, {1, 1});
  stem("Conv2d_3b_1x1", 64, 80, {1}, {1, 1}, {0, 0});
  stem("Conv2d_4a_3x3", 80, 192, {3}, {1, 1}, {0, 0});
  auto block = [&](const std::string& n, std::shared_ptr<nn::Module> b) { blocks_.push_back(register_module(n, b)); };
  block("Mixed_5b", std::make_shared<InceptionA>(192, 32));
  block("Mixed_5c", std::make_shared<InceptionA>(256, 64));
  block("Mixed_5d", std::make_shared<InceptionA>(288, 64));
  block("Mixed_6a", std::make_shared<InceptionB>(288));
  block("Mixed_6b", std::make_shared<InceptionC>(768, 128));
  block("Mixed_6c", std::make_shared<InceptionC>(768, 160));
  block("Mixed_6d", std::make_shared<InceptionC>(768, 160));
  block("Mixed_6e", std::make_shared<InceptionC>(768, 192));
  block("Mixed_7a", std::make_shared<InceptionD>(768));
  block("Mixed_7b", std::make_shared<InceptionE>(1280, false));
  block("Mixed_7c", std::make_shared<InceptionE>(2048, true));
  fc = register_module("fc", nn::Linear(2048, 1008));
  eval();
}

torch::Tensor FidInceptionV3Impl::pool3(const torch::Tensor& x0) {
  auto conv = [&](size_t i, const torch::Tensor& x) {
    return std::static_pointer_cast<BasicConv2dImpl>(stem_[i].second)->forward(x);
  };
  auto x = conv(2, conv(1, conv(0, x0)));
  x = F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2));
  x = conv(4, conv(3, x));
  x = F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2));
  for (auto& b : blocks_) x = std::static_pointer_cast<Block>(b)->forward(x);
  return F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
}

ResizeMode parse_resize_mode(const std::string& s) {
  if (s == "pytorch-fid" || s == "bilinear") return ResizeMode::PytorchFid;
  if (s == "tf1" || s == "legacy-tf") return ResizeMode::Tf1;
  if (s == "bicubic" || s == "clean") return ResizeMode::Bicubic;
  throw Error(fmt::format("resize mode '{}': expected pytorch-fid, tf1 or bicubic", s));
}

std::string resize_mode_name(ResizeMode m) {
  switch (m) {
    case ResizeMode::PytorchFid: return "pytorch-fid (bilinear, align_corners=False, float)";
    case ResizeMode::Tf1: return "tf1 (TensorFlow-1 bilinear on uint8, torch-fidelity legacy)";
    default: return "bicubic (antialiased, float)";
  }
}

namespace {
// TensorFlow 1.x resize_bilinear(align_corners=False): source coordinate = dst * in/out (no half-pixel shift).
torch::Tensor tf1_bilinear(const torch::Tensor& x, int64_t out) {
  const int64_t h = x.size(2), w = x.size(3);
  auto axis = [&](int64_t in) {
    auto src = torch::arange(out, torch::kDouble) * (double(in) / double(out));
    auto lo = src.floor().to(torch::kLong).clamp(0, in - 1);
    auto hi = (lo + 1).clamp(0, in - 1);
    auto frac = (src - lo.to(torch::kDouble)).to(torch::kFloat);
    return std::make_tuple(lo, hi, frac);
  };
  auto [y0, y1, fy] = axis(h);
  auto [x0, x1, fx] = axis(w);
  auto top = x.index_select(2, y0), bot = x.index_select(2, y1);
  auto rows = top + (bot - top) * fy.view({1, 1, out, 1});
  auto left = rows.index_select(3, x0), right = rows.index_select(3, x1);
  return left + (right - left) * fx.view({1, 1, 1, out});
}
}  // namespace

torch::Tensor inception_input(const torch::Tensor& images, ResizeMode mode) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3))
    throw Error(fmt::format("inception input must be [N, 1 or 3, H, W], got {}", fmt::join(images.sizes(), "x")));
  auto x = images.to(torch::kFloat);
  if (x.size(1) == 1) x = x.expand({x.size(0), 3, x.size(2), x.size(3)});
  switch (mode) {
    case ResizeMode::PytorchFid:
      x = F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{299, 299}).mode(torch::kBilinear).align_corners(false));
      return 2 * x - 1;
    case ResizeMode::Tf1: {
      auto u8 = (x * 255).round().clamp(0, 255);
      return (tf1_bilinear(u8, 299) - 128) / 128;
    }
    default:
      x = F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{299, 299}).mode(torch::kBicubic)
                                .align_corners(false).antialias(true));
      return 2 * x - 1;
  }
}

void load_fid_inception_npz(FidInceptionV3Impl& net, const fs::path& npz) {
  if (!fs::exists(npz))
    throw Error(fmt::format(
        "FID Inception weights '{}' not found. ganpp cannot download them: get pytorch-fid's "
        "pt_inception-2015-12-05-6726825d.pth (github.com/mseitzer/pytorch-fid releases) on a machine with network "
        "access and convert it with `python3 scripts/convert_fid_weights.py pt_inception-2015-12-05-6726825d.pth "
        "fid_inception.npz`, or pass NVIDIA's TorchScript inception-2015-12-05.pt with --features inception-ts:PATH",
        npz.string()));
  auto arrays = load_npz(npz);
  torch::NoGradGuard ng;
  std::vector<std::string> missing;
  auto load = [&](const std::string& k, torch::Tensor& dst) {
    auto it = arrays.find(k);
    if (it == arrays.end()) return missing.push_back(k);
    if (it->second.sizes() != dst.sizes())
      throw Error(fmt::format("'{}': '{}' has shape {}, expected {}", npz.string(), k, fmt::join(it->second.sizes(), "x"),
                              fmt::join(dst.sizes(), "x")));
    dst.copy_(it->second);
  };
  for (auto& p : net.named_parameters()) load(p.key(), p.value());
  for (auto& b : net.named_buffers())
    if (b.key().find("num_batches_tracked") == std::string::npos) load(b.key(), b.value());
  if (!missing.empty())
    throw Error(fmt::format("'{}' lacks {} FID Inception tensors, e.g. '{}' (is it pytorch-fid's state dict?)",
                            npz.string(), missing.size(), missing.front()));
}

}  // namespace ganpp
