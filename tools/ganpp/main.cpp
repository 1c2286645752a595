#include <c10/util/Exception.h>

#include <iostream>

#include "commands.h"
#include "launch.h"
#include "ganpp/core/error.h"
#include "ganpp/version.h"

int main(int argc, char** argv) {
  CLI::App app{"ganpp " GANPP_VERSION " - train, sample and export generative adversarial networks (LibTorch)"};
  app.require_subcommand(1);
  ganpp::cli::set_command_line(argc, argv);
  app.set_version_flag("--version", GANPP_VERSION);
  ganpp::cli::add_train(app);
  ganpp::cli::add_resume(app);
  ganpp::cli::add_sample(app);
  ganpp::cli::add_export(app);
  ganpp::cli::add_config(app);
  ganpp::cli::add_bench(app);
  ganpp::cli::add_eval(app);
  ganpp::cli::add_evaluator(app);
  ganpp::cli::add_inspect(app);
  ganpp::cli::add_plot(app);
  ganpp::cli::add_interpolate(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const ganpp::Error& e) {
    std::cerr << "ganpp: error: " << e.what() << std::endl;
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "ganpp: error: torch: " << e.what_without_backtrace() << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "ganpp: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
