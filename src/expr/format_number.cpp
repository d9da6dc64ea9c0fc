// $formatNumber: XPath F&O 3.1 §4.7 decimal-format pictures, with the
// decimal-format properties JSONata accepts as the options object.
#include <cmath>
#include <cstdio>
#include <map>

#include "expr/evaluator.h"

namespace weft::expr {
namespace {

using U32 = std::u32string;

U32 Dec(const std::string& s) {
  U32 out;
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
std::string Enc(const U32& s) {
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

struct Props {
  char32_t decimal = '.';
  char32_t grouping = ',';
  char32_t exponent = 'e';
  U32 infinity = U"Infinity";
  U32 minus = U"-";
  U32 nan = U"NaN";
  char32_t percent = '%';
  char32_t permille = 0x2030;
  char32_t zero = '0';
  char32_t digit = '#';
  char32_t pattern = ';';
};

struct Parts {
  U32 prefix, suffix, active, mantissa, integer, fractional, sub;
  bool has_exponent = false;
  U32 exponent;
};

struct Pic {
  std::vector<int> int_groups;
  int regular = 0;
  int min_int = 0;
  int scaling = 0;
  U32 prefix, suffix;
  std::vector<int> frac_groups;
  int min_frac = 0, max_frac = 0, min_exp = 0;
  U32 picture;
};

size_t Find(const U32& s, char32_t c, size_t from = 0) { return s.find(c, from); }

}  // namespace

Value FnFormatNumber(CallCtx& ctx, std::vector<Value>& a) {
  if (a.empty() || a[0].IsUndef()) return Value();
  if (a.size() < 2 || !a[1].IsStr()) Throw("T0410", ctx.position, "formatNumber", "2");
  double value = a[0].num();
  Props p;
  if (a.size() > 2 && a[2].IsObject()) {
    ObjForEach(a[2], [&](std::string_view k, const Value& v) {
      if (!v.IsStr()) return;
      U32 s = Dec(v.str());
      char32_t c = s.empty() ? 0 : s[0];
      if (k == "decimal-separator") p.decimal = c;
      if (k == "grouping-separator") p.grouping = c;
      if (k == "exponent-separator") p.exponent = c;
      if (k == "infinity") p.infinity = s;
      if (k == "minus-sign") p.minus = s;
      if (k == "NaN") p.nan = s;
      if (k == "percent") p.percent = c;
      if (k == "per-mille") p.permille = c;
      if (k == "zero-digit") p.zero = c;
      if (k == "digit") p.digit = c;
      if (k == "pattern-separator") p.pattern = c;
    });
  }
  auto is_digit = [&](char32_t c) { return c >= p.zero && c < p.zero + 10; };
  auto is_active = [&](char32_t c) {
    return is_digit(c) || c == p.decimal || c == p.exponent || c == p.grouping || c == p.digit ||
           c == p.pattern;
  };
  U32 picture = Dec(a[1].str());
  std::vector<U32> subs;
  {
    U32 cur;
    for (char32_t c : picture) {
      if (c == p.pattern) {
        subs.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    subs.push_back(cur);
  }
  if (subs.size() > 2) Throw("D3080", ctx.position);

  auto split = [&](const U32& sub) {
    Parts r;
    r.sub = sub;
    size_t pre = sub.size();
    for (size_t i = 0; i < sub.size(); ++i)
      if (is_active(sub[i]) && sub[i] != p.exponent) {
        pre = i;
        break;
      }
    r.prefix = sub.substr(0, pre);
    size_t suf_start = sub.size();
    for (size_t i = sub.size(); i-- > 0;)
      if (is_active(sub[i]) && sub[i] != p.exponent) {
        suf_start = i + 1;
        break;
      }
    if (suf_start < pre) suf_start = pre;
    r.suffix = sub.substr(suf_start);
    r.active = sub.substr(pre, suf_start - pre);
    size_t epos = Find(sub, p.exponent, pre);
    if (epos == U32::npos || epos > sub.size() - r.suffix.size()) {
      r.mantissa = r.active;
    } else {
      r.mantissa = r.active.substr(0, epos - pre);
      r.exponent = r.active.substr(epos - pre + 1);
      r.has_exponent = true;
    }
    size_t dpos = Find(r.mantissa, p.decimal);
    if (dpos == U32::npos) {
      r.integer = r.mantissa;
      r.fractional = r.suffix;
    } else {
      r.integer = r.mantissa.substr(0, dpos);
      r.fractional = r.mantissa.substr(dpos + 1);
    }
    return r;
  };
  auto validate = [&](const Parts& r) {
    const U32& s = r.sub;
    const char* err = nullptr;
    bool any_active = false;
    for (char32_t c : s) any_active = any_active || (is_active(c) && c != p.exponent);
    if (!any_active) Throw("D3086", ctx.position);
    size_t dp = Find(s, p.decimal);
    if (dp != s.rfind(p.decimal)) err = "D3081";
    if (Find(s, p.percent) != s.rfind(p.percent)) err = "D3082";
    if (Find(s, p.permille) != s.rfind(p.permille)) err = "D3083";
    if (Find(s, p.percent) != U32::npos && Find(s, p.permille) != U32::npos) err = "D3084";
    bool valid = false;
    for (char32_t c : r.mantissa)
      if (is_digit(c) || c == p.digit) {
        valid = true;
        break;
      }
    if (!valid) err = "D3085";
    for (char32_t c : r.active)
      if (!is_active(c)) err = "D3086";
    if (dp != U32::npos) {
      if ((dp > 0 && s[dp - 1] == p.grouping) || (dp + 1 < s.size() && s[dp + 1] == p.grouping))
        err = "D3087";
    } else if (!r.integer.empty() && r.integer.back() == p.grouping) {
      err = "D3088";
    }
    U32 gg{p.grouping, p.grouping};
    if (s.find(gg) != U32::npos) err = "D3089";
    size_t od = Find(r.integer, p.digit);
    if (od != U32::npos)
      for (size_t i = 0; i < od; ++i)
        if (is_digit(r.integer[i])) err = "D3090";
    od = r.fractional.rfind(p.digit);
    if (od != U32::npos)
      for (size_t i = od; i < r.fractional.size(); ++i)
        if (is_digit(r.fractional[i])) err = "D3091";
    if (r.has_exponent && !r.exponent.empty() &&
        (Find(s, p.percent) != U32::npos || Find(s, p.permille) != U32::npos))
      err = "D3092";
    if (r.has_exponent) {
      bool bad = r.exponent.empty();
      for (char32_t c : r.exponent)
        if (!is_digit(c)) bad = true;
      if (bad) err = "D3093";
    }
    if (err) Throw(err, ctx.position);
  };
  auto analyse = [&](const Parts& r) {
    Pic pic;
    auto positions = [&](const U32& part, bool to_left) {
      std::vector<int> out;
      size_t g = Find(part, p.grouping);
      while (g != U32::npos) {
        U32 side = to_left ? part.substr(0, g) : part.substr(g);
        int n = 0;
        for (char32_t c : side)
          if (is_digit(c) || c == p.digit) ++n;
        out.push_back(n);
        g = Find(r.integer, p.grouping, g + 1);
      }
      return out;
    };
    pic.int_groups = positions(r.integer, false);
    if (!pic.int_groups.empty()) {
      int factor = pic.int_groups[0];
      for (int x : pic.int_groups) {
        int a1 = factor, b1 = x;
        while (b1) {
          int t = a1 % b1;
          a1 = b1;
          b1 = t;
        }
        factor = a1;
      }
      pic.regular = factor;
      for (size_t i = 1; i <= pic.int_groups.size(); ++i) {
        bool found = false;
        for (int x : pic.int_groups) found = found || x == static_cast<int>(i) * factor;
        if (!found) {
          pic.regular = 0;
          break;
        }
      }
    }
    pic.frac_groups = positions(r.fractional, true);
    for (char32_t c : r.integer)
      if (is_digit(c)) ++pic.min_int;
    pic.scaling = pic.min_int;
    for (char32_t c : r.fractional) {
      if (is_digit(c)) ++pic.min_frac;
      if (is_digit(c) || c == p.digit) ++pic.max_frac;
    }
    if (pic.min_int == 0 && pic.max_frac == 0) {
      if (r.has_exponent) {
        pic.min_frac = 1;
        pic.max_frac = 1;
      } else {
        pic.min_int = 1;
      }
    }
    if (r.has_exponent && pic.min_int == 0 && Find(r.integer, p.digit) != U32::npos)
      pic.min_int = 1;
    if (pic.min_int == 0 && pic.min_frac == 0) pic.min_frac = 1;
    if (r.has_exponent)
      for (char32_t c : r.exponent)
        if (is_digit(c)) ++pic.min_exp;
    pic.prefix = r.prefix;
    pic.suffix = r.suffix;
    pic.picture = r.sub;
    return pic;
  };

  std::vector<Parts> parts;
  for (const U32& s : subs) parts.push_back(split(s));
  for (const Parts& r : parts) validate(r);
  std::vector<Pic> vars;
  for (const Parts& r : parts) vars.push_back(analyse(r));
  if (vars.size() == 1) {
    vars.push_back(vars[0]);
    vars[1].prefix = p.minus + vars[1].prefix;
  }
  const Pic& pic = value >= 0 ? vars[0] : vars[1];
  double adjusted = value;
  if (Find(pic.picture, p.percent) != U32::npos) {
    adjusted = value * 100;
  } else if (Find(pic.picture, p.permille) != U32::npos) {
    adjusted = value * 1000;
  }
  double mantissa = adjusted;
  bool has_exp = pic.min_exp != 0;
  int exponent = 0;
  if (has_exp) {
    double max_m = std::pow(10, pic.scaling), min_m = std::pow(10, pic.scaling - 1);
    while (mantissa != 0 && std::fabs(mantissa) < min_m) {
      mantissa *= 10;
      exponent -= 1;
    }
    while (std::isfinite(mantissa) && std::fabs(mantissa) > max_m) {
      mantissa /= 10;
      exponent += 1;
    }
  }
  // round half to even at max_frac places, as $round does
  std::vector<Value> rargs{Value::Num(mantissa), Value::Num(pic.max_frac)};
  const Builtin* round = FindBuiltin("round");
  double rounded = round->fn(ctx, rargs).num();
  auto make_string = [&](double v, int dp) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*f", dp, std::fabs(v));
    U32 s = Dec(buf);
    if (p.zero != '0')
      for (char32_t& c : s)
        if (c >= '0' && c <= '9') c = c - U'0' + p.zero;
    return s;
  };
  U32 sv = make_string(rounded, pic.max_frac);
  size_t dpos = sv.find(U'.');
  if (dpos == U32::npos) {
    sv += p.decimal;
  } else {
    sv[dpos] = p.decimal;
  }
  while (!sv.empty() && sv[0] == p.zero) sv.erase(0, 1);
  while (!sv.empty() && sv.back() == p.zero) sv.pop_back();
  dpos = Find(sv, p.decimal);
  int pad_left = pic.min_int - static_cast<int>(dpos);
  int pad_right = pic.min_frac - (static_cast<int>(sv.size()) - static_cast<int>(dpos) - 1);
  if (pad_left > 0) sv = U32(static_cast<size_t>(pad_left), p.zero) + sv;
  if (pad_right > 0) sv += U32(static_cast<size_t>(pad_right), p.zero);
  dpos = Find(sv, p.decimal);
  // a separator goes inside the digits only: an odd picture (or a decimal
  // separator that is also a digit) can place one outside, which is dropped
  auto insert_at = [&](long at) {
    if (at >= 0 && at <= static_cast<long>(sv.size())) sv.insert(sv.begin() + at, p.grouping);
  };
  if (dpos == U32::npos) dpos = sv.size();
  if (pic.regular > 0) {
    int groups = (static_cast<int>(dpos) - 1) / pic.regular;
    for (int g = 1; g <= groups; ++g) insert_at(static_cast<long>(dpos) - g * pic.regular);
  } else {
    for (int pos : pic.int_groups) {
      insert_at(static_cast<long>(dpos) - pos);
      ++dpos;
    }
  }
  dpos = Find(sv, p.decimal);
  if (dpos == U32::npos) dpos = sv.size();
  for (int pos : pic.frac_groups) insert_at(static_cast<long>(dpos) + pos + 1);
  dpos = Find(sv, p.decimal);
  if (!sv.empty() && (pic.max_frac == 0 || dpos == sv.size() - 1)) sv.pop_back();
  if (has_exp) {
    U32 se = make_string(exponent, 0);
    int pl = pic.min_exp - static_cast<int>(se.size());
    if (pl > 0) se = U32(static_cast<size_t>(pl), p.zero) + se;
    sv += p.exponent;
    if (exponent < 0) sv += p.minus;
    sv += se;
  }
  sv = pic.prefix + sv + pic.suffix;
  return Value::Str(Enc(sv));
}

}  // namespace weft::expr
