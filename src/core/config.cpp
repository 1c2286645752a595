#include "ganpp/core/config.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "ganpp/core/error.h"

namespace fs = std::filesystem;

namespace ganpp {
namespace {

const char* type_name(ValueType t) {
  switch (t) {
    case ValueType::Int: return "an integer";
    case ValueType::Float: return "a number";
    case ValueType::Bool: return "true or false";
    default: return "a string";
  }
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string where(const std::string& source) { return source.empty() ? "" : " (in " + source + ")"; }

std::optional<int64_t> parse_int(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno || *end) {
    // Accept integral floats written like 1e4.
    double d = std::strtod(s.c_str(), &end);
    if (*end || !std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e18) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  return v;
}

std::optional<double> parse_float(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (*end || std::isnan(d)) return std::nullopt;
  return d;
}

std::optional<bool> parse_bool(const std::string& s) {
  std::string l = s;
  std::transform(l.begin(), l.end(), l.begin(), ::tolower);
  if (l == "true" || l == "yes" || l == "on" || l == "1") return true;
  if (l == "false" || l == "no" || l == "off" || l == "0") return false;
  return std::nullopt;
}

void flatten(const YAML::Node& node, const std::string& prefix, const std::string& source,
             std::vector<std::pair<std::string, std::string>>& out) {
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar())
        throw Error(fmt::format("config{}{}: a key must be a plain name, got a {}", prefix.empty() ? "" : " section '" + prefix + "'",
                                where(source), it->first.IsSequence() ? "list" : "mapping"));
      std::string k = it->first.as<std::string>();
      flatten(it->second, prefix.empty() ? k : prefix + "." + k, source, out);
    }
  } else if (node.IsScalar()) {
    out.emplace_back(prefix, node.Scalar());
  } else if (node.IsNull()) {
    out.emplace_back(prefix, "");
  } else {
    throw Error(fmt::format("config key '{}'{}: expected a scalar value, got a list", prefix, where(source)));
  }
}

}  // namespace

KeyInfo& Schema::add(const std::string& key, ValueType type, const std::string& def, const std::string& doc) {
  auto it = index_.find(key);
  if (it != index_.end()) return keys_[it->second];
  index_[key] = keys_.size();
  keys_.push_back(KeyInfo{key, type, def, doc, {}, nullptr, std::nullopt, std::nullopt});
  return keys_.back();
}

KeyInfo& Schema::key_range(const std::string& key, double lo, double hi) {
  auto& k = keys_.at(index_.at(key));
  k.min = lo;
  k.max = hi;
  return k;
}

const KeyInfo* Schema::find(const std::string& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &keys_[it->second];
}

std::vector<std::string> Schema::keys() const {
  std::vector<std::string> out;
  for (auto& k : keys_) out.push_back(k.key);
  return out;
}

Config::Config(const Schema& schema) : schema_(&schema) {
  for (auto& k : schema.all()) values_[k.key] = k.default_value;
}

const KeyInfo& Config::info(const std::string& key, const std::string& source) const {
  if (auto* k = schema_->find(key)) return *k;
  // Unknown key: suggest the closest and list the valid keys of the same section (or the sections).
  std::string best;
  size_t best_d = 1000;
  for (auto& k : schema_->all()) {
    size_t d = edit_distance(key, k.key);
    if (d < best_d) best_d = d, best = k.key;
  }
  std::string section = key.substr(0, key.find('.'));
  std::string valid;
  for (auto& k : schema_->all())
    if (k.key.rfind(section + ".", 0) == 0) valid += (valid.empty() ? "" : ", ") + k.key;
  if (valid.empty()) {
    std::vector<std::string> tops;
    for (auto& k : schema_->all()) {
      std::string t = k.key.substr(0, k.key.find('.'));
      if (std::find(tops.begin(), tops.end(), t) == tops.end()) tops.push_back(t);
    }
    for (auto& t : tops) valid += (valid.empty() ? "" : ", ") + t;
    valid = "top-level keys/sections: " + valid;
  } else {
    valid = "valid keys in '" + section + "': " + valid;
  }
  std::string hint = best_d <= 3 ? fmt::format("; did you mean '{}'?", best) : "";
  throw Error(fmt::format("unknown config key '{}'{}{} ({})", key, where(source), hint, valid));
}

void Config::set(const std::string& key, const std::string& value, const std::string& source) {
  const KeyInfo& k = info(key, source);
  auto bad = [&](const std::string& expected) {
    return Error(fmt::format("config key '{}' = '{}'{}: expected {}", key, value, where(source), expected));
  };
  std::string canonical = value;
  switch (k.type) {
    case ValueType::Int: {
      auto v = parse_int(value);
      if (!v) throw bad(type_name(k.type));
      if ((k.min && *v < *k.min) || (k.max && *v > *k.max))
        throw bad(fmt::format("an integer in [{}, {}]", k.min ? fmt::format("{}", *k.min) : "-inf",
                              k.max ? fmt::format("{}", *k.max) : "inf"));
      canonical = std::to_string(*v);
      break;
    }
    case ValueType::Float: {
      auto v = parse_float(value);
      if (!v || !std::isfinite(*v)) throw bad("a finite number");
      if ((k.min && *v < *k.min) || (k.max && *v > *k.max))
        throw bad(fmt::format("a number in [{}, {}]", k.min ? fmt::format("{}", *k.min) : "-inf",
                              k.max ? fmt::format("{}", *k.max) : "inf"));
      canonical = fmt::format("{}", *v);
      break;
    }
    case ValueType::Bool: {
      auto v = parse_bool(value);
      if (!v) throw bad(type_name(k.type));
      canonical = *v ? "true" : "false";
      break;
    }
    case ValueType::String: {
      std::vector<std::string> choices = k.choices;
      if (k.dynamic) choices = k.dynamic();
      if (!choices.empty() && std::find(choices.begin(), choices.end(), value) == choices.end()) {
        std::string list;
        for (auto& c : choices) list += (list.empty() ? "" : ", ") + c;
        throw bad("one of: " + list);
      }
      break;
    }
  }
  values_[key] = canonical;
  explicit_[key] = true;
}

void Config::apply_override(const std::string& assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error(fmt::format("--set '{}': expected key=value (e.g. train.batch_size=32)", assignment));
  set(assignment.substr(0, eq), assignment.substr(eq + 1), "--set");
}

Config Config::from_yaml_string(const std::string& text, const std::string& source, const Schema& schema) {
  Config c(schema);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(fmt::format("{}: not valid YAML: {}", source, e.what()));
  }
  if (root.IsNull()) return c;
  if (!root.IsMap()) throw Error(fmt::format("{}: expected a YAML mapping of config keys at the top level", source));
  std::vector<std::pair<std::string, std::string>> flat;
  try {
    flatten(root, "", source, flat);
  } catch (const YAML::Exception& e) {
    throw Error(fmt::format("{}: unreadable YAML structure: {}", source, e.what()));
  }
  for (auto& [k, v] : flat) c.set(k, v, source);
  return c;
}

Config Config::from_yaml_file(const fs::path& path, const Schema& schema) {
  if (!fs::exists(path)) throw Error(fmt::format("config file '{}' does not exist", path.string()));
  return from_yaml_string(read_file(path), path.string(), schema);
}

const std::string& Config::raw(const std::string& key, ValueType expected) const {
  const KeyInfo& k = info(key, "");
  if (k.type != expected) throw Error(fmt::format("internal: config key '{}' read with the wrong type", key));
  return values_.at(key);
}

int64_t Config::get_int(const std::string& key) const { return std::stoll(raw(key, ValueType::Int)); }
double Config::get_float(const std::string& key) const { return std::stod(raw(key, ValueType::Float)); }
bool Config::get_bool(const std::string& key) const { return raw(key, ValueType::Bool) == "true"; }
const std::string& Config::get_str(const std::string& key) const { return raw(key, ValueType::String); }

std::string Config::to_yaml() const {
  // Emit keys in schema order, opening/closing nested maps as the dotted prefixes change.
  YAML::Emitter out;
  out << YAML::BeginMap;
  std::vector<std::string> open;
  for (auto& k : schema_->all()) {
    std::vector<std::string> parts;
    std::stringstream ss(k.key);
    for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
    size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) ++common;
    while (open.size() > common) out << YAML::EndMap, open.pop_back();
    for (size_t i = common; i + 1 < parts.size(); ++i) out << YAML::Key << parts[i] << YAML::Value << YAML::BeginMap, open.push_back(parts[i]);
    const std::string& v = values_.at(k.key);
    out << YAML::Key << parts.back() << YAML::Value;
    // Numbers and booleans are stored in canonical (shortest round-trip) text; strings are quoted.
    if (k.type == ValueType::String) out << YAML::DoubleQuoted << v;
    else out << v;
  }
  while (!open.empty()) out << YAML::EndMap, open.pop_back();
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

void Config::save(const fs::path& path) const { write_file_atomic(path, to_yaml()); }

void write_file_atomic(const fs::path& path, const std::string& data, bool durable) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw Error(fmt::format("cannot write '{}': {}", path.string(), std::strerror(errno)));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(fmt::format("cannot write '{}': {} (the previous file, if any, is intact)", path.string(),
                              std::strerror(e)));
    }
    done += static_cast<size_t>(n);
  }
  if ((durable && ::fsync(fd) != 0) || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw Error(fmt::format("cannot write '{}': {} (the previous file, if any, is intact)", path.string(),
                            std::strerror(e)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw Error(fmt::format("cannot replace '{}': {}", path.string(), std::strerror(e)));
  }
  if (!durable) return;
  // Make the rename itself durable.
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void sync_filesystem(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) throw Error(fmt::format("cannot open '{}' to flush it to disk: {}", dir.string(), std::strerror(errno)));
  const int rc = ::syncfs(fd);
  const int e = errno;
  ::close(fd);
  if (rc != 0) throw Error(fmt::format("cannot flush '{}' to disk: {}", dir.string(), std::strerror(e)));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read '{}': {}", path.string(), std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(fmt::format("cannot read '{}': I/O error", path.string()));
  return ss.str();
}

}  // namespace ganpp
