#pragma once
#include <torch/torch.h>

#include <functional>

#include "ganpp/core/distributed.h"

namespace ganpp {

using Critic = std::function<torch::Tensor(const torch::Tensor&)>;

// WGAN-GP (Gulrajani et al. 2017): E[(||grad_x D(x_hat)||_2 - center)^2] on x_hat = e*real + (1-e)*fake with
// e ~ U(0,1) per sample. Differentiable w.r.t. D's weights (double backprop).
// `shard`: data-parallel workers draw e for the global batch and keep their rows.
torch::Tensor gradient_penalty(const Critic& d, const torch::Tensor& real, const torch::Tensor& fake,
                               torch::Generator& gen, double center = 1.0, const BatchShard& shard = {});

// E[||grad_in out.sum()||^2]: R1 when `in` are reals (Mescheder et al. 2018), R2 when fakes. `out` = D(in) must be
// computed with in.requires_grad(). Multiply by gamma/2 yourself.
torch::Tensor gradient_square_penalty(const torch::Tensor& out, const torch::Tensor& in);

}  // namespace ganpp
