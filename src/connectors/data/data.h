// The data utilities that convert between formats: CSV, XML, JSON text,
// base64 and hashes (data.csv_parse, data.xml_format, data.hash, ...). They
// join the `data` connector that utilities/ registers (data.set,
// data.transform): the catalog merges registrations under one name. Only
// app/ calls RegisterDataFormats. Thread-safe.
#pragma once

#include <optional>
#include <string>

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
Result<std::string> FormatCsv(const Json& rows, const Json& columns, const CsvOptions& options);
Result<Json> ParseXml(const std::string& text);
Result<std::string> FormatXml(const Json& value, bool declaration, bool pretty);

}  // namespace weft::connectors
