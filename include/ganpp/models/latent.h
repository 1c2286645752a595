#pragma once
#include <torch/torch.h>

#include <string>

namespace ganpp {

// Paths through latent space between pairs of codes.
enum class Interpolation {
  Linear,     // (1 - t) a + t b
  Spherical,  // slerp: constant angular speed on the great circle through a and b, norms interpolated linearly
};
Interpolation parse_interpolation(const std::string& name);  // "lerp" | "slerp"

// a, b: [N, D] codes. Returns [N * steps, D]: for each pair, `steps` (>= 2) codes from a (t = 0) to b (t = 1).
torch::Tensor interpolate_latents(const torch::Tensor& a, const torch::Tensor& b, int64_t steps, Interpolation mode);

}  // namespace ganpp
