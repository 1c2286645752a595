#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ganpp/core/config.h"
#include "ganpp/data/dataset.h"
#include "ganpp/io/archive.h"
#include "ganpp/models/gan.h"

namespace ganpp {

// Run-folder layout and the pieces sample/export/resume need from it.
namespace run {
inline std::filesystem::path config(const std::filesystem::path& d) { return d / "config.yaml"; }
inline std::filesystem::path metrics(const std::filesystem::path& d) { return d / "metrics.jsonl"; }
inline std::filesystem::path checkpoints(const std::filesystem::path& d) { return d / "checkpoints"; }
inline std::filesystem::path samples(const std::filesystem::path& d) { return d / "samples"; }
inline std::filesystem::path plots(const std::filesystem::path& d) { return d / "plots"; }
}  // namespace run

std::filesystem::path checkpoint_path(const std::filesystem::path& run_dir, int64_t step);
// Checkpoints in the run folder, oldest first.
std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& run_dir);
// The newest checkpoint; an error naming the folder when there is none.
std::filesystem::path latest_checkpoint(const std::filesystem::path& run_dir);
// Loads a checkpoint and checks that it is one (not some other archive).
Archive load_checkpoint(const std::filesystem::path& path);

nlohmann::json spec_to_json(const DataSpec& s);
DataSpec spec_from_json(const nlohmann::json& j);

// The run's generator with weights from a checkpoint (EMA weights when present and wanted).
struct LoadedGenerator {
  Config config;
  DataSpec spec;
  Generator g;
  int64_t step = 0;
  bool ema = false;
  std::filesystem::path checkpoint;
};
LoadedGenerator load_generator(const std::filesystem::path& run_dir, const std::filesystem::path& checkpoint = {},
                               bool prefer_ema = true);

// Writes images (a grid PNG, or one PNG per sample into a folder) or vectors (CSV + scatter/histogram PNG).
// `nrow`: images per grid row (0 = a square grid; conditional runs use one column per class).
void write_sample_grid(const std::filesystem::path& png, const torch::Tensor& samples, const DataSpec& spec,
                       const torch::Tensor& real_reference = {}, int64_t nrow = 0);

}  // namespace ganpp
