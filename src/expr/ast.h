// The JSONata syntax tree, produced by the parser and post-processed into
// paths, stages and tuple steps. A Program owns all its nodes; a compiled
// Program is immutable and shared by concurrent evaluations.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "expr/expr.h"
#include "expr/regex.h"

namespace weft::expr {

enum class NT {
  kPath,
  kBinary,
  kNeg,     // unary minus
  kArray,   // array constructor
  kObject,  // object constructor
  kName,
  kString,
  kNumber,
  kValue,  // true / false / null
  kWildcard,
  kDescendant,
  kParent,
  kCondition,
  kBlock,
  kBind,
  kRegex,
  kFunction,
  kPartial,
  kVariable,
  kLambda,
  kApply,
  kTransform,
  kSort,
  kPlaceholder,  // '?' in a partial application
  kOperator,     // and/or/in used where a name is expected (raw tree only)
  kGroupRaw,     // raw tree: lhs{pairs}
  kSortRaw,      // raw tree: lhs^(terms)
  kFocusRaw,     // raw tree: lhs@$v
  kIndexRaw,     // raw tree: lhs#$v
  kFilterRaw,    // raw tree: lhs[rhs]
  kDotRaw,       // raw tree: lhs.rhs
  kEndRaw,       // raw tree: end of source where an operand was expected
};

enum class Op {
  kNone,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kConcat,
  kAnd,
  kOr,
  kIn,
  kRange,
  kCoalesce,
  kElvis
};

struct Builtin;

struct Slot {
  std::string label;
  int level = 1;
  int index = 0;
};

struct Node;

struct Stage {
  bool is_index = false;  // otherwise a filter
  Node* expr = nullptr;
  std::string index_name;
  int position = 0;
};

struct Group {
  std::vector<std::pair<Node*, Node*>> pairs;
  int position = 0;
};

struct SortTerm {
  Node* expr = nullptr;
  bool descending = false;
};

struct Param {          // one parameter of a signature
  std::string chars;    // accepted symbols (m = undefined)
  char type = 0;        // a b n s l o f j x or '(' for a choice
  std::string subtype;  // for a<...> / f<...>
  char quant = 0;       // 0, '?', '+'
  bool context = false;
};

struct Signature {
  std::vector<Param> params;
  std::string text;
};

struct Node {
  NT type;
  int position = 0;
  Op op = Op::kNone;
  std::string value;  // name, string, variable, operator text
  double num = 0;
  int literal = 0;  // kValue: 0 null, 1 false, 2 true
  Node* lhs = nullptr;
  Node* rhs = nullptr;
  Node* third = nullptr;     // condition else / transform delete
  std::vector<Node*> items;  // path steps, array/block expressions, call arguments
  Node* procedure = nullptr;
  std::vector<std::pair<Node*, Node*>> pairs;  // object constructor
  std::unique_ptr<Group> group;
  std::vector<Stage> predicate;
  std::vector<Stage> stages;
  std::vector<SortTerm> terms;
  std::vector<std::string> params;  // lambda parameters (without $)
  std::unique_ptr<Signature> signature;
  std::shared_ptr<const Regex> regex;
  bool keep_array = false;
  bool consarray = false;
  bool keep_singleton_array = false;
  bool tuple = false;
  bool thunk = false;
  bool has_focus = false;
  std::string focus;
  bool has_index = false;
  std::string index;
  Slot* ancestor = nullptr;
  Slot* slot = nullptr;
  std::vector<Slot*> seeking_parent;
  bool has_seeking = false;
  const Builtin* builtin = nullptr;  // kFunction: the library function its name denotes
};

// A parsed and processed expression with the storage for its nodes.
struct Program {
  std::vector<std::unique_ptr<Node>> nodes;
  std::vector<std::unique_ptr<Slot>> slots;
  Node* root = nullptr;
  Node* NewNode(NT t, int pos) {
    nodes.push_back(std::make_unique<Node>());
    nodes.back()->type = t;
    nodes.back()->position = pos;
    return nodes.back().get();
  }
};

// Thrown inside the module only; converted to ExprError at the API boundary.
struct JError {
  std::string code;
  int position = -1;
  std::string token;
  std::string detail;
  bool budget = false;  // a limit of time, memory or cancellation: the evaluator fills in position
};

// Parses and post-processes; throws JError on a syntax error.
std::unique_ptr<Program> ParseProgram(std::string_view source);

// Parses a function signature such as "<n-n?:n>"; throws JError.
std::unique_ptr<Signature> ParseSignature(const std::string& text, int position);

}  // namespace weft::expr
