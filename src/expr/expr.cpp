// The public API: Expression and Template over the parser and evaluator.
// Exceptions used inside the module stop here and become ExprError values.
#include "expr/expr.h"

#include <algorithm>
#include <new>

#include "expr/ast.h"
#include "expr/evaluator.h"

namespace weft::expr {
namespace {

std::string MessageFor(const JError& e) {
  static const std::map<std::string, std::string> kMessages = {
      {"S0101", "String literal must be terminated by a matching quote"},
      {"S0102", "Number out of range"},
      {"S0103", "Unsupported escape sequence"},
      {"S0104", "The escape sequence \\u must be followed by 4 hex digits"},
      {"S0105", "Quoted property name must be terminated with a backquote (`)"},
      {"S0106", "Comment has no closing tag"},
      {"S0201", "Syntax error"},
      {"S0202", "Expected a different token"},
      {"S0203", "Expected a token before end of expression"},
      {"S0204", "Unknown operator"},
      {"S0205", "Unexpected token"},
      {"S0206", "Unknown expression type"},
      {"S0207", "Unexpected end of expression"},
      {"S0208", "Parameter of a function definition must be a variable name (start with $)"},
      {"S0209", "A predicate cannot follow a grouping expression in a step"},
      {"S0210", "Each step can only have one grouping expression"},
      {"S0211", "The symbol cannot be used as a unary operator"},
      {"S0212", "The left side of := must be a variable name (start with $)"},
      {"S0213", "The literal value cannot be used as a step within a path expression"},
      {"S0214", "The right side of @ or # must be a variable name (start with $)"},
      {"S0215", "A context variable binding must precede any predicates on a step"},
      {"S0216", "A context variable binding must precede the 'order-by' clause on a step"},
      {"S0217", "The object representing the 'parent' cannot be derived from this expression"},
      {"S0301", "Empty regular expressions are not allowed"},
      {"S0302", "No terminating / in regular expression"},
      {"S0303", "Invalid regular expression"},
      {"S0401", "Type parameters can only be applied to functions and arrays"},
      {"S0402", "Choice groups containing parameterized types are not supported"},
      {"T0410", "Argument of function does not match function signature"},
      {"T0411", "Context value is not a compatible type with argument of function"},
      {"T0412", "Argument of function must be an array of the required type"},
      {"D1001", "Number out of range"},
      {"D1002", "Cannot negate a non-numeric value"},
      {"D1004", "Regular expression matches zero length string"},
      {"D1009", "Multiple key definitions evaluate to same key"},
      {"T1003", "Key in object structure must evaluate to a string"},
      {"T1005", "Attempted to invoke a non-function. Did you mean ${token}?"},
      {"T1006", "Attempted to invoke a non-function"},
      {"T1007", "Attempted to partially apply a non-function. Did you mean ${token}?"},
      {"T1008", "Attempted to partially apply a non-function"},
      {"T2001", "The left side of the arithmetic operator must evaluate to a number"},
      {"T2002", "The right side of the arithmetic operator must evaluate to a number"},
      {"T2003", "The left side of the range operator (..) must evaluate to an integer"},
      {"T2004", "The right side of the range operator (..) must evaluate to an integer"},
      {"D2014",
       "The size of the sequence allocated by the range operator (..) must not exceed 1e7"},
      {"T2006", "The right side of the function application operator ~> must be a function"},
      {"T2007", "Type mismatch when comparing values in order-by clause"},
      {"T2008",
       "The expressions within an order-by clause must evaluate to numeric or string values"},
      {"T2009", "The values either side of the operator must be of the same data type"},
      {"T2010",
       "The expressions either side of the operator must evaluate to numeric or string values"},
      {"T2011", "The insert/update clause of the transform expression must evaluate to an object"},
      {"T2012",
       "The delete clause of the transform expression must evaluate to a string or array of "
       "strings"},
      {"D3001", "Attempting to invoke string function on Infinity or NaN"},
      {"D3010", "Second argument of replace function cannot be an empty string"},
      {"D3011", "Fourth argument of replace function must evaluate to a positive number"},
      {"D3012", "Attempted to replace a matched string with a non-string value"},
      {"D3020", "Third argument of split function must evaluate to a positive number"},
      {"D3030", "Unable to cast value to a number"},
      {"D3040", "Third argument of match function must evaluate to a positive number"},
      {"D3050",
       "The second argument of reduce function must be a function with at least two arguments"},
      {"D3060", "The sqrt function cannot be applied to a negative number"},
      {"D3061",
       "The power function has resulted in a value that cannot be represented as a JSON number"},
      {"D3070",
       "The single argument form of the sort function can only be applied to an array of strings "
       "or an array of numbers"},
      {"D3080", "The picture string must only contain a maximum of two sub-pictures"},
      {"D3081", "A sub-picture must not contain more than one instance of the decimal-separator"},
      {"D3082", "A sub-picture must not contain more than one instance of the percent character"},
      {"D3083", "A sub-picture must not contain more than one instance of the per-mille character"},
      {"D3084", "A sub-picture must not contain both a percent and a per-mille character"},
      {"D3085",
       "A sub-picture must contain at least one character that is either an optional digit "
       "character or a member of the decimal digit family"},
      {"D3086",
       "A sub-picture cannot contain a passive character that is preceded by an active character "
       "and that is followed by another active character"},
      {"D3087",
       "A sub-picture must not contain a grouping-separator character that appears adjacent to a "
       "decimal-separator character"},
      {"D3088",
       "A sub-picture must not contain a grouping-separator at the end of the integer part"},
      {"D3089",
       "A sub-picture must not contain two adjacent instances of the grouping-separator character"},
      {"D3090",
       "The integer part of the sub-picture must not contain a member of the decimal digit family "
       "that is followed by an instance of the optional digit character"},
      {"D3091",
       "The fractional part of the sub-picture must not contain an instance of the optional digit "
       "character that is followed by a member of the decimal digit family"},
      {"D3092",
       "A sub-picture that contains a percent or per-mille character must not contain a character "
       "treated as an exponent-separator"},
      {"D3093",
       "The exponent part of the sub-picture must comprise only of one or more characters that are "
       "members of the decimal digit family"},
      {"D3130",
       "Formatting or parsing an integer as a sequence starting with this token is not supported"},
      {"D3131", "In a decimal digit pattern, all digits must be from the same decimal group"},
      {"D3132", "Unknown component specifier in date/time picture string"},
      {"D3133",
       "The 'name' modifier can only be applied to months and days in the date/time picture "
       "string"},
      {"D3134", "The timezone integer format specifier cannot have more than four digits"},
      {"D3135", "No matching closing bracket ']' in date/time picture string"},
      {"D3136",
       "The date/time picture string is missing specifiers required to parse the timestamp"},
      {"T1010",
       "The matcher function argument passed to function does not return the correct object "
       "structure"},
      {"D3100", "The radix of the formatBase function must be between 2 and 36"},
      {"D3110", "Unable to parse ISO 8601 timestamp"},
      {"D3120", "Syntax error in expression passed to function eval"},
      {"D3121", "Dynamic error evaluating the expression passed to function eval"},
      {"D3137", "$error() function evaluated"},
      {"D3138",
       "The $single() function expected exactly 1 matching result. Instead it matched more."},
      {"D3139", "The $single() function expected exactly 1 matching result. Instead it matched 0."},
      {"D3140", "Malformed URL passed to decode/encode function"},
      {"D3141", "$assert() statement failed"},
      {"U1003", "The regular expression is too complex for this input"},
      {"U1001", "Stack overflow error: check for non-terminating recursive function"},
      {"U1002", "Expression exceeded its memory budget"},
  };
  if ((e.code == "D3137" || e.code == "D3141" || e.code == "U1001" || e.code == "U1002") &&
      !e.detail.empty())
    return e.detail;
  auto it = kMessages.find(e.code);
  std::string msg = it == kMessages.end() ? "Expression error" : it->second;
  size_t p = msg.find("${token}");
  if (p != std::string::npos) msg.replace(p, 8, e.token);
  if (!e.token.empty() && it != kMessages.end() && p == std::string::npos && e.code[0] == 'S')
    msg += ": " + e.token;
  return msg;
}

ExprError ToError(const JError& e) { return ExprError{e.code, MessageFor(e), e.position, e.token}; }

class CompiledExpression final : public Expression {
 public:
  CompiledExpression(std::string source, std::unique_ptr<Program> prog)
      : source_(std::move(source)), prog_(std::move(prog)) {}

  EvalResult Evaluate(const Json& input, const std::map<std::string, Json>& bindings,
                      const EvalLimits& limits) const override {
    EvalResult out;
    try {
      // The root frame lives on this stack, declared before the evaluator so it
      // outlives every frame the evaluator keeps; its count starts at one so the
      // references the evaluation takes never free it.
      Frame root_frame;
      root_frame.rc = 1;
      Evaluator ev(limits.max_depth, limits.timeout, limits.max_memory, limits.cancel);
      Value in;
      if (input.is_array()) {
        in = Seq();
        in.arr()->outer_wrapper = true;
        PushTo(in, Value::FromJson(input));
      } else {
        in = Value::FromJson(input);
      }
      Ref<Frame> root(&root_frame);
      root->vars.reserve(1 + bindings.size());
      root->vars.emplace_back("$", in);
      for (const auto& [name, value] : bindings)
        root->vars.emplace_back(name, Value::FromJson(value));
      Value r = ev.Eval(prog_->root, in, root);
      if (r.IsDefined() && !r.IsFunc()) out.value = ToJson(r);
    } catch (const JError& e) {
      out.error = ToError(e);
    } catch (const std::bad_alloc&) {
      out.error = ExprError{"U1002", "Out of memory while evaluating the expression", -1, ""};
    } catch (const std::exception& e) {
      out.error = ExprError{"U1000", std::string("Internal error: ") + e.what(), -1, ""};
    }
    return out;
  }

  const std::string& Source() const override { return source_; }

  std::vector<FieldRef> RootFields(std::string_view root) const override {
    std::vector<FieldRef> out;
    WalkRootFields(prog_->root, true, root, out, 0);
    std::sort(out.begin(), out.end(),
              [](const FieldRef& a, const FieldRef& b) { return a.position < b.position; });
    return out;
  }

 private:
  // `in_root`: the node is evaluated with the expression's input as context.
  // Depth-capped like the parser (a compiled tree is never deeper than that).
  static void WalkRootFields(const Node* n, bool in_root, std::string_view root,
                             std::vector<FieldRef>& out, int depth) {
    if (!n || depth > 10000) return;
    auto walk = [&](const Node* c, bool ctx) { WalkRootFields(c, ctx, root, out, depth + 1); };
    auto stages = [&](const std::vector<Stage>& list) {
      for (const Stage& st : list) walk(st.expr, false);
    };
    if (n->type == NT::kPath) {
      if (in_root) {
        size_t i = 0;
        while (i < n->items.size() && n->items[i]->type == NT::kVariable &&
               (n->items[i]->value.empty() || n->items[i]->value == "$") &&
               n->items[i]->stages.empty() && n->items[i]->predicate.empty())
          ++i;
        if (i + 1 < n->items.size() && n->items[i]->type == NT::kName &&
            n->items[i]->value == root && n->items[i]->stages.empty() &&
            n->items[i]->predicate.empty() && n->items[i + 1]->type == NT::kName)
          out.push_back({n->items[i + 1]->value, n->items[i + 1]->position});
      }
      for (size_t i = 0; i < n->items.size(); ++i) {
        const Node* step = n->items[i];
        // The first step is evaluated against the path's context; later ones
        // against what the previous step gave. A step's own children (a
        // function's arguments, an array's items) follow the same rule.
        if (step->type != NT::kName) walk(step, in_root && i == 0);
        stages(step->stages);
        stages(step->predicate);
        if (step->group)
          for (const auto& [k, v] : step->group->pairs) walk(k, false), walk(v, false);
      }
    } else {
      walk(n->lhs, in_root);
      walk(n->rhs, in_root);
      walk(n->third, in_root);
      walk(n->procedure, in_root);
      for (const Node* c : n->items) walk(c, in_root);
      for (const auto& [k, v] : n->pairs) walk(k, in_root), walk(v, in_root);
      stages(n->stages);
    }
    stages(n->predicate);
    if (n->type != NT::kPath && n->group)
      for (const auto& [k, v] : n->group->pairs) walk(k, false), walk(v, false);
    for (const SortTerm& t : n->terms) walk(t.expr, false);
  }

  std::string source_;
  std::unique_ptr<Program> prog_;
};

// Finds the "}}" closing an expression that starts at `from`, skipping string
// literals and nested braces. Returns npos when there is none.
size_t FindClose(std::string_view t, size_t from) {
  int depth = 0;
  for (size_t i = from; i < t.size(); ++i) {
    char c = t[i];
    if (c == '"' || c == '\'' || c == '`') {
      for (++i; i < t.size() && t[i] != c; ++i)
        if (t[i] == '\\' && c != '`') ++i;
      continue;
    }
    if (c == '{') ++depth;
    if (c == '}') {
      if (depth == 0 && i + 1 < t.size() && t[i + 1] == '}') return i;
      if (depth > 0) --depth;
    }
  }
  return std::string_view::npos;
}

class CompiledTemplate final : public Template {
 public:
  struct Part {
    std::string text;
    ExpressionPtr expr;
    int offset = 0;  // where the expression's source starts in the template
  };
  std::vector<Part> parts;
  bool single = false;

  EvalResult Render(const Json& input, const std::map<std::string, Json>& bindings,
                    const EvalLimits& limits) const override {
    if (single) {
      for (const Part& p : parts)
        if (p.expr) return p.expr->Evaluate(input, bindings, limits);
    }
    std::string out;
    for (const Part& p : parts) {
      if (!p.expr) {
        out += p.text;
        continue;
      }
      EvalResult r = p.expr->Evaluate(input, bindings, limits);
      if (!r.ok()) return r;
      if (!r.value) continue;
      if (r.value->is_string()) {
        out += r.value->get_ref<const std::string&>();
      } else {
        out += r.value->dump(-1, ' ', false, Json::error_handler_t::replace);
      }
    }
    EvalResult res;
    res.value = Json(out);
    return res;
  }

  std::vector<FieldRef> RootFields(std::string_view root) const override {
    std::vector<FieldRef> out;
    for (const Part& p : parts) {
      if (!p.expr) continue;
      for (FieldRef f : p.expr->RootFields(root)) {
        if (f.position >= 0) f.position += p.offset;
        out.push_back(std::move(f));
      }
    }
    return out;
  }
};

}  // namespace

CompileResult Expression::Compile(std::string_view source) {
  CompileResult out;
  try {
    auto prog = ParseProgram(source);
    out.expression = std::make_shared<CompiledExpression>(std::string(source), std::move(prog));
  } catch (const JError& e) {
    out.error = ToError(e);
  } catch (const std::exception& e) {
    out.error = ExprError{"S0201", std::string("Syntax error: ") + e.what(), -1, ""};
  }
  return out;
}

bool Template::HasExpressions(std::string_view text) {
  return text.find("{{") != std::string_view::npos;
}

std::variant<std::shared_ptr<const Template>, Template::CompileError> Template::Compile(
    std::string_view text) {
  auto tpl = std::make_shared<CompiledTemplate>();
  size_t pos = 0;
  int expr_count = 0;
  bool only_space = true;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      tpl->parts.push_back({std::string(text.substr(pos)), nullptr});
      break;
    }
    if (open > pos) tpl->parts.push_back({std::string(text.substr(pos, open - pos)), nullptr});
    size_t close = FindClose(text, open + 2);
    if (close == std::string_view::npos) {
      return CompileError{ExprError{"S0203", "Expected }} to close the expression",
                                    static_cast<int>(text.size()), "{{"}};
    }
    std::string_view src = text.substr(open + 2, close - open - 2);
    CompileResult r = Expression::Compile(src);
    if (r.error) {
      ExprError e = *r.error;
      if (e.position >= 0) e.position += static_cast<int>(open + 2);
      return CompileError{e};
    }
    tpl->parts.push_back({std::string(src), r.expression, static_cast<int>(open + 2)});
    ++expr_count;
    pos = close + 2;
  }
  for (const auto& p : tpl->parts)
    if (!p.expr && p.text.find_first_not_of(" \t\r\n") != std::string::npos) only_space = false;
  tpl->single = expr_count == 1 && only_space;
  return std::shared_ptr<const Template>(tpl);
}

}  // namespace weft::expr
