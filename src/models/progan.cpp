#include <fmt/format.h>

#include "ganpp/core/error.h"
#include "ganpp/models/gan.h"
#include "ganpp/nn/blocks.h"
#include "ganpp/nn/layers.h"

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace ganpp {
namespace {

// Progressive GAN (Karras et al. 2018) as PROTOCOLS.md describes it: G and D grow from 4x4 to the data resolution,
// one level (2x) at a time; equalised learning rate on every layer, pixelnorm after each G convolution, LeakyReLU
// 0.2, minibatch standard deviation in D's last block (model.mbstd_group), linear toRGB / fromRGB 1x1 layers.
// Both networks take and give images at the data's full resolution: G upsamples its current output (nearest), D
// averages its input down to the current resolution, so the rest of ganpp (samples, EMA, metrics, checkpoints)
// works unchanged while the models grow. Level and alpha are buffers (see Growable).

torch::Tensor lrelu(const torch::Tensor& x) { return F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2)); }
torch::Tensor up(const torch::Tensor& x, int64_t f) {
  if (f == 1) return x;
  return F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{double(f), double(f)}).mode(torch::kNearest));
}
torch::Tensor down(const torch::Tensor& x, int64_t f) { return f == 1 ? x : F::avg_pool2d(x, F::AvgPool2dFuncOptions(f)); }

// Channels per level: `width` at the full resolution, doubling toward 4x4, at most 4 x width.
std::vector<int64_t> level_channels(int64_t width, int64_t max_level) {
  std::vector<int64_t> c;
  for (int64_t l = 0; l <= max_level; ++l) c.push_back(std::min(4 * width, width << std::min<int64_t>(max_level - l, 16)));
  return c;
}

// The shared growth state: a [level, alpha] double buffer.
struct GrowthBuffer {
  torch::Tensor t;
  void set(const Growth& g, int64_t max_level) {
    if (g.level < 0 || g.level > max_level || g.alpha < 0 || g.alpha > 1)
      throw Error(fmt::format("progressive growing: level {} alpha {} outside 0..{} / [0, 1]", g.level, g.alpha, max_level));
    torch::NoGradGuard ng;
    t.copy_(torch::tensor({double(g.level), g.alpha}, torch::kDouble));
  }
  Growth get() const {
    auto c = t.to(torch::kCPU).contiguous();
    return {static_cast<int64_t>(c.data_ptr<double>()[0]), c.data_ptr<double>()[1]};
  }
};

class ProGanGeneratorImpl : public GeneratorImpl, public Growable {
 public:
  ProGanGeneratorImpl(int64_t z, int64_t width, int64_t max_level, int64_t out_c)
      : GeneratorImpl(z), max_level_(max_level), ch_(level_channels(width, max_level)) {
    growth_.t = register_buffer("growth", torch::tensor({0.0, 1.0}, torch::kDouble));
    fc_ = register_module("fc", EqualizedLinear(z, ch_[0] * 16, std::sqrt(2.0) / 4));  // ProGAN's 4x4 "dense" layer
    conv0_ = register_module("conv0", EqualizedConv2d(ch_[0], ch_[0], 3, 1));
    c1_ = register_module("c1", nn::ModuleList());
    c2_ = register_module("c2", nn::ModuleList());
    rgb_ = register_module("to_rgb", nn::ModuleList());
    for (int64_t l = 0; l <= max_level; ++l) {
      if (l > 0) {
        c1_->push_back(EqualizedConv2d(ch_[l - 1], ch_[l], 3, 1));
        c2_->push_back(EqualizedConv2d(ch_[l], ch_[l], 3, 1));
      }
      rgb_->push_back(EqualizedConv2d(ch_[l], out_c, 1, 0, 1.0));
    }
  }

  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor&) override {
    const Growth g = growth_.get();
    auto h = lrelu(fc_->forward(pixel_norm(z))).view({z.size(0), ch_[0], 4, 4});
    h = pixel_norm(lrelu(conv0_->forward(pixel_norm(h))));
    torch::Tensor prev;
    for (int64_t l = 1; l <= g.level; ++l) {
      prev = h;
      h = up(h, 2);
      h = pixel_norm(lrelu(c1_->ptr<EqualizedConv2dImpl>(l - 1)->forward(h)));
      h = pixel_norm(lrelu(c2_->ptr<EqualizedConv2dImpl>(l - 1)->forward(h)));
    }
    auto rgb = rgb_->ptr<EqualizedConv2dImpl>(g.level)->forward(h);
    if (g.level > 0 && g.alpha < 1.0)  // fade-in: the new level blended with the previous level's output, upsampled
      rgb = torch::lerp(up(rgb_->ptr<EqualizedConv2dImpl>(g.level - 1)->forward(prev), 2), rgb, g.alpha);
    return up(rgb, int64_t(1) << (max_level_ - g.level));
  }

  void set_growth(const Growth& g) override { growth_.set(g, max_level_); }
  Growth growth() const override { return growth_.get(); }
  int64_t max_level() const override { return max_level_; }

 private:
  int64_t max_level_;
  std::vector<int64_t> ch_;
  GrowthBuffer growth_;
  EqualizedLinear fc_{nullptr};
  EqualizedConv2d conv0_{nullptr};
  nn::ModuleList c1_{nullptr}, c2_{nullptr}, rgb_{nullptr};
};

class ProGanDiscriminatorImpl : public DiscriminatorImpl, public Growable {
 public:
  ProGanDiscriminatorImpl(int64_t in_c, int64_t width, int64_t max_level, int64_t mbstd)
      : max_level_(max_level), ch_(level_channels(width, max_level)) {
    growth_.t = register_buffer("growth", torch::tensor({0.0, 1.0}, torch::kDouble));
    rgb_ = register_module("from_rgb", nn::ModuleList());
    c1_ = register_module("c1", nn::ModuleList());
    c2_ = register_module("c2", nn::ModuleList());
    for (int64_t l = 0; l <= max_level; ++l) {
      rgb_->push_back(EqualizedConv2d(in_c, ch_[l], 1, 0));
      if (l > 0) {
        c1_->push_back(EqualizedConv2d(ch_[l], ch_[l], 3, 1));
        c2_->push_back(EqualizedConv2d(ch_[l], ch_[l - 1], 3, 1));
      }
    }
    if (mbstd > 0) mbstd_ = register_module("mbstd", MinibatchStdDev(mbstd));
    final3_ = register_module("final3", EqualizedConv2d(ch_[0] + (mbstd > 0 ? 1 : 0), ch_[0], 3, 1));
    final4_ = register_module("final4", EqualizedConv2d(ch_[0], ch_[0], 4, 0));
    out_ = register_module("out", EqualizedLinear(ch_[0], 1, 1.0));
  }

  torch::Tensor block(int64_t l, const torch::Tensor& h) {
    auto y = lrelu(c1_->ptr<EqualizedConv2dImpl>(l - 1)->forward(h));
    y = lrelu(c2_->ptr<EqualizedConv2dImpl>(l - 1)->forward(y));
    return down(y, 2);
  }

  torch::Tensor forward(const torch::Tensor& x_full, const torch::Tensor&) override {
    const Growth g = growth_.get();
    auto x = down(x_full, int64_t(1) << (max_level_ - g.level));
    auto h = lrelu(rgb_->ptr<EqualizedConv2dImpl>(g.level)->forward(x));
    if (g.level > 0) {
      h = block(g.level, h);
      if (g.alpha < 1.0)  // fade-in: the new level's path blended with the previous level's fromRGB on the pooled input
        h = torch::lerp(lrelu(rgb_->ptr<EqualizedConv2dImpl>(g.level - 1)->forward(down(x, 2))), h, g.alpha);
    }
    for (int64_t l = g.level - 1; l >= 1; --l) h = block(l, h);
    if (mbstd_) h = mbstd_->forward(h);
    h = lrelu(final3_->forward(h));
    h = lrelu(final4_->forward(h)).flatten(1);
    return out_->forward(h).reshape({-1});
  }

  // Real images at the current resolution; during a fade-in cross-faded with their 2x-coarser version, as G's output
  // is: lerp(upsample(avgpool(x)), x, alpha). Returned at the full resolution (nearest upsampling, which D's average
  // pooling inverts exactly).
  torch::Tensor prepare_real(const torch::Tensor& x_full) override {
    const Growth g = growth_.get();
    if (g.level == 0 || g.alpha >= 1.0) return x_full;
    const int64_t f = int64_t(1) << (max_level_ - g.level);
    auto x = down(x_full, f);
    return up(torch::lerp(up(down(x, 2), 2), x, g.alpha), f);
  }

  void set_growth(const Growth& g) override { growth_.set(g, max_level_); }
  Growth growth() const override { return growth_.get(); }
  int64_t max_level() const override { return max_level_; }

 private:
  int64_t max_level_;
  std::vector<int64_t> ch_;
  GrowthBuffer growth_;
  nn::ModuleList rgb_{nullptr}, c1_{nullptr}, c2_{nullptr};
  MinibatchStdDev mbstd_{nullptr};
  EqualizedConv2d final3_{nullptr}, final4_{nullptr};
  EqualizedLinear out_{nullptr};
};

GanModels make_progan(const Config& cfg, const DataSpec& spec) {
  if (!spec.is_image())
    throw Error(fmt::format("model progan needs image data; dataset '{}' yields vectors (use model.name=mlp)", spec.name));
  const int64_t res = spec.shape[1];
  int64_t max_level = 0;
  while ((int64_t(4) << max_level) < res) ++max_level;
  if ((int64_t(4) << max_level) != res || spec.shape[2] != res)
    throw Error(fmt::format("model progan: data.resolution={} is not 4*2^n (8, 16, 32, 64, 128 ...): Fashion-MNIST "
                            "needs data.resolution=32 with data.fit=pad",
                            res));
  if (cfg.get_str("model.conditional") != "none") throw Error("model progan has no conditional variant: use dcgan or resnet");
  if (cfg.get_int("train.pack") != 1) throw Error("model progan does not support train.pack (PacGAN packing)");
  GanModels m;
  m.g = std::make_shared<ProGanGeneratorImpl>(cfg.get_int("model.z_dim"), cfg.get_int("model.g_channels"), max_level,
                                              spec.shape[0]);
  m.d = std::make_shared<ProGanDiscriminatorImpl>(spec.shape[0], cfg.get_int("model.d_channels"), max_level,
                                                  cfg.get_int("model.mbstd_group"));
  return m;
}

ModelRegistry::Registrar progan("progan", "progressive growing (ProGAN): 4x4 up to the data resolution with fade-ins "
                                          "(model.grow_steps), equalised learning rate, pixelnorm, minibatch stddev",
                                [](const Config& cfg, const DataSpec& spec) {
                                  return std::make_shared<GanModels>(make_progan(cfg, spec));
                                });

}  // namespace
}  // namespace ganpp
