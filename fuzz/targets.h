#pragma once
// What each fuzz target does with one input, shared by the libFuzzer entry points (fuzz/*_fuzz.cpp) and the
// regression test that replays saved inputs (tests/io/fuzz_regressions_test.cpp). Each function either returns or
// throws ganpp::Error (one clear message); anything else is a bug.
#include <string>

#include "ganpp/core/config.h"
#include "ganpp/core/error.h"
#include "ganpp/data/idx.h"
#include "ganpp/data/toy.h"
#include "ganpp/io/archive.h"
#include "ganpp/io/image.h"
#include "ganpp/io/npz.h"
#include "ganpp/io/table.h"
#include "ganpp/train/validate.h"

namespace ganpp::fuzz {

// IDX reader (MNIST format, raw or gzipped).
inline void idx(const std::string& bytes) { (void)parse_idx(bytes, "fuzz.idx"); }

// Image decoding (stb_image: PNG, JPEG, BMP, GIF, TGA, PNM) as image folders use it, in all three channel modes.
inline void image(const std::string& bytes) {
  for (int c : {0, 1, 3}) (void)image_to_tensor(decode_image_bytes(bytes, "fuzz.img", c));
}

// Training configuration: YAML against the schema, the cross-key validation every run goes through, and the
// effective config written back out and read again.
inline void yaml(const std::string& bytes) {
  auto cfg = Config::from_yaml_string(bytes, "fuzz.yaml");
  validate_config(cfg);
  (void)Config::from_yaml_string(cfg.to_yaml(), "round-trip");
}

// Checkpoint / weights archive reader (header JSON, sizes, CRCs); loading into a module checks names and shapes.
inline void archive(const std::string& bytes) {
  auto a = decode_archive(bytes, "fuzz.ckpt");
  torch::nn::Linear m(3, 2);
  get_module(a, "net", *m, "fuzz.ckpt");
}

// NumPy .npy and .npz (zip, stored or deflated) readers, as FID statistics and feature files use them.
inline void npz(const std::string& bytes) {
  try {
    (void)decode_npy(bytes, "fuzz.npy");
  } catch (const Error&) {
  }
  (void)decode_npz(bytes, "fuzz.npz");
}

// Numeric tables as `ganpp plot` reads them: CSV (header + rows) and JSON lines (metrics.jsonl).
inline void table(const std::string& bytes) {
  try {
    (void)parse_csv_table(bytes, "fuzz.csv");
  } catch (const Error&) {
  }
  (void)parse_jsonl_table(bytes, "fuzz.jsonl");
}

// 2-D mixture layouts (data.layout, `ganpp bench modes --data`): ring:N:R:SIGMA, grid:K:SPACING:SIGMA; a parsed
// layout is sampled, as the dataset does.
inline void layout(const std::string& bytes) {
  auto m = Mixture2D::parse(bytes);
  (void)m.sample(4, 0);
}

}  // namespace ganpp::fuzz
