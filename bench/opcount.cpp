// Torch operators dispatched per training step: how much per-step framework work a model costs, independent of
// machine load. Trains CONFIG twice (WARM and WARM + STEPS steps, 1 thread) with a global RecordFunction callback
// counting every operator and autograd node (nested calls included) and prints the difference per step, most
// frequent first. bench/python/opcount.py counts the same way for a PyTorch-Python script.
//
//   cmake --build build --target ganpp_opcount
//   build/ganpp_opcount CONFIG STEPS [--set key=value ...]
#include "ganpp/core/config.h"
#include "ganpp/train/trainer.h"

#include <ATen/record_function.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace {

std::mutex mu;
std::map<std::string, int64_t> counts;
std::atomic<bool> counting{false};

std::map<std::string, int64_t> count_run(const std::string& config, const std::vector<std::string>& sets,
                                         int64_t steps) {
  ganpp::Config cfg = ganpp::Config::from_yaml_file(config);
  for (const auto& s : sets) cfg.apply_override(s);
  cfg.set("train.max_steps", std::to_string(steps), "opcount");
  cfg.set("threads", "1", "opcount");
  const auto dir = std::filesystem::temp_directory_path() / "ganpp-opcount";
  std::filesystem::remove_all(dir);
  {
    std::lock_guard<std::mutex> lock(mu);
    counts.clear();
  }
  counting = true;
  ganpp::Trainer(cfg, dir, ganpp::TrainerOptions{false, true}).run();
  counting = false;
  std::filesystem::remove_all(dir);
  std::lock_guard<std::mutex> lock(mu);
  return counts;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CONFIG STEPS [--set key=value ...]\n", argv[0]);
    return 2;
  }
  const std::string config = argv[1];
  const int64_t steps = std::stoll(argv[2]);
  std::vector<std::string> sets;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--set" && i + 1 < argc) {
      sets.push_back(argv[++i]);
    } else {
      std::fprintf(stderr, "unexpected argument '%s' (expected --set key=value)\n", a.c_str());
      return 2;
    }
  }
  at::addGlobalCallback(at::RecordFunctionCallback(
      [](const at::RecordFunction& fn) -> std::unique_ptr<at::ObserverContext> {
        if (counting) {
          std::lock_guard<std::mutex> lock(mu);
          ++counts[fn.name()];
        }
        return nullptr;
      }));
  // Warm-up and run-constant costs (setup, samples, checkpoints at the end) cancel in the difference.
  const int64_t warm = std::max<int64_t>(steps / 10, 10);
  // Log, sample and checkpoint steps would add their own ops: keep them out of both runs' counted windows.
  sets.push_back("log.every=1000000000");
  const auto a = count_run(config, sets, warm);
  const auto b = count_run(config, sets, warm + steps);
  std::vector<std::pair<double, std::string>> per_step;
  double total = 0;
  for (const auto& [name, n] : b) {
    const auto it = a.find(name);
    const double d = double(n - (it == a.end() ? 0 : it->second)) / double(steps);
    if (d > 0.005) per_step.emplace_back(d, name), total += d;
  }
  std::sort(per_step.rbegin(), per_step.rend());
  std::printf("%.1f operators per step (nested calls and autograd nodes included), over %lld steps\n", total,
              static_cast<long long>(steps));
  for (const auto& [d, name] : per_step) std::printf("%8.2f  %s\n", d, name.c_str());
  return 0;
}
