#include <fmt/format.h>

#include "ganpp/core/error.h"
#include "ganpp/losses/loss.h"
#include "ganpp/train/task.h"

namespace ganpp {
namespace {

// Unconditional GAN on images or vectors: D learns real vs G(z) under an AdversarialLoss; G learns to fool D.
class GanTask : public Task {
 public:
  GanTask(const Config& cfg, const DataSpec& spec) : cfg_(cfg), spec_(spec) {
    auto m = create_models(cfg, spec);
    g_ = m.g;
    d_ = m.d;
    loss_ = create_loss(cfg);
    const double b1 = cfg.get_float("optim.beta1"), b2 = cfg.get_float("optim.beta2"), eps = cfg.get_float("optim.eps");
    opt_g_ = std::make_unique<torch::optim::Adam>(
        g_->parameters(), torch::optim::AdamOptions(cfg.get_float("optim.g_lr")).betas({b1, b2}).eps(eps));
    opt_d_ = std::make_unique<torch::optim::Adam>(
        d_->parameters(), torch::optim::AdamOptions(cfg.get_float("optim.d_lr")).betas({b1, b2}).eps(eps));
    reuse_fake_ = cfg.get_bool("train.reuse_fake");
  }

  torch::Tensor noise(int64_t n, torch::Generator& gen) const override {
    return torch::randn({n, g_->z_dim()}, gen, torch::kFloat);
  }

  torch::Tensor d_step(const Batch& batch, StepContext& ctx) override {
    const int64_t b = batch.x.size(0);
    auto z = noise(b, *ctx.noise);
    const bool keep = reuse_fake_ && ctx.last_d_step;
    torch::Tensor fake;
    if (keep) {
      fake = g_->forward(z);  // graph kept: the G phase backpropagates through this very batch
    } else {
      torch::NoGradGuard ng;
      fake = g_->forward(z);
    }
    auto real_out = d_->forward(batch.x);
    auto fake_out = d_->forward(fake.detach());
    auto loss = loss_->d_loss(real_out, fake_out);
    opt_d_->zero_grad();
    loss.backward();
    if (ctx.want_stats) record(ctx, "grad_norm_d", grad_norm(*d_));
    opt_d_->step();
    fake_ = keep ? fake : torch::Tensor();
    if (ctx.want_stats) {
      torch::NoGradGuard ng;
      record(ctx, "d_real", real_out.mean().item<double>());
      record(ctx, "d_fake", fake_out.mean().item<double>());
      if (loss_->is_likelihood()) {
        record(ctx, "p_real", torch::sigmoid(real_out).mean().item<double>());
        record(ctx, "p_fake", torch::sigmoid(fake_out).mean().item<double>());
      }
    }
    return loss.detach();
  }

  torch::Tensor g_step(const Batch& batch, StepContext& ctx) override {
    torch::Tensor fake = fake_.defined() ? fake_ : g_->forward(noise(batch.x.size(0), *ctx.noise));
    fake_ = torch::Tensor();
    set_requires_grad(*d_, false);  // G's update needs gradients through D, not D's weight gradients
    auto fake_out = d_->forward(fake);
    torch::Tensor real_out = loss_->g_needs_real() ? d_->forward(batch.x) : torch::Tensor();
    auto loss = loss_->g_loss(fake_out, real_out);
    opt_g_->zero_grad();
    loss.backward();
    set_requires_grad(*d_, true);
    if (ctx.want_stats) record(ctx, "grad_norm_g", grad_norm(*g_));
    opt_g_->step();
    return loss.detach();
  }

  Generator generator() override { return g_; }
  Generator make_generator() const override { return create_generator(cfg_, spec_); }

  void save(Archive& a) const override {
    put_module(a, "G", *g_);
    put_module(a, "D", *d_);
    put_adam(a, "opt/G", *opt_g_);
    put_adam(a, "opt/D", *opt_d_);
  }
  void load(const Archive& a, const std::string& source) override {
    get_module(a, "G", *g_, source);
    get_module(a, "D", *d_, source);
    get_adam(a, "opt/G", *opt_g_, source);
    get_adam(a, "opt/D", *opt_d_, source);
  }
  std::map<std::string, torch::nn::Module*> networks() override { return {{"G", g_.get()}, {"D", d_.get()}}; }

 private:
  static void record(StepContext& ctx, const std::string& k, double v) {
    if (ctx.stats) (*ctx.stats)[k] = v;
  }

  Config cfg_;
  DataSpec spec_;
  Generator g_;
  Discriminator d_;
  std::shared_ptr<AdversarialLoss> loss_;
  std::unique_ptr<torch::optim::Adam> opt_g_, opt_d_;
  bool reuse_fake_ = true;
  torch::Tensor fake_;
};

TaskRegistry::Registrar reg("gan", "unconditional GAN on images or vectors",
                            [](const Config& cfg, const DataSpec& spec) { return std::make_shared<GanTask>(cfg, spec); });

}  // namespace
}  // namespace ganpp
