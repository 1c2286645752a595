// Replays every saved fuzz input (tests/fuzz_regressions/<target>/*) through the same code the fuzz target runs
// (fuzz/targets.h), in the ordinary Release build: each must either parse or throw ganpp::Error -- no crash, no
// other exception type. Files named bad-* must be refused with a ganpp::Error. New crashes found by fuzz/run.sh
// are added here as files.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>

#include "targets.h"

namespace fs = std::filesystem;

TEST(FuzzRegressions, EverySavedInputParsesOrFailsWithAGanppError) {
  const std::map<std::string, std::function<void(const std::string&)>> targets = {
      {"idx", ganpp::fuzz::idx},
      {"image", ganpp::fuzz::image},
      {"yaml", ganpp::fuzz::yaml},
      {"archive", ganpp::fuzz::archive},
      {"npz", ganpp::fuzz::npz},
      {"table", ganpp::fuzz::table},
      {"layout", ganpp::fuzz::layout}};
  const fs::path root = fs::path(GANPP_SOURCE_DIR) / "tests/fuzz_regressions";
  int files = 0;
  for (auto& [name, run] : targets) {
    if (!fs::is_directory(root / name)) continue;
    for (auto& e : fs::directory_iterator(root / name)) {
      const std::string bytes = ganpp::read_file(e.path());
      const bool must_fail = e.path().filename().string().rfind("bad-", 0) == 0;
      ++files;
      try {
        run(bytes);
        EXPECT_FALSE(must_fail) << e.path() << " was accepted; it must be refused";
      } catch (const ganpp::Error& err) {
        EXPECT_GT(std::string(err.what()).size(), 10u) << e.path();
      } catch (const std::exception& ex) {
        ADD_FAILURE() << e.path() << ": escaped as a non-ganpp exception: " << ex.what();
      }
    }
  }
  EXPECT_GT(files, 0) << "no regression inputs under " << root;
}
