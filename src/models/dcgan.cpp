#include <fmt/format.h>

#include "ganpp/core/error.h"
#include "ganpp/models/conditional.h"
#include "ganpp/models/gan.h"
#include "ganpp/models/stages.h"
#include "ganpp/nn/conv_transpose.h"
#include "ganpp/nn/layers.h"

namespace nn = torch::nn;

namespace ganpp {
namespace {

GanModels make_dcgan(const Config& cfg, const DataSpec& spec) {
  if (!spec.is_image()) throw Error(fmt::format("model dcgan needs image data; dataset '{}' yields vectors (use model.name=mlp)", spec.name));
  const int64_t c = spec.shape[0], res = spec.shape[1];
  if (spec.shape[1] != spec.shape[2]) throw Error("model dcgan needs square images");
  auto [n_up, base] = resolution_stages(res, 1, "dcgan");
  const int64_t z = cfg.get_int("model.z_dim"), gch = cfg.get_int("model.g_channels"), dch = cfg.get_int("model.d_channels");
  const int64_t extra = cfg.get_int("model.depth");
  const bool d_bn = cfg.get_bool("model.d_batchnorm");
  const std::string sn = cfg.get_str("model.spectral_norm");
  const bool sn_g = sn == "g" || sn == "both", sn_d = sn == "d" || sn == "both";
  const int64_t pack = cfg.get_int("train.pack"), mbstd = cfg.get_int("model.mbstd_group");
  const Conditioning cond = parse_conditioning(cfg.get_str("model.conditional"));
  const int64_t classes = conditional_classes(cfg, spec);
  // Conditional models: class-conditional batch norm in G.
  auto bn = [&](nn::Sequential& seq, int64_t ch) {
    if (classes > 0) seq->push_back(ConditionalBatchNorm2d(ch, classes));
    else seq->push_back(SyncBatchNorm2d(ch));
  };

  nn::Sequential g;
  const ConvTransposeImpl tconv = parse_conv_transpose_impl(cfg.get_str("model.conv_transpose"));
  auto up = [&](const nn::ConvTranspose2dOptions& o) {
    if (resolve_conv_transpose_impl(tconv, o.out_channels()) == ConvTransposeImpl::OneDnn)
      push_layer(g, OneDnnConvTranspose2d(o), sn_g);
    else push_layer(g, nn::ConvTranspose2d(o), sn_g);
  };
  g->push_back(nn::Unflatten(nn::UnflattenOptions(1, {z, 1, 1})));
  int64_t ch = gch << (n_up - 1);
  up(nn::ConvTranspose2dOptions(z, ch, base).bias(false));
  bn(g, ch);
  g->push_back(nn::ReLU(true));
  for (int64_t i = 1; i < n_up; ++i) {
    up(nn::ConvTranspose2dOptions(ch, ch / 2, 4).stride(2).padding(1).bias(false));
    ch /= 2;
    bn(g, ch);
    g->push_back(nn::ReLU(true));
  }
  for (int64_t i = 0; i < extra; ++i) {
    push_layer(g, nn::Conv2d(nn::Conv2dOptions(ch, ch, 3).padding(1).bias(false)), sn_g);
    bn(g, ch);
    g->push_back(nn::ReLU(true));
  }
  up(nn::ConvTranspose2dOptions(ch, c, 4).stride(2).padding(1).bias(false));
  g->push_back(nn::Tanh());

  nn::Sequential d;
  int64_t dc = dch;
  push_layer(d, nn::Conv2d(nn::Conv2dOptions(c * pack, dc, 4).stride(2).padding(1).bias(false)), sn_d);
  d->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2).inplace(true)));
  for (int64_t i = 0; i < extra; ++i) {
    push_layer(d, nn::Conv2d(nn::Conv2dOptions(dc, dc, 3).padding(1).bias(false)), sn_d);
    if (d_bn) d->push_back(SyncBatchNorm2d(dc));
    d->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2).inplace(true)));
  }
  for (int64_t i = 1; i < n_up; ++i) {
    push_layer(d, nn::Conv2d(nn::Conv2dOptions(dc, dc * 2, 4).stride(2).padding(1).bias(false)), sn_d);
    dc *= 2;
    if (d_bn) d->push_back(SyncBatchNorm2d(dc));
    d->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2).inplace(true)));
  }
  if (mbstd > 0) d->push_back(MinibatchStdDev(mbstd));
  nn::Sequential head;
  push_layer(head, nn::Conv2d(nn::Conv2dOptions(dc + (mbstd > 0 ? 1 : 0), 1, base).bias(false)), sn_d);
  head->push_back(nn::Flatten(nn::FlattenOptions().start_dim(0)));

  GanModels m;
  if (cond == Conditioning::None) {
    // Unconditional: plain layer stacks (exportable to TorchScript layer by layer).
    for (auto& layer : *head) d->push_back(layer);
    m = GanModels{std::make_shared<SequentialGeneratorImpl>(z, g), std::make_shared<SequentialDiscriminatorImpl>(d)};
  } else {
    m = GanModels{std::make_shared<ConditionalSequentialGeneratorImpl>(z, classes, g, false),
                  std::make_shared<ConditionalDiscriminatorImpl>(d, head, classes, cond, sn_d)};
  }
  dcgan_init(*m.g);
  dcgan_init(*m.d);
  return m;
}

GanModels make_mlp(const Config& cfg, const DataSpec& spec) {
  if (spec.shape.size() != 1) throw Error(fmt::format("model mlp needs vector data; dataset '{}' yields images (use model.name=dcgan)", spec.name));
  const int64_t dim = spec.shape[0], z = cfg.get_int("model.z_dim"), h = cfg.get_int("model.hidden");
  const int64_t layers = cfg.get_int("model.layers");
  const std::string sn = cfg.get_str("model.spectral_norm");
  const bool sn_g = sn == "g" || sn == "both", sn_d = sn == "d" || sn == "both";
  const Conditioning cond = parse_conditioning(cfg.get_str("model.conditional"));
  const int64_t classes = conditional_classes(cfg, spec);
  nn::Sequential g, d;
  int64_t in = z + classes;  // conditional: the one-hot label is appended to z
  for (int64_t i = 0; i < layers; ++i) {
    push_layer(g, nn::Linear(in, h), sn_g);
    g->push_back(nn::ReLU(true));
    in = h;
  }
  push_layer(g, nn::Linear(in, dim), sn_g);
  in = dim * cfg.get_int("train.pack");
  for (int64_t i = 0; i < layers; ++i) {
    push_layer(d, nn::Linear(in, h), sn_d);
    d->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2).inplace(true)));
    in = h;
  }
  if (cond == Conditioning::None) {
    push_layer(d, nn::Linear(in, 1), sn_d);
    auto gm = std::make_shared<SequentialGeneratorImpl>(z, g);
    auto dm = std::make_shared<SequentialDiscriminatorImpl>(d);
    if (cfg.get_bool("model.fused_mlp")) gm->fuse_mlp(), dm->fuse_mlp();  // no-ops where spectral norm wraps a layer
    return GanModels{gm, dm};
  }
  nn::Sequential head;
  push_layer(head, nn::Linear(in, 1), sn_d);
  return GanModels{std::make_shared<ConditionalSequentialGeneratorImpl>(z, classes, g, true),
                   std::make_shared<ConditionalDiscriminatorImpl>(d, head, classes, cond, sn_d)};
}

ModelRegistry::Registrar dcgan("dcgan", "DCGAN: transposed conv + BN + ReLU generator, strided conv + LeakyReLU discriminator",
                               [](const Config& cfg, const DataSpec& spec) { return std::make_shared<GanModels>(make_dcgan(cfg, spec)); });
ModelRegistry::Registrar mlp("mlp", "fully connected G and D for vector data (toy distributions)",
                             [](const Config& cfg, const DataSpec& spec) { return std::make_shared<GanModels>(make_mlp(cfg, spec)); });

}  // namespace
}  // namespace ganpp
