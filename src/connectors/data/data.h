// The data utilities that convert between formats: CSV, XML, JSON text,
// base64 and hashes (data.csv_parse, data.xml_format, data.hash, ...). They
// join the `data` connector that utilities/ registers (data.set,
// data.transform): the catalog merges registrations under one name. Only
// app/ calls RegisterDataFormats. Thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "core/action.h"

namespace weft::connectors {

void RegisterDataFormats(ActionCatalog& catalog);

// The conversions, for tests and other connectors.
struct CsvOptions {
  char delimiter = ',';
  char quote = '"';
  bool header = true;
  std::string quoting = "minimal";  // minimal | all | none
};
Result<Json> ParseCsv(const std::string& text, const CsvOptions& options);

// Reads CSV as it comes, in pieces of any size (a file read in chunks):
// the same rules as ParseCsv (RFC 4180, a leading byte-order mark dropped,
// blank lines skipped). Holds only the row being read.
class CsvReader {
 public:
  // Return false to stop reading.
  using RowFn = std::function<bool(std::vector<std::string>& row)>;
  explicit CsvReader(const CsvOptions& options) : o_(options) {}
  // False once `on_row` asked to stop.
  bool Feed(std::string_view piece, const RowFn& on_row);
  // The end of the input: the last row, or kValidation for an unclosed quote.
  Result<void> Finish(const RowFn& on_row);

 private:
  bool EndRow(const RowFn& on_row);
  void EndField();
  CsvOptions o_;
  std::vector<std::string> row_;
  std::string field_;
  bool quoted_ = false, field_started_ = false, quote_pending_ = false, skip_lf_ = false;
  bool started_ = false;
  size_t bom_ = 0, line_ = 1;
};
Result<std::string> FormatCsv(const Json& rows, const Json& columns, const CsvOptions& options);
Result<Json> ParseXml(const std::string& text);
Result<std::string> FormatXml(const Json& value, bool declaration, bool pretty);

}  // namespace weft::connectors
