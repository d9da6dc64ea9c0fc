// Value helpers shared by the evaluator and the standard library: JSONata's
// truthiness, sequences, deep equality, JavaScript number and JSON text,
// conversion to and from nlohmann JSON, and signature validation.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "expr/evaluator.h"

namespace weft::expr {

void ReleaseHeap(HeapObj* h) {
  thread_local std::vector<HeapObj*> pending;
  thread_local bool draining = false;
  if (draining) {
    pending.push_back(h);
    return;
  }
  draining = true;
  delete h;  // NOLINT: intrusive ownership
  while (!pending.empty()) {
    HeapObj* next = pending.back();
    pending.pop_back();
    delete next;  // NOLINT: intrusive ownership
  }
  draining = false;
}

void Throw(const char* code, int position, std::string token, std::string detail) {
  throw JError{code, position, std::move(token), std::move(detail)};
}

bool IsNumeric(const Value& v) {
  if (!v.IsNum()) return false;
  double d = v.num();
  if (std::isnan(d)) return false;
  if (!std::isfinite(d)) Throw("D1001");
  return true;
}

bool ToBool(const Value& v) {
  switch (v.kind()) {
    case VK::kUndef:
    case VK::kNull:
    case VK::kFunc:
      return false;
    case VK::kBool:
      return v.b();
    case VK::kNum:
      return v.num() != 0 && !std::isnan(v.num());
    case VK::kStr:
      return !v.str().empty();
    case VK::kJArr:
    case VK::kArr: {
      size_t n = ArrSize(v);
      if (n == 0) return false;
      if (n == 1) return ToBool(ArrAt(v, 0));
      for (size_t i = 0; i < n; ++i)
        if (ToBool(ArrAt(v, i))) return true;
      return false;
    }
    case VK::kJObj:
    case VK::kObj:
      return ObjSize(v) > 0;
  }
  return false;
}

Value Seq() { return NewArr(true); }

Value SeqOf(Value v) {
  Value s = Seq();
  Charge(kValueBytes);
  s.arr()->v.push_back(std::move(v));
  return s;
}

void PushTo(Value& arr, Value v) {
  Charge(kValueBytes);
  arr.arr()->v.push_back(std::move(v));
}

Value Append(const Value& a, const Value& b) {
  if (a.IsUndef()) return b;
  if (b.IsUndef()) return a;
  Charge(((a.IsArray() ? ArrSize(a) : 1) + (b.IsArray() ? ArrSize(b) : 1)) * kValueBytes);
  Value r = NewArr();
  auto& out = r.arr()->v;
  if (a.IsArray()) {
    for (size_t i = 0, n = ArrSize(a); i < n; ++i) out.push_back(ArrAt(a, i));
  } else {
    out.push_back(a);
  }
  if (b.IsArray()) {
    for (size_t i = 0, n = ArrSize(b); i < n; ++i) out.push_back(ArrAt(b, i));
  } else {
    out.push_back(b);
  }
  return r;
}

namespace {
void FlattenInto(const Value& v, std::vector<Value>& out) {
  if (v.IsArray()) {
    for (size_t i = 0, n = ArrSize(v); i < n; ++i) FlattenInto(ArrAt(v, i), out);
  } else {
    Charge(kValueBytes);
    out.push_back(v);
  }
}
}  // namespace

Value Flatten(const Value& v) {
  Value r = NewArr();
  FlattenInto(v, r.arr()->v);
  return r;
}

bool DeepEqual(const Value& a, const Value& b) {
  Charge(0);  // shared parts can make a small value a long walk: keep the clock in view
  if (a.IsArray() && b.IsArray()) {
    size_t n = ArrSize(a);
    if (n != ArrSize(b)) return false;
    for (size_t i = 0; i < n; ++i)
      if (!DeepEqual(ArrAt(a, i), ArrAt(b, i))) return false;
    return true;
  }
  if (a.IsObject() && b.IsObject()) {
    if (ObjSize(a) != ObjSize(b)) return false;
    bool eq = true;
    ObjForEach(a, [&](std::string_view k, const Value& v) {
      if (!eq) return;
      Value o = ObjGet(b, k);
      if (o.IsUndef() || !DeepEqual(v, o)) eq = false;
    });
    return eq;
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case VK::kUndef:
    case VK::kNull:
      return true;
    case VK::kBool:
      return a.b() == b.b();
    case VK::kNum:
      return a.num() == b.num();
    case VK::kStr:
      return a.str() == b.str();
    case VK::kFunc:
      return a.func() == b.func();
    default:
      return false;
  }
}

std::string NumberToString(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return "0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  bool neg = false;
  size_t p = 0;
  if (sci[0] == '-') {
    neg = true;
    p = 1;
  }
  size_t epos = sci.find('e');
  std::string digits;
  for (size_t i = p; i < epos; ++i)
    if (sci[i] != '.') digits += sci[i];
  int e = std::atoi(sci.c_str() + epos + 1);
  int k = static_cast<int>(digits.size());
  int n = e + 1;
  std::string out = neg ? "-" : "";
  if (k <= n && n <= 21) {
    out += digits + std::string(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  } else {
    int ex = n - 1;
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += "e";
    out += ex >= 0 ? "+" : "-";
    out += std::to_string(std::abs(ex));
  }
  return out;
}

namespace {
double Round15(double d) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.15g", d);
  return std::strtod(buf, nullptr);
}

void QuoteJson(const std::string& s, std::string& out) {
  Charge(s.size() + 2);  // escapes may add more; an estimate
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void StringifyInto(const Value& v, bool pretty, int indent, std::string& out) {
  if (indent > 10000) Throw("U1001", -1, "", "Value nested too deeply");
  // a value that shares its parts (the same array in many places) prints far
  // larger than it is held: count the text as it grows
  Charge(pretty ? 8 + static_cast<size_t>(indent) * 2 : 8);
  auto nl = [&](int ind) {
    if (!pretty) return;
    out += '\n';
    out.append(static_cast<size_t>(ind) * 2, ' ');
  };
  switch (v.kind()) {
    case VK::kUndef:
    case VK::kNull:
      out += "null";
      return;
    case VK::kBool:
      out += v.b() ? "true" : "false";
      return;
    case VK::kNum:
      if (!std::isfinite(v.num())) Throw("D1001");
      out += NumberToString(v.num() == std::floor(v.num()) ? v.num() : Round15(v.num()));
      return;
    case VK::kStr:
      QuoteJson(v.str(), out);
      return;
    case VK::kFunc:
      out += "\"\"";
      return;
    case VK::kJArr:
    case VK::kArr: {
      size_t n = ArrSize(v);
      if (n == 0) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < n; ++i) {
        if (i) out += ',';
        nl(indent + 1);
        StringifyInto(ArrAt(v, i), pretty, indent + 1, out);
      }
      nl(indent);
      out += ']';
      return;
    }
    case VK::kJObj:
    case VK::kObj: {
      bool first = true;
      out += '{';
      ObjForEach(v, [&](std::string_view k, const Value& c) {
        if (c.IsUndef()) return;
        if (!first) out += ',';
        first = false;
        nl(indent + 1);
        QuoteJson(std::string(k), out);
        out += pretty ? ": " : ":";
        StringifyInto(c, pretty, indent + 1, out);
      });
      if (!first) nl(indent);
      out += '}';
      return;
    }
  }
}
}  // namespace

std::string Stringify(const Value& v, bool pretty) {
  std::string out;
  StringifyInto(v, pretty, 0, out);
  return out;
}

std::string ToStr(const Value& v) {
  if (v.IsStr()) return v.str();
  if (v.IsNum() && v.num() == std::floor(v.num()) && std::fabs(v.num()) < 1e15)
    return std::to_string(static_cast<int64_t>(v.num()));
  if (v.IsFunc()) return "";
  if (v.IsNum() && !std::isfinite(v.num())) Throw("D3001");
  if (v.kind() == VK::kArr && v.arr()->outer_wrapper && !v.arr()->v.empty())
    return Stringify(v.arr()->v[0], false);
  return Stringify(v, false);
}

namespace {
Json ToJsonAt(const Value& v, int depth);

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
size_t Utf8SeqLen(std::string_view s, size_t i) {
  auto cont = [&](size_t k) {
    return k < s.size() && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80;
  };
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F)) return 0;  // overlong, surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F)) return 0;
    return 4;
  }
  return 0;
}

// Text leaving the module is valid UTF-8: bytes that are not (from
// $base64decode, $decodeUrl, or a literal) become U+FFFD, so that no later
// dump() of a step's output or an API answer throws.
std::string ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t n = Utf8SeqLen(s, i);
    if (n == 0) break;
    i += n;
  }
  if (i == s.size()) return std::string(s);
  std::string out(s.substr(0, i));
  while (i < s.size()) {
    size_t n = Utf8SeqLen(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}
}  // namespace

Json ToJson(const Value& v) { return ToJsonAt(v, 0); }

namespace {
// Charges a copy of a borrowed input node and everything under it.
void ChargeJsonCopy(const Json& j) {
  Charge(kJsonNodeBytes + (j.is_string() ? j.get_ref<const std::string&>().size() : 0));
  if (j.is_array()) {
    for (const Json& e : j) ChargeJsonCopy(e);
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      Charge(it.key().size());
      ChargeJsonCopy(it.value());
    }
  }
}

Json ToJsonAt(const Value& v, int depth) {
  if (depth > 10000) Throw("U1001", -1, "", "Value nested too deeply");
  // the result is a copy: a value that shares its parts becomes that many copies
  Charge(kJsonNodeBytes + (v.IsStr() ? v.str().size() : 0));
  switch (v.kind()) {
    case VK::kUndef:
    case VK::kNull:
      return nullptr;
    case VK::kBool:
      return v.b();
    case VK::kNum: {
      double d = v.num();
      if (!std::isfinite(d)) return nullptr;
      if (d == std::floor(d) && std::fabs(d) < 9.007199254740992e15) return static_cast<int64_t>(d);
      return d;
    }
    case VK::kStr:
      return ValidUtf8(v.str());
    case VK::kJArr:
    case VK::kJObj:
      ChargeJsonCopy(v.json());
      return v.json();
    case VK::kArr: {
      Json a = Json::array();
      auto& vec = a.get_ref<Json::array_t&>();
      vec.reserve(v.arr()->v.size());
      for (const Value& e : v.arr()->v) {
        if (e.IsUndef()) continue;
        vec.push_back(e.IsFunc() ? Json("") : ToJsonAt(e, depth + 1));
      }
      return a;
    }
    case VK::kObj: {
      Json o = Json::object();
      // keys of an owned object are unique: append to the ordered map's vector directly
      auto& vec = static_cast<std::vector<std::pair<const std::string, Json>>&>(
          o.get_ref<Json::object_t&>());
      vec.reserve(v.obj()->v.size());
      for (auto& e : v.obj()->v) {
        if (e.second.IsUndef() || e.second.IsFunc()) continue;
        vec.emplace_back(ValidUtf8(e.first), ToJsonAt(e.second, depth + 1));
      }
      return o;
    }
    case VK::kFunc:
      return "";
  }
  return nullptr;
}
}  // namespace

Value ToOwned(const Value& v) {
  if (v.IsArray()) {
    Value r = NewArr();
    for (size_t i = 0, n = ArrSize(v); i < n; ++i) {
      Value e = ArrAt(v, i);
      if (e.IsFunc()) continue;
      Charge(kValueBytes);
      r.arr()->v.push_back(ToOwned(e));
    }
    return r;
  }
  if (v.IsObject()) {
    Value r = NewObj();
    ObjForEach(v, [&](std::string_view k, const Value& c) {
      if (c.IsFunc() || c.IsUndef()) return;
      Charge(kObjEntryBytes + k.size());
      r.obj()->v.emplace_back(std::string(k), ToOwned(c));
    });
    return r;
  }
  return v;
}

bool IsArrayOfStrings(const Value& v) {
  if (!v.IsArray()) return false;
  for (size_t i = 0, n = ArrSize(v); i < n; ++i)
    if (!ArrAt(v, i).IsStr()) return false;
  return true;
}

bool IsArrayOfNumbers(const Value& v) {
  if (!v.IsArray()) return false;
  for (size_t i = 0, n = ArrSize(v); i < n; ++i)
    if (!ArrAt(v, i).IsNum()) return false;
  return true;
}

char TypeSymbol(const Value& v) {
  switch (v.kind()) {
    case VK::kUndef:
      return 'm';
    case VK::kNull:
      return 'l';
    case VK::kBool:
      return 'b';
    case VK::kNum:
      return 'n';
    case VK::kStr:
      return 's';
    case VK::kJArr:
    case VK::kArr:
      return 'a';
    case VK::kJObj:
    case VK::kObj:
      return 'o';
    case VK::kFunc:
      return 'f';
  }
  return 'm';
}

int Utf16Length(std::string_view s) {
  int n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) == 0x80) continue;
    n += (c >= 0xF0) ? 2 : 1;
  }
  return n;
}

namespace {
bool MatchParams(const std::vector<Param>& ps, size_t pi, const std::string& sym, size_t si,
                 int* counts) {
  if (pi == ps.size()) return si == sym.size();
  const Param& p = ps[pi];
  auto ok = [&](size_t i) { return i < sym.size() && p.chars.find(sym[i]) != std::string::npos; };
  int max = 0;
  if (p.quant == '+') {
    while (ok(si + static_cast<size_t>(max))) ++max;
    for (int c = max; c >= 1; --c) {
      counts[pi] = c;
      if (MatchParams(ps, pi + 1, sym, si + static_cast<size_t>(c), counts)) return true;
    }
    return false;
  }
  if (ok(si)) {
    counts[pi] = 1;
    if (MatchParams(ps, pi + 1, sym, si + 1, counts)) return true;
  }
  if (p.quant == '?') {
    counts[pi] = 0;
    return MatchParams(ps, pi + 1, sym, si, counts);
  }
  return false;
}
}  // namespace

void ValidateArgs(const Signature& sig, std::vector<Value>& args, const Value& context,
                  int position, std::string_view name) {
  std::string sym;
  sym.reserve(args.size());
  for (const Value& a : args) sym += TypeSymbol(a);
  int counts_buf[32] = {0};
  std::vector<int> counts_big;
  int* counts = counts_buf;
  if (sig.params.size() > 32) {
    counts_big.assign(sig.params.size(), 0);
    counts = counts_big.data();
  }
  if (!MatchParams(sig.params, 0, sym, 0, counts)) {
    // find the first argument that does not fit
    size_t good = 0;
    for (size_t pi = 0; pi < sig.params.size() && good < sym.size(); ++pi) {
      if (sig.params[pi].chars.find(sym[good]) == std::string::npos) {
        if (sig.params[pi].quant == '?') continue;
        break;
      }
      ++good;
    }
    Throw("T0410", position, std::string(name), std::to_string(good + 1));
  }
  if (sym.size() == sig.params.size()) {
    bool unchanged = true;
    for (size_t pi = 0; pi < sig.params.size() && unchanged; ++pi)
      unchanged = counts[pi] == 1 && sig.params[pi].type != 'a';
    if (unchanged) return;
  }
  std::vector<Value> out;
  out.reserve(sig.params.size());
  size_t ai = 0;
  for (size_t pi = 0; pi < sig.params.size(); ++pi) {
    const Param& p = sig.params[pi];
    if (counts[pi] == 0) {
      if (p.context) {
        char cs = TypeSymbol(context);
        if (p.chars.find(cs) == std::string::npos) Throw("T0411", position, std::string(name));
        out.push_back(context);
      } else {
        out.push_back(ai < args.size() ? args[ai] : Value());
        ++ai;
      }
      continue;
    }
    for (int c = 0; c < counts[pi]; ++c) {
      Value arg = ai < args.size() ? args[ai] : Value();
      char single = ai < sym.size() ? sym[ai] : 'm';
      if (p.type == 'a') {
        if (single == 'm') {
          arg = Value();
        } else {
          bool ok = true;
          if (!p.subtype.empty()) {
            if (single != 'a' && std::string(1, single) != p.subtype) {
              ok = false;
            } else if (single == 'a') {
              size_t n = ArrSize(arg);
              if (n > 0) {
                char it = TypeSymbol(ArrAt(arg, 0));
                if (it != p.subtype[0]) ok = false;
                for (size_t i = 1; ok && i < n; ++i)
                  if (TypeSymbol(ArrAt(arg, i)) != it) ok = false;
              }
            }
          }
          if (!ok) Throw("T0412", position, std::string(name));
          if (single != 'a') {
            Value w = NewArr();
            w.arr()->v.push_back(arg);
            arg = w;
          }
        }
      }
      out.push_back(std::move(arg));
      ++ai;
    }
  }
  args = std::move(out);
}

int FuncObj::Arity() const {
  switch (kind) {
    case Kind::kLambda:
      return static_cast<int>(node->params.size());
    case Kind::kBuiltin:
      return builtin->arity;
    case Kind::kPartial: {
      int n = 0;
      for (bool h : holes) n += h ? 1 : 0;
      return n;
    }
    default:
      return 1;
  }
}

}  // namespace weft::expr
