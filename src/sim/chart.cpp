#include "sim/chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gwang::sim {

namespace {

constexpr double kWidth = 880, kHeight = 560;
constexpr double kLeft = 70, kRight = 190, kTop = 50, kBottom = 60;
constexpr const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                   "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

double nice_step(double span) {
  const double raw = span / 8;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * mag) return m * mag;
  }
  return 10 * mag;
}

}  // namespace

std::string line_chart_svg(const std::vector<Series>& series, const ChartOptions& o) {
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  auto sx = [&](double x) { return kLeft + (x - o.x_min) / (o.x_max - o.x_min) * pw; };
  auto sy = [&](double y) {
    y = std::clamp(y, o.y_min, o.y_max);
    return kTop + ph - (y - o.y_min) / (o.y_max - o.y_min) * ph;
  };
  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kWidth) + "\" height=\"" + num(kHeight) +
       "\" font-family=\"sans-serif\" font-size=\"13\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + num(kLeft) + "\" y=\"28\" font-size=\"17\" font-weight=\"bold\">" + escape(o.title) + "</text>\n";
  // Grid and axes.
  const double xs = nice_step(o.x_max - o.x_min), ys = nice_step(o.y_max - o.y_min);
  for (double x = std::ceil(o.x_min / xs) * xs; x <= o.x_max + 1e-9; x += xs) {
    s += "<line x1=\"" + num(sx(x)) + "\" y1=\"" + num(kTop) + "\" x2=\"" + num(sx(x)) + "\" y2=\"" +
         num(kTop + ph) + "\" stroke=\"#e5e5e5\"/>\n";
    s += "<text x=\"" + num(sx(x)) + "\" y=\"" + num(kTop + ph + 18) + "\" text-anchor=\"middle\">" +
         num(x).substr(0, num(x).find('.')) + "</text>\n";
  }
  for (double y = std::ceil(o.y_min / ys) * ys; y <= o.y_max + 1e-9; y += ys) {
    s += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(sy(y)) + "\" x2=\"" + num(kLeft + pw) + "\" y2=\"" +
         num(sy(y)) + "\" stroke=\"#e5e5e5\"/>\n";
    s += "<text x=\"" + num(kLeft - 8) + "\" y=\"" + num(sy(y) + 4) + "\" text-anchor=\"end\">" +
         num(y).substr(0, num(y).find('.')) + "</text>\n";
  }
  s += "<rect x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" + num(pw) + "\" height=\"" + num(ph) +
       "\" fill=\"none\" stroke=\"#333\"/>\n";
  s += "<text x=\"" + num(kLeft + pw / 2) + "\" y=\"" + num(kHeight - 15) + "\" text-anchor=\"middle\">" +
       escape(o.x_label) + "</text>\n";
  s += "<text transform=\"translate(18," + num(kTop + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
       escape(o.y_label) + "</text>\n";
  if (o.diagonal) {
    const double lo = std::max(o.x_min, o.y_min), hi = std::min(o.x_max, o.y_max);
    s += "<line x1=\"" + num(sx(lo)) + "\" y1=\"" + num(sy(lo)) + "\" x2=\"" + num(sx(hi)) + "\" y2=\"" +
         num(sy(hi)) + "\" stroke=\"#999\" stroke-dasharray=\"5,4\"/>\n";
  }
  // Series: a band of +- one sd, then the line; the legend on the right.
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Series& se = series[k];
    const std::string color = kColors[k % (sizeof kColors / sizeof *kColors)];
    if (!se.y_sd.empty()) {
      std::string band;
      for (std::size_t i = 0; i < se.x.size(); ++i) band += num(sx(se.x[i])) + "," + num(sy(se.y[i] + se.y_sd[i])) + " ";
      for (std::size_t i = se.x.size(); i-- > 0;) band += num(sx(se.x[i])) + "," + num(sy(se.y[i] - se.y_sd[i])) + " ";
      s += "<polygon points=\"" + band + "\" fill=\"" + color + "\" fill-opacity=\"0.18\" stroke=\"none\"/>\n";
    }
    std::string line;
    for (std::size_t i = 0; i < se.x.size(); ++i) line += num(sx(se.x[i])) + "," + num(sy(se.y[i])) + " ";
    s += "<polyline points=\"" + line + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\"/>\n";
    const double ly = kTop + 10 + 22 * static_cast<double>(k);
    s += "<line x1=\"" + num(kLeft + pw + 15) + "\" y1=\"" + num(ly) + "\" x2=\"" + num(kLeft + pw + 40) +
         "\" y2=\"" + num(ly) + "\" stroke=\"" + color + "\" stroke-width=\"3\"/>\n";
    s += "<text x=\"" + num(kLeft + pw + 46) + "\" y=\"" + num(ly + 4) + "\">" + escape(se.name) + "</text>\n";
  }
  s += "</svg>\n";
  return s;
}

}  // namespace gwang::sim
