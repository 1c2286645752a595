#include <fmt/format.h>

#include "ganpp/core/device.h"
#include "ganpp/core/distributed.h"
#include "ganpp/core/error.h"
#include "ganpp/losses/loss.h"
#include "ganpp/losses/regularizers.h"
#include "ganpp/nn/diffaugment.h"
#include "ganpp/train/flat_adam.h"
#include "ganpp/train/task.h"
#include "ganpp/train/validate.h"

namespace ganpp {
namespace {

// Unconditional GAN on images or vectors: D learns real vs G(z) under an AdversarialLoss plus optional
// regularisers (gradient penalty, R1/R2, drift, weight clipping); G learns to fool D. What D sees can be noised
// (instance noise), augmented (DiffAugment / ADA) and packed (PacGAN), identically for real and fake.
class GanTask : public Task {
 public:
  GanTask(const Config& cfg, const DataSpec& spec) : cfg_(cfg), spec_(spec) {
    validate_config(cfg);
    device_ = parse_device(cfg.get_str("device"));
    amp_ = parse_amp(cfg.get_str("train.amp"), device_);
    channels_last_ = cfg.get_bool("model.channels_last");
    fuse_d_ = cfg.get_bool("train.fuse_d");
    z_uniform_ = cfg.get_str("model.z_dist") == "uniform";
    scaler_d_ = LossScaler(amp_ == Amp::Float16);
    scaler_g_ = LossScaler(amp_ == Amp::Float16);
    auto m = create_models(cfg, spec);
    g_ = place(m.g);
    d_ = m.d;
    d_->to(device_);
    if (channels_last_) to_channels_last(*d_);
    if (fuse_d_) {
      for (auto& mod : d_->modules(/*include_self=*/false)) {
        const std::string n = mod->name();
        for (const char* dep : {"BatchNorm", "MinibatchStdDev", "SpectralNorm"})
          if (n.find(dep) != std::string::npos)
            throw Error(fmt::format("train.fuse_d=true: D's {} makes a sample's score depend on the batch (or on how "
                                    "often D runs), so real and fake cannot share a pass; use model.d_batchnorm=false, "
                                    "model.mbstd_group=0, no spectral norm in D, or train.fuse_d=false",
                                    n));
      }
    }
    loss_ = create_loss(cfg);
    const double b1 = cfg.get_float("optim.beta1"), b2 = cfg.get_float("optim.beta2"), eps = cfg.get_float("optim.eps");
    reuse_fake_ = cfg.get_bool("train.reuse_fake");
    gp_ = gp_weight(cfg);
    gp_center_ = cfg.get_float("loss.gp_center");
    gp_steps_ = cfg.get_int("loss.gp_steps");
    r1_ = cfg.get_float("loss.r1");
    r2_ = cfg.get_float("loss.r2");
    reg_every_ = cfg.get_int("loss.reg_every");
    drift_ = cfg.get_float("loss.drift");
    clip_ = cfg.get_float("loss.clip");
    noise_std_ = cfg.get_float("loss.instance_noise");
    noise_steps_ = cfg.get_int("loss.instance_noise_steps");
    pack_ = cfg.get_int("train.pack");
    clip_grad_ = cfg.get_float("optim.clip_grad_norm");
    layer_norms_ = cfg.get_bool("log.layer_grad_norms");
    augment_ = DiffAugment(cfg.get_str("augment.policy"));
    if (augment_.enabled() && !spec.is_image())
      throw Error(fmt::format("augment.policy works on images; dataset '{}' yields vectors", spec.name));
    ada_enabled_ = cfg.get_bool("augment.ada");
    ada_.p = cfg.get_float("augment.p");
    ada_.target = cfg.get_float("augment.ada_target");
    ada_.interval = cfg.get_int("augment.ada_interval");
    ada_.kimg = cfg.get_float("augment.ada_kimg");
    classes_ = g_->num_classes();
    acgan_ = parse_conditioning(cfg.get_str("model.conditional")) == Conditioning::AcGan;
    acgan_weight_ = cfg.get_float("loss.acgan_weight");
    acgan_fake_ = cfg.get_bool("loss.acgan_fake");
    g_grow_ = dynamic_cast<Growable*>(g_.get());
    d_grow_ = dynamic_cast<Growable*>(d_.get());
    // Adam over one flat buffer per network (optim.flat), except for growing models: their not-yet-used layers
    // get no gradient, and torch's per-parameter Adam leaves those alone.
    const std::string flat = cfg.get_str("optim.flat");
    const bool growing = g_grow_ || d_grow_;
    if (flat == "true" && growing)
      throw Error("optim.flat=true: a progressive model uses some layers only from a later level on, and the flat Adam "
                  "would update them with zero gradients meanwhile; use optim.flat=auto or false");
    flat_ = flat == "true" || (flat == "auto" && !growing);
    auto adam = [&](torch::nn::Module& m, double lr) -> std::unique_ptr<torch::optim::Adam> {
      auto o = torch::optim::AdamOptions(lr).betas({b1, b2}).eps(eps);
      if (flat_) return std::make_unique<FlatAdam>(m.parameters(), o);
      return std::make_unique<torch::optim::Adam>(m.parameters(), o);
    };
    opt_g_ = adam(*g_, cfg.get_float("optim.g_lr"));
    opt_d_ = adam(*d_, cfg.get_float("optim.d_lr"));
    grow_steps_ = cfg.get_int("model.grow_steps");
    pg_ = current_process_group();
    if (pg_ && pg_->world() == 1) pg_.reset();
    if (pg_) {  // data-parallel: identical replicas to start with, gradients averaged while backward runs
      pg_->broadcast_module(*g_);
      pg_->broadcast_module(*d_);
      const auto bytes = static_cast<int64_t>(cfg.get_float("train.bucket_mb") * (1 << 20));
      buckets_g_ = std::make_unique<GradientBuckets>(pg_, g_->parameters(), bytes);
      buckets_d_ = std::make_unique<GradientBuckets>(pg_, d_->parameters(), bytes);
    }
  }

  // Data-parallel workers hold a shard of the global batch; per-sample randomness is drawn for the global batch.
  BatchShard shard_of(int64_t local) const {
    if (!pg_) return {};
    return BatchShard{pg_->rank() * local, pg_->world() * local};
  }
  torch::Tensor noise_for(int64_t local, StepContext& ctx) const {
    const BatchShard sh = shard_of(local);
    return on_device(sh.take(noise(sh.rows(local), *ctx.noise), local));
  }
  // A generator on the run's device and memory layout.
  Generator place(Generator g) const {
    g->to(device_);
    if (channels_last_) to_channels_last(*g);
    return g;
  }
  // Real images as D sees them: on the device, channels-last when asked.
  torch::Tensor real_batch(const Batch& batch) const {
    auto x = on_device(batch.x);
    return channels_last_ && x.dim() == 4 ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
  }
  // Optimiser step after a (possibly loss-scaled) backward: float16 steps whose gradients overflowed are skipped.
  void step(torch::optim::Adam& opt, LossScaler& scaler, torch::nn::Module& m, const char* name, StepContext& ctx) {
    const bool finite = scaler.unscale(m.parameters());
    if (ctx.want_stats) {
      record(ctx, std::string("grad_norm_") + name, grad_norm(m));
      if (layer_norms_ && ctx.stats) layer_grad_norms(m, std::string("grad_norm_") + name, *ctx.stats);
      if (scaler.enabled()) record(ctx, std::string("loss_scale_") + name, scaler.current());
    }
    if (finite) {
      if (clip_grad_ > 0) torch::nn::utils::clip_grad_norm_(m.parameters(), clip_grad_);
      opt.step();
    }
    scaler.update(finite);
  }
  // Gradients to zero before a backward pass: one op over the flat buffer, or set to none per parameter.
  static void zero_grads(torch::optim::Adam& opt, torch::nn::Module& m) {
    if (auto* f = dynamic_cast<FlatAdam*>(&opt))
      f->zero_flat_grad();
    else
      clear_grads(m);
  }
  // loss.backward(); data-parallel workers average the gradients over ranks in buckets while it runs.
  static void backward(const torch::Tensor& loss, GradientBuckets* buckets) {
    if (buckets) buckets->begin();
    loss.backward();
    if (buckets) buckets->finish();
  }

  // Progressive models: level and alpha for this step (a pure function of the step: resume continues exactly).
  void grow(StepContext& ctx) {
    if (!g_grow_ && !d_grow_) return;
    const int64_t max_level = g_grow_ ? g_grow_->max_level() : d_grow_->max_level();
    const Growth gr = growth_at(ctx.step, grow_steps_, max_level);
    if (g_grow_) g_grow_->set_growth(gr);
    if (d_grow_) d_grow_->set_growth(gr);
    if (ctx.want_stats) {
      record(ctx, "grow_level", double(gr.level));
      record(ctx, "grow_alpha", gr.alpha);
      record(ctx, "grow_resolution", double(int64_t(4) << gr.level));
    }
  }

  // Labels of a real batch (conditional models): the dataset's, checked.
  torch::Tensor real_labels(const Batch& batch) const {
    if (classes_ == 0) return {};
    if (!batch.y.defined()) throw Error("conditional GAN: the data loader gave a batch without labels");
    return on_device(batch.y);
  }
  // Labels for a fake batch: class-balanced, in random order from the run's noise stream.
  torch::Tensor fake_labels(int64_t n, StepContext& ctx) const {
    if (classes_ == 0) return {};
    const BatchShard sh = shard_of(n);
    return on_device(sh.take(balanced_labels(sh.rows(n), classes_, *ctx.noise), n));
  }
  // AC-GAN's class cross-entropy (0 when D has no auxiliary classifier).
  torch::Tensor class_loss(const torch::Tensor& logits, const torch::Tensor& labels) const {
    if (!acgan_ || !logits.defined()) return {};
    return torch::nn::functional::cross_entropy(logits, labels);
  }

  torch::Tensor noise(int64_t n, torch::Generator& gen) const override {
    return latent_noise(n, g_->z_dim(), z_uniform_, gen);
  }

  // What D sees of a batch: instance noise, augmentation, then packing m samples into one.
  torch::Tensor d_input(const torch::Tensor& x, StepContext& ctx) const {
    torch::Tensor y = x;
    if (noise_std_ > 0) {
      double s = noise_std_;
      if (noise_steps_ > 0) s *= std::max(0.0, 1.0 - double(ctx.step) / double(noise_steps_));
      if (s > 0) {
        const BatchShard sh = shard_of(y.size(0));
        auto shape = y.sizes().vec();
        shape[0] = sh.rows(y.size(0));
        y = y + s * sh.take(torch::randn(shape, *ctx.noise, y.options().device(torch::kCPU)), y.size(0)).to(y.device());
      }
    }
    if (augment_.enabled()) y = augment_(y, ada_.p, *ctx.noise, shard_of(y.size(0)));
    if (pack_ > 1) {
      auto sizes = y.sizes().vec();
      sizes[0] = y.size(0) / pack_;
      sizes[1] = y.size(1) * pack_;
      y = y.reshape(sizes);
    }
    return y;
  }

  torch::Tensor d_step(const Batch& batch, StepContext& ctx) override {
    grow(ctx);
    const int64_t b = batch.x.size(0);
    auto z = noise_for(b, ctx);
    const torch::Tensor y_real = real_labels(batch), y_fake = fake_labels(b, ctx);
    const bool keep = reuse_fake_ && ctx.last_d_step;
    torch::Tensor fake;
    {
      AutocastScope ac(amp_, device_);
      if (keep) {
        fake = g_->forward(z, y_fake);  // graph kept: the G phase backpropagates through this very batch
      } else {
        torch::NoGradGuard ng;
        fake = g_->forward(z, y_fake);
      }
    }
    ++d_steps_;
    const bool lazy = d_steps_ % reg_every_ == 0;
    const bool do_r1 = r1_ > 0 && lazy, do_r2 = r2_ > 0 && lazy;
    auto real_in = d_input(d_->prepare_real(real_batch(batch)), ctx);
    auto fake_in = d_input(fake.detach(), ctx);
    if (do_r1) real_in = real_in.detach().requires_grad_(true);
    if (do_r2) fake_in = fake_in.detach().requires_grad_(true);
    torch::Tensor real_out, real_cls, fake_out, fake_cls;
    {
      AutocastScope ac(amp_, device_);
      if (fuse_d_) {  // one pass over [real; fake]: D treats every sample on its own, so this is the same function
        const int64_t nr = real_in.size(0);
        auto [out, cls] = d_->forward_aux(torch::cat({real_in, fake_in}),
                                          y_real.defined() ? torch::cat({y_real, y_fake}) : y_real);
        real_out = out.narrow(0, 0, nr), fake_out = out.narrow(0, nr, out.size(0) - nr);
        if (cls.defined()) real_cls = cls.narrow(0, 0, nr), fake_cls = cls.narrow(0, nr, cls.size(0) - nr);
      } else {
        std::tie(real_out, real_cls) = d_->forward_aux(real_in, y_real);
        std::tie(fake_out, fake_cls) = d_->forward_aux(fake_in, y_fake);
      }
    }
    // Losses and regularisers in float32 (under train.amp only the forward passes above are autocast).
    std::tie(real_out, real_cls, fake_out, fake_cls) = std::make_tuple(f32(real_out), f32(real_cls), f32(fake_out), f32(fake_cls));
    auto adv = loss_->d_loss(real_out, fake_out);
    auto loss = adv;
    torch::Tensor gp, r1, r2, cls = class_loss(real_cls, y_real);
    if (cls.defined()) {
      // The auxiliary classifier learns from real images (and from fakes only with loss.acgan_fake: then G and D
      // can agree on class codes the images do not show).
      if (acgan_fake_) cls = cls + class_loss(fake_cls, y_fake);
      loss = loss + acgan_weight_ * cls;
    }
    const double gp_weight = gp_steps_ > 0 ? gp_ * std::max(0.0, 1.0 - double(ctx.step) / double(gp_steps_)) : gp_;
    if (gp_weight > 0) {
      // Interpolates between real and fake samples are judged under the real samples' labels.
      gp = gradient_penalty([this, &y_real](const torch::Tensor& x) { return d_->forward(x, y_real); }, real_in, fake_in,
                            *ctx.noise, gp_center_, shard_of(real_in.size(0)));
      loss = loss + gp_weight * gp;
      if (ctx.want_stats && gp_steps_ > 0) record(ctx, "gp_weight", gp_weight);
    }
    if (do_r1) {
      r1 = gradient_square_penalty(real_out, real_in);
      loss = loss + 0.5 * r1_ * double(reg_every_) * r1;
    }
    if (do_r2) {
      r2 = gradient_square_penalty(fake_out, fake_in);
      loss = loss + 0.5 * r2_ * double(reg_every_) * r2;
    }
    if (drift_ > 0) loss = loss + drift_ * real_out.pow(2).mean();
    zero_grads(*opt_d_, *d_);
    backward(scaler_d_.scale(loss), buckets_d_.get());
    step(*opt_d_, scaler_d_, *d_, "d", ctx);
    if (clip_ > 0) {
      torch::NoGradGuard ng;
      for (auto& p : d_->parameters()) p.clamp_(-clip_, clip_);
    }
    if (ada_enabled_) ada_.update(pg_ ? pg_->all_gather(real_out.detach()) : real_out);
    fake_ = keep ? fake : torch::Tensor();
    fake_labels_ = keep ? y_fake : torch::Tensor();
    if (ctx.want_stats) {
      torch::NoGradGuard ng;
      record(ctx, "d_real", real_out.mean().item<double>());
      record(ctx, "d_fake", fake_out.mean().item<double>());
      if (loss_->is_likelihood()) {
        record(ctx, "p_real", torch::sigmoid(real_out).mean().item<double>());
        record(ctx, "p_fake", torch::sigmoid(fake_out).mean().item<double>());
      }
      record(ctx, "loss_d_adv", adv.item<double>());
      if (gp.defined()) record(ctx, "gp", gp.item<double>());
      if (r1.defined()) record(ctx, "r1", r1.item<double>());
      if (r2.defined()) record(ctx, "r2", r2.item<double>());
      if (cls.defined()) {
        record(ctx, "loss_d_class", cls.item<double>());
        record(ctx, "d_class_acc_real", (real_cls.argmax(1) == y_real).to(torch::kDouble).mean().item<double>());
      }
      if (augment_.enabled()) {
        record(ctx, "augment_p", ada_.p);
        if (ada_enabled_) record(ctx, "ada_rt", ada_.last_rt);
      }
    }
    return loss.detach();
  }

  torch::Tensor g_step(const Batch& batch, StepContext& ctx) override {
    grow(ctx);
    torch::Tensor fake = fake_, y_fake = fake_labels_;
    if (!fake.defined()) {
      const int64_t b = batch.x.size(0);
      auto z = noise_for(b, ctx);
      y_fake = fake_labels(b, ctx);
      AutocastScope ac(amp_, device_);
      fake = g_->forward(z, y_fake);
    }
    fake_ = fake_labels_ = torch::Tensor();
    set_requires_grad(*d_, false);  // G's update needs gradients through D, not D's weight gradients
    torch::Tensor fake_out, fake_cls, real_out;
    {
      AutocastScope ac(amp_, device_);
      std::tie(fake_out, fake_cls) = d_->forward_aux(d_input(fake, ctx), y_fake);
      if (loss_->g_needs_real()) {
        torch::NoGradGuard ng;
        real_out = d_->forward(d_input(d_->prepare_real(real_batch(batch)), ctx), real_labels(batch));
      }
    }
    std::tie(fake_out, fake_cls, real_out) = std::make_tuple(f32(fake_out), f32(fake_cls), f32(real_out));
    auto loss = loss_->g_loss(fake_out, real_out);
    auto cls = class_loss(fake_cls, y_fake);
    if (cls.defined()) {
      loss = loss + acgan_weight_ * cls;
      if (ctx.want_stats) record(ctx, "loss_g_class", cls.item<double>());
    }
    zero_grads(*opt_g_, *g_);
    backward(scaler_g_.scale(loss), buckets_g_.get());
    set_requires_grad(*d_, true);
    step(*opt_g_, scaler_g_, *g_, "g", ctx);
    return loss.detach();
  }

  void set_lr_factor(double f) override {
    for (auto& grp : opt_g_->param_groups())
      static_cast<torch::optim::AdamOptions&>(grp.options()).lr(cfg_.get_float("optim.g_lr") * f);
    for (auto& grp : opt_d_->param_groups())
      static_cast<torch::optim::AdamOptions&>(grp.options()).lr(cfg_.get_float("optim.d_lr") * f);
  }

  Generator generator() override { return g_; }
  Generator make_generator() const override { return place(create_generator(cfg_, spec_)); }
  bool likelihood_outputs() const override { return loss_->is_likelihood(); }

  void save(Archive& a) const override {
    put_module(a, "G", *g_);
    put_module(a, "D", *d_);
    put_adam(a, "opt/G", *opt_g_);
    put_adam(a, "opt/D", *opt_d_);
    a.tensors["task/d_steps"] = torch::tensor(d_steps_, torch::kLong);
    a.tensors["task/ada"] = torch::tensor({ada_.p, ada_.acc_sum, double(ada_.acc_n), double(ada_.steps), ada_.last_rt},
                                          torch::kDouble);
    if (scaler_d_.enabled()) {
      a.tensors["task/scaler_d"] = scaler_d_.state();
      a.tensors["task/scaler_g"] = scaler_g_.state();
    }
  }
  void load(const Archive& a, const std::string& source) override {
    get_module(a, "G", *g_, source);
    get_module(a, "D", *d_, source);
    get_adam(a, "opt/G", *opt_g_, source);
    get_adam(a, "opt/D", *opt_d_, source);
    auto it = a.tensors.find("task/d_steps");
    if (it != a.tensors.end()) d_steps_ = it->second.item<int64_t>();
    for (auto [key, scaler] : {std::pair{"task/scaler_d", &scaler_d_}, std::pair{"task/scaler_g", &scaler_g_}})
      if (auto sc = a.tensors.find(key); sc != a.tensors.end() && scaler->enabled()) scaler->set_state(sc->second);
    auto ada = a.tensors.find("task/ada");
    if (ada != a.tensors.end() && ada->second.numel() == 5) {
      auto v = ada->second.to(torch::kDouble).contiguous();
      const double* p = v.data_ptr<double>();
      ada_.p = p[0];
      ada_.acc_sum = p[1];
      ada_.acc_n = static_cast<int64_t>(p[2]);
      ada_.steps = static_cast<int64_t>(p[3]);
      ada_.last_rt = p[4];
    }
  }
  std::map<std::string, torch::nn::Module*> networks() override { return {{"G", g_.get()}, {"D", d_.get()}}; }

  // For tests: the ADA controller and optimisers.
  const AdaController& ada() const { return ada_; }

 private:
  static void record(StepContext& ctx, const std::string& k, double v) {
    if (ctx.stats) (*ctx.stats)[k] = v;
  }
  // Tensor::to dispatches even when it has nothing to do; these skip that (per-step cost of small models).
  static torch::Tensor f32(const torch::Tensor& t) {
    return t.defined() && t.scalar_type() != torch::kFloat ? t.to(torch::kFloat) : t;
  }
  torch::Tensor on_device(const torch::Tensor& t) const { return t.device() == device_ ? t : t.to(device_); }

  Config cfg_;
  DataSpec spec_;
  Generator g_;
  Discriminator d_;
  std::shared_ptr<AdversarialLoss> loss_;
  std::unique_ptr<torch::optim::Adam> opt_g_, opt_d_;
  bool reuse_fake_ = true, layer_norms_ = false, ada_enabled_ = false;
  double gp_ = 0, gp_center_ = 1, r1_ = 0, r2_ = 0, drift_ = 0, clip_ = 0, noise_std_ = 0, clip_grad_ = 0;
  int64_t reg_every_ = 1, noise_steps_ = 0, gp_steps_ = 0, pack_ = 1, d_steps_ = 0, classes_ = 0;
  bool acgan_ = false, acgan_fake_ = false;
  double acgan_weight_ = 1;
  torch::Tensor fake_labels_;
  std::shared_ptr<ProcessGroup> pg_;
  std::unique_ptr<GradientBuckets> buckets_g_, buckets_d_;
  torch::Device device_{torch::kCPU};
  Amp amp_ = Amp::None;
  bool channels_last_ = false, fuse_d_ = false, z_uniform_ = false;
  LossScaler scaler_d_, scaler_g_;
  bool flat_ = false;
  Growable* g_grow_ = nullptr;
  Growable* d_grow_ = nullptr;
  int64_t grow_steps_ = 0;
  DiffAugment augment_;
  AdaController ada_;
  torch::Tensor fake_;
};

TaskRegistry::Registrar reg("gan", "unconditional GAN on images or vectors",
                            [](const Config& cfg, const DataSpec& spec) { return std::make_shared<GanTask>(cfg, spec); });

}  // namespace
}  // namespace ganpp
