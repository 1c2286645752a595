// Divergence handling and storage faults of a training run, through the CLI as a user meets them.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ganpp/core/config.h"
#include "ganpp/io/archive.h"
#include "ganpp/train/run.h"
#include "test_util.h"

using namespace ganpp;
using test::q;
using ganpp::test::run_cli;
namespace fs = std::filesystem;

namespace {

fs::path tiny(const fs::path& dir, const std::string& log) {
  fs::create_directories(dir);
  fs::path p = dir / "tiny.yaml";
  std::ofstream(p) << "seed: 5\nthreads: 1\n"
                      "data:\n  dataset: fashion-mnist\n  resolution: 28\n  limit: 256\n"
                      "model:\n  name: dcgan\n  z_dim: 16\n  g_channels: 8\n  d_channels: 8\n"
                      "train:\n  batch_size: 16\n  max_steps: 8\n"
                      "log:\n  every: 1\n  sample_every: 0\n  samples: 16\n" << log;
  return p;
}


std::vector<nlohmann::json> metrics(const fs::path& run) {
  std::vector<nlohmann::json> v;
  std::ifstream in(run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) v.push_back(nlohmann::json::parse(line));
  return v;
}

struct ScopedEnv {
  explicit ScopedEnv(const char* k, const std::string& v) : key(k) { setenv(k, v.c_str(), 1); }
  ~ScopedEnv() { unsetenv(key); }
  const char* key;
};

}  // namespace

TEST(Reliability, DivergenceStopsWithAMessageOrRollsBackWithLowerLearningRates) {
  auto d = test::temp_dir("rel_nan");
  auto cfg = tiny(d, "  checkpoint_every: 2\n");
  ScopedEnv nan("GANPP_FAULT_NAN_STEP", "5");  // loss_d becomes NaN once, at step 5
  std::string out;
  // Default: stop, naming the step, the loss and the last good checkpoint; nothing after it is saved.
  ASSERT_EQ(run_cli("train -q --config " + q(cfg) + " --out " + q(d / "stop"), &out), 1) << out;
  EXPECT_NE(out.find("training diverged at step 5: loss_d = nan"), std::string::npos) << out;
  EXPECT_NE(out.find("step_00000004.ckpt"), std::string::npos) << out;
  EXPECT_NE(out.find("train.on_divergence=rollback"), std::string::npos) << out;
  EXPECT_EQ(latest_checkpoint(d / "stop").filename(), "step_00000004.ckpt");
  EXPECT_NO_THROW(load_archive(d / "stop/checkpoints/step_00000004.ckpt"));

  // Rollback: back to step 4, learning rates halved, logged as an event; the run completes and the scale persists.
  ASSERT_EQ(run_cli("train -q --config " + q(cfg) + " --out " + q(d / "roll") + " --set train.on_divergence=rollback",
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("rolled back to step 4"), std::string::npos) << out;
  int events = 0;
  std::vector<int64_t> steps;
  for (auto& j : metrics(d / "roll")) {
    if (j.contains("event")) {
      ++events;
      EXPECT_EQ(j["event"], "rollback");
      EXPECT_EQ(j["step"], 4);
      EXPECT_EQ(j["diverged_at"], 5);
      EXPECT_DOUBLE_EQ(j["lr_scale"].get<double>(), 0.5);
    } else {
      steps.push_back(j["step"].get<int64_t>());
      if (j["step"].get<int64_t>() > 4) {
        EXPECT_DOUBLE_EQ(j["lr_factor"].get<double>(), 0.5) << j.dump();
      }
    }
  }
  EXPECT_EQ(events, 1);
  EXPECT_EQ(steps, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));  // the diverged step 5 was dropped and redone
  auto a = load_archive(d / "roll/checkpoints/step_00000008.ckpt");
  EXPECT_DOUBLE_EQ(a.meta["lr_scale"].get<double>(), 0.5);
  EXPECT_EQ(a.meta["rollbacks"].get<int64_t>(), 1);

  // Rollback with nothing to roll back to (no checkpoint before step 5): stops with the message.
  ASSERT_EQ(run_cli("train -q --config " + q(tiny(d / "c", "  checkpoint_every: 0\n")) + " --out " + q(d / "none") +
                        " --set train.on_divergence=rollback",
                    &out),
            1)
      << out;
  EXPECT_NE(out.find("no checkpoint was written yet"), std::string::npos) << out;
}

// A size-limited tmpfs as the run folder: the disk fills up during a checkpoint write. Needs mount privileges
// (root, as on the CI machine); skipped with a message otherwise.
TEST(Reliability, FullDiskDuringACheckpointAndReadOnlyFolderAreCleanErrors) {
  auto d = test::temp_dir("rel_disk");
  auto cfg = tiny(d, "  checkpoint_every: 2\n  keep_checkpoints: 5\n");
  // Wider nets than tiny()'s: the checkpoint (G, D, two Adam states) must dwarf the logs and plots in the folder.
  const std::string wide = " --set model.g_channels=48 --set model.d_channels=48";
  std::string out;
  // Measure the run folder with one checkpoint, and the checkpoint itself, on an unlimited disk.
  ASSERT_EQ(run_cli("train -q --config " + q(cfg) + " --out " + q(d / "probe") + " --max-steps 2" + wide, &out), 0) << out;
  uintmax_t used = 0;
  for (auto& e : fs::recursive_directory_iterator(d / "probe"))
    if (e.is_regular_file()) used += (e.file_size() + 4095) / 4096 * 4096 + 4096;
  const uintmax_t ckpt = fs::file_size(d / "probe/checkpoints/step_00000002.ckpt");
  fs::path mnt = d / "mnt";
  fs::create_directories(mnt);
  const std::string opts = "size=" + std::to_string(used + 16 * 4096 + ckpt / 2);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, opts.c_str()) != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno) << "); run as root to test full disks";
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};

  EXPECT_EQ(run_cli("train -q --config " + q(cfg) + " --out " + q(mnt / "run") + wide, &out), 1) << out;
  EXPECT_NE(out.find("No space left on device"), std::string::npos) << out;
  EXPECT_NE(out.find("training stopped at step 4"), std::string::npos) << out;
  EXPECT_NE(out.find("step_00000002.ckpt' is intact"), std::string::npos) << out;
  EXPECT_NE(out.find("ganpp resume --run"), std::string::npos) << out;
  auto left = list_checkpoints(mnt / "run");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_NO_THROW(load_archive(left[0]));
  for (auto& e : fs::directory_iterator(mnt / "run/checkpoints"))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << "temporary file left: " << e.path();

  // The same folder read-only: a clear error before any work, and the checkpoint still there.
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, opts.c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(run_cli("resume -q --run " + q(mnt / "run"), &out), 1) << out;
  EXPECT_NE(out.find("is not writable (Read-only file system)"), std::string::npos) << out;
  EXPECT_EQ(run_cli("train -q --config " + q(cfg) + " --out " + q(mnt / "other"), &out), 1) << out;
  EXPECT_NE(out.find("Read-only file system"), std::string::npos) << out;
  EXPECT_EQ(list_checkpoints(mnt / "run").size(), 1u);
}
