#include "reports/table.h"

#include "reports/svg.h"

#include <fmt/format.h>

namespace supra::reports {

namespace {

bool has_groups(const Table& t) {
  for (const Column& c : t.cols)
    if (!c.group.empty()) return true;
  return false;
}

// Runs of equal, non-empty groups: (first column, count).
std::vector<std::pair<size_t, size_t>> group_spans(const Table& t) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < t.cols.size();) {
    size_t j = i + 1;
    if (!t.cols[i].group.empty())
      while (j < t.cols.size() && t.cols[j].group == t.cols[i].group) j++;
    out.push_back({i, j - i});
    i = j;
  }
  return out;
}

std::string md_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  size_t p = 0;
  while ((p = s.find(from, p)) != std::string::npos) {
    s.replace(p, from.size(), to);
    p += to.size();
  }
  return s;
}

}  // namespace

std::string format_fixed(double v, int precision, bool plus_sign) {
  std::string s = fmt::format("{:.{}f}", v, precision);
  // A value that rounds to zero prints without a sign.
  bool all_zero = true;
  for (char c : s)
    if (c >= '1' && c <= '9') all_zero = false;
  if (all_zero && !s.empty() && s[0] == '-') s.erase(0, 1);
  if (plus_sign && !all_zero && s[0] != '-') s = "+" + s;
  return s;
}

std::string ctx_label(int64_t ctx) {
  if (ctx >= 1024 && ctx % 1024 == 0) return fmt::format("{}k", ctx / 1024);
  return fmt::format("{}", ctx);
}

// HTML5 reads XML's five entities, so the SVG writer's escaping serves both.
std::string html_escape(const std::string& s) { return xml_escape(s); }

std::string latex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\textbackslash{}"; break;
      case '&': case '%': case '$': case '#': case '_': case '{': case '}':
        out += '\\';
        out += c;
        break;
      case '~': out += "\\textasciitilde{}"; break;
      case '^': out += "\\textasciicircum{}"; break;
      default: out += c;
    }
  }
  out = replace_all(out, "–", "--");
  out = replace_all(out, "†", "\\dag{}");
  out = replace_all(out, "±", "$\\pm$");
  out = replace_all(out, "Δ", "$\\Delta$");
  out = replace_all(out, "·", "$\\cdot$");
  out = replace_all(out, "×", "$\\times$");
  out = replace_all(out, "≥", "$\\geq$");
  out = replace_all(out, "≤", "$\\leq$");
  return out;
}

// ---------------------------------------------------------------- Markdown

std::string render_markdown(const Table& t) {
  std::string out = fmt::format("## {}\n\n", t.title);
  if (!t.caption.empty()) out += t.caption + "\n\n";
  if (t.rows.empty()) return out + "_No data in this store._\n";
  out += "|";
  for (const Column& c : t.cols) {
    out += ' ';
    out += md_text(c.group.empty() ? c.label : c.group + " " + c.label);
    out += " |";
  }
  out += "\n|";
  for (const Column& c : t.cols) out += c.numeric ? "---:|" : "---|";
  out += "\n";
  for (const Row& r : t.rows) {
    out += "|";
    for (size_t i = 0; i < t.cols.size(); i++) {
      const Cell& c = i < r.cells.size() ? r.cells[i] : Cell{};
      std::string s;
      if (!c.numeric) {
        s = md_text(c.text);
        if (r.reference && !s.empty() && i == 0) s = "*" + s + "*";
      } else if (!c.value) {
        s = kMissing;
      } else {
        s = format_fixed(*c.value, c.precision, c.plus_sign);
        if (c.beyond) s += kBeyondMark;
        if (c.stderr_) s += " ± " + format_fixed(*c.stderr_, c.precision);
        if (c.n) s += fmt::format(" (n={})", *c.n);
      }
      out += " " + s + " |";
    }
    out += "\n";
  }
  if (!t.notes.empty()) {
    out += "\n";
    for (const std::string& n : t.notes) out += "- " + n + "\n";
  }
  return out;
}

// ---------------------------------------------------------------- CSV

std::string render_csv(const Table& t) {
  std::vector<std::string> head = {"source"};
  for (const Column& c : t.cols) {
    head.push_back(c.key);
    if (c.csv_stderr) head.push_back(c.key + "_stderr");
    if (c.csv_n) head.push_back(c.key + "_n");
    if (c.csv_mark) head.push_back(c.key + "_beyond_train");
  }
  std::string out;
  for (size_t i = 0; i < head.size(); i++) {
    if (i) out += ',';
    out += csv_field(head[i]);
  }
  out += "\n";
  for (const Row& r : t.rows) {
    std::vector<std::string> f = {r.reference ? "paper" : "store"};
    for (size_t i = 0; i < t.cols.size(); i++) {
      const Column& col = t.cols[i];
      const Cell& c = i < r.cells.size() ? r.cells[i] : Cell{};
      if (!c.numeric) {
        f.push_back(c.text);
      } else {
        f.push_back(c.value ? format_fixed(*c.value, c.precision, c.plus_sign) : "");
      }
      if (col.csv_stderr) f.push_back(c.stderr_ ? format_fixed(*c.stderr_, c.precision) : "");
      if (col.csv_n) f.push_back(c.n ? fmt::format("{}", *c.n) : "");
      if (col.csv_mark) f.push_back(c.value ? (c.beyond ? "1" : "0") : "");
    }
    for (size_t i = 0; i < f.size(); i++) {
      if (i) out += ',';
      out += csv_field(f[i]);
    }
    out += "\n";
  }
  return out;
}

// ---------------------------------------------------------------- LaTeX (booktabs)

std::string render_latex(const Table& t) {
  std::string out = fmt::format("% {} — generated by supra-eval report; needs \\usepackage{{booktabs}}\n", t.title);
  out += "\\begin{table}[t]\n\\centering\n\\small\n";
  out += fmt::format("\\caption{{{}}}\n\\label{{tab:{}}}\n", latex_escape(t.title), t.id);
  std::string spec;
  for (const Column& c : t.cols) spec += c.numeric ? "r" : "l";
  out += fmt::format("\\begin{{tabular}}{{{}}}\n\\toprule\n", spec);
  if (has_groups(t)) {
    std::string line, rules;
    std::vector<std::string> items;
    for (auto [first, count] : group_spans(t)) {
      const Column& c = t.cols[first];
      if (c.group.empty()) {
        for (size_t k = 0; k < count; k++) items.push_back("");
      } else {
        items.push_back(fmt::format("\\multicolumn{{{}}}{{c}}{{{}}}", count, latex_escape(c.group)));
        rules += fmt::format("\\cmidrule(lr){{{}-{}}}", first + 1, first + count);
      }
    }
    for (size_t i = 0; i < items.size(); i++) line += (i ? " & " : "") + items[i];
    out += line + " \\\\\n" + rules + "\n";
  }
  for (size_t i = 0; i < t.cols.size(); i++) {
    if (i) out += " & ";
    out += latex_escape(t.cols[i].label);
  }
  out += " \\\\\n\\midrule\n";
  for (const Row& r : t.rows) {
    for (size_t i = 0; i < t.cols.size(); i++) {
      const Cell& c = i < r.cells.size() ? r.cells[i] : Cell{};
      std::string s;
      if (!c.numeric) {
        s = latex_escape(c.text);
        if (r.reference && !s.empty()) s = "\\textit{" + s + "}";
      } else if (!c.value) {
        s = "--";
      } else {
        s = format_fixed(*c.value, c.precision, c.plus_sign);
        if (c.beyond) s += "$^\\dagger$";
        if (c.stderr_) s += "\\,{\\scriptsize$\\pm$" + format_fixed(*c.stderr_, c.precision) + "}";
        if (r.reference) s = "\\textit{" + s + "}";
      }
      out += (i ? " & " : "") + s;
    }
    out += " \\\\\n";
  }
  out += "\\bottomrule\n\\end{tabular}\n";
  if (!t.notes.empty()) {
    out += "\\par\\smallskip\\footnotesize\n";
    for (const std::string& n : t.notes) out += latex_escape(n) + "\\\\\n";
  }
  out += "\\end{table}\n";
  return out;
}

// ---------------------------------------------------------------- HTML

std::string render_html(const Table& t) {
  // Title and caption above the table (not a <caption>), so they wrap at the page width when the table scrolls.
  std::string out = fmt::format("<p class=\"tcap\" id=\"table-{}\"><b>{}</b>{}</p>\n", t.id, html_escape(t.title),
                                t.caption.empty() ? "" : " — " + html_escape(t.caption));
  out += "<div class=\"table-wrap\">\n<table class=\"report\">\n";
  out += "<thead>\n";
  const bool groups = has_groups(t);
  if (groups) {
    out += "<tr>";
    for (auto [first, count] : group_spans(t)) {
      const Column& c = t.cols[first];
      if (c.group.empty()) {
        for (size_t k = 0; k < count; k++)
          out += fmt::format("<th rowspan=\"2\">{}</th>", html_escape(t.cols[first + k].label));
      } else {
        out += fmt::format("<th colspan=\"{}\" class=\"group\">{}</th>", count, html_escape(c.group));
      }
    }
    out += "</tr>\n<tr>";
    for (const Column& c : t.cols)
      if (!c.group.empty()) out += fmt::format("<th class=\"num\">{}</th>", html_escape(c.label));
    out += "</tr>\n";
  } else {
    out += "<tr>";
    for (const Column& c : t.cols)
      out += fmt::format("<th{}>{}</th>", c.numeric ? " class=\"num\"" : "", html_escape(c.label));
    out += "</tr>\n";
  }
  out += "</thead>\n<tbody>\n";
  for (const Row& r : t.rows) {
    out += r.reference ? "<tr class=\"paper\">" : "<tr>";
    for (size_t i = 0; i < t.cols.size(); i++) {
      const Cell& c = i < r.cells.size() ? r.cells[i] : Cell{};
      if (!c.numeric) {
        out += fmt::format("<td>{}</td>", html_escape(c.text));
        continue;
      }
      if (!c.value) {
        out += fmt::format("<td class=\"num missing\" title=\"not evaluated\">{}</td>", kMissing);
        continue;
      }
      std::string cls = "num";
      if (c.beyond) cls += " beyond";
      std::string title = c.title;
      if (c.beyond) title += std::string(title.empty() ? "" : "; ") + "beyond the training context";
      std::string s = html_escape(format_fixed(*c.value, c.precision, c.plus_sign));
      if (c.beyond) s += "<sup>†</sup>";
      if (c.stderr_) s += "<span class=\"se\"> ± " + format_fixed(*c.stderr_, c.precision) + "</span>";
      if (c.n) s += fmt::format("<span class=\"n\">n={}</span>", *c.n);
      out += fmt::format("<td class=\"{}\"{}>{}</td>", cls,
                         title.empty() ? "" : " title=\"" + html_escape(title) + "\"", s);
    }
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n";
  if (!t.notes.empty()) {
    out += "<ul class=\"notes\">";
    for (const std::string& n : t.notes) out += "<li>" + html_escape(n) + "</li>";
    out += "</ul>\n";
  }
  out += "</div>\n";
  return out;
}

}  // namespace supra::reports
