#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "ganpp/core/error.h"
#include "ganpp/io/archive.h"
#include "ganpp/train/run.h"
#include "ganpp/train/trainer.h"
#include "ganpp/train/validate.h"
#include "test_util.h"

using namespace ganpp;
namespace fs = std::filesystem;

namespace {

Config tiny_images() {
  Config c;
  for (auto kv : {"threads=1", "data.limit=64", "data.resolution=28", "model.z_dim=8", "model.g_channels=8",
                  "model.d_channels=8", "train.batch_size=16", "train.max_steps=3", "log.every=1",
                  "log.sample_every=0", "log.checkpoint_every=0"})
    c.apply_override(kv);
  return c;
}

Config ring(int64_t steps) {
  Config c;
  for (auto kv : {"threads=1", "data.dataset=mixture2d", "data.layout=ring", "data.samples=5000", "model.name=mlp",
                  "model.z_dim=2", "model.hidden=32", "model.layers=2", "train.batch_size=64", "log.every=20",
                  "log.sample_every=0", "log.checkpoint_every=0", "log.warn_after=0"})
    c.apply_override(kv);
  c.set("train.max_steps", std::to_string(steps));
  return c;
}

std::string error_of(const Config& c) {
  try {
    validate_config(c);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::vector<nlohmann::json> metrics(const fs::path& run) {
  std::vector<nlohmann::json> out;
  std::ifstream in(run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::map<std::string, torch::Tensor> snapshot(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> s;
  for (auto& p : m.named_parameters()) s[p.key()] = p.value().detach().clone();
  return s;
}

double max_change(torch::nn::Module& m, const std::map<std::string, torch::Tensor>& before) {
  double mx = 0;
  for (auto& p : m.named_parameters()) mx = std::max(mx, (p.value() - before.at(p.key())).abs().max().item<double>());
  return mx;
}

}  // namespace

TEST(Techniques, EveryLossAndRegulariserTrains) {
  const std::vector<std::vector<std::string>> recipes = {
      {"loss.name=wgan-gp", "train.n_critic=2"},
      {"loss.name=wgan", "loss.clip=0.01", "model.d_batchnorm=false"},
      {"loss.name=lsgan"},
      {"loss.name=hinge", "model.spectral_norm=both", "model.d_batchnorm=false"},
      {"loss.name=ragan"},
      {"loss.name=minimax", "loss.label_smoothing=0.1", "loss.instance_noise=0.1", "loss.instance_noise_steps=2"},
      {"loss.name=ns", "loss.r1=10", "loss.r2=1", "loss.reg_every=2", "loss.drift=0.001"},
      {"loss.name=ns", "train.pack=2", "model.mbstd_group=4", "optim.clip_grad_norm=1"},
      {"loss.name=hinge", "augment.policy=color,translation,cutout,flip", "augment.ada=true", "augment.p=0.3"},
  };
  for (auto& r : recipes) {
    Config c = tiny_images();
    for (auto& kv : r) c.apply_override(kv);
    auto dir = test::temp_dir("tech");
    Trainer t(c, dir, TrainerOptions{false, true});
    t.run();
    EXPECT_EQ(t.step(), 3) << r[0];
    auto m = metrics(dir);
    ASSERT_EQ(m.size(), 3u) << r[0];
    EXPECT_TRUE(std::isfinite(m.back()["loss_d"].get<double>())) << r[0];
    if (c.get_str("loss.name") == "wgan-gp") {
      EXPECT_TRUE(m.back().contains("gp"));
    }
    if (c.get_float("loss.r1") > 0) {
      EXPECT_TRUE(m[1].contains("r1"));  // lazy: every 2nd D step
    }
    if (c.get_bool("augment.ada")) {
      EXPECT_TRUE(m.back().contains("augment_p"));
    }
  }
}

TEST(Techniques, WeightClippingBoundsD) {
  Config c = tiny_images();
  for (auto kv : {"loss.name=wgan", "loss.clip=0.005", "model.d_batchnorm=false"}) c.apply_override(kv);
  Trainer t(c, test::temp_dir("clip"), TrainerOptions{false, true});
  t.run();
  for (auto& p : t.task().networks()["D"]->parameters()) EXPECT_LE(p.abs().max().item<double>(), 0.005 + 1e-9);
}

TEST(Techniques, NCriticAndTturStepTheRightOptimisers) {
  // n_critic = 3: D's Adam has taken 3 steps per G step.
  auto dir = test::temp_dir("ncritic");
  Config c = ring(2);
  c.set("train.n_critic", "3");
  Trainer(c, dir, TrainerOptions{false, true}).run();
  Archive a = load_archive(checkpoint_path(dir, 2));
  EXPECT_EQ(a.tensors.at("opt/D/0/step").item<int64_t>(), 6);
  EXPECT_EQ(a.tensors.at("opt/G/0/step").item<int64_t>(), 2);
  // TTUR: Adam's first step moves each weight by ~lr, so each network moves by its own learning rate.
  Config t = ring(1);
  t.set("optim.d_lr", "0.004");
  t.set("optim.g_lr", "0.0005");
  Trainer tr(t, test::temp_dir("ttur"), TrainerOptions{false, true});
  auto d0 = snapshot(*tr.task().networks()["D"]), g0 = snapshot(*tr.task().networks()["G"]);
  tr.run();
  EXPECT_NEAR(max_change(*tr.task().networks()["D"], d0), 0.004, 0.0002);
  EXPECT_NEAR(max_change(*tr.task().networks()["G"], g0), 0.0005, 0.000025);
}

TEST(Techniques, ContradictoryOptionsAreRefusedWithAReason) {
  Config c;
  c.set("loss.name", "wgan-gp");
  c.set("loss.clip", "0.01");
  EXPECT_NE(error_of(c).find("both enforce D's Lipschitz constraint"), std::string::npos) << error_of(c);
  Config l;
  l.set("loss.name", "hinge");
  l.set("loss.label_smoothing", "0.1");
  EXPECT_NE(error_of(l).find("only applies to likelihood losses"), std::string::npos);
  Config p;
  p.set("train.batch_size", "10");
  p.set("train.pack", "3");
  EXPECT_NE(error_of(p).find("not divisible by train.pack=3"), std::string::npos);
  Config a;
  a.set("augment.ada", "true");
  EXPECT_NE(error_of(a).find("needs augment.policy"), std::string::npos);
  Config m;
  m.set("model.mbstd_group", "3");
  EXPECT_NE(error_of(m).find("does not divide D's batch"), std::string::npos);
  EXPECT_THROW(Config().set("loss.gp", "-1"), Error);          // negative lambda
  EXPECT_THROW(Config().set("train.n_critic", "0"), Error);    // n_critic < 1
  Config bad;
  bad.set("augment.policy", "colour");
  EXPECT_NE(error_of(bad).find("unknown op 'colour'"), std::string::npos);
  Config crops;
  crops.set("data.crops_per_image", "4");
  EXPECT_NE(error_of(crops).find("data.crops_per_image=4 applies to data.dataset=image-folder, not 'fashion-mnist'"),
            std::string::npos)
      << error_of(crops);
  Config gp_steps;
  gp_steps.set("loss.gp_steps", "1000");
  EXPECT_NE(error_of(gp_steps).find("loss.gp_steps=1000 anneals the gradient penalty, but there is none"),
            std::string::npos)
      << error_of(gp_steps);
  gp_steps.set("loss.gp", "1");
  EXPECT_EQ(error_of(gp_steps), "");
  Config flat;
  flat.set("model.name", "progan");
  flat.set("optim.flat", "true");
  EXPECT_NE(error_of(flat).find("optim.flat=true with model.name=progan"), std::string::npos) << error_of(flat);
  try {
    flat.set("optim.flat", "flat");
    ADD_FAILURE() << "optim.flat=flat was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("one of: auto, true, false"), std::string::npos) << e.what();
  }
}

TEST(Techniques, ModeCollapseIsReported) {
  // A generator that never learns (lr 0) stays collapsed near its initial output.
  auto dir = test::temp_dir("collapse");
  Config c = ring(60);
  c.set("optim.g_lr", "0");
  Trainer t(c, dir, TrainerOptions{false, true});
  t.run();
  auto m = metrics(dir);
  ASSERT_FALSE(m.empty());
  EXPECT_LT(m.back()["diversity"].get<double>(), 0.25);
  EXPECT_EQ(m.back()["warn_mode_collapse"].get<double>(), 1.0);
  EXPECT_NE(read_file(dir / "model_card.md").find("mode-collapse warning(s)"), std::string::npos);
}

TEST(Techniques, VanishingGradientsAreReportedForMinimaxButNotNonSaturating) {
  // A frozen G and a fast D: D becomes confident; the saturating loss then gives G almost no gradient.
  auto run = [](const std::string& loss) {
    auto dir = test::temp_dir("vanish_" + loss);
    Config c = ring(200);
    c.set("loss.name", loss);
    c.set("optim.g_lr", "0");
    c.set("optim.d_lr", "0.005");
    Trainer(c, dir, TrainerOptions{false, true}).run();
    return metrics(dir).back();
  };
  auto mm = run("minimax"), ns = run("ns");
  EXPECT_GT(mm["p_real"].get<double>(), 0.9);
  EXPECT_LT(mm["p_fake"].get<double>(), 0.1);
  EXPECT_TRUE(mm.contains("warn_vanishing_gradient")) << mm.dump();
  EXPECT_FALSE(ns.contains("warn_vanishing_gradient")) << ns.dump();
  EXPECT_GT(ns["grad_norm_g"].get<double>(), 100 * mm["grad_norm_g"].get<double>());
}

TEST(Techniques, FusedDiscriminatorPassTrainsTheSameWeights) {
  // train.fuse_d scores [real; fake] in one D pass: for a D without batch-dependent layers the same function, so
  // the weights after 30 steps agree with separate passes up to float rounding (WGAN-GP: the penalty's interpolates
  // and gradients too; AC-GAN: the class heads split like the scores). The WGAN critic's gradient is a difference of
  // two nearly equal means for some weights, ~1e-9, where Adam's first steps (g / (|g| + eps)) turn rounding into
  // +-lr: with eps 1e-8 fused and separate passes differ by 1e-4 after one step, with eps 1e-4 by 4e-8.
  for (auto extras : std::vector<std::vector<std::string>>{
           {"loss.name=ns"}, {"loss.name=wgan-gp", "optim.eps=1e-4"}, {"model.conditional=acgan"}}) {
    std::vector<std::vector<torch::Tensor>> w;
    for (bool fuse : {false, true}) {
      Config c = ring(30);
      for (auto& e : extras) c.apply_override(e);
      c.set("train.fuse_d", fuse ? "true" : "false");
      Trainer t(c, test::temp_dir("fuse_d"), TrainerOptions{false, true});
      t.run();
      std::vector<torch::Tensor> v;
      for (auto& [name, net] : t.task().networks())
        for (auto& p : net->parameters()) v.push_back(p.detach().clone());
      w.push_back(v);
    }
    ASSERT_EQ(w[0].size(), w[1].size());
    double worst = 0;
    for (size_t i = 0; i < w[0].size(); ++i)
      worst = std::max(worst, (w[0][i] - w[1][i]).norm().item<double>() / std::max(1e-6, w[0][i].norm().item<double>()));
    EXPECT_LE(worst, 1e-6) << extras[0];
  }
  Config bn;
  bn.set("train.fuse_d", "true");
  bn.set("data.limit", "256");
  EXPECT_NE(test::error_message([&] { Trainer t(bn, test::temp_dir("fuse_bn"), TrainerOptions{false, true}); })
                .find("train.fuse_d=true: D's"),
            std::string::npos);
}

TEST(Techniques, GradientPenaltyWeightAnnealsLinearlyToZero) {
  // loss.gp=2 annealed over 10 steps: the weight applied in step s (0-based) is 2 (1 - s/10), then 0 (no penalty).
  auto dir = test::temp_dir("gp_anneal");
  Config c = ring(14);
  c.set("loss.gp", "2");
  c.set("loss.gp_center", "0");
  c.set("loss.gp_steps", "10");
  c.set("log.every", "1");
  Trainer t(c, dir, TrainerOptions{false, true});
  t.run();
  auto m = metrics(dir);
  ASSERT_EQ(m.size(), 14u);
  for (const auto& line : m) {
    const int64_t s = line["step"].get<int64_t>() - 1;  // the logged step counts the steps done
    if (s < 10) {
      ASSERT_TRUE(line.contains("gp_weight")) << line.dump();
      EXPECT_NEAR(line["gp_weight"].get<double>(), 2.0 * (1.0 - double(s) / 10.0), 1e-12) << line.dump();
      EXPECT_TRUE(line.contains("gp")) << line.dump();
    } else {
      EXPECT_FALSE(line.contains("gp")) << "no penalty after the annealing: " << line.dump();
    }
  }
}
