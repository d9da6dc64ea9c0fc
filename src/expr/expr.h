// weft's expression language: JSONata (https://jsonata.org), compiled once and
// evaluated many times over JSON values. A compiled Expression is immutable and
// may be evaluated from many threads at once.
//
// This header is the contract the rest of weft uses (core validates, the
// executor evaluates, the server previews). Everything else in src/expr is
// private to the module.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/json.h"

namespace weft::expr {

// A JSONata error: its code ("S0202", "T2001", "D3030", ...), the message, and
// the character offset in the expression source where it was found (-1 if unknown).
struct ExprError {
  std::string code;
  std::string message;
  int position = -1;
  std::string token;  // the offending token, when JSONata names one
};

// Limits that keep a user's expression from hanging, crashing or starving a
// worker. Exceeding one fails the evaluation (never the process): depth,
// time and cancellation with U1001, memory with U1002.
struct EvalLimits {
  static constexpr size_t kDefaultMaxMemory = size_t{64} << 20;

  int max_depth = 500;                      // nested evaluation depth
  std::chrono::milliseconds timeout{1000};  // wall time per Evaluate call
  // Bytes the evaluation may produce in total (strings, arrays, objects and
  // the result), an accounted estimate checked before each large allocation.
  size_t max_memory = kDefaultMaxMemory;
  // When set and true, the evaluation stops at its next check (as often as
  // the deadline is read). The flag must outlive the Evaluate call.
  const std::atomic<bool>* cancel = nullptr;
};

// A field read from the root input by a path `<root>.<name>...` (such as
// `steps.fetch.output`): the name and its character offset in the source.
struct FieldRef {
  std::string name;
  int position = -1;
};

class Expression;
using ExpressionPtr = std::shared_ptr<const Expression>;

// The outcome of compiling: a compiled expression or the syntax error.
struct CompileResult {
  ExpressionPtr expression;  // null when error is set
  std::optional<ExprError> error;
};

// The outcome of evaluating: `value` is nullopt when JSONata's result is undefined.
struct EvalResult {
  std::optional<Json> value;
  std::optional<ExprError> error;
  bool ok() const { return !error.has_value(); }
};

class Expression {
 public:
  virtual ~Expression() = default;

  // Parses `source` (a bare JSONata expression, no {{ }}).
  static CompileResult Compile(std::string_view source);

  // Evaluates against `input` (the context `$`), with `bindings` as variables
  // (names without `$`). Thread-safe.
  virtual EvalResult Evaluate(const Json& input, const std::map<std::string, Json>& bindings = {},
                              const EvalLimits& limits = {}) const = 0;

  virtual const std::string& Source() const = 0;

  // The names `n` of paths `<root>.n` read from the evaluation's input (also
  // `$.<root>.n` and `$$.<root>.n`), in source order. Paths whose context is not
  // the input (inside a filter `[...]`, after a `.`, in a sort or group) are
  // not counted: there `<root>` names a field of that context.
  virtual std::vector<FieldRef> RootFields(std::string_view root) const = 0;
};

// A string that may hold {{ expr }} parts, compiled once.
// "exactly one {{ expr }}" (surrounding whitespace allowed) keeps the
// expression's JSON type; otherwise every part is rendered into a string
// (strings as-is, undefined as "", other values as JSON text).
class Template {
 public:
  struct CompileError {
    ExprError error;  // position is relative to the whole template string
  };

  // Compiles; on a syntax error returns the first one.
  static std::variant<std::shared_ptr<const Template>, CompileError> Compile(std::string_view text);

  // True when `text` holds at least one "{{".
  static bool HasExpressions(std::string_view text);

  // Renders against `input` with `bindings`. An undefined single expression
  // renders as nullopt (the caller decides: an absent input).
  virtual EvalResult Render(const Json& input, const std::map<std::string, Json>& bindings = {},
                            const EvalLimits& limits = {}) const = 0;
  // Expression::RootFields of every {{ }} part; positions are in the whole template.
  virtual std::vector<FieldRef> RootFields(std::string_view root) const = 0;
  virtual ~Template() = default;
};

}  // namespace weft::expr
