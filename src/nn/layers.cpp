#include "ganpp/nn/layers.h"

#include <fmt/format.h>

#include "ganpp/core/distributed.h"
#include "ganpp/core/error.h"
#include "ganpp/nn/conv_transpose.h"

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace ganpp {

SpectralNormImpl::SpectralNormImpl(std::shared_ptr<nn::Module> layer, int64_t power_iterations, double eps)
    : layer_(std::move(layer)), iters_(power_iterations), eps_(eps) {
  torch::Tensor w, b;
  if (auto c = std::dynamic_pointer_cast<nn::Conv2dImpl>(layer_)) w = c->weight, b = c->bias;
  else if (auto t = std::dynamic_pointer_cast<nn::ConvTranspose2dImpl>(layer_)) w = t->weight, b = t->bias;
  else if (auto l = std::dynamic_pointer_cast<nn::LinearImpl>(layer_)) w = l->weight, b = l->bias;
  else throw Error(fmt::format("spectral norm supports Conv2d, ConvTranspose2d and Linear, not {}", layer_->name()));
  weight_orig = register_parameter("weight_orig", w.detach().clone());
  if (b.defined()) bias = register_parameter("bias", b.detach().clone());
  auto m = weight_matrix();
  torch::NoGradGuard ng;
  u = register_buffer("u", F::normalize(torch::randn({m.size(0)}), F::NormalizeFuncOptions().dim(0).eps(eps_)));
  v = register_buffer("v", F::normalize(torch::randn({m.size(1)}), F::NormalizeFuncOptions().dim(0).eps(eps_)));
}

torch::Tensor SpectralNormImpl::weight_matrix() const {
  // ConvTranspose2d weights are [in, out, kh, kw]: the output dimension is 1 (as torch.nn.utils.spectral_norm).
  if (std::dynamic_pointer_cast<nn::ConvTranspose2dImpl>(layer_))
    return weight_orig.transpose(0, 1).reshape({weight_orig.size(1), -1});
  return weight_orig.reshape({weight_orig.size(0), -1});
}

void SpectralNormImpl::power_iteration(int64_t n) {
  torch::NoGradGuard ng;
  auto m = weight_matrix();
  for (int64_t i = 0; i < n; ++i) {
    v.copy_(F::normalize(torch::mv(m.t(), u), F::NormalizeFuncOptions().dim(0).eps(eps_)));
    u.copy_(F::normalize(torch::mv(m, v), F::NormalizeFuncOptions().dim(0).eps(eps_)));
  }
}

// u and v are cloned: the power iteration of a later forward updates them in place, while this forward's graph
// still needs the values it used (as torch.nn.utils.spectral_norm does).
torch::Tensor SpectralNormImpl::sigma() { return torch::dot(u.clone(), torch::mv(weight_matrix(), v.clone())); }

torch::Tensor SpectralNormImpl::normalized_weight() { return weight_orig / sigma(); }

torch::Tensor SpectralNormImpl::forward(const torch::Tensor& x) {
  if (is_training()) power_iteration(iters_);
  auto w = normalized_weight();
  if (auto c = std::dynamic_pointer_cast<nn::Conv2dImpl>(layer_)) {
    auto& o = c->options;
    auto* pad = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
    if (!pad) throw Error("spectral norm: Conv2d with 'same'/'valid' padding is not supported");
    return torch::conv2d(x, w, bias, *o.stride(), **pad, *o.dilation(), o.groups());
  }
  if (auto t = std::dynamic_pointer_cast<nn::ConvTranspose2dImpl>(layer_)) {
    auto& o = t->options;
    auto* pad = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
    if (!pad) throw Error("spectral norm: ConvTranspose2d with 'same'/'valid' padding is not supported");
    if (std::dynamic_pointer_cast<OneDnnConvTranspose2dImpl>(layer_))
      return conv_transpose2d_onednn(x, w, bias, *o.stride(), **pad, *o.output_padding(), o.groups(), *o.dilation());
    return torch::conv_transpose2d(x, w, bias, *o.stride(), **pad, *o.output_padding(), o.groups(), *o.dilation());
  }
  return torch::linear(x, w, bias);
}

SyncBatchNorm2dImpl::SyncBatchNorm2dImpl(const nn::BatchNorm2dOptions& o, bool sync) : options(o), sync_(sync) {
  const int64_t c = o.num_features();
  // Registered in BatchNorm2d's order and with its names.
  if (o.affine()) {
    weight = register_parameter("weight", torch::ones({c}));
    bias = register_parameter("bias", torch::zeros({c}));
  }
  if (o.track_running_stats()) {
    running_mean = register_buffer("running_mean", torch::zeros({c}));
    running_var = register_buffer("running_var", torch::ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", torch::tensor(0, torch::kLong));
  }
}

void SyncBatchNorm2dImpl::pretty_print(std::ostream& os) const {
  os << "ganpp::SyncBatchNorm2d(" << options.num_features() << ", eps=" << options.eps()
     << ", affine=" << options.affine() << ")";
}

torch::Tensor SyncBatchNorm2dImpl::forward(const torch::Tensor& x) {
  auto pg = current_process_group();
  if (!pg || pg->world() == 1 || !sync_ || !is_training()) {
    // torch::nn::BatchNorm2d's forward, step for step.
    double factor = options.momentum().value_or(0.0);
    if (is_training() && options.track_running_stats()) {
      num_batches_tracked.add_(1);
      if (!options.momentum()) factor = 1.0 / num_batches_tracked.item<double>();
    }
    return torch::batch_norm(x, weight, bias, running_mean, running_var, is_training() || !options.track_running_stats(),
                             factor, options.eps(), at::globalContext().userEnabledCuDNN());
  }
  const int64_t c = x.size(1);
  const double n = double(x.numel() / c) * pg->world();
  auto xd = x.to(torch::kDouble);
  auto sums = all_reduce_sum_autograd(torch::cat({xd.sum({0, 2, 3}), xd.pow(2).sum({0, 2, 3})}), *pg);
  auto mean = sums.narrow(0, 0, c) / n;
  auto var = sums.narrow(0, c, c) / n - mean * mean;  // biased, as BN normalises
  if (options.track_running_stats()) {
    torch::NoGradGuard ng;
    const double m = options.momentum().value_or(0.1);
    running_mean.mul_(1 - m).add_(mean.to(running_mean.scalar_type()), m);
    running_var.mul_(1 - m).add_((var * (n / std::max(1.0, n - 1))).to(running_var.scalar_type()), m);
    num_batches_tracked.add_(1);
  }
  auto y = ((xd - mean.view({1, c, 1, 1})) * torch::rsqrt(var.view({1, c, 1, 1}) + options.eps())).to(x.scalar_type());
  if (options.affine()) y = y * weight.view({1, c, 1, 1}) + bias.view({1, c, 1, 1});
  return y;
}

torch::Tensor MinibatchStdDevImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), g = std::min(group_, b);
  if (b % g != 0)
    throw Error(fmt::format("minibatch stddev: batch {} is not divisible by the group size {}", b, g));
  // Groups of g consecutive samples: a data-parallel worker's rows of the global batch hold whole groups, so N
  // workers compute the same statistics as one process with the whole batch.
  auto y = x.reshape({b / g, g, x.size(1), x.size(2), x.size(3)});
  y = y - y.mean(1, true);
  y = (y.pow(2).mean(1) + 1e-8).sqrt();   // [b/g, C, H, W]
  y = y.mean({1, 2, 3});                  // [b/g]
  y = y.view({b / g, 1, 1, 1, 1}).expand({b / g, g, 1, x.size(2), x.size(3)}).reshape({b, 1, x.size(2), x.size(3)});
  return torch::cat({x, y}, 1);
}

}  // namespace ganpp
