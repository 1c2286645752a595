// Writes a small seed corpus of valid inputs for each fuzz target: make_seeds OUT_DIR (then OUT_DIR/<target>/...).
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "ganpp/io/archive.h"
#include "ganpp/io/image.h"
#include "ganpp/io/npz.h"

namespace fs = std::filesystem;

static void put(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

static std::string gzip(const std::string& raw) {
  z_stream s{};
  deflateInit2(&s, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(raw.size()) + 32, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  s.avail_in = raw.size();
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = out.size();
  deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds OUT_DIR\n";
    return 2;
  }
  fs::path out = argv[1];
  // IDX: 2 images of 3x4 (uint8), and 2 labels, raw and gzipped.
  std::string images = std::string("\x00\x00\x08\x03", 4) + std::string("\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04", 12) +
                       std::string(24, '\x7f');
  std::string labels = std::string("\x00\x00\x08\x01\x00\x00\x00\x02", 8) + std::string("\x01\x09", 2);
  put(out / "idx/images.idx", images);
  put(out / "idx/images.idx.gz", gzip(images));
  put(out / "idx/labels.idx", labels);
  // Images: grey and RGB PNGs, a PPM.
  ganpp::Image g{4, 3, 1, std::vector<uint8_t>(12, 100)}, c{2, 2, 3, std::vector<uint8_t>(12, 200)};
  put(out / "image/grey.png", ganpp::encode_png(g));
  put(out / "image/rgb.png", ganpp::encode_png(c, {{"ganpp", "seed"}}));
  put(out / "image/rgb.ppm", std::string("P6\n2 2\n255\n") + std::string(12, '\x40'));
  // Archive: a Linear(3, 2) under "net", with metadata.
  ganpp::Archive a;
  torch::nn::Linear lin(3, 2);
  ganpp::put_module(a, "net", *lin);
  a.meta = {{"format", "ganpp-checkpoint"}, {"step", 3}};
  put(out / "archive/linear.ckpt", ganpp::encode_archive(a));
  // NumPy: a .npy and an .npz of FID-style statistics.
  put(out / "npz/vector.npy", ganpp::encode_npy(torch::arange(5, torch::kDouble)));
  ganpp::save_npz(out / "npz/stats.npz", {{"mu", torch::zeros({3}, torch::kDouble)}, {"sigma", torch::eye(3, torch::kDouble)}});
  // Tables: a CSV with a text column, and metrics.jsonl lines with an event line.
  put(out / "table/sweep.csv", "name,step,fid\nns,100,12.5\nhinge,200,nan\n");
  put(out / "table/metrics.jsonl", "{\"step\":1,\"loss_d\":1.3}\n{\"event\":\"rollback\",\"step\":2}\n{\"step\":3,\"fid\":4}\n");
  // Mixture layouts.
  put(out / "layout/ring", "ring:8:1:0.01");
  put(out / "layout/grid", "grid:5:2:0.05");
  std::cout << "seeds written to " << out.string() << "\n";
  return 0;
}
