#include "test_util.h"

#include "ganpp/core/error.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>

namespace fs = std::filesystem;

namespace ganpp::test {

fs::path temp_dir(const std::string& name) {
  fs::path base = fs::temp_directory_path() / ("ganpp-test-" + std::to_string(::getpid()));
  fs::path d = base / name;
  fs::remove_all(d);
  fs::create_directories(d);
  static struct Cleaner {
    fs::path p;
    ~Cleaner() {
      std::error_code ec;
      if (!p.empty() && !std::getenv("GANPP_KEEP_TEST_FILES")) fs::remove_all(p, ec);
    }
  } cleaner;
  cleaner.p = base;
  return d;
}

std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const ganpp::Error& e) {
    return e.what();
  }
  return "";
}

int run_cli(const std::string& args, std::string* output) {
  std::string cmd = std::string(GANPP_BIN) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = ::pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace ganpp::test
