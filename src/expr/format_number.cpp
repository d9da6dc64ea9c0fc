// $formatNumber: XPath F&O 3.1 decimal-format pictures.
#include "expr/evaluator.h"

namespace weft::expr {
Value FnFormatNumber(CallCtx&, std::vector<Value>&) { return Value(); }
}  // namespace weft::expr
