// Date/time pictures for $fromMillis / $toMillis / $now, and integer pictures
// for $formatInteger / $parseInteger, after XPath F&O 3.1 §9.8 and §4.6 as
// the JSONata reference implements them (UTC arithmetic, fixed offsets).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <regex>

#include "expr/evaluator.h"
#include "expr/regex.h"

namespace weft::expr {
namespace {

// ---- small UTF-8 helpers ----
std::u32string Decode(const std::string& s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    char32_t cp;
    int len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c >> 5) == 6) {
      cp = c & 0x1F;
      len = 2;
    } else if ((c >> 4) == 14) {
      cp = c & 0x0F;
      len = 3;
    } else {
      cp = c & 0x07;
      len = 4;
    }
    for (int k = 1; k < len && i + static_cast<size_t>(k) < s.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3F);
    out += cp;
    i += static_cast<size_t>(len);
  }
  return out;
}
std::string Encode(const std::u32string& s) {
  std::string out;
  for (char32_t cp : s) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}
std::string Upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return s;
}
std::string Lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return s;
}

const char32_t kDecimalGroups[] = {0x30,   0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6,
                                   0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0DE6, 0x0E50, 0x0ED0,
                                   0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
                                   0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900,
                                   0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10};

enum class Fmt { kDecimal, kLetters, kRoman, kWords, kSequence };
enum class Case { kNone, kUpper, kLower, kTitle };

struct Sep {
  int position;
  char32_t ch;
};

struct IntFormat {
  Fmt type = Fmt::kDecimal;
  Case tcase = Case::kNone;
  bool ordinal = false;
  char32_t zero = 0x30;
  int mandatory = 0;
  int optional = 0;
  bool regular = false;
  std::vector<Sep> seps;  // regular: seps[0] holds position and char
  std::string token;
};

int Gcd(int a, int b) { return b == 0 ? a : Gcd(b, a % b); }

IntFormat AnalyseInteger(const std::string& picture) {
  IntFormat f;
  std::string primary = picture;
  size_t semi = picture.rfind(';');
  if (semi != std::string::npos) {
    primary = picture.substr(0, semi);
    std::string mod = picture.substr(semi + 1);
    if (!mod.empty() && mod[0] == 'o') f.ordinal = true;
  }
  if (primary == "A" || primary == "a") {
    f.type = Fmt::kLetters;
    f.tcase = primary == "A" ? Case::kUpper : Case::kLower;
    return f;
  }
  if (primary == "I" || primary == "i") {
    f.type = Fmt::kRoman;
    f.tcase = primary == "I" ? Case::kUpper : Case::kLower;
    return f;
  }
  if (primary == "W" || primary == "w" || primary == "Ww") {
    f.type = Fmt::kWords;
    f.tcase = primary == "W" ? Case::kUpper : primary == "w" ? Case::kLower : Case::kTitle;
    return f;
  }
  std::u32string cps = Decode(primary);
  std::vector<Sep> seps;
  int pos = 0;
  bool have_zero = false;
  for (auto it = cps.rbegin(); it != cps.rend(); ++it) {
    char32_t cp = *it;
    bool digit = false;
    for (char32_t g : kDecimalGroups) {
      if (cp >= g && cp <= g + 9) {
        digit = true;
        ++f.mandatory;
        ++pos;
        if (!have_zero) {
          f.zero = g;
          have_zero = true;
        } else if (g != f.zero) {
          Throw("D3131");
        }
        break;
      }
    }
    if (!digit) {
      if (cp == '#') {
        ++pos;
        ++f.optional;
      } else {
        seps.push_back({pos, cp});
      }
    }
  }
  if (f.mandatory > 0) {
    f.type = Fmt::kDecimal;
    int regular = 0;
    if (!seps.empty()) {
      bool same = true;
      for (auto& s : seps) same = same && s.ch == seps[0].ch;
      if (same) {
        int factor = seps[0].position;
        for (auto& s : seps) factor = Gcd(factor, s.position);
        regular = factor;
        for (size_t i = 1; i <= seps.size(); ++i) {
          bool found = false;
          for (auto& s : seps) found = found || s.position == static_cast<int>(i) * factor;
          if (!found) {
            regular = 0;
            break;
          }
        }
      }
    }
    if (regular > 0) {
      f.regular = true;
      f.seps = {{regular, seps[0].ch}};
    } else {
      f.seps = seps;
    }
  } else {
    f.type = Fmt::kSequence;
    f.token = primary;
  }
  return f;
}

const char* kFew[] = {"Zero",    "One",     "Two",       "Three",    "Four",
                      "Five",    "Six",     "Seven",     "Eight",    "Nine",
                      "Ten",     "Eleven",  "Twelve",    "Thirteen", "Fourteen",
                      "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen"};
const char* kOrdinals[] = {"Zeroth",    "First",     "Second",      "Third",      "Fourth",
                           "Fifth",     "Sixth",     "Seventh",     "Eighth",     "Ninth",
                           "Tenth",     "Eleventh",  "Twelfth",     "Thirteenth", "Fourteenth",
                           "Fifteenth", "Sixteenth", "Seventeenth", "Eighteenth", "Nineteenth"};
const char* kDecades[] = {"Twenty",  "Thirty", "Forty",  "Fifty",  "Sixty",
                          "Seventy", "Eighty", "Ninety", "Hundred"};
const char* kMagnitudes[] = {"Thousand", "Million", "Billion", "Trillion"};

std::string Words(double num, bool prev, bool ord) {
  std::string w;
  if (num <= 19) {
    w = std::string(prev ? " and " : "") +
        (ord ? kOrdinals[static_cast<int>(num)] : kFew[static_cast<int>(num)]);
  } else if (num < 100) {
    int tens = static_cast<int>(num / 10);
    int rem = static_cast<int>(std::fmod(num, 10));
    w = std::string(prev ? " and " : "") + kDecades[tens - 2];
    if (rem > 0) {
      w += "-" + Words(rem, false, ord);
    } else if (ord) {
      w = w.substr(0, w.size() - 1) + "ieth";
    }
  } else if (num < 1000) {
    int hundreds = static_cast<int>(num / 100);
    double rem = std::fmod(num, 100);
    w = std::string(prev ? ", " : "") + kFew[hundreds] + " Hundred";
    if (rem > 0) {
      w += Words(rem, true, ord);
    } else if (ord) {
      w += "th";
    }
  } else {
    int mag = static_cast<int>(std::floor(std::log10(num) / 3));
    if (mag > 4) mag = 4;
    double factor = std::pow(10, mag * 3);
    double mant = std::floor(num / factor);
    double rem = num - mant * factor;
    w = std::string(prev ? ", " : "") + Words(mant, false, false) + " " + kMagnitudes[mag - 1];
    if (rem > 0) {
      w += Words(rem, true, ord);
    } else if (ord) {
      w += "th";
    }
  }
  return w;
}

std::string Roman(double v) {
  static const std::pair<int, const char*> kR[] = {
      {1000, "m"}, {900, "cm"}, {500, "d"}, {400, "cd"}, {100, "c"}, {90, "xc"}, {50, "l"},
      {40, "xl"},  {10, "x"},   {9, "ix"},  {5, "v"},    {4, "iv"},  {1, "i"}};
  std::string out;
  long n = static_cast<long>(std::min(v, 9e18));
  for (auto& [val, s] : kR)
    while (n >= val) {
      Charge(2);  // a large number is a long run of "m": the budget ends it
      out += s;
      n -= val;
    }
  return out;
}

std::string Letters(double v, char a) {
  std::string out;
  long n = static_cast<long>(std::min(v, 9e18));
  while (n > 0) {
    out.insert(out.begin(), static_cast<char>((n - 1) % 26 + a));
    n = (n - 1) / 26;
  }
  return out;
}

std::string FormatInt(double value, const IntFormat& f) {
  bool negative = value < 0;
  value = std::fabs(value);
  std::string out;
  switch (f.type) {
    case Fmt::kLetters:
      out = Letters(value, f.tcase == Case::kUpper ? 'A' : 'a');
      break;
    case Fmt::kRoman:
      out = Roman(value);
      if (f.tcase == Case::kUpper) out = Upper(out);
      break;
    case Fmt::kWords:
      out = Words(value, false, f.ordinal);
      if (f.tcase == Case::kUpper) out = Upper(out);
      if (f.tcase == Case::kLower) out = Lower(out);
      break;
    case Fmt::kDecimal: {
      std::string digits = NumberToString(value);
      std::u32string s = Decode(digits);
      int pad = f.mandatory - static_cast<int>(s.size());
      if (pad > 0) s = std::u32string(static_cast<size_t>(pad), U'0') + s;
      if (f.zero != 0x30)
        for (char32_t& c : s)
          if (c >= '0' && c <= '9') c = c - U'0' + f.zero;
      if (f.regular) {
        int n = (static_cast<int>(s.size()) - 1) / f.seps[0].position;
        for (int i = n; i > 0; --i) {
          int p = static_cast<int>(s.size()) - i * f.seps[0].position;
          s.insert(s.begin() + p, f.seps[0].ch);
        }
      } else {
        for (auto it = f.seps.rbegin(); it != f.seps.rend(); ++it) {
          int p = static_cast<int>(s.size()) - it->position;
          if (p >= 0) s.insert(s.begin() + p, it->ch);
        }
      }
      out = Encode(s);
      if (f.ordinal) {
        char last = out.empty() ? '0' : out.back();
        const char* suffix = last == '1' ? "st" : last == '2' ? "nd" : last == '3' ? "rd" : "th";
        if (out.size() > 1 && out[out.size() - 2] == '1') suffix = "th";
        out += suffix;
      }
      break;
    }
    case Fmt::kSequence:
      Throw("D3130", -1, "", f.token);
  }
  if (negative) out = "-" + out;
  return out;
}

const std::map<std::string, double>& WordValues() {
  static const std::map<std::string, double> m = [] {
    std::map<std::string, double> r;
    for (int i = 0; i < 20; ++i) {
      r[Lower(kFew[i])] = i;
      r[Lower(kOrdinals[i])] = i;
    }
    for (int i = 0; i < 8; ++i) {
      std::string d = Lower(kDecades[i]);
      r[d] = (i + 2) * 10;
      r[d.substr(0, d.size() - 1) + "ieth"] = (i + 2) * 10;
    }
    r["hundred"] = 100;
    r["hundredth"] = 100;
    double mag = 1000;
    for (const char* m : kMagnitudes) {
      r[Lower(m)] = mag;
      r[Lower(m) + "th"] = mag;
      mag *= 1000;
    }
    return r;
  }();
  return m;
}

double WordsToNumber(const std::string& text) {
  static const std::regex kSplit(",\\s|\\sand\\s|[\\s\\-]");
  std::vector<double> segs{0};
  for (std::sregex_token_iterator it(text.begin(), text.end(), kSplit, -1), end; it != end; ++it) {
    std::string part = *it;
    auto w = WordValues().find(part);
    double value = w == WordValues().end() ? NAN : w->second;
    if (value < 100) {
      double top = segs.back();
      segs.pop_back();
      if (top >= 1000) {
        segs.push_back(top);
        top = 0;
      }
      segs.push_back(top + value);
    } else {
      double top = segs.back();
      segs.pop_back();
      segs.push_back(top * value);
    }
  }
  double sum = 0;
  for (double s : segs) sum += s;
  return sum;
}

double RomanToDecimal(const std::string& s) {
  auto val = [](char c) {
    switch (c) {
      case 'M':
        return 1000;
      case 'D':
        return 500;
      case 'C':
        return 100;
      case 'L':
        return 50;
      case 'X':
        return 10;
      case 'V':
        return 5;
      case 'I':
        return 1;
      default:
        return 0;
    }
  };
  double total = 0;
  int max = 0;
  for (size_t i = s.size(); i-- > 0;) {
    int v = val(s[i]);
    if (v < max) {
      total -= v;
    } else {
      max = v;
      total += v;
    }
  }
  return total;
}

double LettersToDecimal(const std::string& s, char a) {
  double total = 0;
  for (char c : s) total = total * 26 + (c - a + 1);
  return total;
}

struct IntMatcher {
  std::string regex;
  IntFormat f;
  double Parse(const std::string& value) const {
    switch (f.type) {
      case Fmt::kLetters:
        return LettersToDecimal(value, f.tcase == Case::kUpper ? 'A' : 'a');
      case Fmt::kRoman:
        return RomanToDecimal(f.tcase == Case::kUpper ? value : Upper(value));
      case Fmt::kWords:
        return WordsToNumber(Lower(value));
      case Fmt::kDecimal: {
        std::u32string d = Decode(value);
        if (f.ordinal && d.size() >= 2) d = d.substr(0, d.size() - 2);
        std::u32string out;
        for (char32_t c : d) {
          bool sep = false;
          if (f.regular) {
            sep = c == U',';
          } else {
            for (auto& s : f.seps) sep = sep || s.ch == c;
          }
          if (sep) continue;
          if (f.zero != 0x30 && c >= f.zero && c <= f.zero + 9) c = c - f.zero + U'0';
          out += c;
        }
        std::string ascii = Encode(out);
        if (ascii.empty() || !std::isdigit(static_cast<unsigned char>(ascii[0]))) return NAN;
        return std::strtod(ascii.c_str(), nullptr);
      }
      case Fmt::kSequence:
        Throw("D3130", -1, "", f.token);
    }
    return NAN;
  }
};

IntMatcher IntRegex(const IntFormat& f, int fixed_min, int fixed_max) {
  IntMatcher m;
  m.f = f;
  bool upper = f.tcase == Case::kUpper;
  std::string occ = "+";
  if (fixed_max > 0) occ = "{" + std::to_string(fixed_min) + "," + std::to_string(fixed_max) + "}";
  switch (f.type) {
    case Fmt::kLetters:
      m.regex = upper ? "[A-Z]+" : "[a-z]+";
      break;
    case Fmt::kRoman:
      m.regex = upper ? "[MDCLXVI]+" : "[mdclxvi]+";
      break;
    case Fmt::kWords: {
      std::string alt;
      for (auto& [w, v] : WordValues()) alt += w + "|";
      m.regex = "(?:" + alt + "and|,|-|\\s)+";
      break;
    }
    case Fmt::kDecimal:
      m.regex = "[0-9]" + occ;
      if (f.ordinal) m.regex += "(?:th|st|nd|rd)";
      break;
    case Fmt::kSequence:
      Throw("D3130", -1, "", f.token);
  }
  return m;
}

// ---- date/time pictures ----
struct Width {
  int min = -1;
  int max = -1;
};

struct Part {
  bool literal = true;
  std::string value;
  char component = 0;
  std::string pres1;
  char pres2 = 0;
  Case names = Case::kNone;
  bool has_int = false;
  IntFormat int_format;
  Width width;
  bool has_width = false;
  int n = -1;
};

const char* DefaultPresentation(char c) {
  switch (c) {
    case 'Y':
    case 'M':
    case 'D':
    case 'd':
    case 'W':
    case 'w':
    case 'X':
    case 'x':
    case 'H':
    case 'h':
    case 'f':
      return "1";
    case 'F':
    case 'P':
    case 'C':
    case 'E':
      return "n";
    case 'm':
    case 's':
      return "01";
    case 'Z':
    case 'z':
      return "01:01";
    default:
      return nullptr;
  }
}

std::vector<Part> AnalyseDateTime(const std::string& picture) {
  std::vector<Part> spec;
  auto add_literal = [&](size_t start, size_t end) {
    if (end <= start) return;
    std::string lit = picture.substr(start, end - start);
    std::string out;
    for (size_t i = 0; i < lit.size(); ++i) {
      out += lit[i];
      if (lit[i] == ']' && i + 1 < lit.size() && lit[i + 1] == ']') ++i;
    }
    Part p;
    p.value = out;
    spec.push_back(p);
  };
  size_t start = 0, pos = 0;
  while (pos < picture.size()) {
    if (picture[pos] == '[') {
      if (pos + 1 < picture.size() && picture[pos + 1] == '[') {
        add_literal(start, pos);
        Part p;
        p.value = "[";
        spec.push_back(p);
        pos += 2;
        start = pos;
        continue;
      }
      add_literal(start, pos);
      start = pos;
      pos = picture.find(']', start);
      if (pos == std::string::npos) Throw("D3135");
      std::string raw = picture.substr(start + 1, pos - start - 1);
      std::string marker;
      for (char c : raw)
        if (!std::isspace(static_cast<unsigned char>(c))) marker += c;
      Part def;
      def.literal = false;
      def.component = marker.empty() ? 0 : marker[0];
      size_t comma = marker.rfind(',');
      std::string pres;
      if (comma != std::string::npos) {
        std::string wm = marker.substr(comma + 1);
        size_t dash = wm.find('-');
        std::string mn = dash == std::string::npos ? wm : wm.substr(0, dash);
        std::string mx = dash == std::string::npos ? "" : wm.substr(dash + 1);
        auto parse = [](const std::string& s) {
          return s.empty() || s == "*" ? -1 : std::atoi(s.c_str());
        };
        def.width.min = parse(mn);
        def.width.max = parse(mx);
        def.has_width = true;
        pres = marker.substr(1, comma - 1);
      } else {
        pres = marker.size() > 1 ? marker.substr(1) : "";
      }
      if (pres.size() == 1) {
        def.pres1 = pres;
      } else if (pres.size() > 1) {
        char last = pres.back();
        if (std::string("atco").find(last) != std::string::npos) {
          def.pres2 = last;
          def.pres1 = pres.substr(0, pres.size() - 1);
        } else {
          def.pres1 = pres;
        }
      } else {
        const char* d = DefaultPresentation(def.component);
        if (d == nullptr) Throw("D3132", -1, "", std::string(1, def.component));
        def.pres1 = d;
      }
      if (DefaultPresentation(def.component) == nullptr)
        Throw("D3132", -1, "", std::string(1, def.component));
      if (def.pres1[0] == 'n') {
        def.names = Case::kLower;
      } else if (def.pres1[0] == 'N') {
        def.names = def.pres1.size() > 1 && def.pres1[1] == 'n' ? Case::kTitle : Case::kUpper;
      } else if (std::string("YMDdFWwXxHhmsf").find(def.component) != std::string::npos) {
        std::string ip = def.pres1;
        if (def.pres2) ip += std::string(";") + def.pres2;
        def.int_format = AnalyseInteger(ip);
        def.has_int = true;
        if (def.has_width && def.width.min > 0 && def.int_format.mandatory < def.width.min)
          def.int_format.mandatory = def.width.min;
        if (def.component == 'Y') {
          def.n = -1;
          if (def.has_width && def.width.max > 0) {
            def.n = def.width.max;
            def.int_format.mandatory = def.n;
          } else {
            int w = def.int_format.mandatory + def.int_format.optional;
            if (w >= 2) def.n = w;
          }
        }
      }
      if (def.component == 'Z' || def.component == 'z') {
        def.int_format = AnalyseInteger(def.pres1);
        def.has_int = true;
      }
      spec.push_back(def);
      start = pos + 1;
    }
    ++pos;
  }
  add_literal(start, pos);
  return spec;
}

const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                         "July",    "August",   "September", "October", "November", "December"};
const char* kDays[] = {"",         "Monday", "Tuesday",  "Wednesday",
                       "Thursday", "Friday", "Saturday", "Sunday"};

constexpr int64_t kDay = 86400000;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Civil date from days since the epoch (Howard Hinnant's algorithm).
void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yy + (*m <= 2 ? 1 : 0);
}

int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// Date.UTC with month overflow allowed.
int64_t UtcMillis(int64_t y, int64_t mon0, int64_t d, int64_t h, int64_t mi, int64_t s,
                  int64_t ms) {
  y += FloorDiv(mon0, 12);
  mon0 -= FloorDiv(mon0, 12) * 12;
  int64_t days = DaysFromCivil(y, static_cast<int>(mon0 + 1), 1) + d - 1;
  return days * kDay + h * 3600000 + mi * 60000 + s * 1000 + ms;
}

struct Fields {
  int64_t year;
  int month;  // 1-12
  int day;
  int hour, minute, second, ms;
  int dow;  // 1 Monday .. 7 Sunday
  int64_t days;
};

Fields Split(int64_t millis) {
  Fields f;
  f.days = FloorDiv(millis, kDay);
  int64_t rem = millis - f.days * kDay;
  CivilFromDays(f.days, &f.year, &f.month, &f.day);
  f.hour = static_cast<int>(rem / 3600000);
  f.minute = static_cast<int>(rem / 60000 % 60);
  f.second = static_cast<int>(rem / 1000 % 60);
  f.ms = static_cast<int>(rem % 1000);
  int64_t wd = (f.days + 4) % 7;  // 0 = Sunday
  if (wd < 0) wd += 7;
  f.dow = wd == 0 ? 7 : static_cast<int>(wd);
  return f;
}

int64_t StartOfFirstWeek(int64_t year, int64_t month0) {
  int64_t first = UtcMillis(year, month0, 1, 0, 0, 0, 0);
  int dow = Split(first).dow;
  return dow > 4 ? first + (8 - dow) * kDay : first - (dow - 1) * kDay;
}

int64_t DeltaWeeks(int64_t start, int64_t end) { return FloorDiv(end - start, kDay * 7) + 1; }

std::string Fragment(int64_t millis, char component, double* num) {
  Fields f = Split(millis);
  switch (component) {
    case 'Y':
      *num = static_cast<double>(f.year);
      break;
    case 'M':
      *num = f.month;
      break;
    case 'D':
      *num = f.day;
      break;
    case 'd':
      *num = static_cast<double>(f.days - DaysFromCivil(f.year, 1, 1) + 1);
      break;
    case 'F':
      *num = f.dow;
      break;
    case 'W':
    case 'w':
    case 'X':
    case 'x': {
      bool year_mode = component == 'W' || component == 'X';
      int64_t y = f.year;
      int64_t m0 = year_mode ? 0 : f.month - 1;
      int64_t start = StartOfFirstWeek(y, m0);
      int64_t ny = year_mode ? y + 1 : y, nm = year_mode ? 0 : m0 + 1;
      int64_t py = year_mode ? y - 1 : y, pm = year_mode ? 0 : m0 - 1;
      if (component == 'W' || component == 'w') {
        int64_t week = DeltaWeeks(start, millis);
        if (week > 0) {
          if (millis >= StartOfFirstWeek(ny, nm)) week = 1;
        } else {
          week = DeltaWeeks(StartOfFirstWeek(py, pm), millis);
        }
        *num = static_cast<double>(week);
      } else {
        int64_t resy = y, resm = m0;
        if (millis < start) {
          resy = py;
          resm = pm;
        } else if (millis >= StartOfFirstWeek(ny, nm)) {
          resy = ny;
          resm = nm;
        }
        if (component == 'X') {
          *num = static_cast<double>(resy + FloorDiv(resm, 12));
        } else {
          *num = static_cast<double>(resm - FloorDiv(resm, 12) * 12 + 1);
        }
      }
      break;
    }
    case 'H':
      *num = f.hour;
      break;
    case 'h':
      *num = f.hour % 12 == 0 ? 12 : f.hour % 12;
      break;
    case 'P':
      return f.hour >= 12 ? "pm" : "am";
    case 'm':
      *num = f.minute;
      break;
    case 's':
      *num = f.second;
      break;
    case 'f':
      *num = f.ms;
      break;
    case 'C':
    case 'E':
      return "ISO";
    default:
      break;
  }
  return "";
}

std::string FormatComponent(int64_t shifted, const Part& p, int off_h, int off_m) {
  double num = 0;
  std::string text = Fragment(shifted, p.component, &num);
  char c = p.component;
  if (std::string("YMDdFWwXxHhms").find(c) != std::string::npos) {
    if (c == 'Y' && p.n != -1) num = std::fmod(num, std::pow(10, p.n));
    if (p.names != Case::kNone) {
      std::string name;
      if (c == 'M' || c == 'x') {
        name = kMonths[static_cast<int>(num) - 1];
      } else if (c == 'F') {
        name = kDays[static_cast<int>(num)];
      } else {
        Throw("D3133", -1, "", std::string(1, c));
      }
      if (p.names == Case::kUpper) name = Upper(name);
      if (p.names == Case::kLower) name = Lower(name);
      if (p.has_width && p.width.max > 0 && static_cast<int>(name.size()) > p.width.max)
        name = name.substr(0, static_cast<size_t>(p.width.max));
      return name;
    }
    return FormatInt(num, p.int_format);
  }
  if (c == 'f') return FormatInt(num, p.int_format);
  if (c == 'Z' || c == 'z') {
    int offset = off_h * 100 + off_m;
    std::string v;
    if (p.int_format.regular) {
      v = FormatInt(offset, p.int_format);
    } else {
      int digits = p.int_format.mandatory;
      if (digits == 1 || digits == 2) {
        v = FormatInt(off_h, p.int_format);
        if (off_m != 0) v += ":" + FormatInt(off_m, AnalyseInteger("00"));
      } else if (digits == 3 || digits == 4) {
        v = FormatInt(offset, p.int_format);
      } else {
        Throw("D3134", -1, "", std::to_string(digits));
      }
    }
    if (offset >= 0) v = "+" + v;
    if (c == 'z') v = "GMT" + v;
    if (offset == 0 && p.pres2 == 't') v = "Z";
    return v;
  }
  if (c == 'P') {
    if (p.names == Case::kUpper) text = Upper(text);
    return text;
  }
  return text;
}

std::string EscapeRegex(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::strchr(".*+?^${}()|[]\\/", c) != nullptr) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string FormatDateTime(int64_t millis, const std::string& picture, const std::string& tz) {
  int off_h = 0, off_m = 0;
  if (!tz.empty()) {
    int offset = std::atoi(tz.c_str());
    off_h = static_cast<int>(std::floor(offset / 100.0));
    off_m = offset % 100;
  }
  static const std::vector<Part> kIso =
      AnalyseDateTime("[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]");
  std::vector<Part> local;
  const std::vector<Part>* spec = &kIso;
  if (!picture.empty()) {
    local = AnalyseDateTime(picture);
    spec = &local;
  }
  int64_t shifted = millis + (60LL * off_h + off_m) * 60000;
  std::string out;
  for (const Part& p : *spec)
    out += p.literal ? p.value : FormatComponent(shifted, p, off_h, off_m);
  return out;
}

std::string IsoFromMillis(int64_t millis) { return FormatDateTime(millis, "", ""); }

std::optional<int64_t> MillisFromIso(const std::string& s) {
  static const std::regex kIso(
      "^(\\d{4})(?:-([01]\\d))?(?:-([0-3]\\d))?(?:T([0-2]\\d):([0-5]\\d):([0-5]\\d))?(\\.\\d+)?"
      "([+-][0-2]\\d:?[0-5]\\d|Z)?$");
  std::smatch m;
  if (!std::regex_match(s, m, kIso)) return std::nullopt;
  auto num = [&](int i, int def) { return m[i].matched ? std::atoi(m.str(i).c_str()) : def; };
  int64_t ms = 0;
  if (m[7].matched) {
    std::string frac = m.str(7).substr(1);
    while (frac.size() < 3) frac += '0';
    ms = std::atoi(frac.substr(0, 3).c_str());
  }
  int64_t r =
      UtcMillis(num(1, 1970), num(2, 1) - 1, num(3, 1), num(4, 0), num(5, 0), num(6, 0), ms);
  if (m[8].matched && m.str(8) != "Z") {
    std::string z = m.str(8);
    int sign = z[0] == '-' ? -1 : 1;
    std::string digits;
    for (char c : z)
      if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
    int hh = std::atoi(digits.substr(0, 2).c_str());
    int mm = std::atoi(digits.substr(2).c_str());
    r -= sign * (hh * 60 + mm) * 60000LL;
  }
  return r;
}

std::optional<int64_t> ParseDateTime(const std::string& str, const std::string& picture) {
  std::vector<Part> spec = AnalyseDateTime(picture);
  struct MPart {
    char component;
    std::function<double(const std::string&)> parse;
  };
  std::vector<MPart> parts;
  std::string regex = "^";
  for (size_t i = 0; i < spec.size(); ++i) {
    const Part& p = spec[i];
    if (p.literal) {
      regex += EscapeRegex(p.value);
      continue;
    }
    bool adjacent = i + 1 < spec.size() && !spec[i + 1].literal;
    char c = p.component;
    if (c == 'Z' || c == 'z') {
      bool sep = p.int_format.regular;
      char32_t sc = sep ? p.int_format.seps[0].ch : 0;
      std::string r = c == 'z' ? "GMT" : "";
      r += "[-+][0-9]+";
      if (sep) r += EscapeRegex(Encode(std::u32string(1, sc))) + "[0-9]+";
      regex += "(" + r + ")";
      parts.push_back({c, [c, sep, sc](const std::string& v0) {
                         std::string v = c == 'z' ? v0.substr(3) : v0;
                         int h = 0, m = 0;
                         if (sep) {
                           std::string s = Encode(std::u32string(1, sc));
                           size_t k = v.find(s);
                           h = std::atoi(v.substr(0, k).c_str());
                           m = std::atoi(v.substr(k + s.size()).c_str());
                         } else if (v.size() - 1 <= 2) {
                           h = std::atoi(v.c_str());
                         } else {
                           h = std::atoi(v.substr(0, 3).c_str());
                           m = std::atoi(v.substr(3).c_str());
                         }
                         return static_cast<double>(h * 60 + (h < 0 ? -m : m));
                       }});
      continue;
    }
    if (p.has_int) {
      int mn = 0, mx = 0;
      if (adjacent && p.int_format.type == Fmt::kDecimal) {
        int digits = p.int_format.mandatory + p.int_format.optional;
        mn = p.int_format.mandatory;
        mx = digits;
        if (p.has_width && p.width.max > 0) {
          mx = p.width.max;
          mn = std::min(mn, mx);
          if (p.width.min <= 0) mn = 1;
        }
      }
      IntMatcher m = IntRegex(p.int_format, mn, mx);
      regex += "(" + m.regex + ")";
      if (c == 'f') {
        parts.push_back({c, [](const std::string& v) {
                           return std::floor(std::strtod(("0." + v).c_str(), nullptr) * 1000 +
                                             1e-9);
                         }});
      } else {
        parts.push_back({c, [m](const std::string& v) { return m.Parse(v); }});
      }
      continue;
    }
    std::map<std::string, double> lookup;
    if (c == 'M' || c == 'x') {
      for (int k = 0; k < 12; ++k) {
        std::string n = kMonths[k];
        if (p.has_width && p.width.max > 0) n = n.substr(0, static_cast<size_t>(p.width.max));
        lookup[Lower(n)] = k + 1;
      }
    } else if (c == 'F') {
      for (int k = 1; k < 8; ++k) {
        std::string n = kDays[k];
        if (p.has_width && p.width.max > 0) n = n.substr(0, static_cast<size_t>(p.width.max));
        lookup[Lower(n)] = k;
      }
    } else if (c == 'P') {
      lookup = {{"am", 0}, {"pm", 1}};
    } else {
      Throw("D3133", -1, "", std::string(1, c));
    }
    regex += "([a-zA-Z]+)";
    parts.push_back({c, [lookup](const std::string& v) {
                       auto it = lookup.find(Lower(v));
                       return it == lookup.end() ? NAN : it->second;
                     }});
  }
  regex += "$";
  std::string error;
  auto re = Regex::Compile(regex, "i", &error);
  if (!re) Throw("D3136", -1, "", error);
  Regex::Match m;
  if (!re->Search(str, 0, &m) || m.groups.size() < parts.size()) return std::nullopt;
  std::map<char, double> comp;
  for (size_t i = 0; i < parts.size(); ++i) comp[parts[i].component] = parts[i].parse(m.groups[i]);
  if (comp.empty()) return std::nullopt;
  auto has = [&](char c) { return comp.count(c) > 0; };
  int mask = 0;
  for (char c : std::string("YXMxWwdD")) mask = (mask << 1) | (has(c) ? 1 : 0);
  auto fits = [&](int spec_mask) { return (mask & ~spec_mask) == 0; };
  bool date_a = fits(161);
  bool date_b = !date_a && fits(130);
  bool date_c = !date_a && !date_b && fits(84);
  bool date_d = !date_a && !date_b && !date_c && fits(72);
  mask = 0;
  for (char c : std::string("PHhmsf")) mask = (mask << 1) | (has(c) ? 1 : 0);
  bool time_a = fits(23);
  bool time_b = !time_a && fits(47);
  if (!date_a && !date_b && !date_c && !date_d) Throw("D3136");
  if (!time_a && !time_b) Throw("D3136");
  std::string date = date_a ? "YMD" : date_b ? "Yd" : date_c ? "XxwF" : "XWF";
  std::string time = time_b ? "Phmsf" : "Hmsf";
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  bool start = false, end = false;
  for (char c : date + time) {
    if (!has(c)) {
      if (start) {
        comp[c] = std::string("MDd").find(c) != std::string::npos ? 1 : 0;
        end = true;
      } else {
        double v = 0;
        std::string t = Fragment(now, c, &v);
        if (c == 'P') v = t == "pm" ? 1 : 0;
        comp[c] = v;
      }
    } else {
      start = true;
      if (end) Throw("D3136");
    }
  }
  if (date_c || date_d) Throw("D3136");
  for (auto& [k, v] : comp)  // 1e7 years, days or minutes is past any instant int64 ms can hold
    if (std::isnan(v) || std::fabs(v) > 1e7) return std::nullopt;
  double month0 = comp['M'] > 0 ? comp['M'] - 1 : 0;
  double day = comp['D'];
  if (date_b) {
    int64_t t = UtcMillis(static_cast<int64_t>(comp['Y']), 0, 1, 0, 0, 0, 0) +
                static_cast<int64_t>(comp['d'] - 1) * kDay;
    Fields f = Split(t);
    month0 = f.month - 1;
    day = f.day;
  }
  double hour = comp['H'];
  if (time_b) {
    hour = comp['h'] == 12 ? 0 : comp['h'];
    if (comp['P'] == 1) hour += 12;
  }
  int64_t millis = UtcMillis(static_cast<int64_t>(comp['Y']), static_cast<int64_t>(month0),
                             static_cast<int64_t>(day), static_cast<int64_t>(hour),
                             static_cast<int64_t>(comp['m']), static_cast<int64_t>(comp['s']),
                             static_cast<int64_t>(comp['f']));
  double z = has('Z') ? comp['Z'] : has('z') ? comp['z'] : 0;
  millis -= static_cast<int64_t>(z) * 60000;
  return millis;
}

std::string FormatIntegerPicture(double value, const std::string& picture) {
  if (!std::isfinite(value)) Throw("D1001");
  IntFormat f = AnalyseInteger(picture);
  return FormatInt(std::floor(value), f);
}

std::optional<double> ParseIntegerPicture(const std::string& value, const std::string& picture) {
  IntFormat f = AnalyseInteger(picture);
  IntMatcher m = IntRegex(f, 0, 0);
  double r = m.Parse(value);
  if (std::isnan(r)) return std::nullopt;
  return r;
}

}  // namespace weft::expr
