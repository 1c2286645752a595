#include "ganpp/train/flat_adam.h"

#include <c10/util/string_utils.h>
#include <fmt/format.h>
#include <torch/autograd.h>

#include <cmath>

#include "ganpp/core/error.h"

namespace ganpp {

namespace {
std::string state_key(const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }
torch::Tensor slot(const torch::Tensor& flat, int64_t offset, const torch::Tensor& like) {
  return flat.narrow(0, offset, like.numel()).as_strided(like.sizes(), like.strides());
}
}  // namespace

torch::Tensor flatten_parameters(const std::vector<torch::Tensor>& params) {
  torch::NoGradGuard ng;
  if (params.empty()) return {};
  int64_t n = 0;
  for (auto& p : params) n += p.numel();
  torch::Tensor flat = torch::empty({n}, params.front().options());
  int64_t off = 0;
  for (auto p : params) {
    auto v = slot(flat, off, p);
    v.copy_(p);
    p.set_data(v);
    off += p.numel();
  }
  return flat;
}

torch::Tensor flat_view(const std::vector<torch::Tensor>& params) {
  if (params.empty()) return {};
  const auto& first = params.front();
  int64_t next = first.storage_offset();
  for (auto& p : params) {
    if (!p.is_non_overlapping_and_dense() || !p.storage().is_alias_of(first.storage()) ||
        p.storage_offset() != next || p.scalar_type() != first.scalar_type())
      return {};
    next += p.numel();
  }
  return torch::empty({0}, first.options())
      .set_(first.storage(), first.storage_offset(), {next - first.storage_offset()}, {1});
}

FlatAdam::FlatAdam(const std::vector<torch::Tensor>& params, const torch::optim::AdamOptions& options)
    : torch::optim::Adam(params, options), params_(params) {
  if (options.amsgrad()) throw Error("optim: the flat Adam has no AMSGrad variant");
  for (auto& p : params_) {
    if (!p.is_non_overlapping_and_dense())
      throw Error("optim.flat: a parameter is not a dense tensor (a strided view); use optim.flat=false");
    if (p.scalar_type() != params_.front().scalar_type() || p.device() != params_.front().device())
      throw Error("optim.flat: the parameters differ in type or device; use optim.flat=false");
    offsets_.push_back(numel_);
    numel_ += p.numel();
  }
}

bool FlatAdam::bound() const {
  if (!p_.defined()) return false;
  const auto pb = static_cast<const char*>(p_.data_ptr()), gb = static_cast<const char*>(g_.data_ptr());
  const auto mb = static_cast<const char*>(m_.data_ptr()), vb = static_cast<const char*>(v_.data_ptr());
  const int64_t es = p_.element_size();
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    const int64_t off = offsets_[i] * es;
    if (static_cast<const char*>(p.data_ptr()) != pb + off || p.strides() != gview_[i].strides()) return false;
    const auto& g = p.grad();
    if (!g.defined() || static_cast<const char*>(g.data_ptr()) != gb + off) return false;
    auto it = state().find(state_key(p));
    if (it == state().end()) return false;
    auto& st = static_cast<const torch::optim::AdamParamState&>(*it->second);
    if (static_cast<const char*>(st.exp_avg().data_ptr()) != mb + off ||
        static_cast<const char*>(st.exp_avg_sq().data_ptr()) != vb + off)
      return false;
  }
  return true;
}

void FlatAdam::bind() {
  torch::NoGradGuard ng;
  // One step count for all parameters: a per-parameter state with several is refused before anything moves.
  int64_t common_step = -1;
  for (auto& param : params_) {
    auto it = state().find(state_key(param));
    const int64_t s = it == state().end() ? 0 : static_cast<torch::optim::AdamParamState&>(*it->second).step();
    if (common_step >= 0 && s != common_step)
      throw Error(fmt::format("optim.flat: the optimiser state holds different step counts ({} and {}) for the "
                              "parameters; such a state (from a per-parameter Adam) needs optim.flat=false",
                              common_step, s));
    common_step = s;
  }
  const auto opts = params_.empty() ? torch::TensorOptions() : params_.front().options();
  torch::Tensor g = torch::zeros({numel_}, opts), m = torch::zeros({numel_}, opts), v = torch::zeros({numel_}, opts);
  std::vector<torch::Tensor> gview;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& param = params_[i];
    auto gv = slot(g, offsets_[i], param), mv = slot(m, offsets_[i], param), vv = slot(v, offsets_[i], param);
    if (param.grad().defined()) gv.copy_(param.grad());
    auto it = state().find(state_key(param));
    if (it != state().end()) {
      auto& st = static_cast<torch::optim::AdamParamState&>(*it->second);
      mv.copy_(st.exp_avg());
      vv.copy_(st.exp_avg_sq());
    }
    param.mutable_grad() = gv;
    auto st = std::make_unique<torch::optim::AdamParamState>();
    st->step(std::max<int64_t>(common_step, 0));
    st->exp_avg(mv);
    st->exp_avg_sq(vv);
    state()[state_key(param)] = std::move(st);
    gview.push_back(gv);
  }
  // The same offsets: parameters in order, back to back.
  p_ = params_.empty() ? torch::empty({0}, opts) : flatten_parameters(params_);
  g_ = g, m_ = m, v_ = v;
  denom_ = torch::empty({numel_}, opts);
  gview_ = std::move(gview);
  step_ = std::max<int64_t>(common_step, 0);
}

void FlatAdam::zero_flat_grad() {
  if (!bound()) bind();
  g_.zero_();
}

torch::Tensor FlatAdam::step(LossClosure closure) {
  torch::NoGradGuard ng;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable(true);
    loss = closure();
  }
  if (!bound()) bind();
  auto& o = static_cast<torch::optim::AdamOptions&>(param_groups().front().options());
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  ++step_;
  for (auto& p : params_) static_cast<torch::optim::AdamParamState&>(*state()[state_key(p)]).step(step_);
  const double bias_correction1 = 1 - std::pow(beta1, double(step_));
  const double bias_correction2 = 1 - std::pow(beta2, double(step_));
  const std::array<double, 3> consts{beta1, beta2, o.eps()};
  if (!beta1_.defined() || consts != consts_of_) {
    beta1_ = torch::scalar_tensor(beta1, p_.options());
    beta2_ = torch::scalar_tensor(beta2, p_.options());
    eps_ = torch::scalar_tensor(o.eps(), p_.options());
    root_bc2_ = torch::scalar_tensor(1.0, p_.options());
    consts_of_ = consts;
  }
  // torch::optim::Adam's arithmetic, op for op: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
  // p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps).
  torch::Tensor grad = g_;
  if (o.weight_decay() != 0) grad = grad.add(p_, o.weight_decay());
  m_.mul_(beta1_).add_(grad, 1 - beta1);
  v_.mul_(beta2_).addcmul_(grad, grad, 1 - beta2);
  root_bc2_.fill_(std::sqrt(bias_correction2));
  at::sqrt_out(denom_, v_).div_(root_bc2_).add_(eps_);
  p_.addcdiv_(m_, denom_, -o.lr() / bias_correction1);
  return loss;
}

}  // namespace ganpp
