#pragma once
#include <torch/torch.h>

namespace ganpp {

// Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))) per split, softmax of `logits` in float64;
// `splits` contiguous splits (the first N % splits get one extra sample, like numpy.array_split); mean and
// population std over splits.
struct InceptionScore {
  double mean = 0, std = 0;
  int64_t splits = 0;
};
InceptionScore inception_score(const torch::Tensor& logits, int64_t splits = 10);

}  // namespace ganpp
