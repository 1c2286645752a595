#pragma once
#include <filesystem>
#include <string>

#include "ganpp/models/gan.h"

namespace ganpp {

// Writes `g` (in eval mode: batch norm uses running statistics) as a TorchScript module that Python's
// torch.jit.load and C++'s torch::jit::load can run: forward(z: Tensor[B, z_dim]) -> samples.
// Supported: generators built as a stack of standard layers (SequentialGeneratorImpl).
void export_torchscript(GeneratorImpl& g, const std::filesystem::path& path);
// The TorchScript source emitted for `g` (for inspection and tests).
std::string torchscript_source(GeneratorImpl& g);

}  // namespace ganpp
