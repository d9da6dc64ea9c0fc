// libFuzzer harness: {{ }} templates of step inputs, compiled and rendered
// over a run context with small budgets.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "expr/expr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  static const weft::Json context = weft::Json::parse(R"({
    "trigger": {"type": "webhook", "body": {"id": "a-17", "items": [1, 2, 3], "name": "x"}},
    "steps": {"fetch": {"output": {"status": 200, "body": {"ok": true, "list": ["a", "b"]}}}},
    "run": {"id": "r1", "flow_id": "f1", "flow_version": 2}
  })");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)weft::expr::Template::HasExpressions(text);
  auto compiled = weft::expr::Template::Compile(text);
  auto* tpl = std::get_if<std::shared_ptr<const weft::expr::Template>>(&compiled);
  if (tpl == nullptr) return 0;
  weft::expr::EvalLimits limits;
  limits.timeout = std::chrono::milliseconds(100);
  limits.max_memory = 4 << 20;
  (void)(*tpl)->Render(context, {}, limits);
  return 0;
}
