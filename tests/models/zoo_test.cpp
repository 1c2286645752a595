// The model zoo: SNGAN ResNet G/D, self-attention, class-conditional G (conditional batch norm) and D (projection,
// AC-GAN), and a conditional GAN that learns to generate the class it is asked for.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "ganpp/core/error.h"
#include "ganpp/data/toy.h"
#include "ganpp/io/image.h"
#include "ganpp/models/gan.h"
#include "ganpp/nn/blocks.h"
#include "ganpp/nn/layers.h"
#include "ganpp/train/trainer.h"
#include "test_util.h"

using namespace ganpp;

namespace {
Config resnet(const std::string& cond = "none", int64_t attention = 0) {
  Config c;
  c.set("model.name", "resnet");
  c.set("model.g_channels", "16");
  c.set("model.d_channels", "16");
  c.set("model.z_dim", "12");
  c.set("model.spectral_norm", "d");
  c.set("model.conditional", cond);
  c.set("model.attention", std::to_string(attention));
  return c;
}
int64_t count_spectral_norms(torch::nn::Module& m) {
  int64_t n = 0;
  for (auto& mod : m.modules()) n += std::dynamic_pointer_cast<SpectralNormImpl>(mod) != nullptr;
  return n;
}
}  // namespace

TEST(ResNet, ShapesForEachResolutionChannelsAndConditioning) {
  for (int64_t res : {28, 32, 64}) {
    for (int64_t ch : {1, 3}) {
      for (std::string cond : {"none", "projection", "acgan"}) {
        DataSpec spec{"t", {ch, res, res}, 10, {}};
        auto m = create_models(resnet(cond), spec);
        auto y = torch::tensor({0, 3, 9}, torch::kLong);
        auto x = m.g->forward(torch::randn({3, 12}), cond == "none" ? torch::Tensor() : y);
        EXPECT_EQ(x.sizes(), (std::vector<int64_t>{3, ch, res, res})) << res << cond;
        EXPECT_LE(x.abs().max().item<float>(), 1.0f);
        auto [score, cls] = m.d->forward_aux(x, y);
        EXPECT_EQ(score.sizes(), (std::vector<int64_t>{3})) << res << cond;
        if (cond == "acgan") EXPECT_EQ(cls.sizes(), (std::vector<int64_t>{3, 10}));
        else EXPECT_FALSE(cls.defined());
        EXPECT_EQ(m.g->num_classes(), cond == "none" ? 0 : 10);
      }
    }
  }
}

TEST(ResNet, SpectralNormOnEveryDLayerAndNoneInG) {
  DataSpec spec{"t", {1, 32, 32}, 10, {}};
  auto m = create_models(resnet("projection"), spec);
  // D at 32: 4 blocks x 2 convs, 2 learnt shortcuts (the first two blocks change width or size), the final linear;
  // the projection embedding is not a conv/linear layer.
  EXPECT_EQ(count_spectral_norms(*m.d), 4 * 2 + 2 + 1);
  EXPECT_EQ(count_spectral_norms(*m.g), 0);
  Config both = resnet();
  both.set("model.spectral_norm", "both");
  auto b = create_models(both, spec);
  // G: the input linear, 3 blocks x (2 convs + shortcut), the output conv.
  EXPECT_EQ(count_spectral_norms(*b.g), 1 + 3 * 3 + 1);
}

TEST(ResNet, BadResolutionAttentionAndPackingAreRefused) {
  DataSpec spec{"t", {1, 32, 32}, 10, {}};
  EXPECT_NE(test::error_message([&] { create_models(resnet("none", 12), spec); }).find("model.attention=12"), std::string::npos);
  DataSpec odd{"t", {1, 24, 24}, 0, {}};
  EXPECT_NE(test::error_message([&] { create_models(resnet(), odd); }).find("data.resolution=24"), std::string::npos);
  Config packed = resnet();
  packed.set("train.pack", "2");
  EXPECT_NE(test::error_message([&] { create_models(packed, spec); }).find("train.pack"), std::string::npos);
}

TEST(SelfAttention, StartsAsIdentityAndAttendsWithRowsSummingToOne) {
  torch::manual_seed(0);
  SelfAttention2d sa(16, false);
  auto x = torch::randn({2, 16, 8, 8});
  EXPECT_TRUE(torch::equal(sa->forward(x), x));  // gamma = 0
  auto a = sa->last_attention;
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{2, 64, 16}));  // queries at every pixel, keys/values pooled 2x2
  EXPECT_TRUE(torch::allclose(a.sum(-1), torch::ones({2, 64}), 1e-5, 1e-5));
  {
    torch::NoGradGuard ng;
    sa->gamma.fill_(1.0);
  }
  auto y = sa->forward(x);
  EXPECT_GT((y - x).abs().max().item<double>(), 1e-3);
  // Gradients reach gamma and the 1x1 convolutions.
  y.sum().backward();
  EXPECT_GT(sa->gamma.grad().abs().item<double>(), 0);
  for (auto& p : sa->named_parameters()) EXPECT_TRUE(p.value().grad().defined()) << p.key();
  // Placed inside the ResNet models at the requested resolution.
  DataSpec spec{"t", {1, 32, 32}, 0, {}};
  auto m = create_models(resnet("none", 16), spec);
  int g_attn = 0, d_attn = 0;
  for (auto& p : m.g->named_parameters()) g_attn += p.key() == "attn.gamma";
  for (auto& p : m.d->named_parameters()) d_attn += p.key() == "attn.gamma";
  EXPECT_EQ(g_attn, 1);
  EXPECT_EQ(d_attn, 1);
}

TEST(ConditionalBatchNorm, EachClassHasItsOwnScaleAndShiftAndWeightsMixThem) {
  ConditionalBatchNorm2d cbn(3, 4);
  {
    torch::NoGradGuard ng;
    cbn->gamma->weight[1].fill_(2.0);
    cbn->beta->weight[1].fill_(3.0);
  }
  auto x = torch::randn({6, 3, 5, 5});
  auto y0 = cbn->forward(x, torch::zeros({6}, torch::kLong));
  auto y1 = cbn->forward(x, torch::ones({6}, torch::kLong));
  // BN in training mode normalises with batch statistics (biased variance, eps 1e-5).
  auto mean = x.mean({0, 2, 3}, true), var = x.var({0, 2, 3}, false, true);
  auto norm = (x - mean) / (var + 1e-5).sqrt();
  EXPECT_TRUE(torch::allclose(y0, norm, 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(y1, 2 * norm + 3, 1e-4, 1e-4));
  // Class weights: half class 0, half class 1.
  auto w = torch::zeros({6, 4});
  w.select(1, 0).fill_(0.5);
  w.select(1, 1).fill_(0.5);
  EXPECT_TRUE(torch::allclose(cbn->forward(x, w), 1.5 * norm + 1.5, 1e-4, 1e-4));
  EXPECT_NE(test::error_message([&] { cbn->forward(x, torch::full({6}, 4, torch::kLong)); }).find("label 4 out of range"),
            std::string::npos);
  EXPECT_NE(test::error_message([&] { cbn->forward(x, torch::Tensor()); }).find("needs class labels"), std::string::npos);
}

TEST(Conditional, ProjectionTermIsTheEmbeddingDotPooledFeatures) {
  Config c;
  c.set("model.g_channels", "8");
  c.set("model.d_channels", "8");
  c.set("model.z_dim", "16");
  c.set("model.conditional", "projection");
  DataSpec spec{"t", {1, 32, 32}, 10, {}};
  auto m = create_models(c, spec);
  m.d->eval();
  auto x = torch::randn({4, 1, 32, 32});
  auto a = m.d->forward(x, torch::tensor({0, 0, 0, 0}, torch::kLong));
  auto b = m.d->forward(x, torch::tensor({0, 1, 2, 3}, torch::kLong));
  EXPECT_FLOAT_EQ(a[0].item<float>(), b[0].item<float>());  // same label, same score
  EXPECT_GT((a - b).abs().slice(0, 1).min().item<double>(), 1e-7);
  // The unconditional DCGAN is untouched: a plain stack (exportable), no labels needed.
  Config u = c;
  u.set("model.conditional", "none");
  auto plain = create_models(u, spec);
  EXPECT_NE(dynamic_cast<SequentialGeneratorImpl*>(plain.g.get()), nullptr);
  EXPECT_EQ(dynamic_cast<SequentialGeneratorImpl*>(m.g.get()), nullptr);
  // Conditional G: class-conditional batch norm; without labels it generates the classes in turn.
  auto z = torch::randn({10, 16});
  m.g->eval();
  {  // class 1's batch-norm scales differ from class 0's (all start at 1)
    torch::NoGradGuard ng;
    for (auto& p : m.g->named_parameters())
      if (p.key().find("gamma.weight") != std::string::npos) p.value()[1].mul_(1.5);
  }
  EXPECT_TRUE(torch::allclose(m.g->forward(z), m.g->forward(z, cycle_labels(10, 10))));
  EXPECT_FALSE(torch::allclose(m.g->forward(z, torch::zeros({10}, torch::kLong)), m.g->forward(z, torch::ones({10}, torch::kLong))));
}

TEST(Conditional, BalancedLabelsAndConfigErrors) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  auto y = balanced_labels(64, 10, gen);
  auto counts = torch::bincount(y, {}, 10);
  EXPECT_EQ(counts.min().item<int64_t>(), 6);
  EXPECT_EQ(counts.max().item<int64_t>(), 7);
  EXPECT_FALSE(torch::equal(y, cycle_labels(64, 10)));  // shuffled
  Config c;
  c.set("data.dataset", "gaussian");
  c.set("model.name", "mlp");
  c.set("model.conditional", "projection");
  DataSpec unlabelled{"gaussian", {2}, 0, {}};
  EXPECT_NE(test::error_message([&] { create_models(c, unlabelled); }).find("dataset 'gaussian' has no class labels"),
            std::string::npos);
  EXPECT_NE(test::error_message([&] { c.set("model.conditional", "classy"); }).find("expected one of: none, projection, acgan"),
            std::string::npos);
  EXPECT_NE(test::error_message([] { parse_conditioning("classy"); }).find("model.conditional 'classy'"), std::string::npos);
}

namespace {
// Trains a conditional MLP GAN on 4 well-separated Gaussians whose labels are their mixture components, then asks
// for each class: the fraction of samples closest to the requested mode.
double conditional_hit_rate(const std::string& cond) {
  Config c;
  for (auto kv : {"threads=1", "seed=1", "data.dataset=mixture2d", "data.layout=ring:4:2:0.05", "data.samples=4000",
                  "model.name=mlp", "model.z_dim=2", "model.hidden=64", "model.layers=2", "train.batch_size=64",
                  "train.max_steps=600", "optim.g_lr=1e-3", "optim.d_lr=1e-3", "log.every=100", "log.sample_every=0",
                  "log.checkpoint_every=0", "log.warn_after=0"})
    c.apply_override(kv);
  c.set("model.conditional", cond);
  Trainer t(c, test::temp_dir("cond_" + cond), TrainerOptions{false, true});
  t.run();
  auto g = t.task().generator();
  g->eval();
  torch::NoGradGuard ng;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  auto y = cycle_labels(400, 4);
  auto x = g->forward(torch::randn({400, 2}, gen, torch::kFloat), y);
  auto centers = Mixture2D::parse("ring:4:2:0.05").centers_tensor().to(torch::kFloat);
  auto nearest = torch::cdist(x, centers).argmin(1);
  return (nearest == y).to(torch::kDouble).mean().item<double>();
}
}  // namespace

TEST(Conditional, ProjectionAndAcGanGenerateTheRequestedClass) {
  // Chance is 25 %; an unconditional G ignores labels entirely.
  for (auto cond : {"projection", "acgan"}) {
    const double rate = conditional_hit_rate(cond);
    std::cout << cond << ": " << 100 * rate << " % of samples nearest the requested mode\n";
    EXPECT_GE(rate, 0.9) << cond;
  }
}

namespace {
Config progan() {
  Config c;
  c.set("model.name", "progan");
  c.set("model.g_channels", "8");
  c.set("model.d_channels", "8");
  c.set("model.z_dim", "16");
  c.set("model.mbstd_group", "4");
  return c;
}
void set_growth(GanModels& m, int64_t level, double alpha) {
  dynamic_cast<Growable&>(*m.g).set_growth({level, alpha});
  dynamic_cast<Growable&>(*m.d).set_growth({level, alpha});
}
}  // namespace

TEST(Progressive, ScheduleFadesInThenStabilisesEachLevel) {
  // 4x4 for 10 steps; level 1 fades in over steps 10-19, stabilises 20-29; level 2 fades 30-39, then stays.
  EXPECT_EQ(growth_at(0, 10, 2), (Growth{0, 1.0}));
  EXPECT_EQ(growth_at(9, 10, 2), (Growth{0, 1.0}));
  EXPECT_EQ(growth_at(10, 10, 2), (Growth{1, 0.0}));
  EXPECT_EQ(growth_at(15, 10, 2), (Growth{1, 0.5}));
  EXPECT_EQ(growth_at(20, 10, 2), (Growth{1, 1.0}));
  EXPECT_EQ(growth_at(29, 10, 2), (Growth{1, 1.0}));
  EXPECT_EQ(growth_at(32, 10, 2), (Growth{2, 0.2}));
  EXPECT_EQ(growth_at(40, 10, 2), (Growth{2, 1.0}));
  EXPECT_EQ(growth_at(1000, 10, 2), (Growth{2, 1.0}));
}

TEST(Progressive, EqualisedLearningRateAndPixelNorm) {
  torch::manual_seed(0);
  EqualizedConv2d conv(8, 4, 3, 1);
  EXPECT_DOUBLE_EQ(conv->scale(), std::sqrt(2.0) / std::sqrt(8.0 * 9.0));
  // Stored weights are N(0, 1); the layer computes with weight * sqrt(2) / sqrt(fan_in).
  EXPECT_NEAR(conv->weight.std().item<double>(), 1.0, 0.15);
  auto x = torch::randn({2, 8, 5, 5});
  EXPECT_TRUE(torch::allclose(conv->forward(x), torch::conv2d(x, conv->weight * conv->scale(), conv->bias, 1, 1), 1e-5, 1e-6));
  EqualizedLinear lin(10, 3, 1.0);
  EXPECT_DOUBLE_EQ(lin->scale(), 1.0 / std::sqrt(10.0));
  auto v = torch::randn({4, 10});
  EXPECT_TRUE(torch::allclose(lin->forward(v), torch::linear(v, lin->weight / std::sqrt(10.0), lin->bias), 1e-5, 1e-6));
  auto p = pixel_norm(torch::randn({3, 6, 4, 4}) * 5);
  EXPECT_TRUE(torch::allclose(p.pow(2).mean(1), torch::ones({3, 4, 4}), 1e-4, 1e-4));
}

TEST(Progressive, FullResolutionAtEveryLevelAndFadeInBlends) {
  torch::manual_seed(1);
  DataSpec spec{"t", {1, 32, 32}, 0, {}};
  auto m = create_models(progan(), spec);
  m.g->eval();
  auto z = torch::randn({4, 16});
  for (int64_t level = 0; level <= 3; ++level) {
    set_growth(m, level, 1.0);
    auto x = m.g->forward(z);
    EXPECT_EQ(x.sizes(), (std::vector<int64_t>{4, 1, 32, 32}));
    // Level l has 4 * 2^l distinct pixels per side: blocks of 2^(3-l) equal pixels.
    const int64_t f = int64_t(1) << (3 - level);
    auto coarse = torch::nn::functional::avg_pool2d(x, torch::nn::functional::AvgPool2dFuncOptions(f));
    auto back = torch::nn::functional::interpolate(
        coarse, torch::nn::functional::InterpolateFuncOptions().scale_factor(std::vector<double>{double(f), double(f)}).mode(torch::kNearest));
    EXPECT_TRUE(torch::allclose(x, back, 1e-5, 1e-6)) << level;
    EXPECT_EQ(m.d->forward(x).sizes(), (std::vector<int64_t>{4}));
  }
  // G at alpha = 0 of level 2 is exactly level 1's output; at 0.5 the mean of alpha 0 and 1.
  set_growth(m, 1, 1.0);
  auto prev = m.g->forward(z);
  set_growth(m, 2, 0.0);
  auto a0 = m.g->forward(z);
  set_growth(m, 2, 1.0);
  auto a1 = m.g->forward(z);
  set_growth(m, 2, 0.5);
  auto a5 = m.g->forward(z);
  EXPECT_TRUE(torch::allclose(a0, prev, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(a5, 0.5 * (a0 + a1), 1e-5, 1e-6));
  EXPECT_GT((a1 - a0).abs().max().item<double>(), 1e-3);
  // D at alpha = 0 of level 2 judges like level 1; real images are cross-faded the same way as G's output.
  auto img = torch::randn({4, 1, 32, 32});
  set_growth(m, 1, 1.0);
  auto d1 = m.d->forward(img);
  auto r1 = m.d->prepare_real(img);
  set_growth(m, 2, 0.0);
  EXPECT_TRUE(torch::allclose(m.d->forward(img), d1, 1e-4, 1e-5));
  auto r0 = m.d->prepare_real(img);
  set_growth(m, 2, 1.0);
  auto rf = m.d->prepare_real(img);
  set_growth(m, 2, 0.5);
  auto rh = m.d->prepare_real(img);
  // What D looks at (level 2: 16x16, the 32x32 input averaged 2x2) blends linearly in alpha.
  namespace F = torch::nn::functional;
  auto at16 = [](const torch::Tensor& t) { return F::avg_pool2d(t, F::AvgPool2dFuncOptions(2)); };
  EXPECT_TRUE(torch::allclose(at16(rh), 0.5 * (at16(r0) + at16(rf)), 1e-5, 1e-6));
  // At alpha = 0 the real images D sees at level 2 carry only level 1's 8x8 detail: 4x4 blocks of equal pixels.
  auto level1_view = F::interpolate(F::avg_pool2d(img, F::AvgPool2dFuncOptions(4)),
                                    F::InterpolateFuncOptions().scale_factor(std::vector<double>{4.0, 4.0}).mode(torch::kNearest));
  EXPECT_TRUE(torch::allclose(r0, level1_view, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(r1, img, 0, 0));  // not fading: the images as they are
  // Level and alpha are buffers: an EMA copy or a checkpoint carries them.
  set_growth(m, 2, 0.25);
  auto copy = create_models(progan(), spec);
  copy_weights(*copy.g, *m.g);
  EXPECT_EQ(dynamic_cast<Growable&>(*copy.g).growth(), (Growth{2, 0.25}));
  EXPECT_NE(test::error_message([&] { set_growth(m, 4, 1.0); }).find("level 4"), std::string::npos);
  DataSpec odd{"t", {1, 28, 28}, 0, {}};
  EXPECT_NE(test::error_message([&] { create_models(progan(), odd); }).find("data.resolution=28"), std::string::npos);
}

TEST(Progressive, GrowsToTheFullResolutionOnRgbPhotoCrops) {
  // Three "photos" (RGB gradients of different sizes) give 8 random crops each per epoch; a ProGAN run grows
  // 4x4 -> 8x8 -> 16x16 on them and writes RGB samples at 16x16.
  auto photos = test::temp_dir("progan_photos");
  for (int k = 0; k < 3; ++k) {
    Image img{60 + 10 * k, 40 + 5 * k, 3, {}};
    for (int y = 0; y < img.height; ++y)
      for (int x = 0; x < img.width; ++x)
        for (int ch = 0; ch < 3; ++ch) img.pixels.push_back(static_cast<uint8_t>((x * (ch + 1) * 3 + y * (k + 2)) % 256));
    write_png(photos / fmt::format("photo{}.png", k), img);
  }
  Config c = progan();
  for (auto kv : {"threads=1", "data.dataset=image-folder", "data.channels=3", "data.resolution=16",
                  "data.image_size=32", "data.crop=random", "data.crops_per_image=8", "data.hflip=0.5",
                  "loss.name=wgan-gp", "loss.drift=0.001", "train.batch_size=8", "model.grow_steps=3",
                  "train.max_steps=16", "log.every=1", "log.sample_every=16", "log.samples=4",
                  "log.checkpoint_every=0"})
    c.apply_override(kv);
  c.set("data.path", photos.string());
  auto run = test::temp_dir("progan_photos_run");
  Trainer t(c, run, TrainerOptions{false, true});
  t.run();
  std::ifstream in(run / "metrics.jsonl");
  std::vector<double> resolution;
  double diversity = 0;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("grow_resolution")) resolution.push_back(j["grow_resolution"].get<double>());
    if (j.contains("diversity")) diversity = std::max(diversity, j["diversity"].get<double>());
  }
  EXPECT_GT(diversity, 0);
  EXPECT_LT(diversity, 20);
  // The real reference of the diversity probe: distinct samples spread over the photos (sample i is a crop of photo
  // i % 3), each with its own crop seed; an evenly spaced stride of 3 would have taken photo 0 only.
  auto [idx, seeds] = reference_sample(24, 8, 5);
  std::set<int64_t> photo_of, distinct(idx.begin(), idx.end());
  for (auto i : idx) photo_of.insert(i % 3);
  EXPECT_EQ(distinct.size(), 8u);
  EXPECT_EQ(photo_of.size(), 3u);
  EXPECT_EQ(std::set<uint64_t>(seeds.begin(), seeds.end()).size(), 8u);
  EXPECT_EQ(reference_sample(24, 8, 5), reference_sample(24, 8, 5));
  ASSERT_EQ(resolution.size(), 16u);
  EXPECT_EQ(resolution.front(), 4);
  EXPECT_EQ(resolution[4], 8);    // level 1 fades in at step 3
  EXPECT_EQ(resolution.back(), 16);
  Image grid = decode_image(run / "samples" / "step_00000016.png");
  EXPECT_EQ(grid.channels, 3);
  EXPECT_GE(grid.height, 16);
}
