#pragma once
#include <cstdint>
#include <string>
#include <utility>

namespace ganpp {

// Number of 2x up-sampling stages and the starting spatial size for a square resolution `res` = base * 2^n with
// base 4 or 7 (28 = 7*2^2, 32 = 4*2^3, 64 ...) and n >= min_stages; otherwise an error naming `model` and the value.
std::pair<int64_t, int64_t> resolution_stages(int64_t res, int64_t min_stages, const std::string& model);

}  // namespace ganpp
