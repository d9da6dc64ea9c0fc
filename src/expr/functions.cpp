// JSONata's standard library ($sum, $string, $map, ...). Each function gets
// arguments already checked against its signature.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <unordered_map>

#include "expr/evaluator.h"

namespace weft::expr {
namespace {

using Args = std::vector<Value>;

const Value& A(Args& a, size_t i) {
  static const Value kUndef;
  return i < a.size() ? a[i] : kUndef;
}

// A number as an int, NaN as 0 and out-of-range values at the bounds (a plain
// cast of 1e300 is undefined behaviour).
int ClampToInt(double d, int lo, int hi) {
  if (std::isnan(d)) return 0;
  return static_cast<int>(std::clamp(d, static_cast<double>(lo), static_cast<double>(hi)));
}

// A string argument the function cannot do without (a picture): undefined
// there is an argument that does not fit the signature, not a crash.
const std::string& NeedStr(CallCtx& c, Args& a, size_t i, const char* name) {
  if (!A(a, i).IsStr()) Throw("T0410", c.position, name, std::to_string(i + 1));
  return a[i].str();
}

std::vector<uint32_t> ToCodePoints(std::string_view s) {
  Charge(s.size() * sizeof(uint32_t));
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
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
    out.push_back(cp);
    i += static_cast<size_t>(len);
  }
  return out;
}

void PutUtf8(std::string& out, uint32_t cp) {
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

std::string FromCodePoints(const std::vector<uint32_t>& cps, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to && i < cps.size(); ++i) PutUtf8(out, cps[i]);
  return out;
}

Value CallFn(CallCtx& c, const Value& fn, Args args) {
  return c.ev.Apply(fn, args, c.input, c.env, c.position);
}

// Arguments for a higher-order callback: value, index, array as far as the callback takes them.
Value CallHof(CallCtx& c, const Value& fn, const Value& a1, const Value& a2, const Value& a3) {
  if (!fn.IsFunc()) Throw("T1006", c.position);
  int arity = fn.func()->Arity();
  Args args{a1};
  if (arity >= 2) args.push_back(a2);
  if (arity >= 3) args.push_back(a3);
  return CallFn(c, fn, std::move(args));
}

// ---- aggregation ----
Value FnSum(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  double s = 0;
  for (size_t i = 0, n = ArrSize(a[0]); i < n; ++i) s += ArrAt(a[0], i).num();
  return Value::Num(s);
}
Value FnCount(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value::Num(0);
  return Value::Num(static_cast<double>(ArrSize(a[0])));
}
Value MinMax(Args& a, bool max) {
  if (A(a, 0).IsUndef() || ArrSize(a[0]) == 0) return Value();
  double r = max ? -INFINITY : INFINITY;
  for (size_t i = 0, n = ArrSize(a[0]); i < n; ++i) {
    double d = ArrAt(a[0], i).num();
    r = max ? std::max(r, d) : std::min(r, d);
  }
  return Value::Num(r);
}
Value FnMax(CallCtx&, Args& a) { return MinMax(a, true); }
Value FnMin(CallCtx&, Args& a) { return MinMax(a, false); }
Value FnAverage(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef() || ArrSize(a[0]) == 0) return Value();
  double s = 0;
  size_t n = ArrSize(a[0]);
  for (size_t i = 0; i < n; ++i) s += ArrAt(a[0], i).num();
  return Value::Num(s / static_cast<double>(n));
}

// ---- strings ----
Value FnString(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  bool pretty = A(a, 1).IsBool() && a[1].b();
  if (pretty && !a[0].IsStr() && !a[0].IsFunc()) return Value::Str(Stringify(a[0], true));
  if (a[0].IsStr()) return a[0];
  return Value::Str(ToStr(a[0]));
}
bool IsAscii(const std::string& s) {
  for (char ch : s)
    if (static_cast<unsigned char>(ch) >= 0x80) return false;
  return true;
}
Value FnSubstring(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  if (IsAscii(a[0].str())) {
    const std::string& str = a[0].str();
    double len = static_cast<double>(str.size());
    double start = A(a, 1).num();
    if (std::isnan(start)) start = 0;
    start = std::trunc(start);
    if (len + start < 0) start = 0;
    double from = std::min(start < 0 ? len + start : start, len);
    double end = len;
    if (A(a, 2).IsDefined()) {
      double l = std::trunc(a[2].num());
      if (!(l > 0)) return Value::Str("");  // also NaN
      end = std::min(start >= 0 ? start + l : len + start + l, len);
    }
    if (end <= from) return Value::Str("");
    return Value::Str(str.substr(static_cast<size_t>(from), static_cast<size_t>(end - from)));
  }
  auto cps = ToCodePoints(a[0].str());
  double len = static_cast<double>(cps.size());
  double start = A(a, 1).num();
  if (std::isnan(start)) start = 0;
  start = std::trunc(start);
  if (len + start < 0) start = 0;
  double from = start < 0 ? len + start : start;
  if (from > len) from = len;
  if (A(a, 2).IsDefined()) {
    double l = std::trunc(a[2].num());
    if (!(l > 0)) return Value::Str("");  // also NaN
    double end = start >= 0 ? start + l : len + start + l;
    if (end > len) end = len;
    if (end <= from) return Value::Str("");
    return Value::Str(FromCodePoints(cps, static_cast<size_t>(from), static_cast<size_t>(end)));
  }
  return Value::Str(FromCodePoints(cps, static_cast<size_t>(from), cps.size()));
}
Value FnSubstringBefore(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  if (A(a, 1).IsUndef()) return a[0];
  size_t p = a[0].str().find(a[1].str());
  if (p == std::string::npos) return a[0];
  return Value::Str(a[0].str().substr(0, p));
}
Value FnSubstringAfter(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  if (A(a, 1).IsUndef()) return a[0];
  size_t p = a[0].str().find(a[1].str());
  if (p == std::string::npos) return a[0];
  return Value::Str(a[0].str().substr(p + a[1].str().size()));
}
// Case mapping for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic: the
// scripts integration payloads carry. Other code points are left as they are.
uint32_t ToUpperCp(uint32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c < 0x80) return c;
  if ((c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149) {
    bool odd_lower = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_lower ? (c % 2 == 0) : (c % 2 == 1)) return c - 1;
    return c;
  }
  if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return c - 32;
  if (c == 0x3C2) return 0x3A3;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return c;
}
uint32_t ToLowerCp(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c == 0x178) return 0xFF;
  if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149) {
    bool odd_lower = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_lower ? (c % 2 == 1) : (c % 2 == 0)) return c + 1;
    return c;
  }
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}
Value MapCase(const std::string& s, bool upper) {
  bool ascii = true;
  for (char ch : s) ascii = ascii && static_cast<unsigned char>(ch) < 0x80;
  if (ascii) {
    std::string out = s;
    for (char& ch : out) {
      if (upper && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
      if (!upper && ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
    }
    return Value::Str(std::move(out));
  }
  std::string out;
  for (uint32_t cp : ToCodePoints(s)) {
    if (upper && cp == 0xDF) {
      out += "SS";
      continue;
    }
    PutUtf8(out, upper ? ToUpperCp(cp) : ToLowerCp(cp));
  }
  return Value::Str(std::move(out));
}
Value FnLowercase(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  return MapCase(a[0].str(), false);
}
Value FnUppercase(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  return MapCase(a[0].str(), true);
}
Value FnLength(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  if (IsAscii(a[0].str())) return Value::Num(static_cast<double>(a[0].str().size()));
  return Value::Num(static_cast<double>(ToCodePoints(a[0].str()).size()));
}
Value FnTrim(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  const std::string& s = a[0].str();
  std::string out;
  bool ws = false;
  for (char ch : s) {
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
      ws = true;
      continue;
    }
    if (ws && !out.empty()) out += ' ';
    ws = false;
    out += ch;
  }
  return Value::Str(std::move(out));
}
Value FnPad(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  std::string ch = A(a, 2).IsStr() ? a[2].str() : " ";
  if (ch.empty()) ch = " ";
  double width = std::trunc(A(a, 1).IsNum() ? a[1].num() : 0);
  if (std::isnan(width)) return a[0];
  size_t len = 0;  // code points
  for (char ch8 : a[0].str()) len += (static_cast<unsigned char>(ch8) & 0xC0) != 0x80;
  // the width is the caller's to choose: check it against the budget before
  // building anything (a width of 2e9 would otherwise be gigabytes)
  double absw = std::fabs(width);
  if (absw <= static_cast<double>(len)) return a[0];
  auto pc = ToCodePoints(ch);
  size_t padn = static_cast<size_t>(std::min(absw, 9e15)) - len;
  size_t per_char = 0;
  for (uint32_t cp : pc)
    per_char = std::max<size_t>(per_char, cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);
  Charge(padn * per_char + a[0].str().size());
  std::string ps;
  ps.reserve(padn * per_char);
  for (size_t i = 0; i < padn; ++i) PutUtf8(ps, pc[i % pc.size()]);
  return Value::StrCounted(width > 0 ? a[0].str() + ps : ps + a[0].str());
}

struct RMatch {
  std::string match;
  size_t index;  // code points
  std::vector<Value> groups;
  size_t byte_pos, byte_len;
};

size_t NextCharEnd(const std::string& s, size_t p) {
  ++p;
  while (p < s.size() && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) ++p;
  return p;
}

std::vector<RMatch> RegexAll(const Regex& re, const std::string& s, size_t limit, int pos) {
  std::vector<RMatch> out;
  size_t start = 0;
  size_t counted_bytes = 0, counted_cps = 0;  // code points before counted_bytes, kept as we go
  Regex::Match m;
  while (out.size() < limit && start <= s.size() && re.Search(s, start, &m)) {
    if (m.len == 0) Throw("D1004", pos);
    Charge(sizeof(RMatch) + m.len);  // a million matches are a million of these
    RMatch r;
    r.match = s.substr(m.pos, m.len);
    r.byte_pos = m.pos;
    r.byte_len = m.len;
    for (; counted_bytes < r.byte_pos; ++counted_bytes)
      counted_cps += (static_cast<unsigned char>(s[counted_bytes]) & 0xC0) != 0x80;
    r.index = counted_cps;
    for (auto& g : m.groups) r.groups.push_back(Value::Str(g));
    out.push_back(std::move(r));
    start = m.pos + m.len;
  }
  return out;
}

const Regex& RegexOf(const Value& v) { return *v.func()->node->regex; }
bool IsRegex(const Value& v) { return v.IsFunc() && v.func()->kind == FuncObj::Kind::kRegex; }

size_t CodePointToByte(const std::string& s, double cp) {
  size_t i = 0;
  for (double n = 0; i < s.size() && n < cp; ++n) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  }
  return i;
}

// All matches of a regular expression, or of a user-written matcher function
// (one that returns {match, start, end, groups, next}) as JSONata allows.
std::vector<RMatch> MatchAll(CallCtx& c, const Value& pat, const std::string& s, size_t limit) {
  if (IsRegex(pat)) return RegexAll(RegexOf(pat), s, limit, c.position);
  std::vector<RMatch> out;
  Value r = CallFn(c, pat, Args{Value::Str(s)});
  while (r.IsDefined() && out.size() < limit) {
    Value match = ObjGet(r, "match");
    Value start = ObjGet(r, "start");
    Value end = ObjGet(r, "end");
    Value groups = ObjGet(r, "groups");
    if (!r.IsObject() || !match.IsStr() || !start.IsNum() || !end.IsNum() || !groups.IsArray())
      Throw("T1010", c.position);
    Charge(sizeof(RMatch) + match.str().size());
    RMatch m;
    m.match = match.str();
    if (!(start.num() >= 0 && start.num() <= 9e15 && end.num() >= start.num()))
      Throw("T1010", c.position);
    m.index = static_cast<size_t>(start.num());
    for (size_t i = 0, n = ArrSize(groups); i < n; ++i) m.groups.push_back(ArrAt(groups, i));
    m.byte_pos = CodePointToByte(s, start.num());
    m.byte_len = CodePointToByte(s, end.num()) - m.byte_pos;
    out.push_back(std::move(m));
    Value next = ObjGet(r, "next");
    if (!next.IsFunc()) break;
    r = CallFn(c, next, Args{});
  }
  return out;
}

Value MatchObject(const RMatch& m) {
  Value o = NewObj();
  o.obj()->Set("match", Value::Str(m.match));
  o.obj()->Set("index", Value::Num(static_cast<double>(m.index)));
  Value g = NewArr();
  g.arr()->v = m.groups;
  o.obj()->Set("groups", g);
  return o;
}

size_t LimitOf(const Value& v, const char* code, int pos) {
  if (v.IsUndef()) return SIZE_MAX;
  if (v.num() < 0) Throw(code, pos);
  if (!(v.num() < 9e15)) return SIZE_MAX;  // also NaN: no cast of what size_t cannot hold
  return static_cast<size_t>(std::floor(v.num()));
}

Value FnMatch(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  size_t limit = LimitOf(A(a, 2), "D3040", c.position);
  if (!A(a, 1).IsFunc()) Throw("T0410", c.position);
  auto ms = MatchAll(c, a[1], a[0].str(), limit);
  Value out = Seq();
  for (auto& m : ms) PushTo(out, MatchObject(m));
  return out;
}
Value FnContains(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  if (!A(a, 1).IsStr() && !A(a, 1).IsFunc()) return Value();
  if (IsRegex(a[1])) {
    Regex::Match m;
    return Value::Bool(RegexOf(a[1]).Search(a[0].str(), 0, &m));
  }
  if (a[1].IsFunc()) return Value::Bool(!MatchAll(c, a[1], a[0].str(), 1).empty());
  return Value::Bool(a[0].str().find(a[1].str()) != std::string::npos);
}

std::string SubstituteDollars(const std::string& repl, const RMatch& m) {
  std::string out;
  size_t pos = 0;
  size_t idx = repl.find('$', pos);
  while (idx != std::string::npos && pos < repl.size()) {
    out += repl.substr(pos, idx - pos);
    pos = idx + 1;
    char d = pos < repl.size() ? repl[pos] : 0;
    if (d == '$') {
      out += '$';
      ++pos;
    } else if (d == '0') {
      out += m.match;
      ++pos;
    } else {
      size_t ng = m.groups.size();
      int max_digits =
          ng == 0 ? 1 : static_cast<int>(std::floor(std::log10(static_cast<double>(ng)))) + 1;
      auto parse = [&](int digits, int* v) {
        int k = 0;
        *v = 0;
        while (k < digits && pos + static_cast<size_t>(k) < repl.size() &&
               std::isdigit(static_cast<unsigned char>(repl[pos + static_cast<size_t>(k)]))) {
          *v = *v * 10 + (repl[pos + static_cast<size_t>(k)] - '0');
          ++k;
        }
        return k;
      };
      int gi;
      int used = parse(max_digits, &gi);
      if (max_digits > 1 && static_cast<size_t>(gi) > ng) used = parse(max_digits - 1, &gi);
      if (used > 0) {
        if (ng > 0 && gi >= 1 && static_cast<size_t>(gi) <= ng)
          out += m.groups[static_cast<size_t>(gi - 1)].str();
        pos += std::to_string(gi).size();
      } else {
        out += '$';
      }
    }
    idx = repl.find('$', pos);
  }
  if (pos < repl.size()) out += repl.substr(pos);
  return out;
}

Value FnReplace(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  const std::string& s = a[0].str();
  if (A(a, 1).IsStr() && a[1].str().empty()) Throw("D3010", c.position);
  if (!A(a, 1).IsStr() && !A(a, 1).IsFunc()) Throw("T0410", c.position);
  if (!A(a, 2).IsStr() && !A(a, 2).IsFunc()) Throw("T0410", c.position);
  size_t limit = LimitOf(A(a, 3), "D3011", c.position);
  const Value& repl = A(a, 2);
  std::string out;
  if (a[1].IsStr()) {
    const std::string& pat = a[1].str();
    size_t pos = 0, count = 0;
    while (count < limit) {
      size_t f = s.find(pat, pos);
      if (f == std::string::npos) break;
      // a short pattern replaced by a long text grows fast: count as it grows
      Charge(f - pos);
      out.append(s, pos, f - pos);
      if (repl.IsStr()) {
        Charge(repl.str().size());
        out += repl.str();
      } else {
        RMatch m{pat, 0, {}, f, pat.size()};
        Value r = CallFn(c, repl, Args{MatchObject(m)});
        if (!r.IsStr()) Throw("D3012", c.position);
        Charge(r.str().size());
        out += r.str();
      }
      pos = f + pat.size();
      ++count;
    }
    Charge(s.size() - pos);
    out.append(s, pos);
    return Value::StrCounted(std::move(out));
  }
  auto ms = MatchAll(c, a[1], s, limit);
  size_t pos = 0;
  for (auto& m : ms) {
    if (m.byte_pos < pos || m.byte_pos > s.size()) Throw("T1010", c.position);
    Charge(m.byte_pos - pos);
    out.append(s, pos, m.byte_pos - pos);
    if (repl.IsStr()) {
      std::string piece = SubstituteDollars(repl.str(), m);
      Charge(piece.size());
      out += piece;
    } else {
      Value r = CallFn(c, repl, Args{MatchObject(m)});
      if (!r.IsStr()) Throw("D3012", c.position);
      Charge(r.str().size());
      out += r.str();
    }
    pos = m.byte_pos + m.byte_len;
  }
  Charge(s.size() - std::min(pos, s.size()));
  out.append(s, std::min(pos, s.size()));
  return Value::StrCounted(std::move(out));
}

Value FnSplit(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  size_t limit = LimitOf(A(a, 2), "D3020", c.position);
  const std::string& s = a[0].str();
  if (!A(a, 1).IsStr() && !A(a, 1).IsFunc()) Throw("T0410", c.position);
  Value out = NewArr();
  auto push = [&](std::string piece) {
    if (ArrSize(out) < limit) PushTo(out, Value::Str(std::move(piece)));
  };
  if (a[1].IsStr()) {
    const std::string& sep = a[1].str();
    if (sep.empty()) {
      auto cps = ToCodePoints(s);
      for (size_t i = 0; i < cps.size(); ++i) push(FromCodePoints(cps, i, i + 1));
      return out;
    }
    size_t pos = 0;
    for (;;) {
      size_t f = s.find(sep, pos);
      if (f == std::string::npos) {
        push(s.substr(pos));
        break;
      }
      push(s.substr(pos, f - pos));
      pos = f + sep.size();
    }
    return out;
  }
  if (!IsRegex(a[1])) {
    size_t pos = 0;
    for (const RMatch& m : MatchAll(c, a[1], s, SIZE_MAX)) {
      if (m.byte_len == 0 || m.byte_pos < pos) continue;
      push(s.substr(pos, m.byte_pos - pos));
      pos = m.byte_pos + m.byte_len;
    }
    push(s.substr(pos));
    return out;
  }
  const Regex& re = RegexOf(a[1]);
  size_t pos = 0, start = 0;
  Regex::Match m;
  while (start <= s.size() && re.Search(s, start, &m)) {
    if (m.len == 0) {
      if (m.pos >= s.size()) break;
      start = NextCharEnd(s, m.pos);
      continue;
    }
    push(s.substr(pos, m.pos - pos));
    pos = m.pos + m.len;
    start = pos;
  }
  push(s.substr(pos));
  return out;
}

Value FnJoin(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  std::string sep = A(a, 1).IsStr() ? a[1].str() : "";
  size_t total = 0;  // known before building: the same long string may be joined many times
  for (size_t i = 0, n = ArrSize(a[0]); i < n; ++i) {
    Value item = ArrAt(a[0], i);
    if (!item.IsStr()) Throw("T0412", c.position, "join");
    total += item.str().size() + (i ? sep.size() : 0);
  }
  Charge(total);
  std::string out;
  out.reserve(total);
  for (size_t i = 0, n = ArrSize(a[0]); i < n; ++i) {
    if (i) out += sep;
    out += ArrAt(a[0], i).str();
  }
  return Value::StrCounted(std::move(out));
}

// ---- numbers ----
Value FnNumber(CallCtx& c, Args& a) {
  const Value& v = A(a, 0);
  if (v.IsUndef()) return Value();
  if (v.IsNum()) return v;
  if (v.IsBool()) return Value::Num(v.b() ? 1 : 0);
  const std::string& s = v.str();
  // decimal JSON-style numbers, and 0x / 0o / 0b integers
  auto is_decimal = [&] {
    size_t i = 0;
    if (i < s.size() && s[i] == '-') ++i;
    size_t d = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == d) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      size_t f = i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      if (i == f) return false;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
      ++i;
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
      size_t e = i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      if (i == e) return false;
    }
    return i == s.size();
  };
  if (is_decimal()) {
    double d = std::strtod(s.c_str(), nullptr);
    if (std::isfinite(d)) return Value::Num(d);
  }
  if (s.size() > 2 && s[0] == '0' &&
      (s[1] == 'x' || s[1] == 'X' || s[1] == 'o' || s[1] == 'O' || s[1] == 'b' || s[1] == 'B')) {
    int base = (s[1] == 'x' || s[1] == 'X') ? 16 : (s[1] == 'o' || s[1] == 'O') ? 8 : 2;
    double r = 0;
    for (size_t i = 2; i < s.size(); ++i) {
      int d = std::isdigit(static_cast<unsigned char>(s[i])) ? s[i] - '0'
              : std::isalpha(static_cast<unsigned char>(s[i]))
                  ? std::tolower(static_cast<unsigned char>(s[i])) - 'a' + 10
                  : 99;
      if (d >= base) Throw("D3030", c.position);
      r = r * base + d;
    }
    return Value::Num(r);
  }
  Throw("D3030", c.position, "", s);
}
Value FnFloor(CallCtx&, Args& a) {
  return A(a, 0).IsUndef() ? Value() : Value::Num(std::floor(a[0].num()));
}
Value FnCeil(CallCtx&, Args& a) {
  return A(a, 0).IsUndef() ? Value() : Value::Num(std::ceil(a[0].num()));
}
Value FnAbs(CallCtx&, Args& a) {
  return A(a, 0).IsUndef() ? Value() : Value::Num(std::fabs(a[0].num()));
}
Value FnSqrt(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  if (a[0].num() < 0) Throw("D3060", c.position);
  return Value::Num(std::sqrt(a[0].num()));
}
Value FnPower(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  double r = std::pow(a[0].num(), a[1].num());
  if (!std::isfinite(r)) Throw("D3061", c.position);
  return Value::Num(r);
}
double ShiftDecimal(double v, int places) {
  std::string s = NumberToString(v);
  size_t e = s.find('e');
  std::string mant = e == std::string::npos ? s : s.substr(0, e);
  int ex = e == std::string::npos ? 0 : std::atoi(s.c_str() + e + 1);
  std::string t = mant + "e" + std::to_string(ex + places);
  return std::strtod(t.c_str(), nullptr);
}
Value FnRound(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  double v = a[0].num();
  int prec = A(a, 1).IsNum() ? ClampToInt(a[1].num(), -400, 400) : 0;
  if (prec) v = ShiftDecimal(v, prec);
  double r = std::floor(v + 0.5);
  double diff = r - v;
  if (std::fabs(diff) == 0.5 && std::fabs(std::fmod(r, 2)) == 1) r -= 1;
  if (prec) r = ShiftDecimal(r, -prec);
  if (r == 0) r = 0;
  return Value::Num(r);
}
Value FnRandom(CallCtx&, Args&) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return Value::Num(std::uniform_real_distribution<double>(0, 1)(rng));
}

// ---- booleans ----
Value FnBoolean(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  return Value::Bool(ToBool(a[0]));
}
Value FnNot(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  return Value::Bool(!ToBool(a[0]));
}
Value FnExists(CallCtx& c, Args& a) {
  if (a.size() != 1) Throw("T0410", c.position);
  return Value::Bool(a[0].IsDefined());
}

// ---- higher order ----
Value FnMap(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  Value out = Seq();
  for (size_t i = 0, n = ArrSize(a[0]); i < n; ++i) {
    Value r = CallHof(c, a[1], ArrAt(a[0], i), Value::Num(static_cast<double>(i)), a[0]);
    if (r.IsDefined()) PushTo(out, std::move(r));
  }
  return out;
}
Value FnFilter(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  Value out = Seq();
  for (size_t i = 0, n = ArrSize(a[0]); i < n; ++i) {
    Value item = ArrAt(a[0], i);
    if (ToBool(CallHof(c, a[1], item, Value::Num(static_cast<double>(i)), a[0]))) PushTo(out, item);
  }
  return out;
}
Value FnSingle(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  bool found = false;
  Value result;
  for (size_t i = 0, n = ArrSize(a[0]); i < n; ++i) {
    Value item = ArrAt(a[0], i);
    bool pos = true;
    if (A(a, 1).IsDefined())
      pos = ToBool(CallHof(c, a[1], item, Value::Num(static_cast<double>(i)), a[0]));
    if (pos) {
      if (found) Throw("D3138", c.position);
      found = true;
      result = item;
    }
  }
  if (!found) Throw("D3139", c.position);
  return result;
}
Value FnReduce(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  if (!A(a, 1).IsFunc()) Throw("T1006", c.position);
  int arity = a[1].func()->Arity();
  if (arity < 2) Throw("D3050", c.position);
  size_t n = ArrSize(a[0]);
  size_t i = 0;
  Value acc;
  if (A(a, 2).IsUndef() && n > 0) {
    acc = ArrAt(a[0], 0);
    i = 1;
  } else {
    acc = A(a, 2);
  }
  for (; i < n; ++i) {
    Args args{acc, ArrAt(a[0], i)};
    if (arity >= 3) args.push_back(Value::Num(static_cast<double>(i)));
    if (arity >= 4) args.push_back(a[0]);
    acc = CallFn(c, a[1], std::move(args));
  }
  return acc;
}
Value FnSift(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  Value out = NewObj();
  ObjForEach(a[0], [&](std::string_view k, const Value& v) {
    Value key = Value::Str(std::string(k));
    if (ToBool(CallHof(c, a[1], v, key, a[0]))) out.obj()->v.emplace_back(std::string(k), v);
  });
  if (out.obj()->v.empty()) return Value();
  return out;
}
Value FnEach(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  Value out = Seq();
  ObjForEach(a[0], [&](std::string_view k, const Value& v) {
    Value r = CallHof(c, a[1], v, Value::Str(std::string(k)), a[0]);
    if (r.IsDefined()) PushTo(out, std::move(r));
  });
  return out;
}
Value FnZip(CallCtx&, Args& a) {
  Value out = NewArr();
  if (a.empty()) return out;
  size_t len = SIZE_MAX;
  for (auto& x : a) len = std::min(len, x.IsUndef() ? 0 : ArrSize(x));
  for (size_t i = 0; i < len; ++i) {
    Value t = NewArr();
    for (auto& x : a) PushTo(t, ArrAt(x, i));
    PushTo(out, t);
  }
  return out;
}
Value FnSort(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  size_t n = ArrSize(a[0]);
  if (n <= 1) return a[0];
  std::vector<Value> items;
  items.reserve(n);
  for (size_t i = 0; i < n; ++i) items.push_back(ArrAt(a[0], i));
  if (A(a, 1).IsUndef()) {
    bool nums = true, strs = true;
    for (auto& v : items) {
      nums = nums && v.IsNum();
      strs = strs && v.IsStr();
    }
    if (!nums && !strs) Throw("D3070", c.position);
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
      return nums ? x.num() < y.num() : x.str() < y.str();
    });
  } else {
    const Value fn = a[1];
    // merge sort with the user's "swap" predicate, as the reference does
    std::vector<Value> tmp(n);
    std::function<void(size_t, size_t)> ms = [&](size_t lo, size_t hi) {
      if (hi - lo < 2) return;
      size_t mid = (lo + hi) / 2;
      ms(lo, mid);
      ms(mid, hi);
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        if (ToBool(CallFn(c, fn, Args{items[i], items[j]}))) {
          tmp[k++] = items[j++];
        } else {
          tmp[k++] = items[i++];
        }
      }
      while (i < mid) tmp[k++] = items[i++];
      while (j < hi) tmp[k++] = items[j++];
      for (size_t x = lo; x < hi; ++x) items[x] = tmp[x];
    };
    ms(0, n);
  }
  Value out = NewArr();
  out.arr()->v = std::move(items);
  return out;
}

// ---- arrays / objects ----
Value FnAppend(CallCtx&, Args& a) { return Append(A(a, 0), A(a, 1)); }
Value FnReverse(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  size_t n = ArrSize(a[0]);
  if (n <= 1) return a[0];
  Value out = NewArr();
  for (size_t i = n; i-- > 0;) PushTo(out, ArrAt(a[0], i));
  return out;
}
Value FnShuffle(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  size_t n = ArrSize(a[0]);
  if (n <= 1) return a[0];
  Value out = NewArr();
  for (size_t i = 0; i < n; ++i) PushTo(out, ArrAt(a[0], i));
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::shuffle(out.arr()->v.begin(), out.arr()->v.end(), rng);
  return out;
}
Value FnDistinct(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  if (!a[0].IsArray() || ArrSize(a[0]) <= 1) return a[0];
  Value out = Seq();
  auto& v = out.arr()->v;
  for (size_t i = 0, n = ArrSize(a[0]); i < n; ++i) {
    Value item = ArrAt(a[0], i);
    bool dup = false;
    for (auto& x : v)
      if (DeepEqual(x, item)) {
        dup = true;
        break;
      }
    if (!dup) v.push_back(item);
  }
  return out;
}
Value FnKeys(CallCtx&, Args& a) {
  const Value& v = A(a, 0);
  Value out = Seq();
  auto add = [&](std::string_view k) {
    for (auto& x : out.arr()->v)
      if (x.str() == k) return;
    PushTo(out, Value::Str(std::string(k)));
  };
  if (v.IsArray()) {
    for (size_t i = 0, n = ArrSize(v); i < n; ++i) {
      Value item = ArrAt(v, i);
      if (item.IsObject()) ObjForEach(item, [&](std::string_view k, const Value&) { add(k); });
    }
  } else if (v.IsObject()) {
    ObjForEach(v, [&](std::string_view k, const Value&) { add(k); });
  }
  return out;
}
Value LookupValue(const Value& input, std::string_view key) {
  if (input.IsArray()) {
    Value out = Seq();
    for (size_t i = 0, n = ArrSize(input); i < n; ++i) {
      Value r = LookupValue(ArrAt(input, i), key);
      if (r.IsUndef()) continue;
      if (r.IsArray()) {
        for (size_t k = 0, m = ArrSize(r); k < m; ++k) PushTo(out, ArrAt(r, k));
      } else {
        PushTo(out, r);
      }
    }
    return out;
  }
  if (input.IsObject()) return ObjGet(input, key);
  return Value();
}
Value FnLookup(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef() || !A(a, 1).IsStr()) return Value();
  return LookupValue(a[0], a[1].str());
}
Value FnSpread(CallCtx&, Args& a) {
  const Value& v = A(a, 0);
  if (v.IsArray()) {
    Value out = Seq();
    for (size_t i = 0, n = ArrSize(v); i < n; ++i) {
      Args inner{ArrAt(v, i)};
      CallCtx* none = nullptr;
      (void)none;
      Value item = inner[0];
      if (item.IsObject()) {
        ObjForEach(item, [&](std::string_view k, const Value& x) {
          Value o = NewObj();
          o.obj()->Set(k, x);
          PushTo(out, o);
        });
      } else {
        PushTo(out, item);
      }
    }
    return out;
  }
  if (v.IsObject()) {
    Value out = Seq();
    ObjForEach(v, [&](std::string_view k, const Value& x) {
      Value o = NewObj();
      o.obj()->Set(k, x);
      PushTo(out, o);
    });
    return out;
  }
  return v;
}
Value FnMerge(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  Value out = NewObj();
  for (size_t i = 0, n = ArrSize(a[0]); i < n; ++i)
    ObjForEach(ArrAt(a[0], i), [&](std::string_view k, const Value& x) { out.obj()->Set(k, x); });
  return out;
}
Value FnType(CallCtx&, Args& a) {
  const Value& v = A(a, 0);
  switch (v.kind()) {
    case VK::kUndef:
      return Value();
    case VK::kNull:
      return Value::Str("null");
    case VK::kBool:
      return Value::Str("boolean");
    case VK::kNum:
      return Value::Str("number");
    case VK::kStr:
      return Value::Str("string");
    case VK::kJArr:
    case VK::kArr:
      return Value::Str("array");
    case VK::kJObj:
    case VK::kObj:
      return Value::Str("object");
    case VK::kFunc:
      return Value::Str("function");
  }
  return Value();
}
Value FnError(CallCtx& c, Args& a) {
  Throw("D3137", c.position, "", A(a, 0).IsStr() ? a[0].str() : "$error() function evaluated");
}
Value FnAssert(CallCtx& c, Args& a) {
  if (!a[0].b())
    Throw("D3141", c.position, "", A(a, 1).IsStr() ? a[1].str() : "$assert() statement failed");
  return Value();
}
Value FnEval(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  Value input = c.input;
  if (A(a, 1).IsDefined()) {
    input = a[1];
    if (input.IsArray() && !input.IsSequence()) {
      Value w = Seq();
      w.arr()->outer_wrapper = true;
      PushTo(w, input);
      input = w;
    }
  }
  return c.ev.EvalSource(a[0].str(), input, c.env);
}
Value FnClone(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  return c.ev.Clone(a[0]);
}

// ---- encoding ----
const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
Value FnB64Encode(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  const std::string& s = a[0].str();
  std::string out;
  size_t i = 0;
  while (i + 2 < s.size()) {
    uint32_t n = (static_cast<unsigned char>(s[i]) << 16) |
                 (static_cast<unsigned char>(s[i + 1]) << 8) | static_cast<unsigned char>(s[i + 2]);
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
    i += 3;
  }
  if (i + 1 == s.size()) {
    uint32_t n = static_cast<unsigned char>(s[i]) << 16;
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == s.size()) {
    uint32_t n =
        (static_cast<unsigned char>(s[i]) << 16) | (static_cast<unsigned char>(s[i + 1]) << 8);
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += '=';
  }
  return Value::Str(std::move(out));
}
Value FnB64Decode(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  const std::string& s = a[0].str();
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char ch : s) {
    const char* p = std::strchr(kB64, ch);
    if (ch == '=' || p == nullptr || ch == 0) continue;
    buf = (buf << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFF);
    }
  }
  return Value::Str(std::move(out));
}
std::string UrlEncode(const std::string& s, const char* keep, int pos) {
  std::string out;
  // a lone surrogate cannot be in valid UTF-8 here; reject malformed bytes instead
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char ch = static_cast<unsigned char>(s[i]);
    if (std::isalnum(ch) || std::strchr(keep, ch) != nullptr) {
      out += static_cast<char>(ch);
    } else {
      if (ch == 0xED && i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xE0) == 0xA0)
        Throw("D3140", pos);
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", ch);
      out += b;
    }
  }
  return out;
}
Value FnEncodeUrlComponent(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  return Value::Str(UrlEncode(a[0].str(), "-_.!~*'()", c.position));
}
Value FnEncodeUrl(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  return Value::Str(UrlEncode(a[0].str(), "-_.!~*'();/?:@&=+$,#", c.position));
}
std::string UrlDecode(const std::string& s, const char* reserved, int pos) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
      Throw("D3140", pos);
    int v = std::stoi(s.substr(i + 1, 2), nullptr, 16);
    if (v < 0x80 && reserved[0] && std::strchr(reserved, v) != nullptr) {
      out += s.substr(i, 3);
    } else {
      out += static_cast<char>(v);
    }
    i += 2;
  }
  // validate UTF-8
  for (size_t i = 0; i < out.size();) {
    unsigned char ch = static_cast<unsigned char>(out[i]);
    size_t len = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > out.size()) Throw("D3140", pos);
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(out[i + k]) & 0xC0) != 0x80) Throw("D3140", pos);
    i += len;
  }
  return out;
}
Value FnDecodeUrlComponent(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  return Value::Str(UrlDecode(a[0].str(), "", c.position));
}
Value FnDecodeUrl(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  return Value::Str(UrlDecode(a[0].str(), ";/?:@&=+$,#", c.position));
}

// ---- number formatting ----
Value FnFormatBase(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  double v = a[0].num();
  if (!std::isfinite(v)) Throw("D1001", c.position);  // NaN (10 % 0) has no digits
  Args r{Value::Num(v)};
  double rounded = FnRound(c, r).num();
  int radix = A(a, 1).IsNum() ? ClampToInt(a[1].num(), -1, 100) : 10;
  if (radix < 2 || radix > 36) Throw("D3100", c.position);
  bool neg = rounded < 0;
  uint64_t n = static_cast<uint64_t>(std::min(std::fabs(rounded), 1.8e19));
  std::string out;
  do {
    int d = static_cast<int>(n % static_cast<uint64_t>(radix));
    out += static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
    n /= static_cast<uint64_t>(radix);
  } while (n);
  if (neg) out += '-';
  std::reverse(out.begin(), out.end());
  return Value::Str(out);
}

Value FnFormatInteger(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  try {
    return Value::Str(FormatIntegerPicture(a[0].num(), NeedStr(c, a, 1, "formatInteger")));
  } catch (JError& e) {
    e.position = c.position;
    throw;
  }
}
Value FnParseInteger(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  auto r = ParseIntegerPicture(a[0].str(), NeedStr(c, a, 1, "parseInteger"));
  if (!r) return Value();
  return Value::Num(*r);
}

// ---- date/time ----
int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
Value FnNow(CallCtx&, Args& a) {
  int64_t ms = NowMillis();
  if (A(a, 0).IsStr() || A(a, 1).IsStr())
    return Value::Str(
        FormatDateTime(ms, A(a, 0).IsStr() ? a[0].str() : "", A(a, 1).IsStr() ? a[1].str() : ""));
  return Value::Str(IsoFromMillis(ms));
}
Value FnMillis(CallCtx&, Args&) { return Value::Num(static_cast<double>(NowMillis())); }
Value FnFromMillis(CallCtx&, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  // past the range of a JavaScript Date (±8.64e15 ms) there is no instant to format
  if (!(std::fabs(a[0].num()) <= 8.64e15)) return Value();
  int64_t ms = static_cast<int64_t>(std::floor(a[0].num()));
  if (A(a, 1).IsUndef() && A(a, 2).IsUndef()) return Value::Str(IsoFromMillis(ms));
  return Value::Str(
      FormatDateTime(ms, A(a, 1).IsStr() ? a[1].str() : "", A(a, 2).IsStr() ? a[2].str() : ""));
}
Value FnToMillis(CallCtx& c, Args& a) {
  if (A(a, 0).IsUndef()) return Value();
  if (A(a, 1).IsUndef()) {
    auto r = MillisFromIso(a[0].str());
    if (!r) Throw("D3110", c.position, "", a[0].str());
    return Value::Num(static_cast<double>(*r));
  }
  auto r = ParseDateTime(a[0].str(), a[1].str());
  if (!r) return Value();
  return Value::Num(static_cast<double>(*r));
}

std::vector<Builtin>& Table() {
  static std::vector<Builtin> table = [] {
    std::vector<Builtin> t;
    auto add = [&](const char* n, const char* sig, int arity, BuiltinFn fn) {
      t.push_back(Builtin{n, sig, arity, fn, ParseSignature(sig, 0)});
    };
    add("sum", "<a<n>:n>", 1, FnSum);
    add("count", "<a:n>", 1, FnCount);
    add("max", "<a<n>:n>", 1, FnMax);
    add("min", "<a<n>:n>", 1, FnMin);
    add("average", "<a<n>:n>", 1, FnAverage);
    add("string", "<x-b?:s>", 1, FnString);
    add("substring", "<s-nn?:s>", 3, FnSubstring);
    add("substringBefore", "<s-s:s>", 2, FnSubstringBefore);
    add("substringAfter", "<s-s:s>", 2, FnSubstringAfter);
    add("lowercase", "<s-:s>", 1, FnLowercase);
    add("uppercase", "<s-:s>", 1, FnUppercase);
    add("length", "<s-:n>", 1, FnLength);
    add("trim", "<s-:s>", 1, FnTrim);
    add("pad", "<s-ns?:s>", 3, FnPad);
    add("match", "<s-f<s:o>n?:a<o>>", 3, FnMatch);
    add("contains", "<s-(sf):b>", 2, FnContains);
    add("replace", "<s-(sf)(sf)n?:s>", 4, FnReplace);
    add("split", "<s-(sf)n?:a<s>>", 3, FnSplit);
    add("join", "<a<s>s?:s>", 2, FnJoin);
    add("formatNumber", "<n-so?:s>", 3, FnFormatNumber);
    add("formatBase", "<n-n?:s>", 2, FnFormatBase);
    add("formatInteger", "<n-s:s>", 2, FnFormatInteger);
    add("parseInteger", "<s-s:n>", 2, FnParseInteger);
    add("number", "<(nsb)-:n>", 1, FnNumber);
    add("floor", "<n-:n>", 1, FnFloor);
    add("ceil", "<n-:n>", 1, FnCeil);
    add("round", "<n-n?:n>", 2, FnRound);
    add("abs", "<n-:n>", 1, FnAbs);
    add("sqrt", "<n-:n>", 1, FnSqrt);
    add("power", "<n-n:n>", 2, FnPower);
    add("random", "<:n>", 0, FnRandom);
    add("boolean", "<x-:b>", 1, FnBoolean);
    add("not", "<x-:b>", 1, FnNot);
    add("map", "<af>", 2, FnMap);
    add("zip", "<a+>", 0, FnZip);
    add("filter", "<af>", 2, FnFilter);
    add("single", "<af?>", 2, FnSingle);
    add("reduce", "<afj?:j>", 3, FnReduce);
    add("sift", "<o-f?:o>", 2, FnSift);
    add("keys", "<x-:a<s>>", 1, FnKeys);
    add("lookup", "<x-s:x>", 2, FnLookup);
    add("append", "<xx:a>", 2, FnAppend);
    add("exists", "<x:b>", 1, FnExists);
    add("spread", "<x-:a<o>>", 1, FnSpread);
    add("merge", "<a<o>:o>", 1, FnMerge);
    add("reverse", "<a:a>", 1, FnReverse);
    add("each", "<o-f:a>", 2, FnEach);
    add("error", "<s?:x>", 1, FnError);
    add("assert", "<bs?:x>", 2, FnAssert);
    add("type", "<x:s>", 1, FnType);
    add("sort", "<af?:a>", 2, FnSort);
    add("shuffle", "<a:a>", 1, FnShuffle);
    add("distinct", "<x:x>", 1, FnDistinct);
    add("base64encode", "<s-:s>", 1, FnB64Encode);
    add("base64decode", "<s-:s>", 1, FnB64Decode);
    add("encodeUrlComponent", "<s-:s>", 1, FnEncodeUrlComponent);
    add("encodeUrl", "<s-:s>", 1, FnEncodeUrl);
    add("decodeUrlComponent", "<s-:s>", 1, FnDecodeUrlComponent);
    add("decodeUrl", "<s-:s>", 1, FnDecodeUrl);
    add("eval", "<sx?:x>", 2, FnEval);
    add("toMillis", "<s-s?:n>", 2, FnToMillis);
    add("fromMillis", "<n-s?s?:s>", 3, FnFromMillis);
    add("clone", "<(oa)-:o>", 1, FnClone);
    add("now", "<s?s?:s>", 2, FnNow);
    add("millis", "<:n>", 0, FnMillis);
    return t;
  }();
  return table;
}

}  // namespace

const Builtin* FindBuiltin(std::string_view name) {
  static const std::unordered_map<std::string_view, const Builtin*> index = [] {
    std::unordered_map<std::string_view, const Builtin*> m;
    for (const Builtin& b : Table()) m.emplace(b.name, &b);
    return m;
  }();
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

const std::vector<Builtin>& Builtins() { return Table(); }

}  // namespace weft::expr
