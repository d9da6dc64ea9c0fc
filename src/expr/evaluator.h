// The tree-walking evaluator and the helpers the standard library shares
// with it. One Evaluator serves one Evaluate call on one thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "expr/ast.h"
#include "expr/budget.h"
#include "expr/value.h"

namespace weft::expr {

struct Frame : HeapObj {
  std::vector<std::pair<std::string, Value>> vars;
  Ref<Frame> parent;
  const Value* Lookup(std::string_view name) const {
    for (const Frame* f = this; f != nullptr; f = f->parent.get())
      for (auto it = f->vars.rbegin(); it != f->vars.rend(); ++it)
        if (it->first == name) return &it->second;
    return nullptr;
  }
  void Bind(std::string_view name, Value v) {
    for (auto& e : vars)
      if (e.first == name) {
        e.second = std::move(v);
        return;
      }
    vars.emplace_back(name, std::move(v));
  }
};

inline Ref<Frame> NewFrame(const Ref<Frame>& parent) {
  Ref<Frame> f = MakeRef<Frame>();
  f->parent = parent;
  return f;
}

class Evaluator;

struct CallCtx {
  Evaluator& ev;
  const Value& input;
  const Ref<Frame>& env;
  int position;
};

using BuiltinFn = Value (*)(CallCtx& ctx, std::vector<Value>& args);

struct Builtin {
  const char* name;
  const char* sig;
  int arity;  // what JavaScript's Function.length reports
  BuiltinFn fn;
  std::unique_ptr<Signature> parsed;
};

const Builtin* FindBuiltin(std::string_view name);
// Every library function in the table's order (the editor's generated list,
// ui/src/lib/expr-functions.json, is checked against it).
const std::vector<Builtin>& Builtins();

class Evaluator {
 public:
  // Installs its budget for the calling thread until destroyed: construct it
  // on the thread that evaluates.
  Evaluator(int max_depth, std::chrono::milliseconds timeout, size_t max_bytes = SIZE_MAX,
            const std::atomic<bool>* cancel = nullptr);
  // Clears the frames that hold functions: a closure bound in the frame it
  // captures is a reference cycle the counts alone would never free.
  ~Evaluator();
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  Value Eval(const Node* expr, const Value& input, const Ref<Frame>& env);
  // Applies a function value to arguments (with trampolining of tail calls).
  Value Apply(const Value& fn, std::vector<Value>& args, const Value& input, const Ref<Frame>& env,
              int position);
  Value CallBuiltin(const Builtin* b, std::vector<Value>& args, const Value& input,
                    const Ref<Frame>& env, int position);
  // Evaluates a source string (for $eval); the program is kept alive here.
  Value EvalSource(const std::string& src, const Value& input, const Ref<Frame>& env);
  Value Clone(const Value& v);

 private:
  Value EvalInner(const Node* expr, const Value& input, const Ref<Frame>& env);
  Value EvalPath(const Node* expr, const Value& input, const Ref<Frame>& env);
  Value EvalStep(const Node* step, const Value& input, const Ref<Frame>& env, bool last);
  Value EvalTupleStep(const Node* step, const Value& input, Value tuples, const Ref<Frame>& env);
  Value EvalStages(const std::vector<Stage>& stages, Value input, const Ref<Frame>& env);
  Value EvalFilter(const Node* pred, const Value& input, const Ref<Frame>& env);
  Value EvalBinary(const Node* expr, const Value& input, const Ref<Frame>& env);
  Value EvalGroup(const std::vector<std::pair<Node*, Node*>>& pairs, int position,
                  const Value& input, const Ref<Frame>& env);
  Value EvalSort(const Node* expr, const Value& input, const Ref<Frame>& env);
  Value EvalFunction(const Node* expr, const Value& input, const Ref<Frame>& env,
                     const Value* applyto);
  Value EvalPartial(const Node* expr, const Value& input, const Ref<Frame>& env);
  Value EvalApply(const Node* expr, const Value& input, const Ref<Frame>& env);
  Value EvalTransform(const Node* expr, const Value& input, const Ref<Frame>& env);
  Value ApplyInner(const Value& fn, std::vector<Value>& args, const Value& input,
                   const Ref<Frame>& env, int position);
  Value RunTransform(const FuncObj* f, const Value& obj);
  Ref<Frame> FrameFromTuple(const Ref<Frame>& env, const Value& tuple);
  void CheckLimits();

  int max_depth_;
  int depth_ = 0;
  Budget budget_;
  BudgetScope budget_scope_{&budget_};
  std::vector<std::unique_ptr<Program>> owned_;
  std::vector<Ref<Frame>> cyclic_;
};

// ---- shared helpers ----
[[noreturn]] void Throw(const char* code, int position = -1, std::string token = "",
                        std::string detail = "");
bool IsNumeric(const Value& v);  // throws D1001 for infinities
bool ToBool(const Value& v);     // JSONata's $boolean; undefined is false
Value Append(const Value& a, const Value& b);
Value Seq();
Value SeqOf(Value v);
void PushTo(Value& arr, Value v);
Value Flatten(const Value& v);
bool DeepEqual(const Value& a, const Value& b);
std::string NumberToString(double d);
std::string Stringify(const Value& v, bool pretty);
std::string ToStr(const Value& v);  // $string semantics (v must be defined)
Json ToJson(const Value& v);
Value ToOwned(const Value& v);  // deep copy of borrowed containers into owned ones
bool IsArrayOfStrings(const Value& v);
bool IsArrayOfNumbers(const Value& v);
char TypeSymbol(const Value& v);
// Validates args against a signature; may substitute the context; throws T04xx.
void ValidateArgs(const Signature& sig, std::vector<Value>& args, const Value& context,
                  int position, std::string_view name);
int Utf16Length(std::string_view s);
Value FnFormatNumber(CallCtx& c, std::vector<Value>& args);  // format_number.cpp

// date/time and number formatting (datetime.cpp)
std::string FormatDateTime(int64_t millis, const std::string& picture, const std::string& tz);
std::optional<int64_t> ParseDateTime(const std::string& str, const std::string& picture);
std::string FormatIntegerPicture(double value, const std::string& picture);
std::optional<double> ParseIntegerPicture(const std::string& value, const std::string& picture);
std::string IsoFromMillis(int64_t millis);
std::optional<int64_t> MillisFromIso(const std::string& s);

}  // namespace weft::expr
