#include <gtest/gtest.h>

#include "ganpp/core/config.h"
#include "ganpp/core/error.h"
#include "test_util.h"

using namespace ganpp;

TEST(Config, DefaultsAreTypedAndDocumented) {
  Config c;
  EXPECT_EQ(c.get_int("train.batch_size"), 64);
  EXPECT_DOUBLE_EQ(c.get_float("optim.g_lr"), 2e-4);
  EXPECT_TRUE(c.get_bool("model.d_batchnorm"));
  EXPECT_EQ(c.get_str("loss.name"), "ns");
  for (auto& k : default_schema().all()) EXPECT_FALSE(k.doc.empty()) << k.key;
}

namespace {
std::string error_of(const std::function<void()>& f) { return test::error_message(f); }
}  // namespace

TEST(Config, UnknownKeyNamesItSuggestsAndListsValidKeys) {
  std::string m = error_of([] { Config::from_yaml_string("model:\n  g_chanels: 8\n", "x.yaml"); });
  EXPECT_NE(m.find("'model.g_chanels'"), std::string::npos) << m;
  EXPECT_NE(m.find("x.yaml"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'model.g_channels'"), std::string::npos) << m;
  EXPECT_NE(m.find("model.d_channels"), std::string::npos) << m;  // lists the section's valid keys
  std::string top = error_of([] { Config::from_yaml_string("trian:\n  batch_size: 8\n", "y.yaml"); });
  EXPECT_NE(top.find("top-level keys/sections"), std::string::npos) << top;
  EXPECT_NE(top.find("train"), std::string::npos) << top;
}

TEST(Config, IllTypedAndOutOfRangeValuesAreRefused) {
  std::string m = error_of([] { Config::from_yaml_string("train:\n  batch_size: many\n", "x.yaml"); });
  EXPECT_NE(m.find("'train.batch_size' = 'many'"), std::string::npos) << m;
  EXPECT_NE(m.find("expected an integer"), std::string::npos) << m;
  m = error_of([] { Config::from_yaml_string("train:\n  batch_size: 0\n", "x.yaml"); });
  EXPECT_NE(m.find("[1, inf]"), std::string::npos) << m;
  m = error_of([] { Config().set("data.hflip", "1.5", "--set"); });
  EXPECT_NE(m.find("[0, 1]"), std::string::npos) << m;
  m = error_of([] { Config().set("model.d_batchnorm", "maybe"); });
  EXPECT_NE(m.find("true or false"), std::string::npos) << m;
  m = error_of([] { Config().set("loss.name", "nope"); });
  EXPECT_NE(m.find("one of:"), std::string::npos) << m;
  EXPECT_NE(m.find("ns"), std::string::npos) << m;
  m = error_of([] { Config().set("optim.g_lr", "nan"); });
  EXPECT_NE(m.find("finite"), std::string::npos) << m;
  m = error_of([] { Config::from_yaml_string("train: [1, 2\n", "bad.yaml"); });
  EXPECT_NE(m.find("bad.yaml: not valid YAML"), std::string::npos) << m;
}

TEST(Config, OverridesAndYamlRoundTrip) {
  Config c = Config::from_yaml_string("seed: 7\ntrain:\n  batch_size: 16\n", "x.yaml");
  c.apply_override("optim.d_lr=0.001");
  c.apply_override("ema.enabled=yes");
  EXPECT_EQ(c.get_int("seed"), 7);
  EXPECT_EQ(c.get_int("train.batch_size"), 16);
  EXPECT_DOUBLE_EQ(c.get_float("optim.d_lr"), 0.001);
  EXPECT_TRUE(c.get_bool("ema.enabled"));
  EXPECT_TRUE(c.is_set("seed"));
  EXPECT_FALSE(c.is_set("optim.g_lr"));
  Config back = Config::from_yaml_string(c.to_yaml(), "roundtrip");
  for (auto& k : default_schema().all()) {
    switch (k.type) {
      case ValueType::Int: EXPECT_EQ(back.get_int(k.key), c.get_int(k.key)) << k.key; break;
      case ValueType::Float: EXPECT_DOUBLE_EQ(back.get_float(k.key), c.get_float(k.key)) << k.key; break;
      case ValueType::Bool: EXPECT_EQ(back.get_bool(k.key), c.get_bool(k.key)) << k.key; break;
      default: EXPECT_EQ(back.get_str(k.key), c.get_str(k.key)) << k.key;
    }
  }
  std::string m = error_of([&] { c.apply_override("justakey"); });
  EXPECT_NE(m.find("expected key=value"), std::string::npos) << m;
}

TEST(Config, AtomicWriteReplacesWholeFile) {
  auto d = ganpp::test::temp_dir("atomic");
  write_file_atomic(d / "f.txt", "first version, long text");
  write_file_atomic(d / "f.txt", "second");
  EXPECT_EQ(read_file(d / "f.txt"), "second");
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(d)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);  // no temp file left behind
  std::string m = error_of([&] { write_file_atomic(d / "no" / "such" / "dir.txt", "x"); });
  EXPECT_NE(m.find("cannot write"), std::string::npos) << m;
  // The bulk variant (no fsync per file) replaces whole files the same way; one flush of the folder at the end.
  write_file_atomic(d / "f.txt", "third, not fsynced", false);
  write_file_atomic(d / "g.txt", "new", false);
  EXPECT_EQ(read_file(d / "f.txt"), "third, not fsynced");
  EXPECT_EQ(read_file(d / "g.txt"), "new");
  files = 0;
  for (auto& e : std::filesystem::directory_iterator(d)) files += e.is_regular_file();
  EXPECT_EQ(files, 2u);
  EXPECT_NO_THROW(sync_filesystem(d));
  m = error_of([&] { sync_filesystem(d / "missing"); });
  EXPECT_NE(m.find("missing"), std::string::npos) << m;
}
