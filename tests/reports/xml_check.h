#pragma once
// A minimal XML well-formedness checker for the report tests (every SVG and the HTML's inline SVG), and the series
// and error bars read back from an SVG.
#include <catch2/catch.hpp>

#include <cctype>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace supra::test {

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attrs;
};

inline std::string check_entities(const std::string& s) {
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '<') return "raw '<' in text or attribute";
    if (s[i] != '&') continue;
    const size_t e = s.find(';', i);
    if (e == std::string::npos) return "unterminated entity";
    const std::string ent = s.substr(i + 1, e - i - 1);
    static const std::set<std::string> named = {"amp", "lt", "gt", "quot", "apos"};
    bool ok = named.count(ent) > 0;
    if (!ok && ent.size() > 1 && ent[0] == '#') {
      ok = true;
      const bool hex = ent[1] == 'x';
      for (size_t k = hex ? 2 : 1; k < ent.size(); k++)
        ok = ok && (hex ? std::isxdigit(static_cast<unsigned char>(ent[k])) : std::isdigit(static_cast<unsigned char>(ent[k])));
    }
    if (!ok) return "unknown entity &" + ent + ";";
    i = e;
  }
  return "";
}

// "" when well-formed; else what is wrong. Collects every element.
inline std::string xml_check(const std::string& doc, std::vector<XmlElement>* elements = nullptr) {
  std::vector<std::string> stack;
  size_t i = 0, roots = 0;
  auto is_name = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.'; };
  while (i < doc.size()) {
    if (doc[i] != '<') {
      const size_t e = doc.find('<', i);
      const std::string text = doc.substr(i, e == std::string::npos ? std::string::npos : e - i);
      if (stack.empty() && text.find_first_not_of(" \t\r\n") != std::string::npos) return "text outside the root";
      if (auto err = check_entities(text); !err.empty()) return err;
      if (e == std::string::npos) break;
      i = e;
      continue;
    }
    if (doc.compare(i, 4, "<!--") == 0) {
      const size_t e = doc.find("-->", i);
      if (e == std::string::npos) return "unterminated comment";
      i = e + 3;
      continue;
    }
    if (doc.compare(i, 2, "<?") == 0) {
      const size_t e = doc.find("?>", i);
      if (e == std::string::npos) return "unterminated declaration";
      i = e + 2;
      continue;
    }
    if (doc.compare(i, 2, "</") == 0) {
      size_t j = i + 2;
      while (j < doc.size() && is_name(doc[j])) j++;
      const std::string name = doc.substr(i + 2, j - i - 2);
      while (j < doc.size() && std::isspace(static_cast<unsigned char>(doc[j]))) j++;
      if (j >= doc.size() || doc[j] != '>') return "bad end tag " + name;
      if (stack.empty() || stack.back() != name) return "end tag </" + name + "> does not match";
      stack.pop_back();
      i = j + 1;
      continue;
    }
    size_t j = i + 1;
    while (j < doc.size() && is_name(doc[j])) j++;
    XmlElement el;
    el.name = doc.substr(i + 1, j - i - 1);
    if (el.name.empty()) return "empty tag name";
    bool self_closing = false;
    while (true) {
      while (j < doc.size() && std::isspace(static_cast<unsigned char>(doc[j]))) j++;
      if (j >= doc.size()) return "unterminated tag " + el.name;
      if (doc[j] == '>') {
        j++;
        break;
      }
      if (doc.compare(j, 2, "/>") == 0) {
        self_closing = true;
        j += 2;
        break;
      }
      size_t k = j;
      while (k < doc.size() && is_name(doc[k])) k++;
      const std::string an = doc.substr(j, k - j);
      if (an.empty() || k >= doc.size() || doc[k] != '=') return "bad attribute in <" + el.name + ">";
      k++;
      if (k >= doc.size() || (doc[k] != '"' && doc[k] != '\'')) return "unquoted attribute " + an;
      const char q = doc[k];
      const size_t e = doc.find(q, k + 1);
      if (e == std::string::npos) return "unterminated attribute " + an;
      const std::string val = doc.substr(k + 1, e - k - 1);
      if (auto err = check_entities(val); !err.empty()) return err + " in attribute " + an;
      if (!el.attrs.emplace(an, val).second) return "duplicate attribute " + an;
      j = e + 1;
    }
    if (stack.empty()) roots++;
    if (roots > 1) return "more than one root element";
    if (elements) elements->push_back(el);
    if (!self_closing) stack.push_back(el.name);
    i = j;
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (roots != 1) return "no root element";
  return "";
}

inline std::string xml_unescape(std::string s) {
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}}) {
    size_t p = 0;
    while ((p = s.find(from, p)) != std::string::npos) s.replace(p, from.size(), to), p += to.size();
  }
  return s;
}

inline std::set<std::string> svg_series(const std::string& svg) {
  std::vector<XmlElement> els;
  REQUIRE(xml_check(svg, &els) == "");
  std::set<std::string> out;
  size_t count = 0;
  for (const XmlElement& e : els) {
    auto c = e.attrs.find("class");
    if (e.name == "g" && c != e.attrs.end() && c->second.find("series") != std::string::npos) {
      out.insert(xml_unescape(e.attrs.at("data-series")));
      count++;
    }
  }
  CHECK(count == out.size());  // one group per series, none repeated
  return out;
}

}  // namespace supra::test
