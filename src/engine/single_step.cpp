#include "engine/single_step.h"

#include <atomic>
#include <chrono>
#include <optional>

#include "common/time_format.h"
#include "core/document.h"

namespace weft {
namespace {

Json ErrorJson(const Error& e) { return {{"code", ErrorCodeName(e.code)}, {"message", e.message}}; }

std::string ExprMessage(const expr::ExprError& e) {
  std::string m = e.code + ": " + e.message;
  if (e.position >= 0) m += " (at position " + std::to_string(e.position) + ")";
  return m;
}

// Renders every {{ }} in `v` as the executor does: a string that is one
// expression with an undefined value sets *undefined (its member is dropped).
std::optional<Json> Resolve(const Json& v, const Json& scope, const expr::EvalLimits& limits,
                            Error* error, bool* undefined = nullptr) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (!expr::Template::HasExpressions(s)) return v;
    auto t = expr::Template::Compile(s);
    if (auto* e = std::get_if<expr::Template::CompileError>(&t)) {
      *error = Error(ErrorCode::kExpression, ExprMessage(e->error));
      return std::nullopt;
    }
    auto r = std::get<std::shared_ptr<const expr::Template>>(t)->Render(scope, {}, limits);
    if (!r.ok()) {
      *error = Error(ErrorCode::kExpression, ExprMessage(*r.error));
      return std::nullopt;
    }
    if (!r.value) {
      if (undefined) *undefined = true;
      return Json(nullptr);
    }
    return std::move(*r.value);
  }
  if (v.is_object()) {
    Json out = Json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      bool member_undefined = false;
      auto r = Resolve(it.value(), scope, limits, error, &member_undefined);
      if (!r) return std::nullopt;
      if (!member_undefined) out[it.key()] = std::move(*r);
    }
    return out;
  }
  if (v.is_array()) {
    Json out = Json::array();
    for (const auto& item : v) {
      auto r = Resolve(item, scope, limits, error);
      if (!r) return std::nullopt;
      out.push_back(std::move(*r));
    }
    return out;
  }
  return v;
}

expr::EvalLimits FlowLimits(const Json& settings, expr::EvalLimits limits) {
  if (!settings.is_object()) return limits;
  if (auto it = settings.find("expression_timeout"); it != settings.end() && it->is_string())
    if (auto d = ParseDuration(it->get_ref<const std::string&>()); d && d->count() > 0)
      limits.timeout = *d;
  if (auto it = settings.find("expression_memory"); it != settings.end())
    if (auto bytes = ExpressionMemory(*it)) limits.max_memory = *bytes;
  return limits;
}

}  // namespace

Result<Json> RunSingleStep(const ActionCatalog& catalog, Clock& clock, const FlowDocument& doc,
                           const std::string& step_id, const Json& scope,
                           const SingleStepOptions& options) {
  const Step* step = nullptr;
  ForEachStep(doc.steps, [&](const Step& s) {
    if (!step && s.id == step_id) step = &s;
  });
  if (!step)
    return Fail(ErrorCode::kValidation, "no such step",
                {{"step_id", "the flow has no step \"" + step_id + "\""}});
  if (step->uses == "flow.if" || step->uses == "flow.foreach" || step->uses == "flow.delay" ||
      step->uses == "flow.call") {
    return Fail(ErrorCode::kValidation, "not an action step",
                {{"step_id", "\"" + step_id + "\" is a " + step->uses +
                                 " step; only action steps can be tested alone"}});
  }

  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 started)
        .count();
  };
  Json result = {{"step_id", step_id}, {"uses", step->uses}, {"input", nullptr},
                 {"output", nullptr},  {"error", nullptr},   {"logs", Json::array()}};
  auto failed = [&](const Error& e) {
    result["status"] = "failed";
    result["error"] = ErrorJson(e);
    result["duration_ms"] = elapsed();
    return result;
  };

  expr::EvalLimits limits = FlowLimits(doc.settings, options.expr_limits);
  std::shared_ptr<Action> action = catalog.FindAction(step->uses);
  if (!action)
    return failed(Error(ErrorCode::kStepFailed, "no action \"" + step->uses + "\" in this build"));

  std::optional<Connection> connection;
  if (!step->connection.empty()) {
    if (!options.resolve_connection)
      return failed(Error(ErrorCode::kStepFailed, "connections are off on this server"));
    auto c = options.resolve_connection(step->connection);
    if (!c)
      return failed(
          Error(ErrorCode::kStepFailed, "connection \"" + step->connection + "\" does not exist"));
    if (!c->active)
      return failed(
          Error(ErrorCode::kStepFailed, "connection \"" + step->connection + "\" is inactive"));
    connection = std::move(*c);
  }

  // Inputs the catalog marks "expression" stay as written (the action evaluates them).
  const ActionSpec* spec = catalog.FindActionSpec(step->uses);
  Json with = Json::object();
  for (auto it = step->with.begin(); it != step->with.end(); ++it) {
    bool raw = false;
    if (spec)
      for (const auto& f : spec->inputs)
        if (f.name == it.key() && f.type == "expression") raw = true;
    if (raw) {
      with[it.key()] = it.value();
      continue;
    }
    Error err;
    bool undefined = false;
    auto r = Resolve(it.value(), scope, limits, &err, &undefined);
    if (!r) {
      err.message = "with." + it.key() + ": " + err.message;
      return failed(err);
    }
    if (!undefined) with[it.key()] = std::move(*r);
  }
  result["input"] = with;

  const std::string run_id = "test";
  std::atomic<bool> cancelled{false};
  Json logs = Json::array();
  Millis timeout = step->timeout ? *step->timeout : options.default_timeout;
  ActionContext ctx{
      with,
      connection ? &*connection : nullptr,
      run_id,
      step_id,
      clock,
      clock.Now() + timeout,
      cancelled,
      [&](const std::string& level, const std::string& message) {
        logs.push_back({{"at", FormatIso(clock.Now())}, {"level", level}, {"message", message}});
      },
      &scope};
  ctx.expr_limits = &limits;
  ctx.files = options.files;
  ActionOutcome out = action->Execute(ctx);
  result["logs"] = std::move(logs);
  if (out.error) return failed(*out.error);
  if (out.resume_at)
    return failed(Error(ErrorCode::kStepFailed, "the step waits; it cannot be tested alone"));
  result["status"] = "succeeded";
  result["output"] = std::move(out.output);
  result["duration_ms"] = elapsed();
  return result;
}

}  // namespace weft
