// Data-parallel training on c10d/Gloo with real worker processes on loopback: N workers with the global batch split
// evenly train the same weights as one process with the whole batch; resume works at another world size; a killed
// worker stops the others with a clear error (no hang) and the run resumes from its last checkpoint.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cmath>
#include <fstream>
#include <map>

#include "ganpp/core/distributed.h"
#include "ganpp/io/archive.h"
#include "ganpp/train/run.h"
#include "test_util.h"

using namespace ganpp;
using test::q;
using test::run_cli;
namespace fs = std::filesystem;

namespace {

fs::path tiny_config(const fs::path& dir) {
  fs::path p = dir / "tiny.yaml";
  std::ofstream(p) << "seed: 5\nthreads: 1\n"
                      "data:\n  dataset: fashion-mnist\n  resolution: 16\n  limit: 256\n  hflip: 0.5\n  prefetch: 0\n"
                      "model:\n  name: dcgan\n  z_dim: 16\n  g_channels: 8\n  d_channels: 8\n"
                      "train:\n  batch_size: 16\n  max_steps: 6\n"
                      "ema:\n  enabled: true\n  decay: 0.9\n"
                      "log:\n  every: 2\n  sample_every: 0\n  checkpoint_every: 3\n  samples: 16\n";
  return p;
}

// Largest relative difference ||a - b|| / ||b|| over the G, D and EMA tensors of two checkpoints; `per_network`
// (optional) receives the largest over the three networks taken as one vector each.
double max_relative_difference(const fs::path& a_path, const fs::path& b_path, int* compared,
                               double* per_network = nullptr) {
  Archive a = load_archive(a_path), b = load_archive(b_path);
  double worst = 0;
  *compared = 0;
  std::map<std::string, std::pair<double, double>> net;  // prefix -> (sum of squared differences, squared norm)
  for (auto& [key, va] : a.tensors) {
    const std::string prefix = key.substr(0, key.find('/') + 1);
    if (prefix != "G/" && prefix != "D/" && prefix != "G_ema/") continue;
    auto it = b.tensors.find(key);
    EXPECT_NE(it, b.tensors.end()) << key;
    if (it == b.tensors.end() || !va.is_floating_point()) continue;
    auto x = va.to(torch::kDouble), y = it->second.to(torch::kDouble);
    const double diff = (x - y).norm().item<double>(), norm = y.norm().item<double>();
    worst = std::max(worst, diff / std::max(norm, 1e-12));
    net[prefix].first += diff * diff;
    net[prefix].second += norm * norm;
    ++*compared;
  }
  if (per_network) {
    *per_network = 0;
    for (auto& [prefix, d] : net) *per_network = std::max(*per_network, std::sqrt(d.first / std::max(d.second, 1e-24)));
  }
  return worst;
}

}  // namespace

TEST(Distributed, TwoWorkersMatchOneProcessWithTheWholeBatch) {
  // DCGAN with batch norm in G and D (synchronised), and a WGAN-GP critic without BN (the penalty's interpolation
  // weights are drawn for the global batch), with DiffAugment and class conditioning on the second.
  // Gradients travel in buckets of 4 KiB (several per network, most started during the backward pass) in the
  // first case and of the default 1 MiB in the others; the third grows progressively (level 1 fades in at step 2),
  // with minibatch stddev in D (groups of 4 of each worker's 8 samples).
  const std::vector<std::string> cases = {
      " --set train.bucket_mb=0.004",
      " --set loss.name=wgan-gp --set model.d_batchnorm=false --set model.conditional=projection"
      " --set augment.policy=color,translation,cutout --set augment.p=0.5",
      " --set model.name=progan --set model.grow_steps=2 --set model.mbstd_group=4 --set loss.name=wgan-gp"
      " --set loss.drift=0.001 --set optim.beta1=0 --set optim.beta2=0.99",
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    auto d = test::temp_dir("dist_eq" + std::to_string(k));
    auto cfg = tiny_config(d);
    const std::string& sets = cases[k];
    std::string out;
    ASSERT_EQ(run_cli("train -q --config " + q(cfg) + " --out " + q(d / "one") + sets, &out), 0) << out;
    ASSERT_EQ(run_cli("train -q --config " + q(cfg) + " --out " + q(d / "two") + " --nproc 2" + sets, &out), 0) << out;
    int compared = 0;
    double rel_net = 1;
    const double rel = max_relative_difference(d / "two/checkpoints/step_00000006.ckpt",
                                               d / "one/checkpoints/step_00000006.ckpt", &compared, &rel_net);
    std::cout << "case " << k << ": largest relative weight difference after 6 steps, 2 workers vs 1 process: " << rel
              << " per tensor, " << rel_net << " per network\n";
    EXPECT_GT(compared, 10);
    EXPECT_LE(rel_net, 1e-5) << "case " << k;
    // Per tensor too, except for the progressive model: its zero-initialised biases are still ~1e-4 after 6 steps
    // (D's one output bias ~7e-4), where float32 summation-order noise alone reaches 1e-5 relative (measured with
    // and without minibatch stddev alike), while each network as a whole agrees to ~5e-9.
    if (k < 2) {
      EXPECT_LE(rel, 1e-5) << "case " << k;
    }
    // Rank 0 alone wrote the logs, with the workers' count and the time spent in collectives.
    std::ifstream m(d / "two/metrics.jsonl");
    int lines = 0;
    for (std::string line; std::getline(m, line);) {
      auto j = nlohmann::json::parse(line);
      EXPECT_EQ(j["workers"].get<int>(), 2);
      EXPECT_TRUE(j.contains("comm_ms_per_step"));
      ++lines;
    }
    EXPECT_EQ(lines, 3);
  }
}

TEST(Distributed, ResumeAtAnotherWorldSize) {
  auto d = test::temp_dir("dist_resume");
  auto cfg = tiny_config(d);
  std::string out;
  ASSERT_EQ(run_cli("train -q --config " + q(cfg) + " --out " + q(d / "straight"), &out), 0) << out;
  ASSERT_EQ(run_cli("train -q --config " + q(cfg) + " --out " + q(d / "split") + " --nproc 2 --max-steps 3", &out), 0) << out;
  ASSERT_EQ(run_cli("resume -q --run " + q(d / "split") + " --max-steps 6", &out), 0) << out;  // one process now
  int compared = 0;
  EXPECT_LE(max_relative_difference(d / "split/checkpoints/step_00000006.ckpt", d / "straight/checkpoints/step_00000006.ckpt",
                                    &compared),
            1e-5);
  EXPECT_GT(compared, 10);
}

TEST(Distributed, BadWorldSizeAndRendezvousAreClearErrors) {
  auto d = test::temp_dir("dist_bad");
  auto cfg = tiny_config(d);
  std::string out;
  EXPECT_EQ(run_cli("train -q --config " + q(cfg) + " --out " + q(d / "r") + " --nproc 3", &out), 1);
  EXPECT_NE(out.find("train.batch_size=16 is the global batch: it must be divisible by the 3 workers"), std::string::npos) << out;
  EXPECT_NE(out.find(" of 3 exited with code 1; the other workers were stopped"), std::string::npos) << out;
  EXPECT_EQ(run_cli("train -q --config " + q(cfg) + " --out " + q(d / "r2") + " --rdzv nohost", &out), 1);
  EXPECT_NE(out.find("--rdzv 'nohost': expected HOST:PORT"), std::string::npos) << out;
  EXPECT_EQ(run_cli("train -q --config " + q(cfg) + " --out " + q(d / "r3") + " --nproc 2 --set model.mbstd_group=16", &out), 1);
  EXPECT_NE(out.find("model.mbstd_group=16 does not divide each worker's D batch of 8"), std::string::npos) << out;
  // A worker whose peers never arrive gives up after GANPP_DIST_TIMEOUT seconds with the address it tried.
  const std::string env = "GANPP_DIST_TIMEOUT=2 RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=9 ";
  std::string cmd = env + std::string(GANPP_BIN) + " train -q --config " + q(cfg) + " --out " + q(d / "r4") + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string text;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) text.append(buf, n);
  EXPECT_NE(pclose(p), 0);
  EXPECT_NE(text.find("rank 1 of 2: cannot join the process group at 127.0.0.1:9"), std::string::npos) << text;
}

TEST(Distributed, AKilledWorkerStopsTheOthersAndTheRunResumes) {
  auto d = test::temp_dir("dist_kill");
  auto cfg = tiny_config(d);
  fs::path run = d / "r";
  // Start 2 workers for many steps; once a checkpoint exists, kill -9 rank 1; the launcher must report it and exit.
  fs::path script = d / "kill.sh";
  std::ofstream(script) << "set -u\n"
                        << GANPP_BIN << " train -q --config " << q(cfg) << " --out " << q(run)
                        << " --nproc 2 --max-steps 100000 --set log.checkpoint_every=5 > " << q(d / "log.txt") << " 2>&1 &\n"
                        << "launcher=$!\n"
                        << "for i in $(seq 600); do ls " << q(run / "checkpoints") << " 2>/dev/null | grep -q ckpt && break; sleep 0.1; done\n"
                        << "victim=$(pgrep -P $launcher | sort -n | tail -1)\n"
                        << "kill -9 $victim\n"
                        << "start=$(date +%s)\n"
                        << "wait $launcher; rc=$?\n"
                        << "echo \"rc=$rc seconds=$(( $(date +%s) - start ))\" >> " << q(d / "log.txt") << "\n";
  ASSERT_EQ(std::system(("bash " + q(script)).c_str()), 0);
  std::ifstream in(d / "log.txt");
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("rc=1"), std::string::npos) << log;
  EXPECT_NE(log.find("was killed by signal 9"), std::string::npos) << log;
  EXPECT_NE(log.find("ganpp resume --run DIR --nproc 2"), std::string::npos) << log;
  auto secs = std::atoi(log.substr(log.find("seconds=") + 8).c_str());
  EXPECT_LE(secs, 30) << log;  // stopped promptly, no hang
  // Every checkpoint left behind is complete; resuming all workers continues to the end.
  auto ck = list_checkpoints(run);
  ASSERT_FALSE(ck.empty());
  for (auto& c : ck) EXPECT_NO_THROW(load_checkpoint(c)) << c;
  const int64_t at = load_checkpoint(ck.back()).meta["step"].get<int64_t>();
  std::string out;
  ASSERT_EQ(run_cli("resume -q --run " + q(run) + " --nproc 2 --max-steps " + std::to_string(at + 4), &out), 0) << out;
  EXPECT_TRUE(fs::exists(checkpoint_path(run, at + 4)));
}

TEST(Distributed, GradientBucketsStartDuringBackwardAndLeaveUnusedParametersAlone) {
  // One rank (the mean over ranks is the gradient itself): the buckets must hand back exactly the gradients of a
  // plain backward pass, start their all-reduce before backward ends, and skip a parameter that got no gradient.
  DistOptions o;
  o.master_port = 0;  // any free port
  o.timeout_s = 20;
  auto pg = ProcessGroup::create(o);
  torch::manual_seed(3);
  torch::nn::Sequential net(torch::nn::Linear(16, 64), torch::nn::ReLU(), torch::nn::Linear(64, 64), torch::nn::ReLU(),
                            torch::nn::Linear(64, 1));
  torch::nn::Linear unused(4, 4);
  auto params = unused->parameters();  // first, so last in backward order: a bucket of its own
  for (auto& p : net->parameters()) params.push_back(p);
  GradientBuckets buckets(pg, params, 4096);  // 4 KiB: the 64x64 weight alone fills one
  EXPECT_GE(buckets.num_buckets(), 3u);
  auto x = torch::randn({8, 16});
  auto loss = net->forward(x).pow(2).mean();
  auto want = torch::autograd::grad({loss}, net->parameters(), {}, /*retain_graph=*/true);
  buckets.begin();
  loss.backward();
  buckets.finish();
  EXPECT_GE(buckets.launched_during_backward(), 2u);
  auto ps = net->parameters();
  for (size_t i = 0; i < ps.size(); ++i) EXPECT_TRUE(torch::equal(ps[i].grad(), want[i])) << i;
  for (auto& p : unused->parameters()) EXPECT_FALSE(p.grad().defined());
  // Outside begin()/finish() the hooks do nothing; a second pass works the same.
  for (auto& p : ps) p.mutable_grad() = torch::Tensor();
  net->forward(x).sum().backward();
  buckets.begin();
  for (auto& p : ps) p.mutable_grad() = torch::Tensor();
  loss = net->forward(x).pow(2).mean();
  loss.backward();
  buckets.finish();
  for (size_t i = 0; i < ps.size(); ++i) EXPECT_TRUE(torch::equal(ps[i].grad(), want[i])) << i;
}
