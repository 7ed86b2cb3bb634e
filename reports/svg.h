#pragma once
// A small SVG writer for the report's plots: line plots (linear or log2 x axis, ticks, legend, lines with
// markers; hollow markers for points beyond a model's training context) and heatmaps. Output is standalone
// SVG 1.1 (xmlns set), so it opens as a file and inlines into HTML.
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace supra::reports {

class SvgWriter {
 public:
  SvgWriter(double width, double height);
  void rect(double x, double y, double w, double h, const std::string& fill, const std::string& extra = "");
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1,
            const std::string& extra = "");
  void polyline(const std::vector<std::pair<double, double>>& pts, const std::string& stroke, double width,
                const std::string& extra = "");
  void circle(double cx, double cy, double r, const std::string& fill, const std::string& stroke,
              const std::string& extra = "");
  // anchor: start | middle | end
  void text(double x, double y, const std::string& s, const std::string& anchor = "start", double size = 12,
            const std::string& extra = "");
  void open_group(const std::string& attrs);
  void close_group();
  void title(const std::string& s);  // <title> of the enclosing element (a tooltip)
  std::string finish();              // the document; the writer is spent afterwards

 private:
  std::ostringstream o_;
  int depth_ = 0;
};

std::string xml_escape(const std::string& s);
// Tableau-10 colour i (wraps).
std::string palette(size_t i);

struct PlotPoint {
  double x = 0, y = 0;
  bool hollow = false;  // e.g. beyond the training context
  std::string tip;      // tooltip
  std::optional<double> err;  // half-width of an error bar (one standard error); the y range includes y +- err
};

// A dotted reference line across the plot (chance level) or down it (the training context), labelled at its end.
struct RefLine {
  double at = 0;  // y for a horizontal line, x for a vertical one
  std::string label;
};

struct PlotSeries {
  std::string label;  // legend text; also written as data-series="..." on the series' <g class="series">
  std::vector<PlotPoint> points;
  size_t color = 0;
  bool dashed = false;
  bool square = false;  // square markers instead of circles
};

struct LinePlot {
  std::string title, x_label, y_label;
  bool log2_x = false;  // x must then be > 0
  bool y_from_zero = false;
  bool log10_y = false;  // y (and y - err) must then be > 0; non-positive values are left out
  std::vector<RefLine> hlines, vlines;  // inside the range: the y (x) range is widened to include each
  std::vector<PlotSeries> series;
  std::string note;  // a line under the plot
  double width = 600, height = 400;
};

// Error bars are drawn as <g class="errbar" data-x data-y data-err> (the values exact, shortest round-trip form), so
// a reader (or a test) can check them against the store; reference lines as <g class="refline" data-value>.
std::string render_line_plot(const LinePlot& p);
// Whether a positive range [lo, hi] spans more than `factor` (a log axis then shows it better).
bool spans_more_than(double lo, double hi, double factor);

struct Heatmap {
  std::string title, x_label, y_label;
  std::vector<std::string> x_ticks, y_ticks;             // column and row labels
  std::vector<std::vector<std::optional<double>>> cells;  // [row][column]; nullopt = not evaluated
  double vmin = 0, vmax = 100;
  int precision = 0;
  std::string series_label;  // written as data-series on the cells' group
  std::string note;
  double cell_w = 64, cell_h = 34;
};

std::string render_heatmap(const Heatmap& h);

// Tick positions for a linear axis over [lo, hi]: about `target` "nice" values (1, 2, 5 x 10^k).
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// Label of a tick: shortest fixed form that shows the value ("0.5", "20", "1.25").
std::string tick_label(double v);

}  // namespace supra::reports
