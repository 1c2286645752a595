#include <gtest/gtest.h>

#include <fstream>

#include "ganpp/core/error.h"
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
