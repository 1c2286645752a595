#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "ganpp/apps/evaluate.h"
#include "ganpp/core/config.h"
#include "ganpp/core/error.h"
#include "ganpp/io/image.h"
#include "ganpp/io/npz.h"
#include "ganpp/metrics/features.h"
#include "ganpp/train/run.h"
#include "test_util.h"

using namespace ganpp;
using test::q;
using ganpp::test::run_cli;
namespace fs = std::filesystem;

namespace {
}  // namespace

// One evaluator (tiny training budget) serves the whole eval pipeline: evaluator -> run -> eval -> saved features,
// and the saved features reproduce FID/KID/PRDC through the independent numpy/scipy reference.
TEST(Eval, EvaluatorTrainingEvalCliAndIndependentRecomputation) {
  auto d = test::temp_dir("eval");
  setenv("GANPP_CACHE", (d / "cache").c_str(), 1);  // inherited by the CLI
  std::string out;
  ASSERT_EQ(run_cli("evaluator train --dataset fashion-mnist --limit 2000 --epochs 3 --threads 2 --out " + q(d / "ev.ganpp"), &out), 0) << out;
  EXPECT_NE(out.find("test accuracy"), std::string::npos) << out;
  auto fx = create_feature_extractor("evaluator:" + (d / "ev.ganpp").string());
  EXPECT_NE(fx->describe().find("fashion-mnist"), std::string::npos);
  // Far better than chance (10 %) after three epochs on 2,000 images.
  double acc = std::stod(out.substr(out.find("test accuracy") + 14));
  EXPECT_GT(acc, 50.0) << out;

  std::ofstream(d / "tiny.yaml") << "seed: 1\nthreads: 2\ndata:\n  resolution: 28\n  limit: 256\nmodel:\n  z_dim: 16\n"
                                    "  g_channels: 8\n  d_channels: 8\ntrain:\n  batch_size: 32\n  max_steps: 6\n"
                                    "log:\n  every: 3\n  sample_every: 0\n  checkpoint_every: 0\n"
                                    "eval:\n  every: 3\n  n: 200\n  features: evaluator:" + (d / "ev.ganpp").string() + "\n";
  ASSERT_EQ(run_cli("train -q --config " + q(d / "tiny.yaml") + " --out " + q(d / "run"), &out), 0) << out;
  // Training-time metrics are logged and the best checkpoint is kept.
  std::ifstream m(d / "run/metrics.jsonl");
  int with_fid = 0;
  for (std::string line; std::getline(m, line);) {
    auto j = nlohmann::json::parse(line);
    with_fid += j.contains("fid");
    if (j.contains("fid")) {
      EXPECT_TRUE(j.contains("class_entropy"));
      EXPECT_GE(j["class_entropy"].get<double>(), 0.0);
      EXPECT_LE(j["class_entropy"].get<double>(), 1.0 + 1e-9);
    }
  }
  EXPECT_EQ(with_fid, 2);
  EXPECT_TRUE(fs::exists(d / "run/checkpoints/best.ckpt"));
  EXPECT_TRUE(fs::exists(d / "run/plots/fid.png"));

  ASSERT_EQ(run_cli("eval --real fashion-mnist --fake " + q(d / "run") + " --features evaluator:" + (d / "ev.ganpp").string() +
                        " --n 300 --json --save-features " + q(d / "f.npz"),
                    &out),
            0)
      << out;
  auto j = nlohmann::json::parse(out.substr(out.find('{')));
  EXPECT_FALSE(j.contains("real_cache"));  // first time: computed
  std::string out2;
  ASSERT_EQ(run_cli("eval --real fashion-mnist --fake " + q(d / "run") + " --features evaluator:" + (d / "ev.ganpp").string() +
                        " --n 300 --json --metrics fid",
                    &out2),
            0)
      << out2;
  auto j2 = nlohmann::json::parse(out2.substr(out2.find('{')));
  EXPECT_TRUE(j2.contains("real_cache"));  // second time: the cached real features
  EXPECT_NEAR(j2["fid"].get<double>(), j["fid"].get<double>(), 1e-9 * j["fid"].get<double>());  // summation order only
  EXPECT_EQ(j["real"]["samples"].get<int64_t>(), 300);
  EXPECT_EQ(j["fake"]["samples"].get<int64_t>(), 300);
  EXPECT_NE(j["features"].get<std::string>().find("ganpp evaluator"), std::string::npos);
  for (auto k : {"fid", "kid", "is", "precision", "recall", "density", "coverage"}) EXPECT_TRUE(j.contains(k)) << k;
  auto f = load_npz(d / "f.npz");
  EXPECT_EQ(f["real"].sizes(), (std::vector<int64_t>{300, 128}));
  EXPECT_EQ(f["fake"].sizes(), (std::vector<int64_t>{300, 128}));
  std::string py = std::string(test::system_python()) + " " + GANPP_SOURCE_DIR + "/tests/reference/metrics_reference.py --features " +
                   (d / "f.npz").string() + " --out " + (d / "ref.json").string() + " --metrics fid,prdc > /dev/null 2>&1";
  ASSERT_EQ(std::system(py.c_str()), 0);
  auto ref = nlohmann::json::parse(read_file(d / "ref.json"));
  EXPECT_NEAR(j["fid"].get<double>() / ref["fid"].get<double>(), 1.0, 1e-6);
  EXPECT_DOUBLE_EQ(j["precision"].get<double>(), ref["precision"].get<double>());
  EXPECT_DOUBLE_EQ(j["coverage"].get<double>(), ref["coverage"].get<double>());
}

TEST(Eval, BadInputsAreClearErrors) {
  auto d = test::temp_dir("eval_bad");
  fs::create_directories(d / "mixed");
  Image a{8, 8, 1, std::vector<uint8_t>(64, 0)}, b{9, 8, 1, std::vector<uint8_t>(72, 0)};
  write_png(d / "mixed/a.png", a);
  write_png(d / "mixed/b.png", b);
  try {
    ImageSource{(d / "mixed").string()}.for_each_batch(10, 4, [](const torch::Tensor&, const torch::Tensor&) {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs images of one size and channel count"), std::string::npos) << e.what();
  }
  std::string out;
  EXPECT_EQ(run_cli("eval --real " + q(d / "mixed") + " --fake " + q(d / "mixed") + " --features evaluator:" +
                        q(d / "none.ganpp"),
                    &out),
            1);
  EXPECT_NE(out.find("not found"), std::string::npos) << out;
  EXPECT_EQ(run_cli("eval --real " + q(d / "mixed") + " --fake " + q(d / "mixed") + " --features inception:" + q(d / "w.npz"), &out), 1);
  EXPECT_NE(out.find("pt_inception-2015-12-05"), std::string::npos) << out;
  EXPECT_EQ(run_cli("eval --real nosuch --fake " + q(d / "mixed") + " --features bogus", &out), 1);
  EXPECT_NE(out.find("--features 'bogus'"), std::string::npos) << out;
}

// NVIDIA's TorchScript Inception cannot be downloaded here, so a TorchScript module with the same calling convention
// (tests/reference/torchscript_detector.py: uint8 [N,3,H,W] in, features out; it asserts the dtype) stands in: ganpp
// loads it with torch::jit::load, and Python recomputes the features of the same PNG files independently.
TEST(Eval, TorchScriptDetectorPathMatchesPython) {
  auto d = test::temp_dir("eval_ts");
  const std::string py = test::system_python();
  const std::string script = std::string(GANPP_SOURCE_DIR) + "/tests/reference/torchscript_detector.py";
  ASSERT_EQ(std::system((py + " " + script + " make " + q(d / "det.pt")).c_str()), 0);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  fs::create_directories(d / "real");
  fs::create_directories(d / "fake");
  auto img = [&](int64_t c, int64_t s) { return tensor_to_image(torch::randint(0, 256, {c, s, s}, gen).to(torch::kByte)); };
  for (int i = 0; i < 5; ++i) write_png(d / "real" / (std::to_string(10 + i) + ".png"), img(1, 28));  // grey
  for (int i = 0; i < 6; ++i) write_png(d / "fake" / (std::to_string(10 + i) + ".png"), img(3, 32));  // RGB
  std::string out;
  ASSERT_EQ(run_cli("eval --real " + q(d / "real") + " --fake " + q(d / "fake") + " --features inception-ts:" +
                        q(d / "det.pt") + " --metrics fid --save-features " + q(d / "f.npz"),
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("TorchScript"), std::string::npos) << out;
  auto a = load_npz(d / "f.npz");
  EXPECT_EQ(a["real"].sizes(), (std::vector<int64_t>{5, 64}));
  EXPECT_EQ(a["fake"].sizes(), (std::vector<int64_t>{6, 64}));
  std::string check = py + " " + script + " check " + q(d / "det.pt") + " " + q(d / "real") + " " + q(d / "fake") +
                      " " + q(d / "f.npz") + " 2>&1";
  FILE* p = popen(check.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[512];
  std::string log;
  while (fgets(buf, sizeof buf, p)) log += buf;
  EXPECT_EQ(pclose(p), 0) << log;
  // A module that is not TorchScript: one clear error naming the file.
  std::ofstream(d / "bad.pt") << "not a module";
  EXPECT_EQ(run_cli("eval --real " + q(d / "real") + " --fake " + q(d / "fake") + " --features inception-ts:" +
                        q(d / "bad.pt"),
                    &out),
            1);
  EXPECT_NE(out.find("is not a loadable TorchScript module"), std::string::npos) << out;
}
