#include "ganpp/data/augment.h"

#include <cmath>

namespace ganpp {

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

AugmentOptions AugmentOptions::from_config(const Config& cfg) {
  AugmentOptions o;
  o.hflip = cfg.get_float("data.hflip");
  o.rotate = cfg.get_float("data.rotate");
  o.rotate_degrees = cfg.get_float("data.rotate_degrees");
  o.translate = cfg.get_float("data.translate");
  o.translate_frac = cfg.get_float("data.translate_frac");
  return o;
}

torch::Tensor augment_images(const torch::Tensor& x, const AugmentOptions& opt, const std::vector<uint64_t>& seeds) {
  if (!opt.any()) return x;
  TORCH_CHECK(x.dim() == 4 && static_cast<size_t>(x.size(0)) == seeds.size(), "augment_images: bad shapes");
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  std::vector<int64_t> picked;
  std::vector<float> thetas;
  for (int64_t i = 0; i < b; ++i) {
    uint64_t s = seeds[i];
    auto draw = [&s]() { s = mix64(s); return unit_double(s); };
    bool flip = draw() < opt.hflip;
    double u_rot = draw(), angle_u = draw();
    bool rot = u_rot < opt.rotate;
    double u_tr = draw(), tx_u = draw(), ty_u = draw();
    bool tr = u_tr < opt.translate;
    if (!flip && !rot && !tr) continue;
    double a = rot ? (2 * angle_u - 1) * opt.rotate_degrees * M_PI / 180.0 : 0.0;
    int64_t max_x = tr ? static_cast<int64_t>(std::floor(opt.translate_frac * w)) : 0;
    int64_t max_y = tr ? static_cast<int64_t>(std::floor(opt.translate_frac * h)) : 0;
    int64_t dx = max_x ? static_cast<int64_t>(std::floor(tx_u * (2 * max_x + 1))) - max_x : 0;
    int64_t dy = max_y ? static_cast<int64_t>(std::floor(ty_u * (2 * max_y + 1))) - max_y : 0;
    // Output -> input sampling map in normalised coordinates: flip, then rotate about the centre, then shift.
    double f = flip ? -1.0 : 1.0;
    double c = std::cos(a), sn = std::sin(a);
    double ar = double(h) / double(w);  // keep rotation isotropic on non-square images
    thetas.insert(thetas.end(), {float(c * f), float(-sn * ar), float(-2.0 * dx / w),
                                 float(sn / ar * f), float(c), float(-2.0 * dy / h)});
    picked.push_back(i);
  }
  if (picked.empty()) return x;
  auto idx = torch::tensor(picked, torch::kLong);
  auto sub = x.index_select(0, idx);
  auto theta = torch::from_blob(thetas.data(), {static_cast<int64_t>(picked.size()), 2, 3}, torch::kFloat).clone();
  namespace F = torch::nn::functional;
  auto grid = F::affine_grid(theta, {sub.size(0), sub.size(1), h, w}, false);
  // Zero padding on (x + 1) puts the background value -1 in uncovered pixels.
  auto out = F::grid_sample(sub + 1.0, grid,
                            F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false)) -
             1.0;
  auto y = x.clone();
  y.index_copy_(0, idx, out);
  return y;
}

}  // namespace ganpp
