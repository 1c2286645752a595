#include "ganpp/data/toy.h"

#include <fmt/format.h>

#include <cmath>
#include <sstream>

#include "ganpp/core/error.h"

namespace ganpp {

namespace {
// Beyond this many modes a layout is a typo, not a benchmark (and the centres would not fit in memory).
constexpr int64_t kMaxModes = 10000;
bool finite_positive(double v) { return std::isfinite(v) && v > 0; }
}  // namespace

Mixture2D Mixture2D::ring(int64_t n, double radius, double sigma) {
  if (n < 1 || n > kMaxModes || !finite_positive(radius) || !finite_positive(sigma))
    throw Error(fmt::format("ring:{}:{}:{}: need 1 to {} modes and finite radius > 0 and sigma > 0", n, radius, sigma,
                            kMaxModes));
  Mixture2D m;
  m.sigma = sigma;
  for (int64_t i = 0; i < n; ++i)
    m.centers.push_back({radius * std::cos(2 * M_PI * i / n), radius * std::sin(2 * M_PI * i / n)});
  return m;
}

Mixture2D Mixture2D::grid(int64_t k, double spacing, double sigma) {
  if (k < 1 || k > kMaxModes || k * k > kMaxModes || !finite_positive(spacing) || !finite_positive(sigma))
    throw Error(fmt::format("grid:{}:{}:{}: need k >= 1 with k*k <= {} modes, and finite spacing > 0 and sigma > 0", k,
                            spacing, sigma, kMaxModes));
  Mixture2D m;
  m.sigma = sigma;
  double off = (k - 1) / 2.0;
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) m.centers.push_back({(i - off) * spacing, (j - off) * spacing});
  return m;
}

Mixture2D Mixture2D::parse(const std::string& layout) {
  if (layout == "ring") return ring(8, 1.0, 0.01);
  if (layout == "grid") return grid(5, 2.0, 0.05);
  std::vector<std::string> parts;
  std::stringstream ss(layout);
  for (std::string p; std::getline(ss, p, ':');) parts.push_back(p);
  auto bad = [&] {
    return Error(fmt::format("mixture layout '{}': expected ring, grid, ring:N:RADIUS:SIGMA or grid:K:SPACING:SIGMA",
                             layout));
  };
  if (parts.size() != 4 || (parts[0] != "ring" && parts[0] != "grid")) throw bad();
  try {
    size_t used = 0;
    int64_t n = std::stoll(parts[1], &used);
    if (used != parts[1].size()) throw bad();
    double a = std::stod(parts[2], &used);
    if (used != parts[2].size()) throw bad();
    double s = std::stod(parts[3], &used);
    if (used != parts[3].size()) throw bad();
    return parts[0] == "ring" ? ring(n, a, s) : grid(n, a, s);
  } catch (const std::logic_error&) {
    throw bad();
  }
}

torch::Tensor Mixture2D::centers_tensor() const {
  auto t = torch::empty({static_cast<int64_t>(centers.size()), 2}, torch::kDouble);
  for (size_t i = 0; i < centers.size(); ++i) {
    t[i][0] = centers[i][0];
    t[i][1] = centers[i][1];
  }
  return t;
}

torch::Tensor Mixture2D::sample(int64_t n, uint64_t seed, torch::Tensor* components) const {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto which = torch::randint(static_cast<int64_t>(centers.size()), {n}, gen, torch::kLong);
  if (components) *components = which;
  auto c = centers_tensor().to(torch::kFloat).index_select(0, which);
  return c + sigma * torch::randn({n, 2}, gen, torch::kFloat);
}

}  // namespace ganpp
