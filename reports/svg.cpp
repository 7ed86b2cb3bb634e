#include "reports/svg.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace supra::reports {

namespace {

std::string num(double v) { return fmt::format("{:.2f}", v); }

struct Rgb {
  double r, g, b;
};

// A viridis-like sequential map, t in [0, 1].
Rgb colormap(double t) {
  static const Rgb stops[] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::clamp(t, 0.0, 1.0) * 4;
  const int i = std::min(3, int(t));
  const double f = t - i;
  const Rgb a = stops[i], b = stops[i + 1];
  return {a.r + (b.r - a.r) * f, a.g + (b.g - a.g) * f, a.b + (b.b - a.b) * f};
}

std::string hex(Rgb c) { return fmt::format("#{:02x}{:02x}{:02x}", int(c.r + 0.5), int(c.g + 0.5), int(c.b + 0.5)); }

std::string pow2_label(double v) {
  if (v >= 1024 && std::fmod(v, 1024) == 0) return fmt::format("{}k", int64_t(v / 1024));
  return tick_label(v);
}

// Rough text width for layout (no font metrics available): 0.6 em per character.
double text_width(const std::string& s, double size) {
  size_t chars = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) chars++;
  return double(chars) * size * 0.6;
}

}  // namespace

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string palette(size_t i) {
  static const char* p[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                            "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
  return p[i % 10];
}

SvgWriter::SvgWriter(double w, double h) {
  o_ << fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"Helvetica, Arial, sans-serif\">\n",
      num(w), num(h));
  o_ << fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", num(w), num(h));
}

void SvgWriter::rect(double x, double y, double w, double h, const std::string& fill, const std::string& extra) {
  o_ << fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"{}{}/>\n", num(x), num(y), num(w),
                    num(h), fill, extra.empty() ? "" : " ", extra);
}

void SvgWriter::line(double x1, double y1, double x2, double y2, const std::string& stroke, double width,
                     const std::string& extra) {
  o_ << fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}{}/>\n", num(x1),
                    num(y1), num(x2), num(y2), stroke, num(width), extra.empty() ? "" : " ", extra);
}

void SvgWriter::polyline(const std::vector<std::pair<double, double>>& pts, const std::string& stroke, double width,
                         const std::string& extra) {
  std::string p;
  for (auto [x, y] : pts) {
    if (!p.empty()) p += ' ';
    p += num(x) + "," + num(y);
  }
  o_ << fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{}{}/>\n", p, stroke,
                    num(width), extra.empty() ? "" : " ", extra);
}

void SvgWriter::circle(double cx, double cy, double r, const std::string& fill, const std::string& stroke,
                       const std::string& extra) {
  o_ << fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\" stroke=\"{}\"{}{}/>\n", num(cx), num(cy), num(r),
                    fill, stroke, extra.empty() ? "" : " ", extra);
}

void SvgWriter::text(double x, double y, const std::string& s, const std::string& anchor, double size,
                     const std::string& extra) {
  o_ << fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"{}\"{}{}>{}</text>\n", num(x), num(y),
                    num(size), anchor, extra.empty() ? "" : " ", extra, xml_escape(s));
}

void SvgWriter::open_group(const std::string& attrs) {
  o_ << "<g" << (attrs.empty() ? "" : " ") << attrs << ">\n";
  depth_++;
}

void SvgWriter::close_group() {
  if (depth_ > 0) {
    o_ << "</g>\n";
    depth_--;
  }
}

void SvgWriter::title(const std::string& s) { o_ << "<title>" << xml_escape(s) << "</title>\n"; }

std::string SvgWriter::finish() {
  while (depth_ > 0) close_group();
  o_ << "</svg>\n";
  return o_.str();
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> out;
  const double first = std::floor(lo / step) * step, last = std::ceil(hi / step) * step;
  for (double v = first; v <= last + step * 1e-9; v += step) out.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return out;
}

std::string tick_label(double v) {
  for (int p = 0; p <= 6; p++) {
    const std::string s = fmt::format("{:.{}f}", v, p);
    if (std::abs(std::stod(s) - v) <= std::abs(v) * 1e-9 + 1e-12) return s;
  }
  return fmt::format("{:g}", v);
}

std::string render_line_plot(const LinePlot& p) {
  // Data ranges.
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (const PlotSeries& s : p.series)
    for (const PlotPoint& q : s.points) {
      if (p.log2_x && !(q.x > 0)) continue;
      xmin = std::min(xmin, q.x);
      xmax = std::max(xmax, q.x);
      ymin = std::min(ymin, q.y);
      ymax = std::max(ymax, q.y);
    }
  const bool empty = !(xmax >= xmin);
  if (empty) xmin = 1, xmax = 2, ymin = 0, ymax = 1;
  if (p.y_from_zero) ymin = std::min(ymin, 0.0);

  // x ticks (in axis units: log2 for a log axis).
  std::vector<double> xt;
  double ax0, ax1;
  if (p.log2_x) {
    // A quarter octave of room on each side, so no marker sits on an axis; ticks at the powers of 2 inside.
    ax0 = std::log2(xmin) - 0.25;
    ax1 = std::log2(xmax) + 0.25;
    const double e0 = std::ceil(ax0), e1 = std::floor(ax1);
    const int every = std::max(1, int(std::ceil((e1 - e0) / 10)));
    for (double e = e0; e <= e1; e += every) xt.push_back(e);
  } else {
    xt = nice_ticks(xmin, xmax, 6);
    ax0 = xt.front();
    ax1 = xt.back();
  }
  {
    // Some room above and below the data, so markers do not sit on the frame (not below 0 when data is >= 0).
    // Flat data gets a readable range around its value (0 to 1 for all zeros) instead of a sliver of rounding.
    const double pad = ymax > ymin ? (ymax - ymin) * 0.04 : (ymax == 0 ? 1.0 : std::abs(ymax) * 0.1);
    ymin = (ymin >= 0 && ymin - pad < 0) ? 0 : ymin - pad;
    ymax += pad;
  }
  std::vector<double> yt = nice_ticks(ymin, ymax, 5);
  const double ay0 = yt.front(), ay1 = yt.back();

  // Layout: the legend sits right of the plot area.
  double legend_w = 0;
  for (const PlotSeries& s : p.series) legend_w = std::max(legend_w, text_width(s.label, 12));
  legend_w += 50;
  const double ml = 72, mr = legend_w + 20, mt = 44, mb = p.note.empty() ? 56 : 76;
  const double legend_h = 24.0 * double(p.series.size()) + 30;
  const double height = std::max(p.height, mt + legend_h + mb);
  const double pw = p.width - ml - mr, ph = height - mt - mb;
  auto X = [&](double x) {
    const double a = p.log2_x ? std::log2(x) : x;
    return ml + (a - ax0) / (ax1 - ax0) * pw;
  };
  auto Y = [&](double y) { return mt + ph - (y - ay0) / (ay1 - ay0) * ph; };

  SvgWriter w(p.width, height);
  w.text(ml, 24, p.title, "start", 15, "font-weight=\"bold\"");
  // Grid, axes and ticks.
  w.open_group("class=\"axes\"");
  for (double t : yt) {
    w.line(ml, Y(t), ml + pw, Y(t), "#e4e4e4");
    w.text(ml - 8, Y(t) + 4, tick_label(t), "end", 11);
  }
  for (double t : xt) {
    const double xv = p.log2_x ? std::pow(2.0, t) : t;
    const double px = ml + (t - ax0) / (ax1 - ax0) * pw;
    w.line(px, mt, px, mt + ph, "#e4e4e4");
    w.line(px, mt + ph, px, mt + ph + 5, "#333333");
    w.text(px, mt + ph + 19, p.log2_x ? pow2_label(xv) : tick_label(xv), "middle", 11);
  }
  w.line(ml, mt + ph, ml + pw, mt + ph, "#333333", 1.2);
  w.line(ml, mt, ml, mt + ph, "#333333", 1.2);
  w.text(ml + pw / 2, mt + ph + 40, p.x_label + (p.log2_x ? " (log2 scale)" : ""), "middle", 12);
  w.text(18, mt + ph / 2, p.y_label, "middle", 12,
         fmt::format("transform=\"rotate(-90 18 {})\"", num(mt + ph / 2)));
  w.close_group();
  if (empty) w.text(ml + pw / 2, mt + ph / 2, "no data", "middle", 14, "fill=\"#888888\"");

  // Series.
  for (const PlotSeries& s : p.series) {
    const std::string col = palette(s.color);
    w.open_group(fmt::format("class=\"series\" data-series=\"{}\"", xml_escape(s.label)));
    std::vector<PlotPoint> pts;
    for (const PlotPoint& q : s.points)
      if (!p.log2_x || q.x > 0) pts.push_back(q);
    std::sort(pts.begin(), pts.end(), [](const PlotPoint& a, const PlotPoint& b) { return a.x < b.x; });
    std::vector<std::pair<double, double>> line;
    for (const PlotPoint& q : pts) line.push_back({X(q.x), Y(q.y)});
    if (line.size() > 1)
      w.polyline(line, col, 2, s.dashed ? "stroke-dasharray=\"6 4\"" : "");
    for (const PlotPoint& q : pts) {
      const std::string fill = q.hollow ? "#ffffff" : col;
      if (s.square) {
        w.open_group("");
        w.rect(X(q.x) - 4, Y(q.y) - 4, 8, 8, fill, fmt::format("stroke=\"{}\" stroke-width=\"1.5\"", col));
      } else {
        w.open_group("");
        w.circle(X(q.x), Y(q.y), 4.2, fill, col, "stroke-width=\"1.5\"");
      }
      w.title(q.tip.empty() ? fmt::format("{}: ({}, {})", s.label, tick_label(q.x), tick_label(q.y)) : q.tip);
      w.close_group();
    }
    w.close_group();
  }

  // Legend.
  const double lx = ml + pw + 24;
  double ly = mt + 8;
  w.open_group("class=\"legend\"");
  for (const PlotSeries& s : p.series) {
    const std::string col = palette(s.color);
    w.line(lx, ly, lx + 28, ly, col, 2, s.dashed ? "stroke-dasharray=\"6 4\"" : "");
    if (s.square) w.rect(lx + 10, ly - 4, 8, 8, col);
    else w.circle(lx + 14, ly, 4.2, col, col);
    w.text(lx + 36, ly + 4, s.label, "start", 12);
    ly += 24;
  }
  bool any_hollow = false;
  for (const PlotSeries& s : p.series)
    for (const PlotPoint& q : s.points) any_hollow |= q.hollow;
  if (any_hollow) {
    w.circle(lx + 14, ly, 4.2, "#ffffff", "#555555", "stroke-width=\"1.5\"");
    w.text(lx + 36, ly + 4, "beyond training ctx", "start", 11, "fill=\"#555555\"");
  }
  w.close_group();
  if (!p.note.empty()) w.text(ml, height - 12, p.note, "start", 11, "fill=\"#555555\"");
  return w.finish();
}

std::string render_heatmap(const Heatmap& h) {
  double ylab_w = 0;
  for (const std::string& s : h.y_ticks) ylab_w = std::max(ylab_w, text_width(s, 11));
  const double ml = std::max(70.0, ylab_w + 40), mt = 48, mb = h.note.empty() ? 60 : 80, bar_w = 90;
  const double gw = h.cell_w * double(h.x_ticks.size()), gh = h.cell_h * double(h.y_ticks.size());
  const double width = std::max(360.0, ml + gw + bar_w + 30), height = std::max(220.0, mt + gh + mb);
  SvgWriter w(width, height);
  w.text(12, 24, h.title, "start", 15, "font-weight=\"bold\"");
  const double span = h.vmax > h.vmin ? h.vmax - h.vmin : 1;
  w.open_group(fmt::format("class=\"series heatmap\" data-series=\"{}\"", xml_escape(h.series_label)));
  for (size_t r = 0; r < h.y_ticks.size(); r++) {
    for (size_t c = 0; c < h.x_ticks.size(); c++) {
      const double x = ml + h.cell_w * double(c), y = mt + h.cell_h * double(r);
      const bool has = r < h.cells.size() && c < h.cells[r].size() && h.cells[r][c].has_value();
      const double v = has ? h.cells[r][c].value() : 0.0;
      w.open_group("");
      if (!has) {
        w.rect(x, y, h.cell_w, h.cell_h, "#eeeeee", "stroke=\"#ffffff\"");
        w.text(x + h.cell_w / 2, y + h.cell_h / 2 + 4, "–", "middle", 11, "fill=\"#888888\"");
        w.title(fmt::format("{} {}, {} {}: not evaluated", h.x_label, h.x_ticks[c], h.y_label, h.y_ticks[r]));
      } else {
        const Rgb col = colormap((v - h.vmin) / span);
        const double lum = 0.299 * col.r + 0.587 * col.g + 0.114 * col.b;
        w.rect(x, y, h.cell_w, h.cell_h, hex(col), "stroke=\"#ffffff\"");
        const std::string label = fmt::format("{:.{}f}", v, h.precision);
        w.text(x + h.cell_w / 2, y + h.cell_h / 2 + 4, label, "middle", 11,
               lum > 140 ? "fill=\"#000000\"" : "fill=\"#ffffff\"");
        w.title(fmt::format("{} {}, {} {}: {}", h.x_label, h.x_ticks[c], h.y_label, h.y_ticks[r], label));
      }
      w.close_group();
    }
  }
  w.close_group();
  w.open_group("class=\"axes\"");
  for (size_t c = 0; c < h.x_ticks.size(); c++)
    w.text(ml + h.cell_w * (double(c) + 0.5), mt + gh + 18, h.x_ticks[c], "middle", 11);
  for (size_t r = 0; r < h.y_ticks.size(); r++)
    w.text(ml - 8, mt + h.cell_h * (double(r) + 0.5) + 4, h.y_ticks[r], "end", 11);
  w.text(ml + gw / 2, mt + gh + 40, h.x_label, "middle", 12);
  w.text(16, mt + gh / 2, h.y_label, "middle", 12, fmt::format("transform=\"rotate(-90 16 {})\"", num(mt + gh / 2)));
  // Colour bar.
  const double bx = ml + gw + 24, bh = std::max(60.0, gh);
  for (int i = 0; i < 20; i++) {
    const double t0 = double(i) / 20;
    w.rect(bx, mt + bh * (1 - t0 - 0.05), 14, bh / 20 + 0.5, hex(colormap(t0 + 0.025)));
  }
  w.text(bx + 20, mt + 10, tick_label(h.vmax), "start", 11);
  w.text(bx + 20, mt + bh, tick_label(h.vmin), "start", 11);
  w.close_group();
  if (!h.note.empty()) w.text(12, height - 12, h.note, "start", 11, "fill=\"#555555\"");
  return w.finish();
}

}  // namespace supra::reports
