// Lexer, Pratt parser and the post-processing pass (paths, stages, tuple
// steps, parent-slot resolution, tail calls) for JSONata.
#include <cmath>
#include <cstring>

#include "expr/ast.h"
#include "expr/evaluator.h"

namespace weft::expr {
namespace {

enum class TT { kEnd, kName, kVariable, kString, kNumber, kValue, kRegex, kOperator };

struct Token {
  TT type = TT::kEnd;
  std::string value;  // operator text / name / string value
  double num = 0;
  int literal = 0;
  int position = 0;  // JSONata reports the offset just after the token
  std::string regex_src;
  std::string regex_flags;
};

constexpr const char* kSingleOps = ".[]{}(),@#;:?+-*/%|=<>^&!~";

bool IsOpChar(char c) { return c != 0 && std::strchr(kSingleOps, c) != nullptr; }

void AppendUtf8(std::string& out, uint32_t cp) {
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

class Lexer {
 public:
  explicit Lexer(std::string_view s) : src_(s) {}

  Token Next(bool infix) {
    Token t;
    // whitespace and comments
    for (;;) {
      while (pos_ < src_.size() && std::strchr(" \t\n\r\v", src_[pos_]) != nullptr) ++pos_;
      if (pos_ + 1 < src_.size() && src_[pos_] == '/' && src_[pos_ + 1] == '*') {
        size_t end = src_.find("*/", pos_ + 2);
        if (end == std::string_view::npos) throw JError{"S0106", static_cast<int>(pos_), "", ""};
        pos_ = end + 2;
        continue;
      }
      break;
    }
    if (pos_ >= src_.size()) {
      t.type = TT::kEnd;
      t.position = static_cast<int>(pos_);
      return t;
    }
    char c = src_[pos_];
    if (c == '/' && !infix) return ScanRegex();
    auto two = [&](const char* op) {
      return pos_ + 1 < src_.size() && src_[pos_] == op[0] && src_[pos_ + 1] == op[1];
    };
    for (const char* op : {"..", ":=", "!=", ">=", "<=", "**", "~>", "?:", "??"}) {
      if (two(op)) {
        pos_ += 2;
        t.type = TT::kOperator;
        t.value = op;
        t.position = static_cast<int>(pos_);
        return t;
      }
    }
    if (IsOpChar(c)) {
      if (c == '!' || c == '~')
        throw JError{"S0204", static_cast<int>(pos_ + 1), std::string(1, c), ""};
      ++pos_;
      t.type = TT::kOperator;
      t.value = std::string(1, c);
      t.position = static_cast<int>(pos_);
      return t;
    }
    if (c == '"' || c == '\'') return ScanString(c);
    if (c >= '0' && c <= '9') return ScanNumber();
    if (c == '`') {
      size_t end = src_.find('`', pos_ + 1);
      if (end == std::string_view::npos)
        throw JError{"S0105", static_cast<int>(src_.size()), "", ""};
      t.type = TT::kName;
      t.value = std::string(src_.substr(pos_ + 1, end - pos_ - 1));
      pos_ = end + 1;
      t.position = static_cast<int>(pos_);
      return t;
    }
    size_t i = pos_;
    while (i < src_.size() && std::strchr(" \t\n\r\v", src_[i]) == nullptr && !IsOpChar(src_[i]))
      ++i;
    std::string_view name = src_.substr(pos_, i - pos_);
    pos_ = i;
    t.position = static_cast<int>(pos_);
    if (!name.empty() && name[0] == '$') {
      t.type = TT::kVariable;
      t.value = std::string(name.substr(1));
      return t;
    }
    if (name == "and" || name == "or" || name == "in") {
      t.type = TT::kOperator;
      t.value = std::string(name);
      return t;
    }
    if (name == "true" || name == "false" || name == "null") {
      t.type = TT::kValue;
      t.literal = name == "null" ? 0 : name == "false" ? 1 : 2;
      t.value = std::string(name);
      return t;
    }
    t.type = TT::kName;
    t.value = std::string(name);
    return t;
  }

  // Reads a raw function signature "<...>" starting at the next '<'.
  bool PeekChar(char c) {
    size_t p = pos_;
    while (p < src_.size() && std::strchr(" \t\n\r\v", src_[p]) != nullptr) ++p;
    return p < src_.size() && src_[p] == c;
  }
  std::string ReadSignature() {
    while (pos_ < src_.size() && src_[pos_] != '<') ++pos_;
    size_t start = pos_;
    int depth = 0;
    while (pos_ < src_.size()) {
      if (src_[pos_] == '<') ++depth;
      if (src_[pos_] == '>') {
        --depth;
        if (depth == 0) {
          ++pos_;
          return std::string(src_.substr(start, pos_ - start));
        }
      }
      ++pos_;
    }
    throw JError{"S0402", static_cast<int>(start), "", ""};
  }
  size_t pos() const { return pos_; }

 private:
  Token ScanRegex() {
    size_t start = ++pos_;
    int depth = 0;
    while (pos_ < src_.size()) {
      char c = src_[pos_];
      if (c == '/' && depth == 0) {
        size_t bs = 0;
        while (pos_ >= bs + 1 && src_[pos_ - bs - 1] == '\\') ++bs;
        if (bs % 2 == 0) {
          Token t;
          t.type = TT::kRegex;
          t.regex_src = std::string(src_.substr(start, pos_ - start));
          if (t.regex_src.empty()) throw JError{"S0301", static_cast<int>(pos_), "", ""};
          ++pos_;
          size_t fs = pos_;
          while (pos_ < src_.size() && (src_[pos_] == 'i' || src_[pos_] == 'm')) ++pos_;
          t.regex_flags = std::string(src_.substr(fs, pos_ - fs));
          t.position = static_cast<int>(pos_);
          return t;
        }
      }
      bool escaped = pos_ > 0 && src_[pos_ - 1] == '\\';
      if ((c == '(' || c == '[' || c == '{') && !escaped) ++depth;
      if ((c == ')' || c == ']' || c == '}') && !escaped) --depth;
      ++pos_;
    }
    throw JError{"S0302", static_cast<int>(pos_), "", ""};
  }

  Token ScanString(char quote) {
    Token t;
    t.type = TT::kString;
    ++pos_;
    std::string out;
    while (pos_ < src_.size()) {
      char c = src_[pos_];
      if (c == '\\') {
        ++pos_;
        if (pos_ >= src_.size()) break;
        char e = src_[pos_];
        switch (e) {
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          case '/':
            out += '/';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            auto hex4 = [&](size_t p, uint32_t* v) {
              if (p + 4 > src_.size()) return false;
              *v = 0;
              for (size_t k = p; k < p + 4; ++k) {
                char h = src_[k];
                int d = (h >= '0' && h <= '9')   ? h - '0'
                        : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                        : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                                 : -1;
                if (d < 0) return false;
                *v = *v * 16 + static_cast<uint32_t>(d);
              }
              return true;
            };
            uint32_t cp;
            if (!hex4(pos_ + 1, &cp)) throw JError{"S0104", static_cast<int>(pos_), "", ""};
            pos_ += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && pos_ + 2 < src_.size() && src_[pos_ + 1] == '\\' &&
                src_[pos_ + 2] == 'u') {
              uint32_t lo;
              if (hex4(pos_ + 3, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                pos_ += 6;
              }
            }
            AppendUtf8(out, cp);
            break;
          }
          default:
            throw JError{"S0103", static_cast<int>(pos_), std::string(1, e), ""};
        }
        ++pos_;
        continue;
      }
      if (c == quote) {
        ++pos_;
        t.value = std::move(out);
        t.position = static_cast<int>(pos_);
        return t;
      }
      out += c;
      ++pos_;
    }
    throw JError{"S0101", static_cast<int>(pos_), "", ""};
  }

  Token ScanNumber() {
    size_t p = pos_;
    auto digits = [&] {
      size_t s = p;
      while (p < src_.size() && src_[p] >= '0' && src_[p] <= '9') ++p;
      return p > s;
    };
    if (src_[p] == '0') {
      ++p;
    } else {
      digits();
    }
    if (p + 1 < src_.size() && src_[p] == '.' && src_[p + 1] >= '0' && src_[p + 1] <= '9') {
      ++p;
      digits();
    }
    if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
      size_t save = p;
      ++p;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (!digits()) p = save;
    }
    Token t;
    t.type = TT::kNumber;
    std::string text(src_.substr(pos_, p - pos_));
    t.num = std::strtod(text.c_str(), nullptr);
    pos_ = p;
    t.position = static_cast<int>(pos_);
    if (!std::isfinite(t.num)) throw JError{"S0102", t.position, text, ""};
    return t;
  }

  std::string_view src_;
  size_t pos_ = 0;
};

int Lbp(const Token& t) {
  if (t.type != TT::kOperator) return 0;
  const std::string& v = t.value;
  if (v == ".") return 75;
  if (v == "[" || v == "(" || v == "@" || v == "#") return 80;
  if (v == "{") return 70;
  if (v == "?") return 20;
  if (v == "+" || v == "-" || v == "&") return 50;
  if (v == "*" || v == "/" || v == "%") return 60;
  if (v == "=" || v == "<" || v == ">" || v == "!=" || v == "<=" || v == ">=" || v == "~>" ||
      v == "in" || v == "?:" || v == "??" || v == "^")
    return 40;
  if (v == ":=") return 10;
  if (v == "and") return 30;
  if (v == "or") return 25;
  return 0;
}

class Parser {
 public:
  Parser(std::string_view src, Program* prog) : lex_(src), prog_(prog), src_(src) {}

  Node* ParseAll() {
    Advance(nullptr, false);
    Node* e = Expression(0);
    if (tok_.type != TT::kEnd) throw JError{"S0201", tok_.position, tok_.value, ""};
    return e;
  }

 private:
  bool Is(const char* op) const { return tok_.type == TT::kOperator && tok_.value == op; }

  void Advance(const char* expect, bool infix) {
    if (expect != nullptr && !Is(expect)) {
      if (tok_.type == TT::kEnd) throw JError{"S0203", tok_.position, expect, ""};
      throw JError{"S0202", tok_.position, TokenText(tok_), expect};
    }
    tok_ = lex_.Next(infix);
  }
  static std::string TokenText(const Token& t) {
    if (t.type == TT::kNumber) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", t.num);
      return buf;
    }
    return t.value;
  }

  Node* Expression(int rbp) {
    // bounded nesting, so a hostile expression cannot exhaust the stack
    struct Nest {
      explicit Nest(int& d) : d_(d) {
        if (++d_ > 400) throw JError{"U1001", -1, "", "Expression nested too deeply"};
      }
      ~Nest() { --d_; }
      int& d_;
    } nest(depth_);
    Token t = tok_;
    bool operand = t.type != TT::kOperator || t.value == "*" || t.value == "**" || t.value == "%";
    Advance(nullptr, operand);
    Node* left = Nud(t);
    while (rbp < Lbp(tok_)) {
      Token op = tok_;
      Advance(nullptr, false);
      left = Led(op, left);
    }
    return left;
  }

  Node* Nud(const Token& t) {
    switch (t.type) {
      case TT::kEnd:
        // reported by the post-pass (S0207), unless a missing closing bracket is found first
        // (S0203)
        return prog_->NewNode(NT::kEndRaw, t.position);
      case TT::kName: {
        Node* n = prog_->NewNode(NT::kName, t.position);
        n->value = t.value;
        return n;
      }
      case TT::kVariable: {
        Node* n = prog_->NewNode(NT::kVariable, t.position);
        n->value = t.value;
        return n;
      }
      case TT::kString: {
        Node* n = prog_->NewNode(NT::kString, t.position);
        n->value = t.value;
        return n;
      }
      case TT::kNumber: {
        Node* n = prog_->NewNode(NT::kNumber, t.position);
        n->num = t.num;
        return n;
      }
      case TT::kValue: {
        Node* n = prog_->NewNode(NT::kValue, t.position);
        n->literal = t.literal;
        return n;
      }
      case TT::kRegex: {
        Node* n = prog_->NewNode(NT::kRegex, t.position);
        n->value = t.regex_src;
        std::string error;
        n->regex = Regex::Compile(t.regex_src, t.regex_flags, &error);
        if (!n->regex) throw JError{"S0303", t.position, t.regex_src, error};
        return n;
      }
      case TT::kOperator:
        break;
    }
    const std::string& v = t.value;
    if (v == "and" || v == "or" || v == "in") {
      Node* n = prog_->NewNode(NT::kName, t.position);
      n->value = v;
      return n;
    }
    if (v == "-") {
      Node* n = prog_->NewNode(NT::kNeg, t.position);
      n->lhs = Expression(70);
      return n;
    }
    if (v == "*") return prog_->NewNode(NT::kWildcard, t.position);
    if (v == "**") return prog_->NewNode(NT::kDescendant, t.position);
    if (v == "%") return prog_->NewNode(NT::kParent, t.position);
    if (v == "(") {
      Node* n = prog_->NewNode(NT::kBlock, t.position);
      while (!Is(")")) {
        n->items.push_back(Expression(0));
        if (!Is(";")) break;
        Advance(";", false);
      }
      Advance(")", true);
      return n;
    }
    if (v == "[") {
      Node* n = prog_->NewNode(NT::kArray, t.position);
      if (!Is("]")) {
        for (;;) {
          Node* item = Expression(0);
          if (Is("..")) {
            Node* r = prog_->NewNode(NT::kBinary, tok_.position);
            r->op = Op::kRange;
            r->value = "..";
            r->lhs = item;
            Advance("..", false);
            r->rhs = Expression(0);
            item = r;
          }
          n->items.push_back(item);
          if (!Is(",")) break;
          Advance(",", false);
        }
      }
      Advance("]", true);
      return n;
    }
    if (v == "{") {
      Node* n = prog_->NewNode(NT::kObject, t.position);
      ParsePairs(&n->pairs);
      return n;
    }
    if (v == "|") {
      Node* n = prog_->NewNode(NT::kTransform, t.position);
      n->lhs = Expression(0);
      Advance("|", false);
      n->rhs = Expression(0);
      if (Is(",")) {
        Advance(",", false);
        n->third = Expression(0);
      }
      Advance("|", true);
      return n;
    }
    throw JError{"S0211", t.position, v, ""};
  }

  void ParsePairs(std::vector<std::pair<Node*, Node*>>* pairs) {
    if (!Is("}")) {
      for (;;) {
        Node* k = Expression(0);
        Advance(":", false);
        Node* val = Expression(0);
        pairs->emplace_back(k, val);
        if (!Is(",")) break;
        Advance(",", false);
      }
    }
    Advance("}", true);
  }

  Node* Binary(const Token& t, Op op, Node* left, int bp) {
    Node* n = prog_->NewNode(NT::kBinary, t.position);
    n->op = op;
    n->value = t.value;
    n->lhs = left;
    n->rhs = Expression(bp);
    return n;
  }

  Node* Led(const Token& t, Node* left) {
    const std::string& v = t.value;
    if (v == ".") {
      Node* n = prog_->NewNode(NT::kDotRaw, t.position);
      n->lhs = left;
      n->rhs = Expression(75);
      return n;
    }
    if (v == "+") return Binary(t, Op::kAdd, left, 50);
    if (v == "-") return Binary(t, Op::kSub, left, 50);
    if (v == "*") return Binary(t, Op::kMul, left, 60);
    if (v == "/") return Binary(t, Op::kDiv, left, 60);
    if (v == "%") return Binary(t, Op::kMod, left, 60);
    if (v == "=") return Binary(t, Op::kEq, left, 40);
    if (v == "!=") return Binary(t, Op::kNe, left, 40);
    if (v == "<") return Binary(t, Op::kLt, left, 40);
    if (v == "<=") return Binary(t, Op::kLe, left, 40);
    if (v == ">") return Binary(t, Op::kGt, left, 40);
    if (v == ">=") return Binary(t, Op::kGe, left, 40);
    if (v == "&") return Binary(t, Op::kConcat, left, 50);
    if (v == "and") return Binary(t, Op::kAnd, left, 30);
    if (v == "or") return Binary(t, Op::kOr, left, 25);
    if (v == "in") return Binary(t, Op::kIn, left, 40);
    if (v == "~>") {
      Node* n = prog_->NewNode(NT::kApply, t.position);
      n->value = v;
      n->lhs = left;
      n->rhs = Expression(40);
      return n;
    }
    if (v == "??" || v == "?:") {
      Node* n = Binary(t, v == "??" ? Op::kCoalesce : Op::kElvis, left, 40);
      return n;
    }
    if (v == ":=") {
      if (left->type != NT::kVariable) throw JError{"S0212", left->position, ":=", ""};
      Node* n = prog_->NewNode(NT::kBind, t.position);
      n->lhs = left;
      n->rhs = Expression(9);
      return n;
    }
    if (v == "@" || v == "#") {
      Node* n = prog_->NewNode(v == "@" ? NT::kFocusRaw : NT::kIndexRaw, t.position);
      n->lhs = left;
      n->rhs = Expression(80);
      if (n->rhs->type != NT::kVariable) throw JError{"S0214", n->rhs->position, v, ""};
      return n;
    }
    if (v == "?") {
      Node* n = prog_->NewNode(NT::kCondition, t.position);
      n->lhs = left;
      n->rhs = Expression(0);
      if (Is(":")) {
        Advance(":", false);
        n->third = Expression(0);
      }
      return n;
    }
    if (v == "[") {
      if (Is("]")) {
        Node* step = left;
        while (step && step->type == NT::kFilterRaw) step = step->lhs;
        step->keep_array = true;
        Advance("]", true);
        return left;
      }
      Node* n = prog_->NewNode(NT::kFilterRaw, t.position);
      n->lhs = left;
      n->rhs = Expression(0);
      Advance("]", true);
      return n;
    }
    if (v == "{") {
      Node* n = prog_->NewNode(NT::kGroupRaw, t.position);
      n->lhs = left;
      ParsePairs(&n->pairs);
      return n;
    }
    if (v == "^") {
      Node* n = prog_->NewNode(NT::kSortRaw, t.position);
      n->lhs = left;
      Advance("(", false);
      for (;;) {
        SortTerm term;
        if (Is("<")) {
          Advance("<", false);
        } else if (Is(">")) {
          term.descending = true;
          Advance(">", false);
        }
        term.expr = Expression(0);
        n->terms.push_back(term);
        if (!Is(",")) break;
        Advance(",", false);
      }
      Advance(")", true);
      return n;
    }
    if (v == "(") {
      Node* n = prog_->NewNode(NT::kFunction, t.position);
      n->procedure = left;
      bool is_lambda =
          left->type == NT::kName && (left->value == "function" || left->value == "\xce\xbb");
      if (!Is(")")) {
        for (;;) {
          if (Is("?") && !is_lambda) {
            n->type = NT::kPartial;
            n->items.push_back(prog_->NewNode(NT::kPlaceholder, tok_.position));
            Advance("?", false);
          } else {
            n->items.push_back(Expression(0));
          }
          if (!Is(",")) break;
          Advance(",", false);
        }
      }
      if (is_lambda) {
        if (!Is(")")) throw JError{"S0202", tok_.position, tok_.value, ")"};
        n->type = NT::kLambda;
        for (size_t i = 0; i < n->items.size(); ++i) {
          Node* a = n->items[i];
          if (a->type != NT::kVariable) throw JError{"S0208", a->position, a->value, ""};
          n->params.push_back(a->value);
        }
        n->items.clear();
        if (lex_.PeekChar('<')) {
          int sig_pos = static_cast<int>(lex_.pos());
          std::string sig = lex_.ReadSignature();
          n->signature = ParseSignature(sig, sig_pos);
        }
        Advance(")", false);
        Advance("{", false);
        n->lhs = Expression(0);
        Advance("}", true);
        return n;
      }
      Advance(")", true);
      return n;
    }
    throw JError{"S0201", t.position, v, ""};
  }

  Lexer lex_;
  Program* prog_;
  std::string_view src_;
  Token tok_;
  int depth_ = 0;
};

// ---- post-processing (the shape the evaluator expects) ----

class Processor {
 public:
  explicit Processor(Program* p) : prog_(p) {}

  Node* Process(Node* expr) {
    struct Nest {
      explicit Nest(int& d) : d_(d) {
        if (++d_ > 2000) throw JError{"U1001", expr_position, "", "Expression nested too deeply"};
      }
      ~Nest() { --d_; }
      int& d_;
      int expr_position = -1;
    } nest(depth_);
    Node* result = nullptr;
    switch (expr->type) {
      case NT::kDotRaw: {
        Node* lstep = Process(expr->lhs);
        if (lstep->type == NT::kPath) {
          result = lstep;
        } else {
          result = prog_->NewNode(NT::kPath, lstep->position);
          result->items.push_back(lstep);
        }
        if (lstep->type == NT::kParent) {
          result->seeking_parent = {lstep->slot};
          result->has_seeking = true;
        }
        Node* rest = Process(expr->rhs);
        if (rest->type == NT::kPath) {
          for (Node* s : rest->items) result->items.push_back(s);
        } else {
          if (!rest->predicate.empty()) {
            rest->stages = std::move(rest->predicate);
            rest->predicate.clear();
          }
          result->items.push_back(rest);
        }
        for (Node* step : result->items) {
          if (step->type == NT::kNumber || step->type == NT::kValue)
            throw JError{"S0213", step->position, "", ""};
          if (step->type == NT::kString) step->type = NT::kName;
        }
        for (Node* step : result->items)
          if (step->keep_array) result->keep_singleton_array = true;
        Node* first = result->items.front();
        if (first->type == NT::kArray) first->consarray = true;
        Node* last = result->items.back();
        if (last->type == NT::kArray) last->consarray = true;
        ResolveAncestry(result);
        break;
      }
      case NT::kFilterRaw: {
        result = Process(expr->lhs);
        Node* step = result;
        bool stages = false;
        if (result->type == NT::kPath) {
          step = result->items.back();
          stages = true;
        }
        if (step->group) throw JError{"S0209", expr->position, "", ""};
        Node* pred = Process(expr->rhs);
        if (pred->has_seeking) {
          for (Slot* slot : pred->seeking_parent) {
            if (slot->level == 1) {
              SeekParent(step, slot);
            } else {
              --slot->level;
            }
          }
          PushAncestry(step, pred);
        }
        Stage st;
        st.expr = pred;
        st.position = expr->position;
        (stages ? step->stages : step->predicate).push_back(st);
        break;
      }
      case NT::kGroupRaw: {
        result = Process(expr->lhs);
        if (result->group) throw JError{"S0210", expr->position, "", ""};
        result->group = std::make_unique<Group>();
        result->group->position = expr->position;
        for (auto& p : expr->pairs)
          result->group->pairs.emplace_back(Process(p.first), Process(p.second));
        break;
      }
      case NT::kSortRaw: {
        result = Process(expr->lhs);
        if (result->type != NT::kPath) {
          Node* p = prog_->NewNode(NT::kPath, result->position);
          p->items.push_back(result);
          result = p;
        }
        Node* sort = prog_->NewNode(NT::kSort, expr->position);
        for (auto& term : expr->terms) {
          SortTerm t{Process(term.expr), term.descending};
          PushAncestry(sort, t.expr);
          sort->terms.push_back(t);
        }
        result->items.push_back(sort);
        ResolveAncestry(result);
        break;
      }
      case NT::kBind: {
        result = expr;
        expr->lhs = Process(expr->lhs);
        expr->rhs = Process(expr->rhs);
        PushAncestry(result, result->rhs);
        break;
      }
      case NT::kFocusRaw: {
        result = Process(expr->lhs);
        Node* step = result;
        if (result->type == NT::kPath) step = result->items.back();
        if (!step->stages.empty() || !step->predicate.empty())
          throw JError{"S0215", expr->position, "", ""};
        if (step->type == NT::kSort) throw JError{"S0216", expr->position, "", ""};
        if (expr->keep_array) step->keep_array = true;
        step->has_focus = true;
        step->focus = expr->rhs->value;
        step->tuple = true;
        break;
      }
      case NT::kIndexRaw: {
        result = Process(expr->lhs);
        Node* step = result;
        if (result->type == NT::kPath) {
          step = result->items.back();
        } else {
          Node* p = prog_->NewNode(NT::kPath, result->position);
          p->items.push_back(result);
          result = p;
          if (!step->predicate.empty()) {
            step->stages = std::move(step->predicate);
            step->predicate.clear();
          }
        }
        if (step->stages.empty()) {
          step->has_index = true;
          step->index = expr->rhs->value;
        } else {
          Stage st;
          st.is_index = true;
          st.index_name = expr->rhs->value;
          st.position = expr->position;
          step->stages.push_back(st);
        }
        step->tuple = true;
        break;
      }
      case NT::kApply: {
        result = expr;
        expr->lhs = Process(expr->lhs);
        expr->rhs = Process(expr->rhs);
        result->keep_array = expr->lhs->keep_array || expr->rhs->keep_array;
        PushAncestry(result, result->lhs);
        PushAncestry(result, result->rhs);
        break;
      }
      case NT::kBinary: {
        result = expr;
        expr->lhs = Process(expr->lhs);
        expr->rhs = Process(expr->rhs);
        PushAncestry(result, result->lhs);
        PushAncestry(result, result->rhs);
        break;
      }
      case NT::kNeg: {
        Node* inner = Process(expr->lhs);
        if (inner->type == NT::kNumber) {
          inner->num = -inner->num;
          result = inner;
        } else {
          expr->lhs = inner;
          result = expr;
          PushAncestry(result, inner);
        }
        break;
      }
      case NT::kArray:
      case NT::kBlock: {
        result = expr;
        for (auto& item : expr->items) {
          item = Process(item);
          PushAncestry(result, item);
          if (expr->type == NT::kBlock &&
              (item->consarray || (item->type == NT::kPath && item->items[0]->consarray)))
            result->consarray = true;
        }
        break;
      }
      case NT::kObject: {
        result = expr;
        for (auto& p : expr->pairs) {
          p.first = Process(p.first);
          PushAncestry(result, p.first);
          p.second = Process(p.second);
          PushAncestry(result, p.second);
        }
        break;
      }
      case NT::kFunction:
      case NT::kPartial: {
        result = expr;
        for (auto& a : expr->items) {
          a = Process(a);
          PushAncestry(result, a);
        }
        expr->procedure = Process(expr->procedure);
        if (expr->procedure->type == NT::kVariable)
          expr->builtin = FindBuiltin(expr->procedure->value);
        break;
      }
      case NT::kLambda: {
        result = expr;
        expr->lhs = TailCall(Process(expr->lhs));
        break;
      }
      case NT::kCondition: {
        result = expr;
        expr->lhs = Process(expr->lhs);
        PushAncestry(result, expr->lhs);
        expr->rhs = Process(expr->rhs);
        PushAncestry(result, expr->rhs);
        if (expr->third) {
          expr->third = Process(expr->third);
          PushAncestry(result, expr->third);
        }
        break;
      }
      case NT::kTransform: {
        result = expr;
        expr->lhs = Process(expr->lhs);
        expr->rhs = Process(expr->rhs);
        if (expr->third) expr->third = Process(expr->third);
        break;
      }
      case NT::kName: {
        result = prog_->NewNode(NT::kPath, expr->position);
        result->items.push_back(expr);
        if (expr->keep_array) result->keep_singleton_array = true;
        break;
      }
      case NT::kParent: {
        result = expr;
        prog_->slots.push_back(std::make_unique<Slot>());
        Slot* s = prog_->slots.back().get();
        s->label = "!" + std::to_string(label_++);
        s->level = 1;
        s->index = static_cast<int>(ancestry_.size());
        expr->slot = s;
        ancestry_.push_back(expr);
        break;
      }
      case NT::kEndRaw:
        throw JError{"S0207", expr->position, "(end)", ""};
      default:
        result = expr;
        break;
    }
    if (expr->keep_array) result->keep_array = true;
    return result;
  }

 private:
  Node* TailCall(Node* e) {
    if (e->type == NT::kFunction && e->predicate.empty()) {
      Node* thunk = prog_->NewNode(NT::kLambda, e->position);
      thunk->thunk = true;
      thunk->lhs = e;
      return thunk;
    }
    if (e->type == NT::kCondition) {
      e->rhs = TailCall(e->rhs);
      if (e->third) e->third = TailCall(e->third);
      return e;
    }
    if (e->type == NT::kBlock && !e->items.empty()) {
      e->items.back() = TailCall(e->items.back());
      return e;
    }
    return e;
  }

  Slot* SeekParent(Node* node, Slot* slot) {
    switch (node->type) {
      case NT::kName:
      case NT::kWildcard:
        --slot->level;
        if (slot->level == 0) {
          if (node->ancestor == nullptr) {
            node->ancestor = slot;
          } else {
            ancestry_[slot->index]->slot->label = node->ancestor->label;
            node->ancestor = slot;
          }
          node->tuple = true;
        }
        break;
      case NT::kParent:
        ++slot->level;
        break;
      case NT::kBlock:
        if (!node->items.empty()) {
          node->tuple = true;
          slot = SeekParent(node->items.back(), slot);
        }
        break;
      case NT::kPath: {
        node->tuple = true;
        int index = static_cast<int>(node->items.size()) - 1;
        slot = SeekParent(node->items[index--], slot);
        while (slot->level > 0 && index >= 0) slot = SeekParent(node->items[index--], slot);
        break;
      }
      default:
        throw JError{"S0217", node->position, "", ""};
    }
    return slot;
  }

  void PushAncestry(Node* result, Node* value) {
    if (value->has_seeking || value->type == NT::kParent) {
      std::vector<Slot*> slots = value->seeking_parent;
      if (value->type == NT::kParent) slots.push_back(value->slot);
      result->has_seeking = true;
      for (Slot* s : slots) result->seeking_parent.push_back(s);
    }
  }

  void ResolveAncestry(Node* path) {
    int index = static_cast<int>(path->items.size()) - 1;
    Node* last = path->items[index];
    std::vector<Slot*> slots = last->seeking_parent;
    if (last->type == NT::kParent) slots.push_back(last->slot);
    for (Slot* slot : slots) {
      index = static_cast<int>(path->items.size()) - 2;
      while (slot->level > 0) {
        if (index < 0) {
          path->has_seeking = true;
          path->seeking_parent.push_back(slot);
          break;
        }
        Node* step = path->items[index--];
        while (index >= 0 && step->has_focus && path->items[index]->has_focus)
          step = path->items[index--];
        slot = SeekParent(step, slot);
      }
    }
  }

  Program* prog_;
  int depth_ = 0;
  int label_ = 0;
  std::vector<Node*> ancestry_;
};

}  // namespace

std::unique_ptr<Signature> ParseSignature(const std::string& text, int position) {
  auto sig = std::make_unique<Signature>();
  sig->text = text;
  int prev_i = -1;
  for (size_t i = 1; i < text.size(); ++i) {
    char c = text[i];
    if (c == ':' || c == '>') break;
    Param* prev = prev_i >= 0 ? &sig->params[prev_i] : nullptr;
    Param p;
    switch (c) {
      case 's':
      case 'n':
      case 'b':
      case 'l':
      case 'o':
        p.chars = std::string(1, c) + "m";
        p.type = c;
        break;
      case 'a':
        p.chars = "asnblfom";
        p.type = 'a';
        break;
      case 'f':
        p.chars = "f";
        p.type = 'f';
        break;
      case 'j':
        p.chars = "asnblom";
        p.type = 'j';
        break;
      case 'x':
        p.chars = "asnblfom";
        p.type = 'x';
        break;
      case '-':
        if (prev) {
          prev->context = true;
          prev->quant = '?';
        }
        continue;
      case '?':
      case '+':
        if (prev) prev->quant = c;
        continue;
      case '(': {
        size_t end = text.find(')', i);
        if (end == std::string::npos) throw JError{"S0402", position, "", ""};
        std::string choice = text.substr(i + 1, end - i - 1);
        if (choice.find('<') != std::string::npos) throw JError{"S0402", position, "", ""};
        p.chars = choice + "m";
        p.type = '(';
        i = end;
        break;
      }
      case '<': {
        if (prev == nullptr || (prev->type != 'a' && prev->type != 'f'))
          throw JError{"S0401", position, "", ""};
        int depth = 0;
        size_t j = i;
        for (; j < text.size(); ++j) {
          if (text[j] == '<') ++depth;
          if (text[j] == '>' && --depth == 0) break;
        }
        prev->subtype = text.substr(i + 1, j - i - 1);
        i = j;
        continue;
      }
      default:
        continue;
    }
    sig->params.push_back(p);
    prev_i = static_cast<int>(sig->params.size()) - 1;
  }
  return sig;
}

std::unique_ptr<Program> ParseProgram(std::string_view source) {
  auto prog = std::make_unique<Program>();
  Parser parser(source, prog.get());
  Node* raw = parser.ParseAll();
  Processor proc(prog.get());
  prog->root = proc.Process(raw);
  if (prog->root->has_seeking || prog->root->type == NT::kParent)
    throw JError{"S0217", prog->root->position, "%", ""};
  return prog;
}

}  // namespace weft::expr
