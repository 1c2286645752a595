#include "ganpp/train/task.h"

#include <fmt/format.h>

#include "ganpp/core/error.h"

namespace ganpp {

std::shared_ptr<Task> create_task(const Config& cfg, const DataSpec& spec) {
  return TaskRegistry::instance().create("task", cfg.get_str("task"), cfg, spec);
}

double grad_norm(const torch::nn::Module& m) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> sq;
  for (auto& p : m.parameters())
    if (p.grad().defined()) sq.push_back(p.grad().pow(2).sum());
  if (sq.empty()) return 0.0;
  return std::sqrt(torch::stack(sq).sum().item<double>());
}

void layer_grad_norms(const torch::nn::Module& m, const std::string& prefix, std::map<std::string, double>& out) {
  torch::NoGradGuard ng;
  for (auto& p : m.named_parameters())
    if (p.value().grad().defined()) out[prefix + "/" + p.key()] = p.value().grad().norm().item<double>();
}

void set_requires_grad(torch::nn::Module& m, bool on) {
  for (auto& p : m.parameters()) p.set_requires_grad(on);
}

void clear_grads(torch::nn::Module& m) {
  for (auto& p : m.parameters()) p.mutable_grad().reset();
}

namespace {
torch::Tensor cpu_copy(const torch::Tensor& t) {
  return t.detach().to(torch::kCPU, /*non_blocking=*/false, /*copy=*/true).contiguous();
}
}  // namespace

void put_adam(Archive& a, const std::string& prefix, torch::optim::Adam& opt) {
  int64_t i = 0, g = 0;
  for (auto& group : opt.param_groups()) {
    auto& o = static_cast<torch::optim::AdamOptions&>(group.options());
    a.tensors[fmt::format("{}/group{}/lr", prefix, g++)] = torch::tensor(o.lr(), torch::kDouble);
    for (auto& p : group.params()) {
      auto it = opt.state().find(c10::guts::to_string(p.unsafeGetTensorImpl()));
      if (it != opt.state().end()) {
        auto& st = static_cast<torch::optim::AdamParamState&>(*it->second);
        a.tensors[fmt::format("{}/{}/step", prefix, i)] = torch::tensor(st.step(), torch::kLong);
        a.tensors[fmt::format("{}/{}/exp_avg", prefix, i)] = cpu_copy(st.exp_avg());
        a.tensors[fmt::format("{}/{}/exp_avg_sq", prefix, i)] = cpu_copy(st.exp_avg_sq());
        if (st.max_exp_avg_sq().defined())
          a.tensors[fmt::format("{}/{}/max_exp_avg_sq", prefix, i)] = cpu_copy(st.max_exp_avg_sq());
      }
      ++i;
    }
  }
}

void get_adam(const Archive& a, const std::string& prefix, torch::optim::Adam& opt, const std::string& source) {
  auto find = [&](const std::string& k) -> const torch::Tensor* {
    auto it = a.tensors.find(k);
    return it == a.tensors.end() ? nullptr : &it->second;
  };
  int64_t i = 0, g = 0;
  for (auto& group : opt.param_groups()) {
    ++g;  // the saved learning rate is informational: the config decides it, so a resumed run may change it
    for (auto& p : group.params()) {
      std::string key = c10::guts::to_string(p.unsafeGetTensorImpl());
      auto* step = find(fmt::format("{}/{}/step", prefix, i));
      if (step) {
        auto* m = find(fmt::format("{}/{}/exp_avg", prefix, i));
        auto* v = find(fmt::format("{}/{}/exp_avg_sq", prefix, i));
        if (!m || !v || m->sizes() != p.sizes() || v->sizes() != p.sizes())
          throw Error(fmt::format("'{}': optimiser state '{}/{}' is missing or mis-shaped", source, prefix, i));
        auto st = std::make_unique<torch::optim::AdamParamState>();
        st->step(step->item<int64_t>());
        // On the parameter's device and in its memory layout (channels-last weights keep channels-last moments).
        auto like = [&](const torch::Tensor& t) {
          return t.to(p.device(), /*non_blocking=*/false, /*copy=*/true).contiguous(p.suggest_memory_format());
        };
        st->exp_avg(like(*m));
        st->exp_avg_sq(like(*v));
        if (auto* mx = find(fmt::format("{}/{}/max_exp_avg_sq", prefix, i))) st->max_exp_avg_sq(like(*mx));
        opt.state()[key] = std::move(st);
      } else {
        opt.state().erase(key);
      }
      ++i;
    }
  }
}

}  // namespace ganpp
