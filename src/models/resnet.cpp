#include <fmt/format.h>

#include "ganpp/core/error.h"
#include "ganpp/models/conditional.h"
#include "ganpp/models/gan.h"
#include "ganpp/models/stages.h"
#include "ganpp/nn/blocks.h"

namespace nn = torch::nn;

namespace ganpp {
namespace {

// SNGAN's ResNet models (Miyato et al. 2018, the CIFAR-10 layout) with optional SAGAN self-attention:
//   G: z -> linear -> base x base x C -> n_up x ResBlockUp(C) [+ attention at model.attention] -> BN-ReLU-conv3 -> tanh
//   D: ResBlockDown(first, down) -> (n_up - 2) x ResBlockDown(down) -> 2 x ResBlockDown -> ReLU -> sum over pixels
//      -> linear -> score (+ projection / AC-GAN head); spectral norm on every D layer by default (model.spectral_norm).
// Resolutions 4 * 2^n or 7 * 2^n with n >= 2 (28 = 7 * 4, 32 = 4 * 8, 64, 128 ...).

class ResNetGeneratorImpl : public GeneratorImpl {
 public:
  ResNetGeneratorImpl(int64_t z, int64_t ch, int64_t base, int64_t n_up, int64_t out_c, int64_t classes, bool sn,
                      int64_t attn_res)
      : GeneratorImpl(z, classes), ch_(ch), base_(base) {
    fc_ = make_linear(z, ch * base * base, sn);
    register_module("fc", fc_.ptr());
    blocks_ = register_module("blocks", nn::ModuleList());
    int64_t res = base;
    for (int64_t i = 0; i < n_up; ++i) {
      blocks_->push_back(ResBlockUp(ch, ch, classes, sn));
      res *= 2;
      if (res == attn_res) {
        attn_ = register_module("attn", SelfAttention2d(ch, sn));
        attn_after_ = i;
      }
    }
    bn_ = register_module("bn", SyncBatchNorm2d(ch));
    out_ = make_conv(ch, out_c, 3, sn);
    register_module("out", out_.ptr());
  }

  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels) override {
    torch::Tensor y = labels;
    if (num_classes() > 0) {
      if (!y.defined()) y = cycle_labels(z.size(0), num_classes());
      check_labels(y, z.size(0), num_classes(), "resnet generator");
    }
    auto h = fc_.forward(z).view({z.size(0), ch_, base_, base_});
    for (size_t i = 0; i < blocks_->size(); ++i) {
      h = blocks_->ptr<ResBlockUpImpl>(i)->forward(h, y);
      if (static_cast<int64_t>(i) == attn_after_) h = attn_->forward(h);
    }
    return torch::tanh(out_.forward(torch::relu(bn_->forward(h))));
  }

 private:
  int64_t ch_, base_, attn_after_ = -1;
  nn::AnyModule fc_, out_;
  nn::ModuleList blocks_{nullptr};
  SelfAttention2d attn_{nullptr};
  SyncBatchNorm2d bn_{nullptr};
};

class ResNetDiscriminatorImpl : public DiscriminatorImpl {
 public:
  ResNetDiscriminatorImpl(int64_t in_c, int64_t ch, int64_t res, int64_t n_up, int64_t classes, Conditioning cond,
                          bool sn, int64_t attn_res)
      : classes_(classes), cond_(cond) {
    blocks_ = register_module("blocks", nn::ModuleList());
    auto add = [&](int64_t in, bool down, bool first) {
      blocks_->push_back(ResBlockDown(in, ch, down, first, sn));
      if (down) res /= 2;
      if (res == attn_res && !attn_) {
        attn_ = register_module("attn", SelfAttention2d(ch, sn));
        attn_after_ = static_cast<int64_t>(blocks_->size()) - 1;
      }
    };
    add(in_c, true, true);
    for (int64_t i = 0; i < n_up - 2; ++i) add(ch, true, false);
    add(ch, false, false);
    add(ch, false, false);
    fc_ = make_linear(ch, 1, sn);
    register_module("fc", fc_.ptr());
    if (cond != Conditioning::None)
      head_ = register_module("class_head", ClassHead(ch, classes, cond == Conditioning::AcGan, sn));
  }

  std::pair<torch::Tensor, torch::Tensor> forward_aux(const torch::Tensor& x, const torch::Tensor& labels) override {
    auto h = x;
    for (size_t i = 0; i < blocks_->size(); ++i) {
      h = blocks_->ptr<ResBlockDownImpl>(i)->forward(h);
      if (static_cast<int64_t>(i) == attn_after_) h = attn_->forward(h);
    }
    auto phi = torch::relu(h).sum({2, 3});
    auto out = fc_.forward(phi).reshape({-1});
    if (cond_ == Conditioning::None) return {out, torch::Tensor()};
    if (cond_ == Conditioning::Projection) {
      check_labels(labels, x.size(0), classes_, "projection discriminator");
      return {out + head_->forward(phi, labels).first, torch::Tensor()};
    }
    return {out, head_->forward(phi, labels).second};
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels) override { return forward_aux(x, labels).first; }

 private:
  int64_t classes_, attn_after_ = -1;
  Conditioning cond_;
  nn::ModuleList blocks_{nullptr};
  SelfAttention2d attn_{nullptr};
  nn::AnyModule fc_;
  ClassHead head_{nullptr};
};

GanModels make_resnet(const Config& cfg, const DataSpec& spec) {
  if (!spec.is_image())
    throw Error(fmt::format("model resnet needs image data; dataset '{}' yields vectors (use model.name=mlp)", spec.name));
  if (spec.shape[1] != spec.shape[2]) throw Error("model resnet needs square images");
  const int64_t c = spec.shape[0], res = spec.shape[1];
  auto [n_up, base] = resolution_stages(res, 2, "resnet");
  const std::string sn = cfg.get_str("model.spectral_norm");
  const bool sn_g = sn == "g" || sn == "both", sn_d = sn == "d" || sn == "both";
  const Conditioning cond = parse_conditioning(cfg.get_str("model.conditional"));
  const int64_t classes = conditional_classes(cfg, spec);
  const int64_t attn = cfg.get_int("model.attention");
  if (attn > 0) {
    bool ok = false;
    for (int64_t r = base * 2; r <= res; r *= 2) ok = ok || r == attn;
    if (!ok)
      throw Error(fmt::format("model.attention={}: expected 0 (none) or a feature-map resolution of this model ({} .. {} "
                              "in powers of 2 from {})", attn, base * 2, res, base * 2));
  }
  if (cfg.get_int("train.pack") != 1) throw Error("model resnet does not support train.pack (PacGAN packing): use dcgan or mlp");
  if (cfg.get_int("model.mbstd_group") != 0) throw Error("model resnet does not support model.mbstd_group: use dcgan");
  GanModels m;
  m.g = std::make_shared<ResNetGeneratorImpl>(cfg.get_int("model.z_dim"), cfg.get_int("model.g_channels"), base, n_up,
                                              c, classes, sn_g, attn);
  m.d = std::make_shared<ResNetDiscriminatorImpl>(c, cfg.get_int("model.d_channels"), res, n_up, classes, cond, sn_d,
                                                  attn);
  return m;
}

ModelRegistry::Registrar resnet("resnet", "SNGAN ResNet G and D (residual up/down blocks, spectral norm), optional "
                                          "self-attention (model.attention) and conditioning (model.conditional)",
                                [](const Config& cfg, const DataSpec& spec) {
                                  return std::make_shared<GanModels>(make_resnet(cfg, spec));
                                });

}  // namespace
}  // namespace ganpp
