#include "ganpp/models/latent.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ganpp/core/error.h"

namespace ganpp {

Interpolation parse_interpolation(const std::string& name) {
  if (name == "lerp" || name == "linear") return Interpolation::Linear;
  if (name == "slerp" || name == "spherical") return Interpolation::Spherical;
  throw Error(fmt::format("interpolation '{}': expected lerp or slerp", name));
}

torch::Tensor interpolate_latents(const torch::Tensor& a, const torch::Tensor& b, int64_t steps, Interpolation mode) {
  if (steps < 2) throw Error(fmt::format("interpolation needs at least 2 steps, got {}", steps));
  if (a.dim() != 2 || a.sizes() != b.sizes())
    throw Error(fmt::format("interpolation: codes must be two [N, D] tensors of one shape, got {} and {}",
                            fmt::join(a.sizes(), "x"), fmt::join(b.sizes(), "x")));
  auto a64 = a.to(torch::kDouble), b64 = b.to(torch::kDouble);
  auto t = torch::linspace(0.0, 1.0, steps, torch::kDouble).view({1, steps, 1});  // [1, S, 1]
  auto A = a64.unsqueeze(1), B = b64.unsqueeze(1);                                // [N, 1, D]
  torch::Tensor out;
  if (mode == Interpolation::Linear) {
    out = A + t * (B - A);
  } else {
    auto na = A.norm(2, -1, true), nb = B.norm(2, -1, true);
    auto ua = A / na.clamp_min(1e-30), ub = B / nb.clamp_min(1e-30);
    auto omega = (ua * ub).sum(-1, true).clamp(-1.0, 1.0).acos();  // [N, 1, 1]
    auto so = omega.sin();
    // Nearly parallel directions: sin(omega) -> 0, where slerp tends to the linear blend of the directions.
    auto near = so.abs() < 1e-6;
    auto safe = torch::where(near, torch::ones_like(so), so);
    auto wa = torch::where(near, 1.0 - t, ((1.0 - t) * omega).sin() / safe);
    auto wb = torch::where(near, t, (t * omega).sin() / safe);
    auto dir = wa * ua + wb * ub;
    out = dir / dir.norm(2, -1, true).clamp_min(1e-30) * (na + t * (nb - na));
  }
  return out.reshape({-1, a.size(1)}).to(a.scalar_type());
}

}  // namespace ganpp
