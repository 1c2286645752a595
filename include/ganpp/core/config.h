#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ganpp {

enum class ValueType { Int, Float, Bool, String };

// One config key: its type, default, one-line doc and (optionally) allowed values or range.
struct KeyInfo {
  std::string key;
  ValueType type = ValueType::String;
  std::string default_value;
  std::string doc;
  std::vector<std::string> choices;                  // String keys: allowed values (empty = any)
  std::function<std::vector<std::string>()> dynamic;  // String keys: allowed values known only at run time (registries)
  std::optional<double> min, max;                    // numeric range, inclusive
};

// The set of valid keys. Every key has a default, a type and a doc.
class Schema {
 public:
  KeyInfo& add(const std::string& key, ValueType type, const std::string& def, const std::string& doc);
  // Sets an inclusive numeric range on `key` (returns it for chaining).
  KeyInfo& key_range(const std::string& key, double lo, double hi);
  KeyInfo& key_range(const std::string& key, double lo, double hi, KeyInfo&) { return key_range(key, lo, hi); }
  const KeyInfo* find(const std::string& key) const;
  std::vector<std::string> keys() const;
  const std::vector<KeyInfo>& all() const { return keys_; }

 private:
  std::vector<KeyInfo> keys_;
  std::map<std::string, size_t> index_;
};

// Every key ganpp knows (the train layer fills it from the registries).
const Schema& default_schema();

// A validated, typed configuration. Unknown keys and ill-typed values are errors that say which key and why.
class Config {
 public:
  explicit Config(const Schema& schema = default_schema());

  static Config from_yaml_file(const std::filesystem::path& path, const Schema& schema = default_schema());
  static Config from_yaml_string(const std::string& text, const std::string& source,
                                 const Schema& schema = default_schema());

  // Sets one key from text; `source` names where the value came from (file, --set) for error messages.
  void set(const std::string& key, const std::string& value, const std::string& source = "");
  // Applies "a.b=c".
  void apply_override(const std::string& assignment);

  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  const std::string& get_str(const std::string& key) const;
  bool is_set(const std::string& key) const { return explicit_.count(key) > 0; }

  // Nested YAML with typed scalars; round-trips through from_yaml_string.
  std::string to_yaml() const;
  void save(const std::filesystem::path& path) const;
  const Schema& schema() const { return *schema_; }

 private:
  const KeyInfo& info(const std::string& key, const std::string& source) const;
  const std::string& raw(const std::string& key, ValueType expected) const;

  const Schema* schema_;
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> explicit_;
};

// Writes `data` to `path` atomically (temp file, rename): no reader ever sees a partial file, and a failure leaves
// any old file intact. durable: the file and its directory are fsynced before returning (checkpoints, configs,
// logs). Bulk writers of files that can be regenerated (a folder of samples) pass false and call sync_filesystem()
// once at the end: two fsyncs per file cost more than encoding a small PNG.
void write_file_atomic(const std::filesystem::path& path, const std::string& data, bool durable = true);
// Flushes everything written to the file system that holds `dir` (syncfs): the end of a bulk write.
void sync_filesystem(const std::filesystem::path& dir);
std::string read_file(const std::filesystem::path& path);

}  // namespace ganpp
