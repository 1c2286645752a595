#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ganpp/io/image.h"

namespace ganpp {

struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct PlotOptions {
  std::string title, xlabel, ylabel;
  int width = 800, height = 480;
  std::optional<std::pair<double, double>> xrange, yrange;  // default: fit the data
  bool equal_aspect = false;                                // scatter plots of 2-D samples
};

// Line chart of one or more series (NaNs break a line), with axes, ticks and a legend.
Image line_plot(const std::vector<Series>& series, const PlotOptions& opt);
// Scatter plot; each series gets its own colour.
Image scatter_plot(const std::vector<Series>& series, const PlotOptions& opt);

}  // namespace ganpp
