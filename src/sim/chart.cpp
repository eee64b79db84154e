#include "sim/chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gwang::sim {

namespace {

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

// An axis label: whole numbers without decimals, others with one.
std::string label(double v) {
  char buf[32];
  if (std::abs(v - std::round(v)) < 1e-9) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f", v);
  }
  return buf;
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

namespace {

// One panel of the chart at (left, top), `pw` x `ph` for the plot area.
std::string panel_svg(const std::vector<Series>& series, const ChartOptions& o, const Panel& p, double left,
                      double top, double pw, double ph) {
  auto sx = [&](double x) { return left + (x - p.x_min) / (p.x_max - p.x_min) * pw; };
  auto sy = [&](double y) { return top + ph - (y - p.y_min) / (p.y_max - p.y_min) * ph; };
  std::string s;
  s += "<text x=\"" + num(left) + "\" y=\"" + num(top - 8) + "\" font-weight=\"bold\">" + escape(p.title) + "</text>\n";
  const double xs = nice_step(p.x_max - p.x_min), ys = nice_step(p.y_max - p.y_min);
  for (double x = std::ceil(p.x_min / xs) * xs; x <= p.x_max + 1e-9; x += xs) {
    s += "<line x1=\"" + num(sx(x)) + "\" y1=\"" + num(top) + "\" x2=\"" + num(sx(x)) + "\" y2=\"" + num(top + ph) +
         "\" stroke=\"#e5e5e5\"/>\n";
    s += "<text x=\"" + num(sx(x)) + "\" y=\"" + num(top + ph + 18) + "\" text-anchor=\"middle\">" + label(x) + "</text>\n";
  }
  for (double y = std::ceil(p.y_min / ys) * ys; y <= p.y_max + 1e-9; y += ys) {
    s += "<line x1=\"" + num(left) + "\" y1=\"" + num(sy(y)) + "\" x2=\"" + num(left + pw) + "\" y2=\"" + num(sy(y)) +
         "\" stroke=\"#e5e5e5\"/>\n";
    s += "<text x=\"" + num(left - 8) + "\" y=\"" + num(sy(y) + 4) + "\" text-anchor=\"end\">" + label(y) + "</text>\n";
  }
  s += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(pw) + "\" height=\"" + num(ph) +
       "\" fill=\"none\" stroke=\"#333\"/>\n";
  s += "<text x=\"" + num(left + pw / 2) + "\" y=\"" + num(top + ph + 42) + "\" text-anchor=\"middle\">" +
       escape(o.x_label) + "</text>\n";
  s += "<text transform=\"translate(" + num(left - 48) + "," + num(top + ph / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">" + escape(o.y_label) + "</text>\n";
  // Clip the lines to the plot area.
  static int clip_id = 0;
  const std::string clip = "clip" + std::to_string(++clip_id);
  s += "<clipPath id=\"" + clip + "\"><rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(pw) +
       "\" height=\"" + num(ph) + "\"/></clipPath>\n<g clip-path=\"url(#" + clip + ")\">\n";
  if (o.diagonal) {
    const double lo = std::max(p.x_min, p.y_min), hi = std::min(p.x_max, p.y_max);
    if (hi > lo) {
      s += "<line x1=\"" + num(sx(lo)) + "\" y1=\"" + num(sy(lo)) + "\" x2=\"" + num(sx(hi)) + "\" y2=\"" +
           num(sy(hi)) + "\" stroke=\"#999\" stroke-dasharray=\"5,4\"/>\n";
    }
  }
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
  }
  s += "</g>\n";
  return s;
}

}  // namespace

std::string line_chart_svg(const std::vector<Series>& series, const ChartOptions& o) {
  constexpr double kPanelW = 520, kPanelH = 400, kLeft = 80, kGap = 100, kTop = 80, kLegend = 190;
  const std::size_t n = std::max<std::size_t>(1, o.panels.size());
  const double width = kLeft + static_cast<double>(n) * kPanelW + static_cast<double>(n - 1) * kGap + kLegend;
  const double height = kTop + kPanelH + 70;
  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) +
       "\" font-family=\"sans-serif\" font-size=\"13\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + num(kLeft) + "\" y=\"30\" font-size=\"17\" font-weight=\"bold\">" + escape(o.title) + "</text>\n";
  const std::vector<Panel> panels = o.panels.empty() ? std::vector<Panel>{Panel{}} : o.panels;
  for (std::size_t i = 0; i < panels.size(); ++i) {
    s += panel_svg(series, o, panels[i], kLeft + static_cast<double>(i) * (kPanelW + kGap), kTop, kPanelW, kPanelH);
  }
  const double lx = kLeft + static_cast<double>(n) * kPanelW + static_cast<double>(n - 1) * kGap + 20;
  for (std::size_t k = 0; k < series.size(); ++k) {
    const std::string color = kColors[k % (sizeof kColors / sizeof *kColors)];
    const double ly = kTop + 10 + 22 * static_cast<double>(k);
    s += "<line x1=\"" + num(lx) + "\" y1=\"" + num(ly) + "\" x2=\"" + num(lx + 25) + "\" y2=\"" + num(ly) +
         "\" stroke=\"" + color + "\" stroke-width=\"3\"/>\n";
    s += "<text x=\"" + num(lx + 31) + "\" y=\"" + num(ly + 4) + "\">" + escape(series[k].name) + "</text>\n";
  }
  s += "</svg>\n";
  return s;
}

}  // namespace gwang::sim
