#include "ganpp/losses/regularizers.h"

namespace ganpp {

torch::Tensor gradient_penalty(const Critic& d, const torch::Tensor& real, const torch::Tensor& fake,
                               torch::Generator& gen, double center, const BatchShard& shard) {
  std::vector<int64_t> shape(static_cast<size_t>(real.dim()), 1);
  shape[0] = shard.rows(real.size(0));
  // Drawn on the CPU (the run's checkpointed generator), used on the samples' device.
  auto e = shard.take(torch::rand(shape, gen, real.options().device(torch::kCPU)), real.size(0)).to(real.device());
  auto x = (e * real.detach() + (1 - e) * fake.detach()).requires_grad_(true);
  auto out = d(x);
  auto g = torch::autograd::grad({out.sum()}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  auto norm = g.reshape({g.size(0), -1}).norm(2, 1);
  return (norm - center).pow(2).mean();
}

torch::Tensor gradient_square_penalty(const torch::Tensor& out, const torch::Tensor& in) {
  auto g = torch::autograd::grad({out.sum()}, {in}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  return g.reshape({g.size(0), -1}).pow(2).sum(1).mean();
}

}  // namespace ganpp
