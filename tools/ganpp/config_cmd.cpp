#include <fmt/format.h>

#include <iostream>

#include "commands.h"
#include "ganpp/core/config.h"
#include "ganpp/train/validate.h"

namespace ganpp::cli {

void add_config(CLI::App& app) {
  struct Opts {
    std::string config;
    std::vector<std::string> sets;
    bool list = false;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("config", "print the effective config, or list every key with its default and doc");
  c->add_option("--config,-c", o->config, "YAML config");
  c->add_option("--set", o->sets, "override a key (repeatable)");
  c->add_flag("--list", o->list, "list all keys");
  c->callback([o] {
    if (o->list) {
      for (auto& k : default_schema().all()) {
        std::vector<std::string> ch = k.dynamic ? k.dynamic() : k.choices;
        std::cout << fmt::format("{:<24} = {:<12} {}{}\n", k.key, k.default_value.empty() ? "\"\"" : k.default_value, k.doc,
                                 ch.empty() ? "" : fmt::format(" [{}]", fmt::join(ch, "|")));
      }
      return;
    }
    Config cfg = o->config.empty() ? Config() : Config::from_yaml_file(o->config);
    for (auto& s : o->sets) cfg.apply_override(s);
    validate_config(cfg);
    std::cout << cfg.to_yaml();
  });
}

}  // namespace ganpp::cli
