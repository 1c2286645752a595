#pragma once
// libFuzzer entry points for ganpp's parsers of untrusted files. A ganpp::Error is the expected outcome for bad
// input (one clear message); anything else -- a crash, a sanitizer report, another exception type, a hang -- is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ganpp/core/error.h"

#define GANPP_FUZZ_TARGET(body)                                                    \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {        \
    const std::string bytes(reinterpret_cast<const char*>(data), size);            \
    try {                                                                          \
      body;                                                                        \
    } catch (const ganpp::Error&) {                                                \
    }                                                                              \
    return 0;                                                                      \
  }
