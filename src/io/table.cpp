#include "ganpp/io/table.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ganpp/core/error.h"

namespace fs = std::filesystem;

namespace ganpp {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(trim(cell));
  if (!line.empty() && line.back() == ',') out.push_back("");
  return out;
}

}  // namespace

const std::vector<double>& Table::col(const std::string& name) const {
  auto it = cols.find(name);
  if (it != cols.end()) return it->second;
  if (std::find(text.begin(), text.end(), name) != text.end())
    throw Error(fmt::format("column '{}' holds text, not numbers; the numeric columns are: {}", name, fmt::join(names, ", ")));
  throw Error(fmt::format("no column '{}'; the numeric columns are: {}", name, fmt::join(names, ", ")));
}

Table parse_csv_table(const std::string& text, const std::string& source) {
  std::stringstream in(text);
  std::string line;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> cells;  // per column
  size_t lineno = 0, rows = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (trim(line).empty()) continue;
    auto row = split(line);
    if (header.empty()) {
      for (auto& c : row) {
        if (c.empty()) throw Error(fmt::format("{}:{}: empty column name in the header", source, lineno));
        if (std::find(header.begin(), header.end(), c) != header.end())
          throw Error(fmt::format("{}:{}: column '{}' appears twice", source, lineno, c));
        header.push_back(c);
      }
      cells.resize(header.size());
      continue;
    }
    if (row.size() != header.size())
      throw Error(fmt::format("{}:{}: {} values, expected {} (one per column of the header)", source, lineno,
                              row.size(), header.size()));
    for (size_t i = 0; i < row.size(); ++i) cells[i].push_back(row[i]);
    ++rows;
  }
  if (header.empty()) throw Error(fmt::format("{}: empty file (expected a header line of column names)", source));
  // A column is numeric when every non-empty cell is a number ("nan" and empty cells are NaN); text columns (labels)
  // are listed in `text` and cannot be plotted.
  Table t;
  t.rows = rows;
  for (size_t c = 0; c < header.size(); ++c) {
    std::vector<double> v;
    bool numeric = true;
    for (auto& cell : cells[c]) {
      if (cell.empty() || cell == "nan" || cell == "NaN") {
        v.push_back(kNaN);
        continue;
      }
      size_t used = 0;
      try {
        v.push_back(std::stod(cell, &used));
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != cell.size()) {
        numeric = false;
        break;
      }
    }
    if (numeric) {
      t.names.push_back(header[c]);
      t.cols[header[c]] = std::move(v);
    } else {
      t.text.push_back(header[c]);
    }
  }
  return t;
}

Table parse_jsonl_table(const std::string& text, const std::string& source) {
  std::stringstream in(text);
  std::string line;
  Table t;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (trim(line).empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const std::exception& e) {
      throw Error(fmt::format("{}:{}: not valid JSON ({})", source, lineno, e.what()));
    }
    if (!j.is_object()) throw Error(fmt::format("{}:{}: expected a JSON object per line", source, lineno));
    bool any = false;
    for (auto& [k, v] : j.items()) any = any || v.is_number();
    if (!any) continue;  // e.g. {"event": "rollback", ...} lines carry no series values
    for (auto& [k, v] : j.items()) {
      if (!v.is_number() || t.cols.count(k)) continue;
      t.names.push_back(k);
      t.cols[k] = std::vector<double>(t.rows, kNaN);  // the rows before this column first appeared
    }
    for (auto& name : t.names) {
      auto it = j.find(name);
      t.cols[name].push_back(it != j.end() && it->is_number() ? it->get<double>() : kNaN);
    }
    ++t.rows;
  }
  return t;
}

Table read_table(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(fmt::format("cannot read '{}': {}", path.string(), fs::exists(path) ? "permission denied" : "no such file"));
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string ext = path.extension().string();
  if (ext == ".csv") return parse_csv_table(ss.str(), path.string());
  if (ext == ".jsonl" || ext == ".json") return parse_jsonl_table(ss.str(), path.string());
  throw Error(fmt::format("'{}': expected a .csv or .jsonl file", path.string()));
}

}  // namespace ganpp
