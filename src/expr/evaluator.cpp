// Evaluation of the processed syntax tree, following the semantics of the
// JSONata reference implementation (sequences, singleton unwrapping, tuple
// streams for @ # and %, tail-call trampolining).
#include "expr/evaluator.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace weft::expr {

Evaluator::Evaluator(int max_depth, std::chrono::milliseconds timeout, size_t max_bytes,
                     const std::atomic<bool>* cancel)
    : max_depth_(max_depth) {
  budget_.max_bytes = max_bytes;
  budget_.deadline = std::chrono::steady_clock::now() + timeout;
  budget_.cancel = cancel;
}

Evaluator::~Evaluator() {
  // Drop the values first, then the frames: clearing may free other frames.
  for (auto& f : cyclic_) f->vars.clear();
  cyclic_.clear();
}

void Evaluator::CheckLimits() {
  if (depth_ > max_depth_) Throw("U1001", -1, "", "Stack overflow error");
  if ((++budget_.tick & 255) == 0) CheckClock(budget_);
}

void CheckClock(const Budget& b) {
  if (b.cancel != nullptr && b.cancel->load(std::memory_order_relaxed))
    throw JError{"U1001", -1, "", "Expression evaluation cancelled", true};
  if (std::chrono::steady_clock::now() > b.deadline)
    throw JError{"U1001", -1, "", "Expression evaluation timeout", true};
}

void ThrowOverMemory(const Budget& b) {
  throw JError{"U1002", -1, "",
               "Expression exceeded its memory budget of " + std::to_string(b.max_bytes) + " bytes",
               true};
}

namespace {
struct DepthGuard {
  explicit DepthGuard(int& d) : d_(d) { ++d_; }
  ~DepthGuard() { --d_; }
  int& d_;
};

Value Lookup(const Value& input, std::string_view key) {
  switch (input.kind()) {
    case VK::kJObj: {
      const Json& j = input.json();
      for (auto it = j.begin(); it != j.end(); ++it)
        if (it.key() == key) return Value::FromJson(it.value());
      return Value();
    }
    case VK::kObj: {
      Value* p = input.obj()->Find(key);
      return p ? *p : Value();
    }
    case VK::kJArr: {
      Value result = Seq();
      auto& out = result.arr()->v;
      for (const Json& item : input.json()) {
        if (!item.is_object()) {
          if (item.is_array()) {
            Value r = Lookup(Value::FromJson(item), key);
            if (r.IsArray()) {
              Charge(ArrSize(r) * kValueBytes);
              for (size_t i = 0, n = ArrSize(r); i < n; ++i) out.push_back(ArrAt(r, i));
            } else if (r.IsDefined()) {
              out.push_back(std::move(r));
            }
          }
          continue;
        }
        auto it = item.find(key);
        if (it == item.end()) continue;
        if (it->is_array()) {
          Charge(it->size() * kValueBytes);
          for (const Json& e : *it) out.push_back(Value::FromJson(e));
        } else {
          Charge(kValueBytes);
          out.push_back(Value::FromJson(*it));
        }
      }
      return result;
    }
    case VK::kArr: {
      Value result = Seq();
      auto& out = result.arr()->v;
      for (const Value& item : input.arr()->v) {
        Value r = Lookup(item, key);
        if (r.IsUndef()) continue;
        if (r.IsArray()) {
          Charge(ArrSize(r) * kValueBytes);
          for (size_t i = 0, n = ArrSize(r); i < n; ++i) out.push_back(ArrAt(r, i));
        } else {
          out.push_back(std::move(r));
        }
      }
      return result;
    }
    default:
      return Value();
  }
}

void RecurseDescendants(const Value& v, Value& out) {
  if (!v.IsArray()) PushTo(out, v);
  if (v.IsArray()) {
    for (size_t i = 0, n = ArrSize(v); i < n; ++i) RecurseDescendants(ArrAt(v, i), out);
  } else if (v.IsObject()) {
    ObjForEach(v, [&](std::string_view, const Value& c) { RecurseDescendants(c, out); });
  }
}

Value OwnedArr(const Value& a) {
  if (a.kind() == VK::kArr) return a;
  Value r = NewArr();
  Charge(ArrSize(a) * kValueBytes);
  for (size_t i = 0, n = ArrSize(a); i < n; ++i) r.arr()->v.push_back(ArrAt(a, i));
  return r;
}

Value MakeFunc(FuncObj* f) { return Value::Heap(VK::kFunc, f); }

}  // namespace

Ref<Frame> Evaluator::FrameFromTuple(const Ref<Frame>& env, const Value& tuple) {
  Ref<Frame> f = NewFrame(env);
  if (tuple.kind() == VK::kObj)
    for (auto& e : tuple.obj()->v) f->vars.emplace_back(e.first, e.second);
  return f;
}

Value Evaluator::Eval(const Node* expr, const Value& input, const Ref<Frame>& env) {
  DepthGuard guard(depth_);
  CheckLimits();
  Value result;
  try {
    result = EvalInner(expr, input, env);
  } catch (JError& e) {
    // a budget runs out wherever it happens to: name the innermost expression
    if (e.budget && e.position < 0) e.position = expr->position;
    throw;
  }
  for (const Stage& st : expr->predicate) result = EvalFilter(st.expr, result, env);
  if (expr->type != NT::kPath && expr->group)
    result = EvalGroup(expr->group->pairs, expr->group->position, result, env);
  if (result.kind() == VK::kArr) {
    ArrObj* a = result.arr();
    if (a->sequence && !a->tuple_stream) {
      if (expr->keep_array) a->keep_singleton = true;
      if (a->v.empty()) return Value();
      if (a->v.size() == 1 && !a->keep_singleton) {
        Value only = a->v[0];
        return only;
      }
    }
  }
  return result;
}

Value Evaluator::EvalInner(const Node* expr, const Value& input, const Ref<Frame>& env) {
  switch (expr->type) {
    case NT::kPath:
      return EvalPath(expr, input, env);
    case NT::kBinary:
      return EvalBinary(expr, input, env);
    case NT::kNeg: {
      Value v = Eval(expr->lhs, input, env);
      if (v.IsUndef()) return v;
      if (IsNumeric(v)) return Value::Num(-v.num());
      Throw("D1002", expr->position, "-");
    }
    case NT::kArray: {
      Value result = NewArr();
      auto& out = result.arr()->v;
      for (const Node* item : expr->items) {
        Value v = Eval(item, input, env);
        if (v.IsUndef()) continue;
        if (item->type == NT::kArray || !v.IsArray()) {
          Charge(kValueBytes);
          out.push_back(std::move(v));
        } else {
          Charge(ArrSize(v) * kValueBytes);
          for (size_t i = 0, n = ArrSize(v); i < n; ++i) out.push_back(ArrAt(v, i));
        }
      }
      if (expr->consarray) result.arr()->cons = true;
      return result;
    }
    case NT::kObject:
      return EvalGroup(expr->pairs, expr->position, input, env);
    case NT::kName:
      return Lookup(input, expr->value);
    case NT::kString:
      return Value::StrRef(&expr->value);
    case NT::kNumber:
      return Value::Num(expr->num);
    case NT::kValue:
      return expr->literal == 0 ? Value::Null() : Value::Bool(expr->literal == 2);
    case NT::kWildcard: {
      Value results = Seq();
      Value in = input;
      if (in.kind() == VK::kArr && in.arr()->outer_wrapper && !in.arr()->v.empty())
        in = in.arr()->v[0];
      auto add = [&](const Value& v) {
        if (v.IsArray()) {
          Value flat = Flatten(v);
          for (size_t i = 0, n = ArrSize(flat); i < n; ++i) PushTo(results, ArrAt(flat, i));
        } else {
          PushTo(results, v);
        }
      };
      if (in.IsObject()) {
        ObjForEach(in, [&](std::string_view, const Value& v) { add(v); });
      } else if (in.IsArray()) {
        for (size_t i = 0, n = ArrSize(in); i < n; ++i) add(ArrAt(in, i));
      }
      return results;
    }
    case NT::kDescendant: {
      if (input.IsUndef()) return Value();
      Value out = Seq();
      RecurseDescendants(input, out);
      if (out.arr()->v.size() == 1) return out.arr()->v[0];
      return out;
    }
    case NT::kParent: {
      const Value* v = env->Lookup(expr->slot->label);
      return v ? *v : Value();
    }
    case NT::kCondition: {
      Value c = Eval(expr->lhs, input, env);
      if (ToBool(c)) return Eval(expr->rhs, input, env);
      if (expr->third) return Eval(expr->third, input, env);
      return Value();
    }
    case NT::kBlock: {
      Ref<Frame> frame = NewFrame(env);
      Value result;
      for (const Node* e : expr->items) result = Eval(e, input, frame);
      return result;
    }
    case NT::kBind: {
      Value v = Eval(expr->rhs, input, env);
      env.get()->Bind(expr->lhs->value, v);
      if (v.IsFunc() || v.kind() == VK::kArr || v.kind() == VK::kObj) cyclic_.push_back(env);
      return v;
    }
    case NT::kRegex: {
      auto* f = new FuncObj();  // NOLINT: owned by Value
      f->kind = FuncObj::Kind::kRegex;
      f->node = expr;
      return MakeFunc(f);
    }
    case NT::kFunction:
      return EvalFunction(expr, input, env, nullptr);
    case NT::kPartial:
      return EvalPartial(expr, input, env);
    case NT::kVariable: {
      if (expr->value.empty()) {
        if (input.kind() == VK::kArr && input.arr()->outer_wrapper && !input.arr()->v.empty())
          return input.arr()->v[0];
        return input;
      }
      if (const Value* v = env->Lookup(expr->value)) return *v;
      if (const Builtin* b = FindBuiltin(expr->value)) {
        auto* f = new FuncObj();  // NOLINT: owned by Value
        f->kind = FuncObj::Kind::kBuiltin;
        f->builtin = b;
        return MakeFunc(f);
      }
      return Value();
    }
    case NT::kLambda: {
      auto* f = new FuncObj();  // NOLINT: owned by Value
      f->kind = FuncObj::Kind::kLambda;
      f->node = expr;
      f->env = env;
      f->input = input;
      return MakeFunc(f);
    }
    case NT::kApply:
      return EvalApply(expr, input, env);
    case NT::kTransform: {
      auto* f = new FuncObj();  // NOLINT: owned by Value
      f->kind = FuncObj::Kind::kTransform;
      f->node = expr;
      f->env = env;
      return MakeFunc(f);
    }
    case NT::kSort:
      return EvalSort(expr, input, env);
    default:
      Throw("S0206", expr->position);
  }
}

namespace {
// A field name, optionally with constant index stages (`Order[0]`).
bool IsSimpleName(const Node* s) {
  if (s->type != NT::kName || !s->predicate.empty() || s->tuple || s->has_focus || s->has_index ||
      s->group || s->keep_array || s->consarray || s->ancestor != nullptr)
    return false;
  for (const Stage& st : s->stages)
    if (st.is_index || st.expr->type != NT::kNumber) return false;
  return true;
}

Value IndexInto(const Value& v, double raw) {
  double idx = std::floor(raw);
  if (!v.IsArray()) return idx == 0 || idx == -1 ? v : Value();
  double n = static_cast<double>(ArrSize(v));
  if (idx < 0) idx += n;
  if (idx < 0 || idx >= n) return Value();
  return ArrAt(v, static_cast<size_t>(idx));
}
}  // namespace

Value Evaluator::EvalPath(const Node* expr, const Value& input, const Ref<Frame>& env) {
  Value input_seq;
  const auto& steps = expr->items;
  size_t first = 0;
  if (!expr->keep_singleton_array && !expr->group && !expr->tuple && input.IsObject() &&
      IsSimpleName(steps[0])) {
    // Fast path: a chain of plain field names over single objects needs no sequences.
    Value cur = input;
    size_t i = 0;
    while (i < steps.size() && IsSimpleName(steps[i]) && cur.IsObject()) {
      Value v = ObjGet(cur, steps[i]->value);
      for (const Stage& st : steps[i]->stages) {
        if (v.IsUndef()) break;
        v = IndexInto(v, st.expr->num);
      }
      if (v.IsUndef()) return v;
      if (i + 1 == steps.size()) return v;
      ++i;
      if (v.IsArray()) {
        input_seq = Seq();
        auto& out = input_seq.arr()->v;
        if (v.kind() == VK::kArr && v.arr()->cons) {
          out.push_back(v);
        } else {
          Charge(ArrSize(v) * kValueBytes);
          for (size_t k = 0, n = ArrSize(v); k < n; ++k) out.push_back(ArrAt(v, k));
        }
        cur = Value();
        break;
      }
      cur = std::move(v);
    }
    first = i;
    if (cur.IsDefined()) input_seq = SeqOf(cur);
    if (input_seq.IsArray() && ArrSize(input_seq) == 0) return Value();
  } else if (input.IsArray() && steps[0]->type != NT::kVariable) {
    input_seq = input;
  } else {
    input_seq = SeqOf(input);
  }
  Value result;
  bool is_tuple = false;
  Value tuples;
  for (size_t i = first; i < steps.size(); ++i) {
    const Node* step = steps[i];
    if (step->tuple) is_tuple = true;
    if (i == first && i == 0 && step->consarray) {
      result = Eval(step, input_seq, env);
    } else if (is_tuple) {
      tuples = EvalTupleStep(step, input_seq, tuples, env);
    } else {
      result = EvalStep(step, input_seq, env, i == steps.size() - 1);
    }
    if (!is_tuple && (result.IsUndef() || (result.IsArray() && ArrSize(result) == 0))) break;
    if (!step->has_focus) input_seq = result;
  }
  if (is_tuple) {
    if (expr->tuple) {
      result = tuples;
    } else {
      result = Seq();
      if (tuples.IsArray())
        for (size_t i = 0, n = ArrSize(tuples); i < n; ++i)
          PushTo(result, ObjGet(ArrAt(tuples, i), "@"));
    }
  }
  if (expr->keep_singleton_array) {
    if (result.IsArray()) {
      if (result.kind() == VK::kArr && result.arr()->cons && !result.arr()->sequence) {
        result = SeqOf(result);
      } else {
        result = OwnedArr(result);
      }
      result.arr()->keep_singleton = true;
    } else if (result.IsUndef()) {
      result = Seq();
      result.arr()->keep_singleton = true;
    }
  }
  if (expr->group)
    result = EvalGroup(expr->group->pairs, expr->group->position, is_tuple ? tuples : result, env);
  return result;
}

Value Evaluator::EvalStep(const Node* step, const Value& input, const Ref<Frame>& env, bool last) {
  if (step->type == NT::kSort) {
    Value r = EvalSort(step, input, env);
    if (!step->stages.empty()) r = EvalStages(step->stages, r, env);
    return r;
  }
  Value result = Seq();
  auto& out = result.arr()->v;
  size_t n = ArrSize(input);
  Charge(n * kValueBytes);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Value res = Eval(step, ArrAt(input, i), env);
    for (const Stage& st : step->stages) {
      if (st.expr->type == NT::kNumber && !res.IsTupleStream()) {
        // index stage: pick the item directly, without a one-item sequence
        Value in = res.IsArray() ? res : SeqOf(res);
        size_t n2 = res.IsUndef() ? 0 : ArrSize(in);
        double idx = std::floor(st.expr->num);
        if (idx < 0) idx += static_cast<double>(n2);
        res = idx >= 0 && idx < static_cast<double>(n2) ? ArrAt(in, static_cast<size_t>(idx))
                                                        : Value();
        continue;
      }
      res = EvalFilter(st.expr, res, env);
    }
    if (res.IsDefined()) out.push_back(std::move(res));
  }
  if (last && out.size() == 1 && out[0].IsArray() && !out[0].IsSequence()) return out[0];
  bool any_array = false;
  for (const Value& v : out)
    if (v.IsArray() && !(v.kind() == VK::kArr && v.arr()->cons)) {
      any_array = true;
      break;
    }
  if (!any_array) return result;
  Value rs = Seq();
  auto& o2 = rs.arr()->v;
  for (const Value& v : out) {
    if (!v.IsArray() || (v.kind() == VK::kArr && v.arr()->cons)) {
      Charge(kValueBytes);
      o2.push_back(v);
    } else {
      Charge(ArrSize(v) * kValueBytes);
      for (size_t i = 0, m = ArrSize(v); i < m; ++i) o2.push_back(ArrAt(v, i));
    }
  }
  return rs;
}

Value Evaluator::EvalTupleStep(const Node* step, const Value& input, Value tuples,
                               const Ref<Frame>& env) {
  if (step->type == NT::kSort) {
    Value result;
    if (tuples.IsDefined()) {
      result = EvalSort(step, tuples, env);
    } else {
      Value sorted = EvalSort(step, input, env);
      result = Seq();
      result.arr()->tuple_stream = true;
      for (size_t i = 0, n = sorted.IsArray() ? ArrSize(sorted) : 0; i < n; ++i) {
        Value t = NewObj();
        t.obj()->Set("@", ArrAt(sorted, i));
        if (step->has_index) t.obj()->Set(step->index, Value::Num(static_cast<double>(i)));
        PushTo(result, t);
      }
    }
    if (!step->stages.empty()) result = EvalStages(step->stages, result, env);
    return result;
  }
  Value result = Seq();
  result.arr()->tuple_stream = true;
  if (tuples.IsUndef()) {
    tuples = Seq();
    for (size_t i = 0, n = input.IsArray() ? ArrSize(input) : 0; i < n; ++i) {
      Value t = NewObj();
      t.obj()->Set("@", ArrAt(input, i));
      PushTo(tuples, t);
    }
  }
  for (size_t e = 0, n = ArrSize(tuples); e < n; ++e) {
    Value tb = ArrAt(tuples, e);
    Ref<Frame> step_env = FrameFromTuple(env, tb);
    Value at = ObjGet(tb, "@");
    Value res = Eval(step, at, step_env);
    if (res.IsUndef()) continue;
    if (!res.IsArray()) res = SeqOf(res);
    bool ts = res.IsTupleStream();
    for (size_t b = 0, m = ArrSize(res); b < m; ++b) {
      Value tuple = NewObj();
      if (tb.kind() == VK::kObj) tuple.obj()->v = tb.obj()->v;
      Value rb = ArrAt(res, b);
      if (ts) {
        if (rb.kind() == VK::kObj)
          for (auto& kv : rb.obj()->v) tuple.obj()->Set(kv.first, kv.second);
      } else {
        if (step->has_focus) {
          tuple.obj()->Set(step->focus, rb);
          tuple.obj()->Set("@", at);
        } else {
          tuple.obj()->Set("@", rb);
        }
        if (step->has_index) tuple.obj()->Set(step->index, Value::Num(static_cast<double>(b)));
        if (step->ancestor) tuple.obj()->Set(step->ancestor->label, at);
      }
      PushTo(result, tuple);
    }
  }
  if (!step->stages.empty()) result = EvalStages(step->stages, result, env);
  return result;
}

Value Evaluator::EvalStages(const std::vector<Stage>& stages, Value input, const Ref<Frame>& env) {
  for (const Stage& st : stages) {
    if (!st.is_index) {
      input = EvalFilter(st.expr, input, env);
    } else if (input.kind() == VK::kArr) {
      auto& v = input.arr()->v;
      for (size_t i = 0; i < v.size(); ++i)
        if (v[i].kind() == VK::kObj)
          v[i].obj()->Set(st.index_name, Value::Num(static_cast<double>(i)));
    }
  }
  return input;
}

Value Evaluator::EvalFilter(const Node* pred, const Value& input, const Ref<Frame>& env) {
  Value results = Seq();
  bool ts = input.IsTupleStream();
  if (ts) results.arr()->tuple_stream = true;
  if (input.IsUndef()) return results;
  Value in = input.IsArray() ? input : SeqOf(input);
  size_t n = ArrSize(in);
  if (pred->type == NT::kNumber) {
    double idx = std::floor(pred->num);
    if (idx < 0) idx += static_cast<double>(n);
    if (idx >= 0 && idx < static_cast<double>(n)) {
      Value item = ArrAt(in, static_cast<size_t>(idx));
      if (item.IsArray()) return item;
      PushTo(results, std::move(item));
    }
    return results;
  }
  auto& out = results.arr()->v;
  for (size_t i = 0; i < n; ++i) {
    Value item = ArrAt(in, i);
    Value res;
    if (ts) {
      Ref<Frame> e = FrameFromTuple(env, item);
      res = Eval(pred, ObjGet(item, "@"), e);
    } else {
      res = Eval(pred, item, env);
    }
    if (res.IsNum()) {
      if (!IsNumeric(res)) continue;
      double ii = std::floor(res.num());
      if (ii < 0) ii += static_cast<double>(n);
      if (ii == static_cast<double>(i)) out.push_back(item);
    } else if (res.IsArray() && IsArrayOfNumbers(res)) {
      for (size_t k = 0, m = ArrSize(res); k < m; ++k) {
        double ii = std::floor(ArrAt(res, k).num());
        if (ii < 0) ii += static_cast<double>(n);
        if (ii == static_cast<double>(i)) out.push_back(item);
      }
    } else if (ToBool(res)) {
      out.push_back(std::move(item));
    }
  }
  return results;
}

Value Evaluator::EvalBinary(const Node* expr, const Value& input, const Ref<Frame>& env) {
  Op op = expr->op;
  int pos = expr->position;
  if (op == Op::kAnd) {
    Value l = Eval(expr->lhs, input, env);
    if (!ToBool(l)) return Value::Bool(false);
    return Value::Bool(ToBool(Eval(expr->rhs, input, env)));
  }
  if (op == Op::kOr) {
    Value l = Eval(expr->lhs, input, env);
    if (ToBool(l)) return Value::Bool(true);
    return Value::Bool(ToBool(Eval(expr->rhs, input, env)));
  }
  if (op == Op::kCoalesce) {
    Value l = Eval(expr->lhs, input, env);
    if (l.IsDefined()) return l;
    return Eval(expr->rhs, input, env);
  }
  if (op == Op::kElvis) {
    Value l = Eval(expr->lhs, input, env);
    if (ToBool(l)) return l;
    return Eval(expr->rhs, input, env);
  }
  Value l = Eval(expr->lhs, input, env);
  Value r = Eval(expr->rhs, input, env);
  switch (op) {
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDiv:
    case Op::kMod: {
      if (l.IsDefined() && !IsNumeric(l)) Throw("T2001", pos, expr->value);
      if (r.IsDefined() && !IsNumeric(r)) Throw("T2002", pos, expr->value);
      if (l.IsUndef() || r.IsUndef()) return Value();
      double a = l.num(), b = r.num();
      switch (op) {
        case Op::kAdd:
          return Value::Num(a + b);
        case Op::kSub:
          return Value::Num(a - b);
        case Op::kMul:
          return Value::Num(a * b);
        case Op::kDiv:
          return Value::Num(a / b);
        default:
          return Value::Num(std::fmod(a, b));
      }
    }
    case Op::kEq:
    case Op::kNe: {
      if (l.IsUndef() || r.IsUndef()) return Value::Bool(false);
      bool eq = DeepEqual(l, r);
      return Value::Bool(op == Op::kEq ? eq : !eq);
    }
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe: {
      bool lc = l.IsUndef() || l.IsStr() || l.IsNum();
      bool rc = r.IsUndef() || r.IsStr() || r.IsNum();
      if (!lc || !rc) Throw("T2010", pos, expr->value);
      if (l.IsUndef() || r.IsUndef()) return Value();
      if (l.kind() != r.kind()) Throw("T2009", pos, expr->value);
      int c;
      if (l.IsNum()) {
        c = l.num() < r.num() ? -1 : l.num() > r.num() ? 1 : 0;
        if (std::isnan(l.num()) || std::isnan(r.num())) return Value::Bool(false);
      } else {
        int k = l.str().compare(r.str());
        c = k < 0 ? -1 : k > 0 ? 1 : 0;
      }
      switch (op) {
        case Op::kLt:
          return Value::Bool(c < 0);
        case Op::kLe:
          return Value::Bool(c <= 0);
        case Op::kGt:
          return Value::Bool(c > 0);
        default:
          return Value::Bool(c >= 0);
      }
    }
    case Op::kConcat: {
      std::string s;
      if (l.IsStr() && r.IsStr()) {
        Charge(l.str().size() + r.str().size());  // before building it
        s.reserve(l.str().size() + r.str().size());
        s += l.str();
        s += r.str();
        return Value::StrCounted(std::move(s));
      }
      if (l.IsStr()) {
        s = l.str();
      } else if (l.IsDefined()) {
        s = ToStr(l);
      }
      if (r.IsStr()) {
        s += r.str();
      } else if (r.IsDefined()) {
        s += ToStr(r);
      }
      return Value::Str(std::move(s));
    }
    case Op::kRange: {
      if (l.IsDefined() && (!l.IsNum() || l.num() != std::floor(l.num())))
        Throw("T2003", pos, "..");
      if (r.IsDefined() && (!r.IsNum() || r.num() != std::floor(r.num())))
        Throw("T2004", pos, "..");
      if (l.IsUndef() || r.IsUndef()) return Value();
      double a = l.num(), b = r.num();
      if (a > b) return Value();
      if (b - a + 1 > 1e7) Throw("D2014", pos, "..");
      Charge(static_cast<size_t>(b - a + 1) * kValueBytes);
      Value out = Seq();
      auto& v = out.arr()->v;
      v.reserve(static_cast<size_t>(b - a + 1));
      for (double x = a; x <= b; x += 1) v.push_back(Value::Num(x));
      return out;
    }
    case Op::kIn: {
      if (l.IsUndef() || r.IsUndef()) return Value::Bool(false);
      auto same = [&](const Value& x) {
        if (x.kind() != l.kind()) return false;
        switch (x.kind()) {
          case VK::kNull:
            return true;
          case VK::kBool:
            return x.b() == l.b();
          case VK::kNum:
            return x.num() == l.num();
          case VK::kStr:
            return x.str() == l.str();
          default:
            return false;
        }
      };
      if (!r.IsArray()) return Value::Bool(same(r));
      for (size_t i = 0, n = ArrSize(r); i < n; ++i)
        if (same(ArrAt(r, i))) return Value::Bool(true);
      return Value::Bool(false);
    }
    default:
      Throw("S0201", pos, expr->value);
  }
}

Value Evaluator::EvalGroup(const std::vector<std::pair<Node*, Node*>>& pairs, int position,
                           const Value& input, const Ref<Frame>& env) {
  bool reduce = input.IsTupleStream();
  if (!input.IsArray()) {
    // one item (the usual object constructor): no grouping needed
    Value result = NewObj();
    auto& out = result.obj()->v;
    out.reserve(pairs.size());
    std::vector<Value> keys;
    keys.reserve(pairs.size());
    for (size_t p = 0; p < pairs.size(); ++p) {
      Value key = Eval(pairs[p].first, input, env);
      if (key.IsDefined() && !key.IsStr()) Throw("T1003", position, "", Stringify(key, false));
      if (key.IsDefined())
        for (const Value& k : keys)
          if (k.IsDefined() && k.str() == key.str()) Throw("D1009", position, "", key.str());
      keys.push_back(std::move(key));
    }
    for (size_t p = 0; p < pairs.size(); ++p) {
      if (keys[p].IsUndef()) continue;
      Value v = Eval(pairs[p].second, input, env);
      if (v.IsDefined()) {
        Charge(kObjEntryBytes + keys[p].str().size());
        out.emplace_back(keys[p].str(), std::move(v));
      }
    }
    return result;
  }
  Value in;
  if (input.IsArray()) {
    in = input;
  } else {
    in = NewArr();
    in.arr()->v.push_back(input);
  }
  size_t n = ArrSize(in);
  struct Entry {
    std::string key;
    Value data;
    size_t expr_index;
  };
  std::vector<Entry> groups;
  std::unordered_map<std::string, size_t> index;
  auto process_item = [&](const Value& item) {
    Ref<Frame> e = reduce ? FrameFromTuple(env, item) : env;
    Value ctx = reduce ? ObjGet(item, "@") : item;
    for (size_t p = 0; p < pairs.size(); ++p) {
      Value key = Eval(pairs[p].first, ctx, e);
      if (key.IsUndef()) continue;
      if (!key.IsStr()) Throw("T1003", position, "", Stringify(key, false));
      const std::string& k = key.str();
      auto it = index.find(k);
      if (it != index.end()) {
        Entry& g = groups[it->second];
        if (g.expr_index != p) Throw("D1009", position, "", k);
        g.data = Append(g.data, item);
      } else {
        index.emplace(k, groups.size());
        groups.push_back(Entry{k, item, p});
      }
    }
  };
  if (n == 0) {
    process_item(Value());
  } else {
    for (size_t i = 0; i < n; ++i) process_item(ArrAt(in, i));
  }
  Value result = NewObj();
  for (Entry& g : groups) {
    Value ctx = g.data;
    Ref<Frame> e = env;
    if (reduce) {
      // merge the tuples of the group: every binding becomes the sequence of its values
      Value tuple = NewObj();
      if (g.data.IsArray()) {
        for (size_t i = 0, m = ArrSize(g.data); i < m; ++i) {
          Value t = ArrAt(g.data, i);
          if (t.kind() != VK::kObj) continue;
          for (auto& kv : t.obj()->v) {
            if (i == 0) {
              tuple.obj()->Set(kv.first, kv.second);
            } else {
              Value* cur = tuple.obj()->Find(kv.first);
              tuple.obj()->Set(kv.first, Append(cur ? *cur : Value(), kv.second));
            }
          }
        }
      } else {
        tuple = g.data;
      }
      ctx = ObjGet(tuple, "@");
      Value rest = NewObj();
      if (tuple.kind() == VK::kObj)
        for (auto& kv : tuple.obj()->v)
          if (kv.first != "@") rest.obj()->v.push_back(kv);
      e = FrameFromTuple(env, rest);
    }
    Value v = Eval(pairs[g.expr_index].second, ctx, e);
    if (v.IsDefined()) {
      Charge(kObjEntryBytes + g.key.size());
      result.obj()->v.emplace_back(std::move(g.key), std::move(v));
    }
  }
  return result;
}

Value Evaluator::EvalSort(const Node* expr, const Value& input, const Ref<Frame>& env) {
  if (input.IsUndef()) return input;
  if (!input.IsArray()) return input;
  size_t n = ArrSize(input);
  if (n <= 1) return input;
  bool ts = input.IsTupleStream();
  size_t nt = expr->terms.size();
  Charge(n * (nt + 3) * kValueBytes);
  std::vector<Value> items(n);
  std::vector<Value> keys(n * nt);
  for (size_t i = 0; i < n; ++i) {
    items[i] = ArrAt(input, i);
    for (size_t t = 0; t < nt; ++t) {
      if (ts) {
        Ref<Frame> e = FrameFromTuple(env, items[i]);
        keys[i * nt + t] = Eval(expr->terms[t].expr, ObjGet(items[i], "@"), e);
      } else {
        keys[i * nt + t] = Eval(expr->terms[t].expr, items[i], env);
      }
    }
  }
  for (size_t t = 0; t < nt; ++t) {
    VK kind = VK::kUndef;
    for (size_t i = 0; i < n; ++i) {
      const Value& k = keys[i * nt + t];
      if (k.IsUndef()) continue;
      if (!k.IsNum() && !k.IsStr()) Throw("T2008", expr->position);
      if (kind == VK::kUndef) kind = k.kind();
      if (k.kind() != kind) Throw("T2007", expr->position);
    }
  }
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    for (size_t t = 0; t < nt; ++t) {
      const Value& x = keys[a * nt + t];
      const Value& y = keys[b * nt + t];
      int c;
      if (x.IsUndef()) {
        c = y.IsUndef() ? 0 : 1;
      } else if (y.IsUndef()) {
        c = -1;
      } else if (x.IsNum()) {
        c = x.num() < y.num() ? -1 : x.num() > y.num() ? 1 : 0;
      } else {
        int k = x.str().compare(y.str());
        c = k < 0 ? -1 : k > 0 ? 1 : 0;
      }
      if (c == 0) continue;
      if (expr->terms[t].descending) c = -c;
      return c < 0;
    }
    return false;
  });
  Value out = NewArr();
  out.arr()->tuple_stream = ts;
  out.arr()->sequence = ts;
  auto& v = out.arr()->v;
  v.reserve(n);
  for (size_t i : order) v.push_back(items[i]);
  return out;
}

Value Evaluator::EvalFunction(const Node* expr, const Value& input, const Ref<Frame>& env,
                              const Value* applyto) {
  const Node* pn = expr->procedure;
  Value proc;
  const Builtin* builtin = nullptr;
  std::string_view name;
  if (pn->type == NT::kVariable && pn->predicate.empty() && !pn->group && !pn->value.empty()) {
    name = pn->value;
    if (const Value* v = env->Lookup(pn->value)) {
      proc = *v;
    } else {
      builtin = expr->builtin;
    }
  } else {
    proc = Eval(pn, input, env);
    if (pn->type == NT::kPath && !pn->items.empty()) name = pn->items[0]->value;
    if (proc.IsUndef() && pn->type == NT::kPath && !pn->items.empty() &&
        (env->Lookup(pn->items[0]->value) != nullptr || FindBuiltin(pn->items[0]->value)))
      Throw("T1005", expr->position, pn->items[0]->value);
  }
  std::vector<Value> args;
  args.reserve(expr->items.size() + 1);
  if (applyto) args.push_back(*applyto);
  for (const Node* a : expr->items) args.push_back(Eval(a, input, env));
  try {
    if (builtin) return CallBuiltin(builtin, args, input, env, expr->position);
    return Apply(proc, args, input, env, expr->position);
  } catch (JError& e) {
    if (e.position < 0) e.position = expr->position;
    if (e.token.empty()) e.token = std::string(name);
    throw;
  }
}

Value Evaluator::EvalPartial(const Node* expr, const Value& input, const Ref<Frame>& env) {
  auto* f = new FuncObj();  // NOLINT: owned by Value
  Value fv = MakeFunc(f);
  f->kind = FuncObj::Kind::kPartial;
  for (const Node* a : expr->items) {
    if (a->type == NT::kPlaceholder) {
      f->args.emplace_back();
      f->holes.push_back(true);
    } else {
      f->args.push_back(Eval(a, input, env));
      f->holes.push_back(false);
    }
  }
  const Node* pn = expr->procedure;
  Value proc = Eval(pn, input, env);
  if (proc.IsUndef() && pn->type == NT::kPath && !pn->items.empty() &&
      (env->Lookup(pn->items[0]->value) != nullptr || FindBuiltin(pn->items[0]->value)))
    Throw("T1007", expr->position, pn->items[0]->value);
  if (!proc.IsFunc()) {
    std::string tok = pn->type == NT::kPath && !pn->items.empty() ? pn->items[0]->value : pn->value;
    Throw("T1008", expr->position, tok);
  }
  f->target = proc;
  return fv;
}

Value Evaluator::EvalApply(const Node* expr, const Value& input, const Ref<Frame>& env) {
  Value l = Eval(expr->lhs, input, env);
  if (expr->rhs->type == NT::kFunction) return EvalFunction(expr->rhs, input, env, &l);
  Value f = Eval(expr->rhs, input, env);
  if (!f.IsFunc()) Throw("T2006", expr->position);
  if (l.IsFunc()) {
    auto* c = new FuncObj();  // NOLINT: owned by Value
    c->kind = FuncObj::Kind::kChain;
    c->target = l;
    c->second = f;
    return MakeFunc(c);
  }
  std::vector<Value> args{l};
  return Apply(f, args, Value::Null(), env, expr->position);
}

Value Evaluator::Apply(const Value& fn, std::vector<Value>& args, const Value& input,
                       const Ref<Frame>& env, int position) {
  Value result = ApplyInner(fn, args, input, env, position);
  while (result.IsFunc() && result.func()->kind == FuncObj::Kind::kLambda &&
         result.func()->node->thunk) {
    FuncObj* t = result.func();
    const Node* call = t->node->lhs;
    Value tin = t->input;
    Ref<Frame> tenv = t->env;
    Value next;
    const Builtin* builtin = nullptr;
    if (call->procedure->type == NT::kVariable && !call->procedure->value.empty()) {
      if (const Value* v = tenv->Lookup(call->procedure->value)) {
        next = *v;
      } else {
        builtin = call->builtin;
      }
    } else {
      next = Eval(call->procedure, tin, tenv);
    }
    std::vector<Value> targs;
    targs.reserve(call->items.size());
    for (const Node* a : call->items) targs.push_back(Eval(a, tin, tenv));
    try {
      if (builtin) {
        result = CallBuiltin(builtin, targs, input, env, call->position);
      } else {
        result = ApplyInner(next, targs, input, env, call->position);
      }
    } catch (JError& e) {
      if (e.position < 0) e.position = call->position;
      if (e.token.empty()) e.token = call->procedure->value;
      throw;
    }
  }
  return result;
}

Value Evaluator::CallBuiltin(const Builtin* b, std::vector<Value>& args, const Value& input,
                             const Ref<Frame>& env, int position) {
  if (b->parsed) ValidateArgs(*b->parsed, args, input, position, b->name);
  CallCtx ctx{*this, input, env, position};
  Value r = b->fn(ctx, args);
  // What a built-in builds (not what it hands back from its arguments): the
  // slots of a new array or object. Strings are counted as they are made,
  // and functions that can produce much from little check before building.
  if (const HeapObj* h = r.heap(); h != nullptr && h->rc == 1) {
    if (r.kind() == VK::kArr) Charge(r.arr()->v.size() * kValueBytes);
    if (r.kind() == VK::kObj) Charge(r.obj()->v.size() * kObjEntryBytes);
  }
  return r;
}

Value Evaluator::ApplyInner(const Value& fn, std::vector<Value>& args, const Value& input,
                            const Ref<Frame>& env, int position) {
  if (!fn.IsFunc()) Throw("T1006", position);
  FuncObj* f = fn.func();
  switch (f->kind) {
    case FuncObj::Kind::kLambda: {
      const Node* node = f->node;
      if (node->signature) ValidateArgs(*node->signature, args, input, position, "");
      Ref<Frame> frame = NewFrame(f->env);
      bool holds_function = false;
      for (size_t i = 0; i < node->params.size(); ++i) {
        frame->vars.emplace_back(node->params[i], i < args.size() ? args[i] : Value());
        holds_function = holds_function || frame->vars.back().second.IsFunc();
      }
      if (holds_function) cyclic_.push_back(frame);
      if (node->thunk) {
        // a thunk with no frame of its own: evaluate directly
        return Eval(node->lhs, f->input, frame);
      }
      return Eval(node->lhs, f->input, frame);
    }
    case FuncObj::Kind::kBuiltin:
      return CallBuiltin(f->builtin, args, input, env, position);
    case FuncObj::Kind::kPartial: {
      std::vector<Value> full;
      size_t k = 0;
      for (size_t i = 0; i < f->args.size(); ++i) {
        if (f->holes[i]) {
          full.push_back(k < args.size() ? args[k] : Value());
          ++k;
        } else {
          full.push_back(f->args[i]);
        }
      }
      return Apply(f->target, full, input, env, position);
    }
    case FuncObj::Kind::kChain: {
      Value r = Apply(f->target, args, input, env, position);
      std::vector<Value> a2{r};
      return Apply(f->second, a2, input, env, position);
    }
    case FuncObj::Kind::kTransform: {
      Value obj = args.empty() ? Value() : args[0];
      if (args.size() > 1) Throw("T0410", position);
      return RunTransform(f, obj);
    }
    case FuncObj::Kind::kRegex: {
      // calling a regex directly returns its first match as {match, start, end, groups}
      if (args.empty() || !args[0].IsStr()) return Value();
      const std::string& s = args[0].str();
      Regex::Match m;
      if (!f->node->regex->Search(s, 0, &m)) return Value();
      Value o = NewObj();
      o.obj()->Set("match", Value::Str(s.substr(m.pos, m.len)));
      o.obj()->Set("start", Value::Num(static_cast<double>(m.pos)));
      o.obj()->Set("end", Value::Num(static_cast<double>(m.pos + m.len)));
      Value groups = NewArr();
      for (auto& g : m.groups) PushTo(groups, Value::Str(g));
      o.obj()->Set("groups", groups);
      return o;
    }
  }
  return Value();
}

Value Evaluator::Clone(const Value& v) { return ToOwned(v); }

Value Evaluator::RunTransform(const FuncObj* f, const Value& obj) {
  if (obj.IsUndef()) return obj;
  if (!obj.IsObject() && !obj.IsArray()) Throw("T0410", f->node->position);
  const Node* node = f->node;
  Value result = ToOwned(obj);
  Value matches = Eval(node->lhs, result, f->env);
  if (matches.IsUndef()) return result;
  if (!matches.IsArray()) matches = SeqOf(matches);
  for (size_t i = 0, n = ArrSize(matches); i < n; ++i) {
    Value match = ArrAt(matches, i);
    Value update = Eval(node->rhs, match, f->env);
    if (update.IsDefined()) {
      if (!update.IsObject()) Throw("T2011", node->rhs->position);
      if (match.kind() == VK::kObj)
        ObjForEach(update, [&](std::string_view k, const Value& v) { match.obj()->Set(k, v); });
    }
    if (node->third) {
      Value dels = Eval(node->third, match, f->env);
      if (dels.IsDefined()) {
        Value arr = dels.IsArray() ? dels : SeqOf(dels);
        if (!IsArrayOfStrings(arr)) Throw("T2012", node->third->position);
        if (match.kind() == VK::kObj)
          for (size_t k = 0, m = ArrSize(arr); k < m; ++k) match.obj()->Erase(ArrAt(arr, k).str());
      }
    }
  }
  return result;
}

Value Evaluator::EvalSource(const std::string& src, const Value& input, const Ref<Frame>& env) {
  std::unique_ptr<Program> prog;
  try {
    prog = ParseProgram(src);
  } catch (JError& e) {
    Throw("D3120", -1, "", e.code);
  }
  owned_.push_back(std::move(prog));
  const Node* root = owned_.back()->root;
  try {
    return Eval(root, input, env);
  } catch (JError& e) {
    if (e.budget || e.code == "U1001") throw;
    Throw("D3121", -1, "", e.code);
  }
}

}  // namespace weft::expr
