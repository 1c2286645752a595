#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ganpp/core/error.h"

namespace ganpp {

// Name -> factory table. Built-ins register themselves with a static `Registrar` in their own file.
template <class T, class... Args>
class Registry {
 public:
  using Factory = std::function<std::shared_ptr<T>(Args...)>;
  struct Entry {
    std::string doc;
    Factory make;
  };

  static Registry& instance() {
    static Registry r;
    return r;
  }

  void add(const std::string& name, std::string doc, Factory f) { entries_[name] = Entry{std::move(doc), std::move(f)}; }
  bool has(const std::string& name) const { return entries_.count(name) > 0; }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (auto& [k, v] : entries_) out.push_back(k);
    return out;
  }
  const std::map<std::string, Entry>& entries() const { return entries_; }

  std::shared_ptr<T> create(const std::string& what, const std::string& name, Args... args) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      std::string valid;
      for (auto& [k, v] : entries_) valid += (valid.empty() ? "" : ", ") + k;
      throw Error("unknown " + what + " '" + name + "'; expected one of: " + valid);
    }
    return it->second.make(std::forward<Args>(args)...);
  }

  struct Registrar {
    Registrar(const std::string& name, std::string doc, Factory f) { instance().add(name, std::move(doc), std::move(f)); }
  };

 private:
  std::map<std::string, Entry> entries_;
};

}  // namespace ganpp
