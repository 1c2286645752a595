#include "ganpp/nn/diffaugment.h"

#include <fmt/format.h>

#include <sstream>

#include "ganpp/core/error.h"

namespace ganpp {
namespace {

// Per-sample Bernoulli(p) mask shaped [B,1,1,1].
// Per-sample random values are drawn for the global batch and this shard's rows kept (see BatchShard).
// The run's RNG is a CPU generator (checkpointed): values are drawn on the CPU and moved to the images' device.
torch::Tensor u4(int64_t b, torch::Generator& gen, const torch::TensorOptions& o, const BatchShard& sh) {
  return sh.take(torch::rand({sh.rows(b), 1, 1, 1}, gen, o.device(torch::kCPU)), b).to(o.device());
}
torch::Tensor u1(int64_t b, torch::Generator& gen, const BatchShard& sh, const torch::Device& dev) {
  return sh.take(torch::rand({sh.rows(b)}, gen, torch::kFloat), b).to(dev);
}
torch::Tensor ri(int64_t lo, int64_t hi, int64_t b, torch::Generator& gen, const BatchShard& sh, const torch::Device& dev) {
  return sh.take(torch::randint(lo, hi, {sh.rows(b)}, gen, torch::kLong), b).to(dev);
}

torch::Tensor mask(int64_t b, double p, torch::Generator& gen, const torch::TensorOptions& o, const BatchShard& sh) {
  return (u4(b, gen, o, sh) < p).to(o.dtype());
}

torch::Tensor color(const torch::Tensor& x, double p, torch::Generator& gen, const BatchShard& sh) {
  const int64_t b = x.size(0);
  auto o = x.options();
  auto m = mask(b, p, gen, o, sh);
  auto y = x + (u4(b, gen, o, sh) - 0.5) * m;  // brightness
  if (x.size(1) > 1) {
    auto mean = y.mean(1, true);
    auto s = 1 + (u4(b, gen, o, sh) * 2 - 1) * m;  // saturation factor in [0, 2]
    y = (y - mean) * s + mean;
  }
  auto mean = y.mean({1, 2, 3}, true);
  auto c = 1 + (u4(b, gen, o, sh) - 0.5) * m;  // contrast factor in [0.5, 1.5]
  return (y - mean) * c + mean;
}

torch::Tensor translation(const torch::Tensor& x, double p, torch::Generator& gen, const BatchShard& shard,
                          double ratio = 0.125) {
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  const int64_t sh = static_cast<int64_t>(h * ratio + 0.5), sw = static_cast<int64_t>(w * ratio + 0.5);
  const auto dev = x.device();
  auto on = (u1(b, gen, shard, dev) < p).to(torch::kLong);
  auto ty = ri(-sh, sh + 1, b, gen, shard, dev) * on;
  auto tx = ri(-sw, sw + 1, b, gen, shard, dev) * on;
  const auto index = torch::TensorOptions().dtype(torch::kLong).device(dev);
  // out[i, :, r, c] = x[i, :, r + ty_i, c + tx_i] with zeros outside: gather from a zero-padded copy.
  auto padded = torch::constant_pad_nd(x, {sw, sw, sh, sh});
  auto rows = (torch::arange(h, index).view({1, h}) + ty.view({b, 1}) + sh).clamp(0, h + 2 * sh - 1);
  auto cols = (torch::arange(w, index).view({1, w}) + tx.view({b, 1}) + sw).clamp(0, w + 2 * sw - 1);
  auto c = x.size(1);
  auto g1 = padded.gather(2, rows.view({b, 1, h, 1}).expand({b, c, h, w + 2 * sw}));
  return g1.gather(3, cols.view({b, 1, 1, w}).expand({b, c, h, w}));
}

torch::Tensor cutout(const torch::Tensor& x, double p, torch::Generator& gen, const BatchShard& shard, double ratio = 0.5) {
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  const int64_t ch = static_cast<int64_t>(h * ratio + 0.5), cw = static_cast<int64_t>(w * ratio + 0.5);
  const auto dev = x.device();
  auto on = u1(b, gen, shard, dev) < p;
  auto cy = ri(0, h + (1 - ch % 2), b, gen, shard, dev);
  auto cx = ri(0, w + (1 - cw % 2), b, gen, shard, dev);
  const auto index = torch::TensorOptions().dtype(torch::kLong).device(dev);
  auto r = torch::arange(h, index).view({1, h, 1}), c = torch::arange(w, index).view({1, 1, w});
  auto inside = (r >= (cy - ch / 2).view({b, 1, 1})) & (r < (cy - ch / 2 + ch).view({b, 1, 1})) &
                (c >= (cx - cw / 2).view({b, 1, 1})) & (c < (cx - cw / 2 + cw).view({b, 1, 1}));
  auto keep = (~(inside & on.view({b, 1, 1}))).to(x.scalar_type()).unsqueeze(1);
  return x * keep;
}

torch::Tensor flip(const torch::Tensor& x, double p, torch::Generator& gen, const BatchShard& sh) {
  auto m = mask(x.size(0), p, gen, x.options(), sh);
  return x * (1 - m) + x.flip({3}) * m;
}

}  // namespace

DiffAugment::DiffAugment(const std::string& policy) {
  std::stringstream ss(policy);
  for (std::string op; std::getline(ss, op, ',');) {
    if (op.empty()) continue;
    if (op != "color" && op != "translation" && op != "cutout" && op != "flip")
      throw Error(fmt::format("augment.policy: unknown op '{}'; expected a comma-separated list of color, "
                              "translation, cutout, flip",
                              op));
    ops_.push_back(op);
  }
}

torch::Tensor DiffAugment::operator()(const torch::Tensor& x, double p, torch::Generator& gen, const BatchShard& sh) const {
  if (ops_.empty() || p <= 0) return x;
  if (x.dim() != 4) throw Error("differentiable augmentation needs image batches [B,C,H,W]");
  torch::Tensor y = x;
  for (auto& op : ops_) {
    if (op == "color") y = color(y, p, gen, sh);
    else if (op == "translation") y = translation(y, p, gen, sh);
    else if (op == "cutout") y = cutout(y, p, gen, sh);
    else if (op == "flip") y = flip(y, p, gen, sh);
  }
  return y;
}

bool AdaController::update(const torch::Tensor& real_out) {
  acc_sum += torch::sign(real_out.detach()).mean().item<double>();
  acc_n += 1;
  steps += 1;
  if (steps % interval != 0) return false;
  last_rt = acc_sum / static_cast<double>(acc_n);
  double adjust = (last_rt > target ? 1.0 : last_rt < target ? -1.0 : 0.0) * double(real_out.size(0) * interval) / (kimg * 1000.0);
  p = std::clamp(p + adjust, 0.0, 1.0);
  acc_sum = 0;
  acc_n = 0;
  return true;
}

}  // namespace ganpp
