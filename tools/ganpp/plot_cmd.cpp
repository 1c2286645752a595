#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <map>

#include "commands.h"
#include "ganpp/core/error.h"
#include "ganpp/io/image.h"
#include "ganpp/io/plot.h"
#include "ganpp/io/table.h"

namespace ganpp::cli {

// `ganpp plot FILE --x COL --y COL[,COL...] [--group COL] --out PNG`: a line chart of columns of a CSV file or of a
// run's metrics.jsonl (e.g. --x step --y loss_d,loss_g), one series per y column, or with --group one series per
// distinct value of that column (benchmark sweeps).
void add_plot(CLI::App& app) {
  struct Opts {
    std::string file, x, group, out, title, xlabel, ylabel;
    std::vector<std::string> y;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("plot", "line chart of columns of a CSV file or a metrics.jsonl");
  c->add_option("file", o->file, "a .csv (header line of column names) or .jsonl file")->required();
  c->add_option("--x", o->x, "column for the x axis")->required();
  c->add_option("--y", o->y, "column(s) for the y axis, comma-separated")->required()->delimiter(',');
  c->add_option("--group", o->group, "one series per distinct value of this column (one --y column)");
  c->add_option("--out", o->out, "PNG file to write")->required();
  c->add_option("--title", o->title, "chart title (default: the file name)");
  c->add_option("--xlabel", o->xlabel, "x axis label (default: the x column)");
  c->add_option("--ylabel", o->ylabel, "y axis label (default: the y column(s))");
  c->callback([o] {
    Table t = read_table(o->file);
    const auto& x = t.col(o->x);
    std::vector<Series> series;
    if (!o->group.empty()) {
      if (o->y.size() != 1) throw Error("plot: --group takes exactly one --y column");
      const auto &g = t.col(o->group), &y = t.col(o->y[0]);
      std::map<double, Series> by;
      for (size_t i = 0; i < t.rows; ++i) {
        auto& s = by[g[i]];
        s.name = fmt::format("{} {}", o->group, g[i]);
        s.x.push_back(x[i]);
        s.y.push_back(y[i]);
      }
      for (auto& [k, s] : by) series.push_back(std::move(s));
    } else {
      for (auto& name : o->y) series.push_back({name, x, t.col(name)});
    }
    size_t points = 0;
    for (auto& s : series)
      for (size_t i = 0; i < s.x.size(); ++i) points += std::isfinite(s.x[i]) && std::isfinite(s.y[i]);
    if (points == 0) throw Error(fmt::format("plot: '{}' has no rows with numbers in both --x and --y", o->file));
    PlotOptions p;
    p.title = o->title.empty() ? std::filesystem::path(o->file).filename().string() : o->title;
    p.xlabel = o->xlabel.empty() ? o->x : o->xlabel;
    p.ylabel = o->ylabel.empty() ? fmt::format("{}", fmt::join(o->y, ", ")) : o->ylabel;
    write_png(o->out, line_plot(series, p));
  });
}

}  // namespace ganpp::cli
