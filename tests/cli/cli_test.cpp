#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "ganpp/core/config.h"
#include "ganpp/io/archive.h"
#include "ganpp/io/image.h"
#include "ganpp/models/gan.h"
#include "ganpp/train/run.h"
#include "test_util.h"

using namespace ganpp;
using test::q;
using ganpp::test::run_cli;
namespace fs = std::filesystem;

namespace {

// A tiny DCGAN on the first 256 Fashion-MNIST images: real code paths, seconds of compute.
fs::path tiny_config(const fs::path& dir, const std::string& extra = "") {
  fs::path p = dir / "tiny.yaml";
  std::ofstream(p) << "seed: 3\nthreads: 1\n"
                      "data:\n  dataset: fashion-mnist\n  resolution: 28\n  limit: 256\n  hflip: 0.5\n  translate: 0.3\n"
                      "model:\n  name: dcgan\n  z_dim: 16\n  g_channels: 8\n  d_channels: 8\n"
                      "train:\n  batch_size: 16\n  max_steps: 8\n"
                      "ema:\n  enabled: true\n  decay: 0.9\n"
                      "log:\n  every: 2\n  sample_every: 4\n  checkpoint_every: 4\n  samples: 16\n"
                   << extra;
  return p;
}


}  // namespace

TEST(Cli, HelpListsEverySubcommand) {
  std::string out;
  ASSERT_EQ(run_cli("--help", &out), 0) << out;
  for (auto c : {"train", "resume", "sample", "export", "config", "eval", "evaluator", "inspect"}) EXPECT_NE(out.find(c), std::string::npos) << c;
  ASSERT_EQ(run_cli("train --help", &out), 0) << out;
  for (auto f : {"--config", "--out", "--set", "--max-steps", "--max-minutes", "--threads"})
    EXPECT_NE(out.find(f), std::string::npos) << f;
  ASSERT_EQ(run_cli("sample --help", &out), 0) << out;
  EXPECT_NE(out.find("--seed"), std::string::npos);
  ASSERT_EQ(run_cli("config --list", &out), 0) << out;
  EXPECT_NE(out.find("train.batch_size"), std::string::npos);
  EXPECT_NE(run_cli("", &out), 0);
}

TEST(Cli, TrainWritesACompleteRunFolderThenSamplesAndExports) {
  auto d = test::temp_dir("cli_train");
  auto run = d / "run";
  std::string out;
  ASSERT_EQ(run_cli("train --config " + q(tiny_config(d)) + " --out " + q(run), &out), 0) << out;
  // Plain progress lines when stderr is not a terminal.
  EXPECT_NE(out.find("step 8/8"), std::string::npos) << out;
  EXPECT_NE(out.find("it/s"), std::string::npos) << out;
  EXPECT_NE(out.find("ETA"), std::string::npos) << out;
  for (auto f : {"config.yaml", "metrics.jsonl", "model_card.md", "plots/losses.png", "plots/grad_norms.png",
                 "samples/step_00000004.png", "samples/step_00000008.png", "checkpoints/step_00000004.ckpt",
                 "checkpoints/step_00000008.ckpt"})
    EXPECT_TRUE(fs::exists(run / f)) << f;
  // The effective config is complete and loads back.
  Config eff = Config::from_yaml_file(run / "config.yaml");
  EXPECT_EQ(eff.get_int("model.g_channels"), 8);
  EXPECT_EQ(eff.get_int("train.max_steps"), 8);
  EXPECT_EQ(eff.get_str("loss.name"), "ns");
  // metrics.jsonl: one JSON object per log step with the required fields.
  std::ifstream m(run / "metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(m, line); ++lines) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["step"].get<int>(), 2 * (lines + 1));
    for (auto k : {"loss_d", "loss_g", "d_real", "d_fake", "p_real", "p_fake", "grad_norm_d", "grad_norm_g", "it_per_s",
                   "wall_s"})
      EXPECT_TRUE(j.contains(k) && j[k].is_number()) << k << " in " << line;
  }
  EXPECT_EQ(lines, 4);
  Image grid = decode_image(run / "samples/step_00000008.png");
  EXPECT_EQ(grid.width, 4 * 30 + 2);  // 16 samples, 4 per row, 28 px + 2 px padding

  ASSERT_EQ(run_cli("sample --run " + q(run) + " --n 5 --out " + q(d / "s"), &out), 0) << out;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(fs::exists(d / "s" / ("sample_00000" + std::to_string(i) + ".png")));
  EXPECT_FALSE(fs::exists(d / "s" / "sample_000005.png"));
  Image one = decode_image(d / "s" / "sample_000000.png");
  EXPECT_EQ(one.width, 28);
  EXPECT_EQ(one.channels, 1);
  ASSERT_EQ(run_cli("sample --run " + q(run) + " --n 9 --seed 4 --out " + q(d / "g1.png"), &out), 0) << out;
  ASSERT_EQ(run_cli("sample --run " + q(run) + " --n 9 --seed 4 --out " + q(d / "g2.png"), &out), 0) << out;
  ASSERT_EQ(run_cli("sample --run " + q(run) + " --n 9 --seed 5 --out " + q(d / "g3.png"), &out), 0) << out;
  EXPECT_EQ(read_file(d / "g1.png"), read_file(d / "g2.png"));  // same seed, same samples
  EXPECT_NE(read_file(d / "g1.png"), read_file(d / "g3.png"));

  // Export to TorchScript and run it in Python (Debian's python3-torch): same output as ganpp's generator.
  ASSERT_EQ(run_cli("export --run " + q(run) + " --out " + q(d / "g.pt"), &out), 0) << out;
  LoadedGenerator lg = load_generator(run);
  EXPECT_TRUE(lg.ema);
  torch::NoGradGuard ng;
  auto z = torch::randn({6, lg.g->z_dim()});
  auto want = lg.g->forward(z).contiguous();
  std::ofstream(d / "z.bin", std::ios::binary).write(static_cast<const char*>(z.data_ptr()), z.numel() * 4);
  std::ofstream(d / "want.bin", std::ios::binary).write(static_cast<const char*>(want.data_ptr()), want.numel() * 4);
  std::string py = std::string(test::system_python()) + " -c \"import numpy as np, torch; m = torch.jit.load('" +
                   (d / "g.pt").string() + "'); z = torch.from_numpy(np.fromfile('" + (d / "z.bin").string() +
                   "', dtype=np.float32).reshape(6, -1)); y = m(z).detach().numpy(); w = np.fromfile('" +
                   (d / "want.bin").string() +
                   "', dtype=np.float32).reshape(y.shape); print('shape', tuple(y.shape), 'maxdiff', "
                   "float(abs(y - w).max())); assert abs(y - w).max() < 1e-5\" 2>&1";
  FILE* p = popen(py.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  std::string pyout;
  while (fgets(buf, sizeof buf, p)) pyout += buf;
  EXPECT_EQ(pclose(p), 0) << pyout;
  EXPECT_NE(pyout.find("shape (6, 1, 28, 28)"), std::string::npos) << pyout;
}

TEST(Cli, ResumeIsBitExact) {
  // Plain DCGAN + EMA, and a run with every stateful technique: ADA (p and its accumulator), lazy R1, packing,
  // spectral norm (power-iteration vectors), minibatch stddev, instance-noise annealing.
  const std::vector<std::string> extras = {
      "",
      " --set loss.name=hinge --set loss.r1=1 --set loss.reg_every=3 --set loss.instance_noise=0.1"
      " --set loss.instance_noise_steps=6 --set augment.policy=color,translation,cutout --set augment.ada=true"
      " --set augment.p=0.2 --set augment.ada_interval=2 --set augment.ada_kimg=0.5 --set train.pack=2"
      " --set model.spectral_norm=d --set model.mbstd_group=4 --set model.d_batchnorm=false",
      // WGAN-GP with its default penalty weight (a resumed run once trained without the penalty).
      " --set loss.name=wgan-gp --set model.d_batchnorm=false",
      // Class-conditional (the fake labels come from the noise stream) with an AC-GAN D.
      " --set model.conditional=acgan",
      // Progressive growing, split mid-fade: phase 1 (steps 3-5) fades 8x8 in, the checkpoint at step 4 has alpha 1/3.
      " --set model.name=progan --set data.resolution=16 --set model.grow_steps=3 --set loss.name=wgan-gp"
      " --set loss.drift=0.001 --set model.mbstd_group=4 --set optim.beta1=0 --set optim.beta2=0.99",
      // SNGAN ResNet with self-attention and a projection D.
      " --set model.name=resnet --set model.spectral_norm=d --set model.attention=14 --set model.conditional=projection"
      " --set loss.name=hinge",
      // Channels-last weights and images with bfloat16 autocast (checkpoints hold standard-layout float32 copies).
      " --set model.channels_last=true --set train.amp=bf16"};
  for (size_t k = 0; k < extras.size(); ++k) {
    auto d = test::temp_dir("cli_resume" + std::to_string(k));
    auto cfg = tiny_config(d);
    const std::string& sets = extras[k];
    std::string out;
    ASSERT_EQ(run_cli("train -q --config " + q(cfg) + " --out " + q(d / "straight") + sets, &out), 0) << out;
    ASSERT_EQ(run_cli("train -q --config " + q(cfg) + " --out " + q(d / "split") + " --max-steps 4" + sets, &out), 0) << out;
    ASSERT_EQ(run_cli("resume -q --run " + q(d / "split") + " --max-steps 8", &out), 0) << out;
    Archive a = load_archive(d / "straight/checkpoints/step_00000008.ckpt");
    Archive b = load_archive(d / "split/checkpoints/step_00000008.ckpt");
    ASSERT_EQ(a.tensors.size(), b.tensors.size());
    int compared = 0;
    for (auto& [key, v] : a.tensors) {
      ASSERT_TRUE(b.tensors.count(key)) << key;
      EXPECT_TRUE(torch::equal(v, b.tensors[key])) << key << " differs after resume (case " << k << ")";
      compared += key.rfind("G/", 0) == 0 || key.rfind("D/", 0) == 0 || key.rfind("opt/", 0) == 0 || key.rfind("G_ema/", 0) == 0;
    }
    EXPECT_GT(compared, 20);
    EXPECT_EQ(a.meta["epoch"], b.meta["epoch"]);
    EXPECT_EQ(a.meta["pos"], b.meta["pos"]);
    if (k == 1) {
      auto ada = b.tensors.at("task/ada");
      EXPECT_NE(ada[0].item<double>(), 0.2) << "ADA p should have moved";
      EXPECT_TRUE(b.tensors.count("D/net.0.u")) << "spectral norm state is checkpointed";
    }
    if (k == 4) {  // the checkpoint at step 4 is mid-fade: it holds the stage of the last step trained (index 3:
                   // level 1, alpha 0); the resumed steps 4 and 5 fade on with alpha 1/3 and 2/3
      Archive mid = load_archive(d / "split/checkpoints/step_00000004.ckpt");
      auto it = std::find_if(mid.tensors.begin(), mid.tensors.end(),
                             [](auto& kv) { return kv.first.rfind("G/", 0) == 0 && kv.first.find("growth") != std::string::npos; });
      ASSERT_NE(it, mid.tensors.end());
      EXPECT_EQ(it->second[0].item<double>(), 1.0);
      EXPECT_EQ(it->second[1].item<double>(), 0.0);
      std::ifstream ml(d / "split/metrics.jsonl");
      std::vector<double> alphas;
      for (std::string line; std::getline(ml, line);) alphas.push_back(nlohmann::json::parse(line)["grow_alpha"].get<double>());
      ASSERT_EQ(alphas.size(), 4u);  // logged at steps 2, 4, 6, 8 (step indices 1, 3, 5, 7)
      EXPECT_EQ(alphas[0], 1.0);
      EXPECT_EQ(alphas[1], 0.0);
      EXPECT_NEAR(alphas[2], 2.0 / 3.0, 1e-12);
      EXPECT_EQ(alphas[3], 1.0);
    }
    // The resumed run's metrics carry on from the checkpoint: steps 2,4 then 6,8.
    std::ifstream m(d / "split/metrics.jsonl");
    std::vector<int> steps;
    for (std::string line; std::getline(m, line);) steps.push_back(nlohmann::json::parse(line)["step"].get<int>());
    EXPECT_EQ(steps, (std::vector<int>{2, 4, 6, 8}));
  }
}

TEST(Cli, ConditionalRunSamplesARequestedClassAndEvalReportsClassAccuracy) {
  auto d = test::temp_dir("cli_cond");
  std::string out;
  ASSERT_EQ(run_cli("train -q --config " + q(tiny_config(d)) + " --out " + q(d / "r") + " --set model.conditional=projection", &out), 0) << out;
  // A grid of 10 columns (one per class) from training, and one class on request by name or index.
  Image grid = decode_image(d / "r/samples/step_00000008.png");
  EXPECT_EQ(grid.width, 10 * (28 + 2) + 2);
  ASSERT_EQ(run_cli("sample --run " + q(d / "r") + " --class Sneaker --n 6 --out " + q(d / "s.png"), &out), 0) << out;
  ASSERT_EQ(run_cli("sample --run " + q(d / "r") + " --class 7 --n 6 --out " + q(d / "s7.png"), &out), 0) << out;
  EXPECT_EQ(read_file(d / "s.png"), read_file(d / "s7.png"));  // the same class, noise and weights
  EXPECT_EQ(run_cli("sample --run " + q(d / "r") + " --class Hat --out " + q(d / "x.png"), &out), 1);
  EXPECT_NE(out.find("--class 'Hat': expected a class name or an index 0..9"), std::string::npos) << out;
  EXPECT_NE(out.find("7=Sneaker"), std::string::npos) << out;
  ASSERT_EQ(run_cli("interpolate --run " + q(d / "r") + " --classes Sneaker,Bag --rows 2 --steps 5 --out " + q(d / "ci.png"), &out), 0) << out;
  EXPECT_EQ(decode_image(d / "ci.png").width, 5 * (28 + 2) + 2);
  ASSERT_EQ(run_cli("eval --real fashion-mnist --fake " + q(d / "r") + " --features fashion --metrics fid --n 200 --json --no-cache", &out), 0) << out;
  auto j = nlohmann::json::parse(out.substr(out.find('{')));
  ASSERT_TRUE(j.contains("class_accuracy")) << out;
  EXPECT_GE(j["class_accuracy"].get<double>(), 0.0);
  EXPECT_LE(j["class_accuracy"].get<double>(), 1.0);
  ASSERT_TRUE(j.contains("per_class"));
  EXPECT_EQ(j["per_class"].size(), 10u);
  EXPECT_TRUE(j["per_class"]["3"].contains("fid"));
  // An unconditional run refuses --class.
  ASSERT_EQ(run_cli("train -q --config " + q(tiny_config(d)) + " --out " + q(d / "u") + " --max-steps 2", &out), 0) << out;
  EXPECT_EQ(run_cli("sample --run " + q(d / "u") + " --class 1 --out " + q(d / "u.png"), &out), 1);
  EXPECT_NE(out.find("is unconditional"), std::string::npos) << out;
}

TEST(Cli, EveryPresetLoads) {
  int n = 0;
  for (auto& e : fs::directory_iterator(fs::path(GANPP_SOURCE_DIR) / "configs")) {
    if (e.path().extension() != ".yaml") continue;
    std::string out;
    EXPECT_EQ(run_cli("config --config " + q(e.path()), &out), 0) << e.path() << ": " << out;
    ++n;
  }
  EXPECT_GE(n, 9);
}

TEST(Cli, TimeLimitStopsCleanlyWithACheckpoint) {
  auto d = test::temp_dir("cli_time");
  std::string out;
  ASSERT_EQ(run_cli("train -q --config " + q(tiny_config(d)) + " --out " + q(d / "r") +
                        " --max-steps 100000 --max-minutes 0.02 --set log.checkpoint_every=0",
                    &out),
            0)
      << out;
  auto ck = list_checkpoints(d / "r");
  ASSERT_EQ(ck.size(), 1u);
  Archive a = load_checkpoint(ck[0]);
  EXPECT_GT(a.meta["step"].get<int>(), 0);
  EXPECT_LT(a.meta["step"].get<int>(), 100000);
  EXPECT_NE(read_file(d / "r" / "model_card.md").find("reached train.max_minutes"), std::string::npos);
}

TEST(Cli, InterpolateWritesOneStripPerRow) {
  auto d = test::temp_dir("cli_interp");
  std::string out;
  ASSERT_EQ(run_cli("train -q --config " + q(tiny_config(d)) + " --out " + q(d / "r") + " --max-steps 4", &out), 0) << out;
  for (auto mode : {"lerp", "slerp"}) {
    fs::path png = d / (std::string(mode) + ".png");
    ASSERT_EQ(run_cli("interpolate --run " + q(d / "r") + " --rows 3 --steps 6 --mode " + mode + " --out " + q(png), &out), 0) << out;
    Image img = decode_image(png);
    EXPECT_EQ(img.width, 6 * (28 + 2) + 2);  // make_grid: 2-pixel padding around 28x28 images
    EXPECT_EQ(img.height, 3 * (28 + 2) + 2);
  }
  EXPECT_EQ(run_cli("interpolate --run " + q(d / "r") + " --mode cubic --out " + q(d / "x.png"), &out), 1);
  EXPECT_NE(out.find("interpolation 'cubic': expected lerp or slerp"), std::string::npos) << out;
}

TEST(Cli, BadInputsGiveOneClearErrorAndNonZeroExit) {
  auto d = test::temp_dir("cli_bad");
  auto cfg = tiny_config(d);
  struct Case {
    std::string args, expect;
  };
  std::ofstream(d / "typo.yaml") << "model:\n  g_chanels: 8\n";
  std::ofstream(d / "bad.idx") << "not an idx file at all";
  fs::create_directories(d / "empty");
  const fs::path hostile = fs::path(GANPP_SOURCE_DIR) / "tests/fuzz_regressions";  // hand-made hostile headers
  std::vector<Case> cases = {
      {"train --config " + q(d / "typo.yaml"), "unknown config key 'model.g_chanels'"},
      {"train --config " + q(cfg) + " --set train.batch_size=abc", "'train.batch_size' = 'abc' (in --set): expected an integer"},
      {"train --config " + q(cfg) + " --set data.path=/nonexistent/fm", "apt-get install dataset-fashion-mnist"},
      {"train --config " + q(cfg) + " --set data.dataset=idx --set data.path=" + q(d / "bad.idx"), "is not an IDX file"},
      {"train --config " + q(cfg) + " --set data.dataset=image-folder --set data.path=" + q(d / "empty"), "holds no images"},
      {"train --config " + q(d / "missing.yaml"), "config file"},
      {"resume --run " + q(d / "norun"), "does not exist"},
      {"sample --run " + q(d / "empty") + " --n 4 --out " + q(d / "x.png"), "has no checkpoints"},
      {"train --config " + q(cfg) + " --set train.on_divergence=maybe", "'train.on_divergence' = 'maybe' (in --set): expected one of: stop, rollback"},
      {"train --config " + q(cfg) + " --set train.rollback_lr_scale=1.5", "'train.rollback_lr_scale' = '1.5' (in --set): expected a number in [1e-06, 1]"},
      {"inspect " + q(d / "none.ckpt"), "file '" + (d / "none.ckpt").string() + "' does not exist"},
      {"inspect " + q(hostile / "archive/bad-header-length-2pow63.ckpt"), "header length 9223372036854775808 exceeds the file"},
      {"inspect " + q(hostile / "archive/bad-tensor-claims-1TiB.ckpt"), "tensor 'net/weight' lies outside the payload"},
      {"inspect " + q(hostile / "archive/bad-negative-shape.ckpt"), "tensor 'net/weight' has an invalid shape"},
      {"train --config " + q(cfg) + " --set data.dataset=idx --set data.path=" + q(hostile / "idx/bad-dims-claim-1TiB.idx"),
       "is truncated: header declares 1099511627776 data bytes, file has 8"},
      {"train --config " + q(hostile / "yaml/bad-nested-30000.yaml"), "bad-nested-30000.yaml: not valid YAML"},
      {"train --config " + q(hostile / "yaml/bad-key-is-a-mapping.yaml"), "a key must be a plain name, got a mapping"},
      {"train --config " + q(cfg) + " --set data.crops_per_image=4", "data.crops_per_image=4 applies to data.dataset=image-folder"},
      {"train --config " + q(cfg) + " --set data.dataset=gaussian --set model.name=mlp --set data.balance_classes=true",
       "data.balance_classes: dataset 'gaussian' has no class labels"},
      {"train --config " + q(cfg) + " --set data.dataset=image-folder --set data.path=" + q(d / "pnm16"), "16-bit PNM (maximum value 2255) is not supported"},
      {"eval --real " + q(hostile / "npz/bad-deflate-claims-2GiB-from-tiny-entry.npz") + " --fake " + q(d / "empty") + " --metrics fid",
       "more than deflate can produce"},
      {"train --config " + q(cfg) + " --set train.amp=half", "'train.amp' = 'half' (in --set): expected one of: none, bf16, fp16"},
  };
  if (!torch::cuda::is_available())
    cases.push_back({"train --config " + q(cfg) + " --device cuda", "device 'cuda': no CUDA device is usable"});
  fs::create_directories(d / "pnm16");
  fs::copy_file(hostile / "image/bad-pnm-16bit-truncated.ppm", d / "pnm16" / "a.ppm");
  for (auto& c : cases) {
    std::string out;
    EXPECT_EQ(run_cli(c.args, &out), 1) << c.args << "\n" << out;
    EXPECT_NE(out.find(c.expect), std::string::npos) << c.args << "\n" << out;
    EXPECT_EQ(out.rfind("ganpp: error: ", 0), 0u) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << "one line: " << out;
  }
}

TEST(Cli, CorruptOrTruncatedCheckpointIsRefused) {
  auto d = test::temp_dir("cli_corrupt");
  std::string out;
  ASSERT_EQ(run_cli("train -q --config " + q(tiny_config(d)) + " --out " + q(d / "r") + " --max-steps 4", &out), 0) << out;
  fs::path ck = d / "r/checkpoints/step_00000004.ckpt";
  std::string good = read_file(ck);
  std::string bad = good;
  bad[bad.size() / 2] ^= 0x10;
  write_file_atomic(ck, bad);
  EXPECT_EQ(run_cli("resume --run " + q(d / "r") + " --max-steps 8", &out), 1) << out;
  EXPECT_NE(out.find("checksum mismatch"), std::string::npos) << out;
  EXPECT_NE(out.find("step_00000004.ckpt"), std::string::npos) << out;
  write_file_atomic(ck, good.substr(0, good.size() - 100));
  EXPECT_EQ(run_cli("sample --run " + q(d / "r") + " --n 2 --out " + q(d / "s.png"), &out), 1) << out;
  EXPECT_NE(out.find("truncated"), std::string::npos) << out;
  // Nothing was written over the refused checkpoint.
  EXPECT_EQ(read_file(ck), good.substr(0, good.size() - 100));
}
