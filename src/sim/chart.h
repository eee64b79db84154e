// Charts a planner can read: SVG line charts drawn without any library.
#pragma once

#include <string>
#include <vector>

namespace gwang::sim {

struct Series {
  std::string name;
  std::vector<double> x, y;
  std::vector<double> y_sd;  // optional band of +- one standard deviation
};

struct Panel {
  std::string title;
  double x_min = 0, x_max = 100, y_min = 0, y_max = 100;
};

struct ChartOptions {
  std::string title;
  std::string x_label, y_label;
  std::vector<Panel> panels;  // side by side, sharing the series and the legend (at least one)
  bool diagonal = false;      // draw y = x for reference
};

// A complete SVG document.
std::string line_chart_svg(const std::vector<Series>& series, const ChartOptions& options);

}  // namespace gwang::sim
