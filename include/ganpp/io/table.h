#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ganpp {

// Numeric columns read from a CSV file (first line: column names; empty and "nan" cells are NaN; columns with other
// non-numbers are text columns, named in `text`) or a JSON-lines file such as metrics.jsonl (one object per line;
// numeric fields become columns, lines without a field give NaN there, non-numeric fields and event lines without
// numbers are skipped). Every numeric column has one value per row.
struct Table {
  std::vector<std::string> names;                   // numeric columns, in file / first-seen order
  std::vector<std::string> text;                    // CSV columns that hold text
  std::map<std::string, std::vector<double>> cols;  // name -> values
  size_t rows = 0;
  const std::vector<double>& col(const std::string& name) const;  // throws Error naming the valid columns
};

Table read_table(const std::filesystem::path& path);  // .csv, or .jsonl/.json (one object per line)
Table parse_csv_table(const std::string& text, const std::string& source);
Table parse_jsonl_table(const std::string& text, const std::string& source);

}  // namespace ganpp
