#pragma once
#include <filesystem>
#include <functional>
#include <string>

namespace ganpp::test {

// A fresh empty folder under the build's temp area, removed at exit.
std::filesystem::path temp_dir(const std::string& name);

// `p` in single quotes, for a shell command line.
inline std::string q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

// Runs `ganpp <args>`; returns the exit code and fills `output` with stdout+stderr.
int run_cli(const std::string& args, std::string* output = nullptr);

// The message of the ganpp::Error that `f` throws, or "" when it throws none.
std::string error_message(const std::function<void()>& f);

// Path of Debian's python3 with torch/numpy/scipy (not the first python3 on PATH).
inline const char* system_python() { return "/usr/bin/python3"; }

}  // namespace ganpp::test
