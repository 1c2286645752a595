#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>

#include "ganpp/core/error.h"
#include "ganpp/train/flat_adam.h"
#include "ganpp/train/run.h"
#include "ganpp/train/trainer.h"
#include "test_util.h"

using namespace ganpp;
namespace fs = std::filesystem;

namespace {
Config gaussian_config() {
  Config c;
  c.set("threads", "1");
  c.set("data.dataset", "gaussian");
  c.set("data.mean", "3");
  c.set("data.std", "0.5");
  c.set("data.samples", "20000");
  c.set("model.name", "mlp");
  c.set("model.z_dim", "4");
  c.set("model.hidden", "32");
  c.set("model.layers", "2");
  c.set("train.batch_size", "128");
  c.set("train.max_steps", "800");
  c.set("optim.g_lr", "0.001");
  c.set("optim.d_lr", "0.001");
  c.set("log.every", "100");
  c.set("log.sample_every", "0");
  c.set("log.checkpoint_every", "0");
  return c;
}
}  // namespace

TEST(Trainer, LearnsTheMomentsOfA1DGaussianInBfloat16Autocast) {
  auto dir = test::temp_dir("gauss_bf16");
  Config c = gaussian_config();
  c.set("train.amp", "bf16");
  Trainer t(c, dir, TrainerOptions{false, true});
  t.run();
  auto g = t.task().generator();
  g->eval();
  torch::NoGradGuard ng;
  auto x = g->forward(torch::randn({20000, 4}));
  EXPECT_EQ(x.scalar_type(), torch::kFloat);  // outside autocast G computes in float32
  EXPECT_NEAR(x.mean().item<double>(), 3.0, 0.3);
  EXPECT_GT(x.std().item<double>(), 0.2);
  EXPECT_LT(x.std().item<double>(), 0.9);
}

TEST(Trainer, ChannelsLastTrainsTheSameDcganAsTheStandardLayout) {
  auto run = [](const std::string& name, bool cl) {
    Config c;
    for (auto kv : {"threads=1", "data.resolution=16", "data.limit=256", "model.z_dim=16", "model.g_channels=8",
                    "model.d_channels=8", "train.batch_size=16", "train.max_steps=5", "log.every=5",
                    "log.sample_every=0", "log.checkpoint_every=0"})
      c.apply_override(kv);
    c.set("model.channels_last", cl ? "true" : "false");
    Trainer t(c, test::temp_dir(name), TrainerOptions{false, true});
    t.run();
    std::vector<torch::Tensor> w;
    for (auto& p : t.task().generator()->parameters()) w.push_back(p.detach().contiguous().clone());
    return w;
  };
  auto a = run("cl_off", false), b = run("cl_on", true);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_LE((a[i] - b[i]).norm().item<double>(), 1e-4 * std::max(1e-3, a[i].norm().item<double>())) << i;
}

TEST(Trainer, UniformLatentNoise) {
  Config c = gaussian_config();
  c.set("model.z_dist", "uniform");
  c.set("train.max_steps", "20");
  Trainer t(c, test::temp_dir("gauss_uniform"), TrainerOptions{false, true});
  t.run();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  auto z = t.task().noise(20000, gen);
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{20000, 4}));
  EXPECT_GE(z.min().item<double>(), -1.0);
  EXPECT_LE(z.max().item<double>(), 1.0);
  EXPECT_NEAR(z.std().item<double>(), 1 / std::sqrt(3.0), 0.01);  // U(-1, 1)
  EXPECT_NEAR(z.mean().item<double>(), 0.0, 0.02);
}

TEST(Trainer, LearnsTheMomentsOfA1DGaussian) {
  auto dir = test::temp_dir("gauss");
  Trainer t(gaussian_config(), dir, TrainerOptions{false, true});
  t.run();
  ASSERT_EQ(t.step(), 800);
  auto g = t.task().generator();
  g->eval();
  torch::NoGradGuard ng;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(123);
  auto x = g->forward(torch::randn({20000, 4}, gen, torch::kFloat));
  double mean = x.mean().item<double>(), sd = x.std().item<double>();
  // Data: N(3, 0.5^2). An untrained G outputs ~N(0, small).
  EXPECT_NEAR(mean, 3.0, 0.25) << "std " << sd;
  EXPECT_GT(sd, 0.25);
  EXPECT_LT(sd, 0.8);
  // The run folder has what a user expects.
  EXPECT_TRUE(fs::exists(dir / "config.yaml"));
  EXPECT_TRUE(fs::exists(dir / "model_card.md"));
  EXPECT_TRUE(fs::exists(dir / "plots" / "losses.png"));
  EXPECT_TRUE(fs::exists(dir / "samples" / "step_00000800.png"));
  EXPECT_TRUE(fs::exists(checkpoint_path(dir, 800)));
}

TEST(Trainer, DivergenceStopsWithoutDamagingTheLastCheckpoint) {
  auto dir = test::temp_dir("nan");
  Config c = gaussian_config();
  c.set("train.max_steps", "2");
  c.set("log.checkpoint_every", "1");
  {
    Trainer t(c, dir, TrainerOptions{false, true});
    t.run();
  }
  std::string before = read_file(checkpoint_path(dir, 2));
  // Absurd learning rates overflow the weights within a few steps.
  c.set("train.max_steps", "50");
  c.set("optim.d_lr", "1e30");
  c.set("optim.g_lr", "1e30");
  c.save(dir / "config.yaml");
  try {
    Trainer t(c, dir, TrainerOptions{true, true});
    t.run();
    FAIL() << "expected divergence";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("training diverged at step"), std::string::npos) << m;
    EXPECT_NE(m.find("step_00000002.ckpt"), std::string::npos) << m;
  }
  EXPECT_EQ(read_file(checkpoint_path(dir, 2)), before);
  EXPECT_NO_THROW(load_checkpoint(checkpoint_path(dir, 2)));
  EXPECT_EQ(list_checkpoints(dir).size(), 2u);  // steps 1 and 2, nothing written after the divergence
}

TEST(Trainer, RefusesToOverwriteAnExistingRun) {
  auto dir = test::temp_dir("twice");
  Config c = gaussian_config();
  c.set("train.max_steps", "1");
  Trainer(c, dir, TrainerOptions{false, true}).run();
  try {
    Trainer t(c, dir, TrainerOptions{false, true});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already holds a run"), std::string::npos) << e.what();
  }
}

TEST(Trainer, EmaPairsEveryWeightWithItsOwnInTheFlatAndThePerParameterUpdate) {
  // decay 0: the average must equal G exactly after every step; decay 1: it must keep G's initial weights. Run for
  // G under the flat Adam (one lerp over one buffer) and under torch's Adam (one lerp per parameter), in the standard
  // and the channels-last layout, where a mis-paired element would show.
  for (const char* flat : {"true", "false"})
    for (const char* cl : {"false", "true"})
      for (const char* decay : {"0", "1"}) {
        Config c;
        for (auto kv : {"threads=1", "data.resolution=16", "data.limit=64", "model.z_dim=8", "model.g_channels=8",
                        "model.d_channels=8", "train.batch_size=16", "train.max_steps=3", "log.every=3",
                        "log.sample_every=0", "log.checkpoint_every=0", "ema.enabled=true"})
          c.apply_override(kv);
        c.set("optim.flat", flat);
        c.set("model.channels_last", cl);
        c.set("ema.decay", decay);
        const std::string what = fmt::format("flat {} channels_last {} decay {}", flat, cl, decay);
        Trainer t(c, test::temp_dir(fmt::format("ema_{}_{}_{}", flat, cl, decay)), TrainerOptions{false, true});
        std::vector<torch::Tensor> initial;
        for (auto& p : t.task().generator()->parameters()) initial.push_back(p.detach().clone());
        t.run();
        const auto g = t.task().generator()->parameters(), ema = t.ema_generator()->parameters();
        ASSERT_EQ(g.size(), ema.size()) << what;
        // Which update ran: one lerp when both lie in one buffer each.
        EXPECT_EQ(flat_view(g).defined(), std::string(flat) == "true") << what;
        EXPECT_TRUE(flat_view(ema).defined()) << what;
        for (size_t i = 0; i < g.size(); ++i) {
          const auto& expected = std::string(decay) == "0" ? g[i] : initial[i];
          EXPECT_TRUE(torch::equal(ema[i], expected)) << what << ", parameter " << i;
        }
        EXPECT_FALSE(torch::equal(g[0], initial[0])) << what << ": G did not train";
      }
}
