// libFuzzer harness: the JSONata parser and evaluator, with small budgets so a
// runaway expression ends quickly instead of reading as a hang.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "expr/expr.h"

namespace {

const weft::Json& Input() {
  static const weft::Json doc = weft::Json::parse(R"({
    "name": "weft", "n": 3, "f": 2.5, "neg": -7, "t": true, "z": null, "s": "Hello, World",
    "a": [1, 2, 3, "x", {"b": 1}, [4, 5]],
    "o": {"k": "v", "nested": {"deep": [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]}},
    "items": [{"price": 10, "qty": 2, "tags": ["x", "y"]}, {"price": 3.5, "qty": 1, "tags": []}]
  })");
  return doc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string_view src(reinterpret_cast<const char*>(data), size);
  weft::expr::CompileResult c = weft::expr::Expression::Compile(src);
  if (!c.expression) return 0;
  weft::expr::EvalLimits limits;
  limits.timeout = std::chrono::milliseconds(100);
  limits.max_memory = 4 << 20;
  (void)c.expression->Evaluate(Input(), {{"x", weft::Json("bound")}}, limits);
  return 0;
}
