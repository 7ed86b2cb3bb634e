#pragma once
// One table of the report, rendered four ways: Markdown, CSV, LaTeX (booktabs) and HTML. A missing value renders
// as "–" (CSV: an empty field), never as 0; a number prints at its cell's fixed precision, i.e. the store's value
// (in display units) rounded.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace supra::reports {

struct Cell {
  std::string text;               // a text cell (model name, mode, ...) when !numeric
  bool numeric = false;
  std::optional<double> value;    // display units; nullopt = missing
  std::optional<double> stderr_;  // shown as "± se" when present
  std::optional<int64_t> n;       // documents behind the value
  int precision = 2;
  bool beyond = false;            // beyond the model's training context: marked with †
  bool plus_sign = false;         // deltas: "+1.25"
  std::string title;              // HTML tooltip

  static Cell str(std::string s) {
    Cell c;
    c.text = std::move(s);
    return c;
  }
  static Cell num(std::optional<double> v, int precision, std::optional<double> se = std::nullopt,
                  std::optional<int64_t> n = std::nullopt) {
    Cell c;
    c.numeric = true;
    c.value = v;
    c.stderr_ = se;
    c.n = n;
    c.precision = precision;
    return c;
  }
  static Cell integer(std::optional<int64_t> v) {
    Cell c;
    c.numeric = true;
    if (v) c.value = double(*v);
    c.precision = 0;
    return c;
  }
};

struct Column {
  std::string label;     // header (second level when group is set)
  std::string group;     // first header level ("Qasper (f1)"); consecutive equal groups merge
  std::string key;       // CSV column name
  bool numeric = false;
  bool csv_stderr = false, csv_n = false, csv_mark = false;  // extra CSV columns key_stderr, key_n, key_beyond_train
};

struct Row {
  std::vector<Cell> cells;
  bool reference = false;  // a row copied from the paper (shown in italics; CSV source = paper)
};

struct Table {
  std::string id;       // file stem: nlu, long_context, ...
  std::string title;
  std::string caption;  // one paragraph under the title
  std::vector<Column> cols;
  std::vector<Row> rows;
  std::vector<std::string> notes;  // footnotes
  bool empty() const { return rows.empty(); }
};

constexpr const char* kMissing = "–";  // U+2013
constexpr const char* kBeyondMark = "†";

// value rounded to `precision` decimals ("-0.00" prints as "0.00"); plus_sign adds "+" to positive values.
std::string format_fixed(double v, int precision, bool plus_sign = false);
// "2048" -> "2k", "16384" -> "16k", "1536" -> "1536", "512" -> "512".
std::string ctx_label(int64_t ctx);

std::string render_markdown(const Table& t);
std::string render_csv(const Table& t);
std::string render_latex(const Table& t);
std::string render_html(const Table& t);  // a <table> element (with caption and notes), no page around it

std::string html_escape(const std::string& s);
std::string latex_escape(const std::string& s);

}  // namespace supra::reports
