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

namespace {

// The exact value in a data attribute: the shortest form that reads back as the same double.
std::string exact(double v) { return fmt::format("{}", v); }

struct Ranges {
  double xmin, xmax, ymin, ymax;
  bool empty;
};

// What the axes must show: every point (with its error bar) and every reference line.
Ranges data_ranges(const LinePlot& p) {
  const double inf = std::numeric_limits<double>::infinity();
  Ranges r{inf, -inf, inf, -inf, false};
  auto take_y = [&](double y) {
    if (p.log10_y && !(y > 0)) return;
    r.ymin = std::min(r.ymin, y);
    r.ymax = std::max(r.ymax, y);
  };
  for (const PlotSeries& s : p.series)
    for (const PlotPoint& q : s.points) {
      if ((p.log2_x && !(q.x > 0)) || (p.log10_y && !(q.y > 0))) continue;
      r.xmin = std::min(r.xmin, q.x);
      r.xmax = std::max(r.xmax, q.x);
      take_y(q.y);
      if (q.err) {
        take_y(q.y + *q.err);
        take_y(q.y - *q.err);
      }
    }
  r.empty = !(r.xmax >= r.xmin);
  if (r.empty) r = {1, 2, p.log10_y ? 1.0 : 0.0, p.log10_y ? 10.0 : 1.0, true};
  for (const RefLine& h : p.hlines) take_y(h.at);
  for (const RefLine& v : p.vlines)
    if (!p.log2_x || v.at > 0) r.xmin = std::min(r.xmin, v.at), r.xmax = std::max(r.xmax, v.at);
  if (p.y_from_zero && !p.log10_y) r.ymin = std::min(r.ymin, 0.0);
  return r;
}

// An axis: ticks and its ends, in axis units (log2 x or log10 y: the logarithm of the value).
struct Axis {
  std::vector<double> ticks;
  double a0 = 0, a1 = 1;
};

Axis x_axis(const LinePlot& p, const Ranges& r) {
  Axis a;
  if (p.log2_x) {
    // A quarter octave of room on each side, so no marker sits on an axis; ticks at the powers of 2 inside.
    a.a0 = std::log2(r.xmin) - 0.25;
    a.a1 = std::log2(r.xmax) + 0.25;
    const double e0 = std::ceil(a.a0), e1 = std::floor(a.a1);
    const int every = std::max(1, int(std::ceil((e1 - e0) / 10)));
    for (double e = e0; e <= e1; e += every) a.ticks.push_back(e);
  } else {
    a.ticks = nice_ticks(r.xmin, r.xmax, 6);
    a.a0 = a.ticks.front();
    a.a1 = a.ticks.back();
  }
  return a;
}

Axis y_axis(const LinePlot& p, double ymin, double ymax) {
  Axis a;
  if (p.log10_y) {
    // A tenth of the span of room (in log units) on each side; ticks at 1, 2, 5 x 10^k inside (1 x 10^k only when
    // that would crowd the axis).
    const double l0 = std::log10(ymin), l1 = std::log10(ymax), pad = std::max(0.05, (l1 - l0) * 0.06);
    a.a0 = l0 - pad;
    a.a1 = l1 + pad;
    for (int pass = 0; pass < 2 && a.ticks.size() < 2; pass++) {
      a.ticks.clear();
      const bool sparse = (a.a1 - a.a0) > 2.5;
      for (int e = int(std::floor(a.a0)); e <= int(std::ceil(a.a1)); e++)
        for (double m : {1.0, 2.0, 5.0}) {
          if (sparse && pass == 0 && m != 1.0) continue;
          const double t = std::log10(m) + e;
          if (t >= a.a0 && t <= a.a1) a.ticks.push_back(t);
        }
    }
    return a;
  }
  // Some room above and below the data, so markers do not sit on the frame (not below 0 when data is >= 0).
  // Flat data gets a readable range around its value (0 to 1 for all zeros) instead of a sliver of rounding.
  const double pad = ymax > ymin ? (ymax - ymin) * 0.04 : (ymax == 0 ? 1.0 : std::abs(ymax) * 0.1);
  ymin = (ymin >= 0 && ymin - pad < 0) ? 0 : ymin - pad;
  ymax += pad;
  a.ticks = nice_ticks(ymin, ymax, 5);
  a.a0 = a.ticks.front();
  a.a1 = a.ticks.back();
  return a;
}

// Pixel geometry of the plot area.
struct Frame {
  const LinePlot& p;
  Axis xa, ya;
  double ml, mt, pw, ph;
  double X(double x) const { return ml + ((p.log2_x ? std::log2(x) : x) - xa.a0) / (xa.a1 - xa.a0) * pw; }
  double Y(double y) const { return mt + ph - ((p.log10_y ? std::log10(y) : y) - ya.a0) / (ya.a1 - ya.a0) * ph; }
  bool shows(const PlotPoint& q) const { return (!p.log2_x || q.x > 0) && (!p.log10_y || q.y > 0); }
};

void draw_axes(SvgWriter& w, const Frame& f) {
  const LinePlot& p = f.p;
  w.open_group("class=\"axes\"");
  for (double t : f.ya.ticks) {
    const double v = p.log10_y ? std::pow(10.0, t) : t, py = f.mt + f.ph - (t - f.ya.a0) / (f.ya.a1 - f.ya.a0) * f.ph;
    w.line(f.ml, py, f.ml + f.pw, py, "#e4e4e4");
    w.text(f.ml - 8, py + 4, tick_label(p.log10_y ? std::round(v * 1e6) / 1e6 : v), "end", 11);
  }
  for (double t : f.xa.ticks) {
    const double xv = p.log2_x ? std::pow(2.0, t) : t;
    const double px = f.ml + (t - f.xa.a0) / (f.xa.a1 - f.xa.a0) * f.pw;
    w.line(px, f.mt, px, f.mt + f.ph, "#e4e4e4");
    w.line(px, f.mt + f.ph, px, f.mt + f.ph + 5, "#333333");
    w.text(px, f.mt + f.ph + 19, p.log2_x ? pow2_label(xv) : tick_label(xv), "middle", 11);
  }
  w.line(f.ml, f.mt + f.ph, f.ml + f.pw, f.mt + f.ph, "#333333", 1.2);
  w.line(f.ml, f.mt, f.ml, f.mt + f.ph, "#333333", 1.2);
  w.text(f.ml + f.pw / 2, f.mt + f.ph + 40, p.x_label + (p.log2_x ? " (log2 scale)" : ""), "middle", 12);
  const std::string yl = p.y_label + (p.log10_y ? " (log scale)" : "");
  w.text(18, f.mt + f.ph / 2, yl, "middle", 12, fmt::format("transform=\"rotate(-90 18 {})\"", num(f.mt + f.ph / 2)));
  w.close_group();
}

void draw_reference_lines(SvgWriter& w, const Frame& f) {
  for (const RefLine& h : f.p.hlines) {
    if (f.p.log10_y && !(h.at > 0)) continue;
    w.open_group(fmt::format("class=\"refline\" data-axis=\"y\" data-value=\"{}\"", exact(h.at)));
    w.line(f.ml, f.Y(h.at), f.ml + f.pw, f.Y(h.at), "#777777", 1.2, "stroke-dasharray=\"2 3\"");
    w.text(f.ml + f.pw - 4, f.Y(h.at) - 5, h.label, "end", 11, "fill=\"#555555\"");
    w.close_group();
  }
  for (const RefLine& v : f.p.vlines) {
    if (f.p.log2_x && !(v.at > 0)) continue;
    w.open_group(fmt::format("class=\"refline\" data-axis=\"x\" data-value=\"{}\"", exact(v.at)));
    w.line(f.X(v.at), f.mt, f.X(v.at), f.mt + f.ph, "#777777", 1.2, "stroke-dasharray=\"2 3\"");
    w.text(f.X(v.at) + 4, f.mt + 12, v.label, "start", 11, "fill=\"#555555\"");
    w.close_group();
  }
}

void draw_series(SvgWriter& w, const Frame& f, const PlotSeries& s) {
  const std::string col = palette(s.color);
  w.open_group(fmt::format("class=\"series\" data-series=\"{}\"", xml_escape(s.label)));
  std::vector<PlotPoint> pts;
  for (const PlotPoint& q : s.points)
    if (f.shows(q)) pts.push_back(q);
  std::sort(pts.begin(), pts.end(), [](const PlotPoint& a, const PlotPoint& b) { return a.x < b.x; });
  std::vector<std::pair<double, double>> line;
  for (const PlotPoint& q : pts) line.push_back({f.X(q.x), f.Y(q.y)});
  if (line.size() > 1) w.polyline(line, col, 2, s.dashed ? "stroke-dasharray=\"6 4\"" : "");
  // Error bars under the markers; on a log axis a bar reaching zero or below stops at the frame.
  for (const PlotPoint& q : pts) {
    if (!q.err) continue;
    const double lo = q.y - *q.err, hi = q.y + *q.err;
    const double ylo = (f.p.log10_y && !(lo > 0)) ? f.mt + f.ph : f.Y(lo), yhi = f.Y(hi), px = f.X(q.x);
    w.open_group(fmt::format("class=\"errbar\" data-x=\"{}\" data-y=\"{}\" data-err=\"{}\"", exact(q.x), exact(q.y),
                             exact(*q.err)));
    w.line(px, ylo, px, yhi, col, 1.2);
    w.line(px - 4, ylo, px + 4, ylo, col, 1.2);
    w.line(px - 4, yhi, px + 4, yhi, col, 1.2);
    w.close_group();
  }
  for (const PlotPoint& q : pts) {
    const std::string fill = q.hollow ? "#ffffff" : col;
    w.open_group("");
    if (s.square) w.rect(f.X(q.x) - 4, f.Y(q.y) - 4, 8, 8, fill, fmt::format("stroke=\"{}\" stroke-width=\"1.5\"", col));
    else w.circle(f.X(q.x), f.Y(q.y), 4.2, fill, col, "stroke-width=\"1.5\"");
    std::string tip = q.tip.empty() ? fmt::format("{}: ({}, {})", s.label, tick_label(q.x), tick_label(q.y)) : q.tip;
    w.title(tip);
    w.close_group();
  }
  w.close_group();
}

void draw_legend(SvgWriter& w, const Frame& f) {
  const double lx = f.ml + f.pw + 24;
  double ly = f.mt + 8;
  bool any_hollow = false, any_err = false;
  w.open_group("class=\"legend\"");
  for (const PlotSeries& s : f.p.series) {
    const std::string col = palette(s.color);
    w.line(lx, ly, lx + 28, ly, col, 2, s.dashed ? "stroke-dasharray=\"6 4\"" : "");
    if (s.square) w.rect(lx + 10, ly - 4, 8, 8, col);
    else w.circle(lx + 14, ly, 4.2, col, col);
    w.text(lx + 36, ly + 4, s.label, "start", 12);
    ly += 24;
    for (const PlotPoint& q : s.points) any_hollow |= q.hollow, any_err |= q.err.has_value();
  }
  if (any_hollow) {
    w.circle(lx + 14, ly, 4.2, "#ffffff", "#555555", "stroke-width=\"1.5\"");
    w.text(lx + 36, ly + 4, "beyond training ctx", "start", 11, "fill=\"#555555\"");
    ly += 24;
  }
  if (any_err) {
    w.line(lx + 14, ly - 7, lx + 14, ly + 7, "#555555", 1.2);
    w.line(lx + 10, ly - 7, lx + 18, ly - 7, "#555555", 1.2);
    w.line(lx + 10, ly + 7, lx + 18, ly + 7, "#555555", 1.2);
    w.text(lx + 36, ly + 4, "± 1 standard error", "start", 11, "fill=\"#555555\"");
  }
  w.close_group();
}

}  // namespace

bool spans_more_than(double lo, double hi, double factor) { return lo > 0 && hi > lo * factor; }

std::string render_line_plot(const LinePlot& p) {
  const Ranges r = data_ranges(p);
  double legend_w = text_width("± 1 standard error", 11);
  for (const PlotSeries& s : p.series) legend_w = std::max(legend_w, text_width(s.label, 12));
  legend_w += 50;
  const double ml = 72, mr = legend_w + 20, mt = 44, mb = p.note.empty() ? 56 : 76;
  const double legend_h = 24.0 * double(p.series.size() + 2) + 30;
  const double height = std::max(p.height, mt + legend_h + mb);
  const Frame f{p, x_axis(p, r), y_axis(p, r.ymin, r.ymax), ml, mt, p.width - ml - mr, height - mt - mb};

  SvgWriter w(p.width, height);
  // A title longer than the plot is set smaller rather than clipped.
  const double title_size = std::min(15.0, (p.width - ml - 12) / std::max(1.0, text_width(p.title, 1.0)));
  w.text(ml, 24, p.title, "start", title_size, "font-weight=\"bold\"");
  draw_axes(w, f);
  if (r.empty) w.text(ml + f.pw / 2, mt + f.ph / 2, "no data", "middle", 14, "fill=\"#888888\"");
  draw_reference_lines(w, f);
  for (const PlotSeries& s : p.series) draw_series(w, f, s);
  draw_legend(w, f);
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
