#include "ganpp/core/device.h"

#include <ATen/autocast_mode.h>
#include <fmt/format.h>

#include "ganpp/core/error.h"

namespace ganpp {

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name != "cuda" && name.rfind("cuda:", 0) != 0)
    throw Error(fmt::format("device '{}': expected cpu, cuda or cuda:N", name));
  int64_t index = -1;
  if (name.size() > 5) {
    const std::string digits = name.substr(5);
    if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos)
      throw Error(fmt::format("device '{}': expected cpu, cuda or cuda:N", name));
    index = std::stoll(digits);
  }
  if (!torch::cuda::is_available())
    throw Error(fmt::format(
        "device '{}': no CUDA device is usable: this ganpp is built on a libtorch without CUDA (Debian's "
        "libtorch-dev is CPU-only) or no GPU is visible. Build against a CUDA LibTorch on a GPU machine: cmake -S . "
        "-B build -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')",
        name));
  const int64_t n = static_cast<int64_t>(torch::cuda::device_count());
  if (index >= n) throw Error(fmt::format("device '{}': only {} CUDA device(s) are visible (cuda:0..cuda:{})", name, n, n - 1));
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(std::max<int64_t>(index, 0)));
}

Amp parse_amp(const std::string& name, const torch::Device& device) {
  if (name == "none") return Amp::None;
  if (name == "bf16") return Amp::BFloat16;
  if (name == "fp16") {
    if (!device.is_cuda())
      throw Error("train.amp=fp16 needs device cuda (CPU autocast computes in bf16: use train.amp=bf16)");
    return Amp::Float16;
  }
  throw Error(fmt::format("train.amp = '{}': expected none, bf16 or fp16", name));
}

AutocastScope::AutocastScope(Amp amp, const torch::Device& device) {
  if (amp == Amp::None) return;
  on_ = true;
  cuda_ = device.is_cuda();
  const at::ScalarType dtype = amp == Amp::Float16 ? at::kHalf : at::kBFloat16;
  if (cuda_) {
    was_enabled_ = at::autocast::is_enabled();
    was_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(true);
  } else {
    was_enabled_ = at::autocast::is_cpu_enabled();
    was_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!on_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(was_enabled_);
    at::autocast::set_autocast_gpu_dtype(was_dtype_);
  } else {
    at::autocast::set_cpu_enabled(was_enabled_);
    at::autocast::set_autocast_cpu_dtype(was_dtype_);
  }
}

LossScaler::LossScaler(bool enabled, double init_scale, int64_t growth_interval)
    : enabled_(enabled), scale_(enabled ? init_scale : 1.0), growth_interval_(growth_interval) {}

bool LossScaler::unscale(const std::vector<torch::Tensor>& params) const {
  if (!enabled_) return true;
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> bad;
  for (auto& p : params) {
    if (!p.grad().defined()) continue;
    p.mutable_grad().mul_(1.0 / scale_);
    bad.push_back(p.grad().isfinite().logical_not().any());
  }
  return bad.empty() || !torch::stack(bad).any().item<bool>();  // one host sync per phase
}

void LossScaler::update(bool finite) {
  if (!enabled_) return;
  if (!finite) {
    scale_ = std::max(scale_ * 0.5, 1.0);
    clean_ = 0;
    ++skipped_;
  } else if (++clean_ >= growth_interval_) {
    scale_ *= 2.0;
    clean_ = 0;
  }
}

torch::Tensor LossScaler::state() const {
  return torch::tensor({scale_, double(clean_), double(skipped_)}, torch::kDouble);
}

void LossScaler::set_state(const torch::Tensor& s) {
  if (s.numel() != 3) throw Error("loss scaler state: expected 3 values");
  auto v = s.to(torch::kDouble).contiguous();
  scale_ = v.data_ptr<double>()[0];
  clean_ = static_cast<int64_t>(v.data_ptr<double>()[1]);
  skipped_ = static_cast<int64_t>(v.data_ptr<double>()[2]);
}

void to_channels_last(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  for (auto& p : m.parameters(true))
    if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
  for (auto& b : m.buffers(true))
    if (b.dim() == 4) b.set_data(b.data().contiguous(at::MemoryFormat::ChannelsLast));
}

}  // namespace ganpp
