#include "ganpp/metrics/inception_score.h"

#include <fmt/format.h>

#include <cmath>

#include "ganpp/core/error.h"

namespace ganpp {

InceptionScore inception_score(const torch::Tensor& logits, int64_t splits) {
  if (logits.dim() != 2) throw Error("IS: logits must be [N, classes]");
  const int64_t n = logits.size(0);
  if (splits < 1 || n < splits) throw Error(fmt::format("IS: {} samples cannot make {} splits", n, splits));
  auto p = torch::softmax(logits.to(torch::kDouble), 1);
  auto logp = torch::log_softmax(logits.to(torch::kDouble), 1);
  std::vector<double> scores;
  int64_t start = 0;
  for (int64_t s = 0; s < splits; ++s) {
    int64_t len = n / splits + (s < n % splits ? 1 : 0);
    auto ps = p.narrow(0, start, len), lps = logp.narrow(0, start, len);
    auto py = ps.mean(0, true);
    auto kl = (ps * (lps - py.log())).sum(1).mean();
    scores.push_back(std::exp(kl.item<double>()));
    start += len;
  }
  InceptionScore r;
  r.splits = splits;
  for (double v : scores) r.mean += v;
  r.mean /= double(splits);
  for (double v : scores) r.std += (v - r.mean) * (v - r.mean);
  r.std = std::sqrt(r.std / double(splits));
  return r;
}

}  // namespace ganpp
