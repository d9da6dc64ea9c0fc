// One action step run alone, for the editor's "Test step": its inputs are
// resolved against sample data (a trigger and earlier steps' outputs) and its
// action is executed once. No run is created and nothing is stored: no retry,
// no rate-limit slot, no Process Log entry.
#pragma once

#include <functional>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "core/action.h"
#include "core/files.h"
#include "core/model.h"
#include "expr/expr.h"

namespace weft {

struct SingleStepOptions {
  // The connection of that name, secrets decrypted (ConnectionService::Resolve).
  std::function<Result<Connection>(const std::string& name)> resolve_connection;
  expr::EvalLimits expr_limits;  // the flow's settings override these
  FileStore* files = nullptr;
  Millis default_timeout{30'000};  // when the step sets none
};

// Runs the step `step_id` of `doc` (an action step, at any depth) with
// `scope` = {trigger, steps: {<id>: {output, status}}, run} as the context
// its expressions see. Answers {status: "succeeded"|"failed", input, output,
// error, duration_ms, logs}; a step that fails is a result, not an error.
// Errors (kValidation, path "step_id"): no such step, or a control step
// (flow.if, flow.foreach, flow.delay, flow.call).
Result<Json> RunSingleStep(const ActionCatalog& catalog, Clock& clock, const FlowDocument& doc,
                           const std::string& step_id, const Json& scope,
                           const SingleStepOptions& options);

}  // namespace weft
