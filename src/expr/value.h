// The evaluator's value type: a 16-byte tagged value that either borrows a node
// of the input document (no copy) or owns a heap object with an intrusive,
// non-atomic reference count. Values live only inside one Evaluate call, on
// one thread; nothing here is shared between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"
#include "expr/budget.h"

namespace weft::expr {

struct Node;
struct Frame;
class Value;

struct HeapObj {
  int rc = 0;
  virtual ~HeapObj() = default;
};

// Deletes an object whose count reached zero. Nested objects are released
// iteratively, so a deeply nested value cannot overflow the stack.
void ReleaseHeap(HeapObj* h);

// Intrusive pointer over HeapObj-derived types.
template <typename T>
class Ref {
 public:
  Ref() = default;
  explicit Ref(T* p) : p_(p) {
    if (p_) ++p_->rc;
  }
  Ref(const Ref& o) : p_(o.p_) {
    if (p_) ++p_->rc;
  }
  Ref(Ref&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  Ref& operator=(Ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~Ref() { Release(); }
  T* get() const { return p_; }
  T* operator->() const { return p_; }
  T& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  void Release() {
    if (p_ && --p_->rc == 0) ReleaseHeap(p_);
  }
  T* p_ = nullptr;
};

template <typename T, typename... A>
Ref<T> MakeRef(A&&... a) {
  return Ref<T>(new T(std::forward<A>(a)...));  // NOLINT: owned by Ref
}

enum class VK : uint8_t { kUndef, kNull, kBool, kNum, kStr, kJArr, kJObj, kArr, kObj, kFunc };

struct StrObj;
struct ArrObj;
struct ObjObj;
struct FuncObj;

class Value {
 public:
  Value() : kind_(VK::kUndef), owned_(false) { u_.num = 0; }
  static Value Null() {
    Value v;
    v.kind_ = VK::kNull;
    return v;
  }
  static Value Bool(bool b) {
    Value v;
    v.kind_ = VK::kBool;
    v.u_.b = b;
    return v;
  }
  static Value Num(double d) {
    Value v;
    v.kind_ = VK::kNum;
    v.u_.num = d;
    return v;
  }
  // Borrows: the string must outlive the evaluation.
  static Value StrRef(const std::string* s) {
    Value v;
    v.kind_ = VK::kStr;
    v.u_.sref = s;
    return v;
  }
  static Value Str(std::string s);         // counts the text against the evaluation's budget
  static Value StrCounted(std::string s);  // the caller charged for the text before building it
  static Value FromJson(const Json& j);    // borrows containers and strings
  static Value Heap(VK kind, HeapObj* h) {
    Value v;
    v.kind_ = kind;
    v.owned_ = true;
    v.u_.heap = h;
    ++h->rc;
    return v;
  }

  Value(const Value& o) : kind_(o.kind_), owned_(o.owned_), u_(o.u_) {
    if (owned_) ++u_.heap->rc;
  }
  Value(Value&& o) noexcept : kind_(o.kind_), owned_(o.owned_), u_(o.u_) {
    o.kind_ = VK::kUndef;
    o.owned_ = false;
  }
  Value& operator=(const Value& o) {
    Value t(o);
    Swap(t);
    return *this;
  }
  Value& operator=(Value&& o) noexcept {
    Value t(std::move(o));
    Swap(t);
    return *this;
  }
  ~Value() {
    if (owned_ && --u_.heap->rc == 0) ReleaseHeap(u_.heap);
  }
  void Swap(Value& o) noexcept {
    std::swap(kind_, o.kind_);
    std::swap(owned_, o.owned_);
    std::swap(u_, o.u_);
  }

  VK kind() const { return kind_; }
  // The owned heap object, or null for borrowed and scalar values.
  const HeapObj* heap() const { return owned_ ? u_.heap : nullptr; }
  bool IsUndef() const { return kind_ == VK::kUndef; }
  bool IsDefined() const { return kind_ != VK::kUndef; }
  bool IsNull() const { return kind_ == VK::kNull; }
  bool IsBool() const { return kind_ == VK::kBool; }
  bool IsNum() const { return kind_ == VK::kNum; }
  bool IsStr() const { return kind_ == VK::kStr; }
  bool IsArray() const { return kind_ == VK::kArr || kind_ == VK::kJArr; }
  bool IsObject() const { return kind_ == VK::kObj || kind_ == VK::kJObj; }
  bool IsFunc() const { return kind_ == VK::kFunc; }
  bool b() const { return u_.b; }
  double num() const { return u_.num; }
  const std::string& str() const;
  const Json& json() const { return *u_.jref; }
  ArrObj* arr() const { return reinterpret_cast<ArrObj*>(u_.heap); }
  ObjObj* obj() const { return reinterpret_cast<ObjObj*>(u_.heap); }
  FuncObj* func() const { return reinterpret_cast<FuncObj*>(u_.heap); }
  // Sequence flags (only owned arrays carry them).
  bool IsSequence() const;
  bool IsTupleStream() const;

 private:
  friend struct ValueAccess;
  VK kind_;
  bool owned_;
  union U {
    bool b;
    double num;
    const std::string* sref;
    const Json* jref;
    HeapObj* heap;
  } u_;
};

struct StrObj : HeapObj {
  explicit StrObj(std::string v) : s(std::move(v)) {}
  std::string s;
};

struct ArrObj : HeapObj {
  std::vector<Value> v;
  bool sequence = false;
  bool keep_singleton = false;
  bool cons = false;
  bool outer_wrapper = false;
  bool tuple_stream = false;
};

struct ObjObj : HeapObj {
  std::vector<std::pair<std::string, Value>> v;
  Value* Find(std::string_view k) {
    for (auto& e : v)
      if (e.first == k) return &e.second;
    return nullptr;
  }
  void Set(std::string_view k, Value val) {
    if (Value* p = Find(k)) {
      *p = std::move(val);
      return;
    }
    v.emplace_back(std::string(k), std::move(val));
  }
  void Erase(std::string_view k) {
    for (auto it = v.begin(); it != v.end(); ++it)
      if (it->first == k) {
        v.erase(it);
        return;
      }
  }
};

struct Builtin;
struct Signature;

struct FuncObj : HeapObj {
  enum class Kind { kLambda, kBuiltin, kPartial, kRegex, kChain, kTransform };
  Kind kind = Kind::kLambda;
  const Node* node = nullptr;  // lambda / regex / transform node
  Ref<Frame> env;              // closure
  Value input;                 // closure context
  const Builtin* builtin = nullptr;
  Value target;             // partial: the function; chain: first function
  Value second;             // chain: second function
  std::vector<Value> args;  // partial: bound args
  std::vector<bool> holes;  // partial: placeholder positions
  int Arity() const;
};

inline Value Value::Str(std::string s) {
  Charge(s.size() + kStringBytes);
  return Heap(VK::kStr, new StrObj(std::move(s)));  // NOLINT: owned by Value
}
inline Value Value::StrCounted(std::string s) {
  Charge(kStringBytes);
  return Heap(VK::kStr, new StrObj(std::move(s)));  // NOLINT: owned by Value
}

inline const std::string& Value::str() const {
  return owned_ ? static_cast<StrObj*>(u_.heap)->s : *u_.sref;
}

inline bool Value::IsSequence() const { return kind_ == VK::kArr && arr()->sequence; }
inline bool Value::IsTupleStream() const { return kind_ == VK::kArr && arr()->tuple_stream; }

inline Value Value::FromJson(const Json& j) {
  Value v;
  switch (j.type()) {
    case Json::value_t::null:
      v.kind_ = VK::kNull;
      break;
    case Json::value_t::boolean:
      v.kind_ = VK::kBool;
      v.u_.b = j.get_ref<const Json::boolean_t&>();
      break;
    case Json::value_t::number_integer:
      v.kind_ = VK::kNum;
      v.u_.num = static_cast<double>(j.get_ref<const Json::number_integer_t&>());
      break;
    case Json::value_t::number_unsigned:
      v.kind_ = VK::kNum;
      v.u_.num = static_cast<double>(j.get_ref<const Json::number_unsigned_t&>());
      break;
    case Json::value_t::number_float:
      v.kind_ = VK::kNum;
      v.u_.num = j.get_ref<const Json::number_float_t&>();
      break;
    case Json::value_t::string:
      v.kind_ = VK::kStr;
      v.u_.sref = &j.get_ref<const std::string&>();
      break;
    case Json::value_t::array:
      v.kind_ = VK::kJArr;
      v.u_.jref = &j;
      break;
    case Json::value_t::object:
      v.kind_ = VK::kJObj;
      v.u_.jref = &j;
      break;
    default:
      break;
  }
  return v;
}

// Array helpers that work for borrowed and owned arrays.
inline size_t ArrSize(const Value& a) {
  return a.kind() == VK::kArr ? a.arr()->v.size() : a.json().size();
}
inline Value ArrAt(const Value& a, size_t i) {
  return a.kind() == VK::kArr ? a.arr()->v[i] : Value::FromJson(a.json()[i]);
}

inline Value NewArr(bool sequence = false) {
  Charge(sizeof(ArrObj));
  auto* a = new ArrObj();  // NOLINT: owned by Value
  a->sequence = sequence;
  return Value::Heap(VK::kArr, a);
}
inline Value NewObj() {
  Charge(sizeof(ObjObj));
  return Value::Heap(VK::kObj, new ObjObj());  // NOLINT: owned by Value
}

// Object helpers.
inline Value ObjGet(const Value& o, std::string_view k) {
  if (o.kind() == VK::kObj) {
    Value* p = o.obj()->Find(k);
    return p ? *p : Value();
  }
  if (o.kind() != VK::kJObj) return Value();
  const Json& j = o.json();
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() == k) return Value::FromJson(it.value());
  return Value();
}
template <typename F>
void ObjForEach(const Value& o, F&& f) {
  if (o.kind() == VK::kObj) {
    for (auto& e : o.obj()->v) f(std::string_view(e.first), e.second);
  } else {
    const Json& j = o.json();
    for (auto it = j.begin(); it != j.end(); ++it)
      f(std::string_view(it.key()), Value::FromJson(it.value()));
  }
}
inline size_t ObjSize(const Value& o) {
  return o.kind() == VK::kObj ? o.obj()->v.size() : o.json().size();
}

}  // namespace weft::expr
