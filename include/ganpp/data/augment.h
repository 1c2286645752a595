#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "ganpp/core/config.h"

namespace ganpp {

// Per-sample random augmentations of real images, each applied with its own probability.
struct AugmentOptions {
  double hflip = 0;             // probability of a horizontal flip
  double rotate = 0;            // probability of a rotation by U(-rotate_degrees, rotate_degrees)
  double rotate_degrees = 10;
  double translate = 0;         // probability of an integer shift by up to translate_frac * size (pad + crop)
  double translate_frac = 0.125;
  bool any() const { return hflip > 0 || rotate > 0 || translate > 0; }
  static AugmentOptions from_config(const Config& cfg);
};

// Augments images [B,C,H,W] in [-1,1]; sample i uses only seeds[i], so results are reproducible in any thread.
// Uncovered pixels take the background value -1.
torch::Tensor augment_images(const torch::Tensor& x, const AugmentOptions& opt, const std::vector<uint64_t>& seeds);

// Counter-based randomness: a well-mixed 64-bit value from a key (SplitMix64 finaliser).
uint64_t mix64(uint64_t x);
inline uint64_t mix64(uint64_t a, uint64_t b) { return mix64(a ^ mix64(b + 0x9E3779B97F4A7C15ULL)); }
// Uniform double in [0,1) from a 64-bit value.
inline double unit_double(uint64_t x) { return double(x >> 11) * (1.0 / 9007199254740992.0); }

}  // namespace ganpp
