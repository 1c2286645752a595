#include "ganpp/metrics/modes2d.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <limits>

#include "ganpp/core/error.h"

namespace ganpp {

ModeCoverage mode_coverage(const torch::Tensor& samples, const Mixture2D& mixture, double threshold) {
  if (samples.dim() != 2 || samples.size(1) != 2)
    throw Error(fmt::format("mode coverage needs [N, 2] samples, got {}", fmt::join(samples.sizes(), "x")));
  auto x = samples.detach().to(torch::kDouble);
  auto c = mixture.centers_tensor();
  auto d = torch::cdist(x, c);                  // [N, K] Euclidean
  auto [dmin, nearest] = d.min(1);
  auto hq = (dmin / mixture.sigma) < threshold;  // isotropic: Mahalanobis = Euclidean / sigma
  ModeCoverage r;
  r.num_modes = c.size(0);
  r.samples = x.size(0);
  r.high_quality = hq.sum().item<int64_t>();
  r.hq_fraction = r.samples ? double(r.high_quality) / double(r.samples) : 0.0;
  auto counts = torch::bincount(nearest.masked_select(hq), {}, r.num_modes);
  r.histogram.assign(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + r.num_modes);
  double kl = 0;
  for (int64_t k : r.histogram) {
    if (k > 0) {
      ++r.modes_captured;
      double p = double(k) / double(r.high_quality);
      kl += p * std::log(p * double(r.num_modes));
    }
  }
  r.reverse_kl = r.high_quality ? kl : std::numeric_limits<double>::infinity();
  return r;
}

}  // namespace ganpp
