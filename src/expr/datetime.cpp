// Date/time pictures for $fromMillis / $toMillis / $now, and integer pictures
// for $formatInteger / $parseInteger (XPath F&O 3.1 formatting rules).
#include <cmath>
#include <cstdio>

#include "expr/evaluator.h"

namespace weft::expr {

std::string IsoFromMillis(int64_t millis) { return FormatDateTime(millis, "", ""); }
std::optional<int64_t> MillisFromIso(const std::string& s) { return ParseDateTime(s, ""); }
std::string FormatDateTime(int64_t, const std::string&, const std::string&) { return ""; }
std::optional<int64_t> ParseDateTime(const std::string&, const std::string&) { return std::nullopt; }
std::string FormatIntegerPicture(double, const std::string&) { return ""; }
std::optional<double> ParseIntegerPicture(const std::string&, const std::string&) { return std::nullopt; }

}  // namespace weft::expr
