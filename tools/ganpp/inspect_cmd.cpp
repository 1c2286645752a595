#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <iostream>

#include "commands.h"
#include "ganpp/io/archive.h"

namespace ganpp::cli {

// `ganpp inspect FILE`: verifies a checkpoint/weights/evaluator file (both CRC-32 checksums and every size in its
// header, exactly as loading does) and prints its metadata; --tensors adds one line per tensor with its CRC-32, so
// that two files' weights can be compared bit for bit with diff.
void add_inspect(CLI::App& app) {
  struct Opts {
    std::string file;
    bool tensors = false, config = false;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("inspect", "verify a checkpoint or weights file and print what it holds");
  c->add_option("file", o->file, "checkpoint (.ckpt) or weights (.ganpp) file")->required();
  c->add_flag("--tensors", o->tensors, "list every tensor: name, dtype, shape, CRC-32 of its bytes");
  c->add_flag("--config", o->config, "print the training config stored in a checkpoint");
  c->callback([o] {
    Archive a = load_archive(o->file);  // throws a ganpp::Error naming the file and the defect
    int64_t numel = 0, bytes = 0;
    for (auto& [name, t] : a.tensors) {
      numel += t.numel();
      bytes += t.numel() * static_cast<int64_t>(t.element_size());
    }
    std::cout << fmt::format("file: {} ({} bytes)\nchecksums: header and payload CRC-32 verified\n", o->file,
                             std::filesystem::file_size(o->file));
    std::cout << fmt::format("tensors: {} ({} values, {} bytes)\n", a.tensors.size(), numel, bytes);
    for (auto& [k, v] : a.meta.items()) {
      if (k == "config" || k == "data_spec" || k == "class_names") continue;
      std::cout << fmt::format("{}: {}\n", k, v.is_string() ? v.get<std::string>() : v.dump());
    }
    if (a.meta.contains("class_names")) std::cout << fmt::format("class_names: {}\n", a.meta["class_names"].dump());
    if (o->config && a.meta.contains("config")) std::cout << "config:\n" << a.meta["config"].get<std::string>();
    if (o->tensors)
      for (auto& [name, t] : a.tensors)
        std::cout << fmt::format("tensor {} {} [{}] crc32={:08x}\n", name, c10::toString(t.scalar_type()),
                                 fmt::join(t.sizes(), ","),
                                 crc32_bytes(t.data_ptr(), t.numel() * t.element_size()));
  });
}

}  // namespace ganpp::cli
