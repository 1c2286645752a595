#pragma once
#include <CLI/CLI.hpp>

#include <string>

#include "ganpp/data/dataset.h"

namespace ganpp::cli {

// Each subcommand registers itself on the app; its callback does the work and throws ganpp::Error on bad input.
void add_train(CLI::App& app);
void add_resume(CLI::App& app);
void add_sample(CLI::App& app);
void add_export(CLI::App& app);
void add_config(CLI::App& app);
void add_bench(CLI::App& app);
void add_eval(CLI::App& app);
void add_evaluator(CLI::App& app);
void add_inspect(CLI::App& app);
void add_plot(CLI::App& app);
void add_interpolate(CLI::App& app);

// A class given by name (as the dataset names it) or index, checked against a conditional run's classes.
int64_t class_index(const DataSpec& spec, int64_t classes, const std::string& s, const std::string& run);

}  // namespace ganpp::cli
