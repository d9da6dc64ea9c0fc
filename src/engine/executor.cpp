#include "engine/executor.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/time_format.h"
#include "core/document.h"
#include "core/rate_limit.h"
#include "expr/expr.h"

namespace weft {

// A flow version parsed once, with its templates compiled on first use.
class CompiledFlow {
 public:
  explicit CompiledFlow(FlowDocument doc) : doc_(std::move(doc)) {}
  const FlowDocument& doc() const { return doc_; }

  // The compiled template for `text`, or the compile error.
  std::variant<std::shared_ptr<const expr::Template>, expr::ExprError> TemplateFor(
      const std::string& text) const {
    std::lock_guard<std::mutex> g(mu_);
    auto it = templates_.find(text);
    if (it != templates_.end()) return it->second;
    auto compiled = expr::Template::Compile(text);
    if (auto* err = std::get_if<expr::Template::CompileError>(&compiled)) return err->error;
    auto t = std::get<std::shared_ptr<const expr::Template>>(compiled);
    templates_.emplace(text, t);
    return t;
  }

 private:
  FlowDocument doc_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, std::shared_ptr<const expr::Template>> templates_;
};

namespace {

bool Truthy(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return false;
    case Json::value_t::boolean:
      return v.get<bool>();
    case Json::value_t::string:
      return !v.get_ref<const std::string&>().empty();
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return v.get<double>() != 0;
    case Json::value_t::array:
      return std::any_of(v.begin(), v.end(), [](const Json& x) { return Truthy(x); });
    case Json::value_t::object:
      return !v.empty();
    default:
      return true;
  }
}

// Built-in utilities with no effect outside the run: re-running one after a
// crash changes nothing, so its step is never committed as "running", and
// its result waits for the next write the run needs anyway (see Commit): a
// run of them alone writes its claim and its end, nothing between.
bool SideEffectFree(const std::string& uses) {
  return uses == "data.set" || uses == "data.transform" || uses == "log.write" ||
         uses == "webhook.respond";
}

// A step record whose commit may wait: a side-effect-free utility's, or a
// skipped step's (nothing ran). Losing it to a crash only means the step is
// evaluated again on resume; nothing outside the run saw it.
bool Deferrable(const StepRun& r) {
  return SideEffectFree(r.uses) || r.status == StepStatus::kSkipped;
}

Json ErrorJson(const Error& e, const std::string& step = "") {
  Json j = {{"code", ErrorCodeName(e.code)}, {"message", e.message}};
  if (!step.empty()) j["step"] = step;
  return j;
}

// The budgets of an evaluation in this flow: settings.expression_timeout and
// settings.expression_memory (validated when the flow was saved), else the
// engine's (--expr-timeout, --expr-memory).
expr::EvalLimits ExprLimits(const Json& settings, const EngineOptions& options) {
  expr::EvalLimits limits;
  limits.timeout = options.expr_timeout;
  limits.max_memory = options.expr_memory;
  if (!settings.is_object()) return limits;
  if (auto it = settings.find("expression_timeout"); it != settings.end() && it->is_string())
    if (auto d = ParseDuration(it->get_ref<const std::string&>()); d && d->count() > 0)
      limits.timeout = *d;
  if (auto it = settings.find("expression_memory"); it != settings.end())
    if (auto bytes = ExpressionMemory(*it)) limits.max_memory = *bytes;
  return limits;
}

std::string ExprMessage(const expr::ExprError& e) {
  std::string m = e.code + ": " + e.message;
  if (e.position >= 0) m += " (at position " + std::to_string(e.position) + ")";
  return m;
}

// The state of one Execute call.
class RunExecution {
 public:
  enum class Kind { kOk, kFailed, kSuspended, kCancelled, kHandedBack };
  struct Outcome {
    Kind kind = Kind::kOk;
    Json output;  // last step output (kOk)
    bool has_output = false;
    Error error;  // kFailed
    std::string failed_step;
    TimePoint resume_at{};    // kSuspended
    std::string waiting_for;  // kSuspended by flow.call: the called run
  };

  RunExecution(Run run, const CompiledFlow& flow, Store& store, const ActionCatalog& catalog,
               ChangeHub& hub, Clock& clock, const EngineOptions& options,
               const std::atomic<bool>& cancelled, const std::atomic<bool>& stopping)
      : run_(std::move(run)),
        flow_(flow),
        store_(store),
        catalog_(catalog),
        hub_(hub),
        clock_(clock),
        options_(options),
        cancelled_(cancelled),
        stopping_(stopping) {
    expr_limits_ = ExprLimits(flow_.doc().settings, options_);
    // Shutdown never waits for an evaluation: it ends at its next check and
    // the run is handed back (a step whose inputs were being rendered had not started).
    expr_limits_.cancel = &stopping_;
    for (auto& s : run_.steps) {
      next_seq_ = std::max(next_seq_, s.seq + 1);
      records_.emplace(s.path, std::move(s));
    }
    run_.steps.clear();
    ctx_ = Json::object();
    ctx_["trigger"] = run_.trigger;
    // A manual run's "Run to here" (POST /flows/{id}/runs until_step): the
    // run ends, succeeded, after that top-level step. Not part of `trigger`.
    // Only a run started by hand has one (a webhook body or a parent flow's
    // input never decides where a run ends).
    if (run_.trigger_type == "manual" && run_.trigger.is_object() &&
        run_.trigger.contains("until_step")) {
      until_step_ = GetString(run_.trigger, "until_step");
      ctx_["trigger"].erase("until_step");
    }
    ctx_["steps"] = Json::object();
    ctx_["run"] = {
        {"id", run_.id},
        {"flow_id", run_.flow_id},
        {"flow_version", run_.flow_version},
        {"started_at", run_.started_at ? FormatIso(*run_.started_at) : FormatIso(clock_.Now())}};
  }

  Outcome Execute() { return ExecList(flow_.doc().steps, "", ctx_, until_step_); }

  // settings.timeout: past `deadline` the running step is cancelled (its
  // action's deadline is capped, a waiting delay or retry is woken) and the
  // run fails with a timeout error. `limit` is the setting as written.
  void SetDeadline(TimePoint deadline, std::string limit) {
    deadline_ = deadline;
    deadline_limit_ = std::move(limit);
  }

  // The run's "running" header, not committed yet: it is committed just
  // before the first step record of anything but a side-effect-free utility,
  // so a run made of those alone goes from queued to its end in one write.
  void DeferStart(::weft::Run header) { pending_header_ = std::move(header); }

  // The step results not committed yet (Commit), for the caller to write
  // with the run's end or hand-back (Store::SaveRun). Call after Execute.
  std::vector<StepRun> TakePending() {
    std::lock_guard<std::mutex> g(commit_mu_);
    pending_header_.reset();  // the caller writes the whole run
    return std::exchange(pending_steps_, {});
  }

 private:
  // Thread-safe: iterations of a concurrent flow.foreach call it at once (each
  // on its own paths; map nodes stay put, so the reference stays valid).
  StepRun& Record(const Step& step, const std::string& path) {
    std::lock_guard<std::mutex> g(records_mu_);
    auto it = records_.find(path);
    if (it != records_.end()) return it->second;
    StepRun r;
    r.run_id = run_.id;
    r.path = path;
    r.step_id = step.id;
    r.uses = step.uses;
    r.seq = next_seq_++;
    return records_.emplace(path, std::move(r)).first->second;
  }

  // Commits a step record. A deferrable one (a side-effect-free utility's,
  // or a skipped step's) is only kept, and written in one transaction with
  // the next record that is not (before that step starts, so a step with
  // effects never starts before the results it may read are durable), or by
  // Execute's caller with the run's end (TakePending). The run's deferred
  // "running" header goes in the same transaction.
  bool Commit(const StepRun& r) {
    if (Deferrable(r)) {
      std::lock_guard<std::mutex> g(commit_mu_);  // foreach lanes commit at once
      auto same = std::find_if(pending_steps_.begin(), pending_steps_.end(),
                               [&](const StepRun& p) { return p.path == r.path; });
      if (same != pending_steps_.end())
        *same = r;
      else
        pending_steps_.push_back(r);
    } else if (!Write(r)) {
      return false;
    }
    if ((r.status == StepStatus::kSucceeded || r.status == StepStatus::kFailed) && r.started_at &&
        r.finished_at && metrics::Enabled()) {
      // `uses` is a catalog name (validated at save), so the label set is bounded.
      metrics::Weft().step_duration.With({r.uses}).ObserveDuration(*r.finished_at - *r.started_at);
    }
    return true;
  }

  // Writes `r` with the pending header and step results, in one transaction.
  // On failure they stay pending (the run's end writes them anyway) and the
  // step goes on, as it would after a failed write of its own record.
  bool Write(const StepRun& r) {
    std::unique_lock<std::mutex> g(commit_mu_);
    Result<void> saved;
    if (!pending_header_ && pending_steps_.empty()) {
      g.unlock();
      saved = store_.SaveStepRun(r);
    } else {
      pending_steps_.push_back(r);
      saved = store_.SaveRun(pending_header_ ? &*pending_header_ : nullptr, pending_steps_);
      pending_steps_.pop_back();
      if (saved) {
        pending_header_.reset();
        pending_steps_.clear();
      }
    }
    if (!saved) {
      log::Error("could not save step result",
                 {{"run", run_.id}, {"step", r.path}, {"error", saved.error().message}});
      return false;
    }
    hub_.RunProgressed(run_.id);
    return true;
  }

  void Publish(Json& scope, const StepRun& r) {
    scope["steps"][r.step_id] = {{"output", r.output}, {"status", ToString(r.status)}};
    if (!r.error.is_null()) scope["steps"][r.step_id]["error"] = r.error;
  }

  Outcome Failed(Error e, const std::string& step) {
    Outcome o;
    o.kind = Kind::kFailed;
    o.error = std::move(e);
    o.failed_step = step;
    return o;
  }

  // Renders every {{ }} in `v` against `scope`. A string that is one
  // expression whose value is undefined sets *undefined (its member is left
  // out of an object). Inputs the catalog marks "expression" stay as written.
  std::optional<Json> Resolve(const Json& v, const Json& scope, Error* error,
                              bool* undefined = nullptr) {
    if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      if (!expr::Template::HasExpressions(s)) return v;
      auto t = flow_.TemplateFor(s);
      if (auto* e = std::get_if<expr::ExprError>(&t)) {
        *error = Error(ErrorCode::kExpression, ExprMessage(*e));
        return std::nullopt;
      }
      auto r = std::get<std::shared_ptr<const expr::Template>>(t)->Render(scope, {}, expr_limits_);
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
        auto r = Resolve(it.value(), scope, error, &member_undefined);
        if (!r) return std::nullopt;
        if (!member_undefined) out[it.key()] = std::move(*r);
      }
      return out;
    }
    if (v.is_array()) {
      Json out = Json::array();
      for (const auto& item : v) {
        auto r = Resolve(item, scope, error);
        if (!r) return std::nullopt;
        out.push_back(std::move(*r));
      }
      return out;
    }
    return v;
  }

  std::optional<Json> ResolveWith(const Step& step, const Json& scope, Error* error) {
    const ActionSpec* spec = catalog_.FindActionSpec(step.uses);
    Json out = Json::object();
    for (auto it = step.with.begin(); it != step.with.end(); ++it) {
      bool raw = false;
      if (spec)
        for (const auto& f : spec->inputs)
          if (f.name == it.key() && f.type == "expression") raw = true;
      if (raw) {
        out[it.key()] = it.value();
        continue;
      }
      bool undefined = false;
      auto r = Resolve(it.value(), scope, error, &undefined);
      if (!r) return std::nullopt;
      if (!undefined) out[it.key()] = std::move(*r);
    }
    return out;
  }

  void MarkSkipped(const std::vector<Step>& steps, const std::string& prefix, Json& scope) {
    for (const auto& s : steps) {
      std::string path = prefix + s.id;
      StepRun& r = Record(s, path);
      if (IsTerminal(r.status)) continue;
      r.status = StepStatus::kSkipped;
      r.finished_at = clock_.Now();
      Commit(r);
      Publish(scope, r);
      MarkSkipped(s.then_steps, path + ".", scope);
      MarkSkipped(s.else_steps, path + ".", scope);
    }
  }

  bool CancelRequested() { return cancelled_.load(); }
  // A raised cancel flag while the engine stops may be the engine
  // interrupting a step past its stop grace period (engine.cpp): the run is
  // handed back, and a cancel the user asked for is still in the store, so
  // the next worker to claim the run finishes it as cancelled.
  Outcome Interrupted() const {
    return Outcome{stopping_.load() ? Kind::kHandedBack : Kind::kCancelled};
  }

  bool PastDeadline(TimePoint now) const { return deadline_ && now >= *deadline_; }
  TimePoint Cap(TimePoint t) const { return deadline_ ? std::min(t, *deadline_) : t; }
  Error TimeoutError() const {
    return Error(ErrorCode::kTimeout, "the run took longer than its timeout of " + deadline_limit_ +
                                          " (settings.timeout); the step was cancelled");
  }

  // Runs `steps` in order; with `until` set, none after the step of that id.
  Outcome ExecList(const std::vector<Step>& steps, const std::string& prefix, Json& scope,
                   const std::string& until = "") {
    Outcome last;
    for (const auto& step : steps) {
      if (CancelRequested()) return Interrupted();
      if (stopping_.load()) return Outcome{Kind::kHandedBack};
      Outcome o = ExecStep(step, prefix + step.id, scope);
      switch (o.kind) {
        case Kind::kOk:
          if (o.has_output) last = std::move(o);
          break;
        case Kind::kFailed:
          // A run past its timeout stops, on_error: continue or not.
          if (step.on_error == OnError::kContinue &&
              !(deadline_ && o.error.code == ErrorCode::kTimeout))
            break;
          return o;
        default:
          return o;
      }
      if (!until.empty() && step.id == until) break;
    }
    last.kind = Kind::kOk;
    return last;
  }

  Outcome Done(StepRun& r, Json& scope) {
    Publish(scope, r);
    Outcome o;
    if (r.status == StepStatus::kFailed) {
      Error e(ErrorCode::kStepFailed, GetString(r.error, "message", "step failed"));
      return Failed(e, r.path);
    }
    if (r.status == StepStatus::kSucceeded) {
      o.output = r.output;
      o.has_output = true;
    }
    return o;
  }

  // Inputs that could not be rendered fail the step, unless the engine is
  // stopping (the evaluation was cancelled for it): the run is handed back.
  Outcome ResolveFailed(StepRun& r, const Error& err, Json& scope) {
    if (stopping_.load()) return Outcome{Kind::kHandedBack};
    return FailStep(r, err, scope);
  }

  Outcome FailStep(StepRun& r, const Error& e, Json& scope) {
    r.status = StepStatus::kFailed;
    r.error = ErrorJson(e);
    r.finished_at = clock_.Now();
    r.wake_at.reset();
    Commit(r);
    Publish(scope, r);
    log::Info("step failed", {{"run", run_.id}, {"step", r.path}, {"error", e.message}});
    return Failed(e, r.path);
  }

  Outcome Succeed(StepRun& r, Json output, Json& scope) {
    size_t size = output.is_null() ? 0 : output.dump().size();
    if (size > options_.max_step_output) {
      return FailStep(
          r,
          Error(ErrorCode::kStepFailed,
                "the step's output is " + std::to_string(size) + " bytes, over the limit of " +
                    std::to_string(options_.max_step_output) + " bytes (--max-step-output)"),
          scope);
    }
    r.status = StepStatus::kSucceeded;
    r.output = std::move(output);
    r.error = nullptr;
    r.finished_at = clock_.Now();
    r.wake_at.reset();
    Commit(r);
    return Done(r, scope);
  }

  void Start(StepRun& r, bool commit) {
    if (!r.started_at) r.started_at = clock_.Now();
    r.status = StepStatus::kRunning;
    if (commit) Commit(r);
  }

  Outcome ExecStep(const Step& step, const std::string& path, Json& scope) {
    StepRun& r = Record(step, path);
    if (IsTerminal(r.status)) return Done(r, scope);
    // Past settings.timeout: a step that has not started is not started; one
    // that has (a waiting delay, retry or call) is failed. Containers pass the
    // check on to the steps inside them.
    if (PastDeadline(clock_.Now()) && step.uses != "flow.if" && step.uses != "flow.foreach") {
      if (r.status == StepStatus::kPending) return Failed(TimeoutError(), path);
      CancelCalledRun(step, r);
      return FailStep(r, TimeoutError(), scope);
    }

    if (!step.if_expr.empty() && r.status == StepStatus::kPending) {
      Error err;
      auto v = Resolve(Json(step.if_expr), scope, &err);
      if (!v) return ResolveFailed(r, err, scope);
      if (!Truthy(*v)) {
        r.status = StepStatus::kSkipped;
        r.finished_at = clock_.Now();
        Commit(r);
        Publish(scope, r);
        MarkSkipped(step.then_steps, path + ".", scope);
        MarkSkipped(step.else_steps, path + ".", scope);
        return Outcome{};
      }
    }

    if (step.uses == "flow.if") return ExecIf(step, r, path, scope);
    if (step.uses == "flow.foreach") return ExecForeach(step, r, path, scope);
    if (step.uses == "flow.delay") return ExecDelay(step, r, scope);
    if (step.uses == "flow.call") return ExecCall(step, r, scope);
    return ExecAction(step, r, scope);
  }

  Outcome ExecIf(const Step& step, StepRun& r, const std::string& path, Json& scope) {
    bool branch;
    if (r.state.is_object() && r.state.contains("branch")) {
      branch = r.state["branch"] == "then";
    } else {
      Error err;
      auto with = ResolveWith(step, scope, &err);
      if (!with) return ResolveFailed(r, err, scope);
      branch = Truthy(with->value("condition", Json(nullptr)));
      r.input = *with;
      r.state = {{"branch", branch ? "then" : "else"}};
      Start(r, true);
      log::Debug("branch taken",
                 {{"run", run_.id}, {"step", path}, {"branch", branch ? "then" : "else"}});
    }
    MarkSkipped(branch ? step.else_steps : step.then_steps, path + ".", scope);
    Outcome o = ExecList(branch ? step.then_steps : step.else_steps, path + ".", scope);
    if (o.kind == Kind::kFailed) {
      r.status = StepStatus::kFailed;
      r.error = ErrorJson(o.error, o.failed_step);
      r.finished_at = clock_.Now();
      Commit(r);
      Publish(scope, r);
      return o;
    }
    if (o.kind != Kind::kOk) return o;
    Json output = {{"branch", branch ? "then" : "else"},
                   {"result", o.has_output ? o.output : Json(nullptr)}};
    return Succeed(r, std::move(output), scope);
  }

  Outcome ExecForeach(const Step& step, StepRun& r, const std::string& path, Json& scope) {
    Json items;
    if (r.state.is_object() && r.state.contains("items")) {
      items = r.state["items"];
    } else {
      Error err;
      auto with = ResolveWith(step, scope, &err);
      if (!with) return ResolveFailed(r, err, scope);
      items = with->value("items", Json(nullptr));
      if (items.is_null()) items = Json::array();
      if (!items.is_array()) items = Json::array({items});  // a single value is a list of one
      r.input = *with;
      r.state = {{"items", items}};
      Start(r, true);
    }
    int concurrency = 1;
    if (auto c = r.input.find("concurrency"); c != r.input.end() && c->is_number())
      concurrency = std::clamp(c->get<int>(), 1, 64);
    // Each iteration sees the scope as it was before the loop plus its own
    // item, index and step outputs; up to `concurrency` run at once.
    std::vector<Outcome> results(items.size());
    const bool had_item = scope.contains("item");
    const Json saved_item = had_item ? scope["item"] : Json();
    const Json saved_index = had_item ? scope["index"] : Json();
    auto iterate = [&](size_t i, Json& iteration_scope) {
      iteration_scope["item"] = items[i];
      iteration_scope["index"] = i;
      results[i] = ExecList(step.do_steps, path + "[" + std::to_string(i) + "].", iteration_scope);
    };
    Json outputs = Json::array();
    Outcome result;
    for (size_t base = 0; base < items.size() && result.kind == Kind::kOk; base += concurrency) {
      size_t end = std::min(items.size(), base + concurrency);
      if (end - base == 1) {
        iterate(base, scope);  // one at a time: the scope itself, no copy
      } else {
        std::vector<Json> scopes(end - base, scope);
        std::vector<std::thread> lanes;
        for (size_t i = base; i < end; ++i)
          lanes.emplace_back([&, i] { iterate(i, scopes[i - base]); });
        for (auto& t : lanes) t.join();
        scope["steps"] = std::move(scopes.back()["steps"]);
      }
      for (size_t i = base; i < end; ++i) {
        if (results[i].kind != Kind::kOk) {
          result = results[i];
          break;
        }
        outputs.push_back(results[i].has_output ? results[i].output : Json(nullptr));
      }
      // Several lanes suspended (waiting for rate-limit slots, retries): the
      // run resumes at the earliest, not at the first lane's.
      if (result.kind == Kind::kSuspended && result.waiting_for.empty())
        for (size_t i = base; i < end; ++i)
          if (results[i].kind == Kind::kSuspended && results[i].waiting_for.empty())
            result.resume_at = std::min(result.resume_at, results[i].resume_at);
    }
    if (had_item) {
      scope["item"] = saved_item;
      scope["index"] = saved_index;
    } else {
      scope.erase("item");
      scope.erase("index");
    }
    if (result.kind == Kind::kFailed) {
      r.status = StepStatus::kFailed;
      r.error = ErrorJson(result.error, result.failed_step);
      r.finished_at = clock_.Now();
      Commit(r);
      Publish(scope, r);
      return result;
    }
    if (result.kind != Kind::kOk) return result;
    return Succeed(r, std::move(outputs), scope);
  }

  Outcome ExecDelay(const Step& step, StepRun& r, Json& scope) {
    TimePoint now = clock_.Now();
    if (!r.wake_at) {
      Error err;
      auto with = ResolveWith(step, scope, &err);
      if (!with) return ResolveFailed(r, err, scope);
      Json d = with->value("duration", Json(nullptr));
      std::optional<Millis> ms = d.is_string() ? ParseDuration(d.get<std::string>()) : std::nullopt;
      if (d.is_number()) ms = Millis(static_cast<int64_t>(d.get<double>() * 1000));
      if (!ms)
        return FailStep(r,
                        Error(ErrorCode::kValidation,
                              "duration \"" + d.dump() + "\" is not a duration such as \"30s\""),
                        scope);
      r.input = *with;
      r.wake_at = now + *ms;
      r.attempts = 1;
      Start(r, true);
    }
    if (now >= *r.wake_at) {
      TimePoint wake = *r.wake_at;
      return Succeed(r, Json{{"waited_until", FormatIso(wake)}}, scope);
    }
    if (PastDeadline(now)) return FailStep(r, TimeoutError(), scope);
    Outcome o;
    o.kind = Kind::kSuspended;
    o.resume_at = Cap(*r.wake_at);
    return o;
  }

  // flow.call: queues a run of another flow (its trigger names this run and
  // step) and suspends this run, holding no worker, until that run finishes.
  // The called run wakes this one when it ends (Store::WakeRun); a poll that
  // backs off from 1 s to 30 s covers a wake lost to a crash. The called run's
  // id is committed in the step's state before the run is created, so a crash
  // in between creates it once, on resume, with the same id.
  Outcome ExecCall(const Step& step, StepRun& r, Json& scope) {
    TimePoint now = clock_.Now();
    if (!r.state.is_object() || !r.state.contains("call_run_id")) {
      Error err;
      auto with = ResolveWith(step, scope, &err);
      if (!with) return ResolveFailed(r, err, scope);
      r.input = *with;
      Json target = with->value("flow", Json(nullptr));
      if (!target.is_string() || target.get_ref<const std::string&>().empty())
        return FailStep(
            r, Error(ErrorCode::kValidation, "with.flow must name a flow (its name or id)"), scope);
      std::string name = target.get<std::string>();
      auto flow = store_.GetFlowByName(name);
      if (!flow && flow.error().code == ErrorCode::kNotFound) flow = store_.GetFlow(name);
      if (!flow) {
        if (flow.error().code == ErrorCode::kNotFound)
          return FailStep(
              r, Error(ErrorCode::kStepFailed, "flow.call: there is no flow \"" + name + "\""),
              scope);
        return FailStep(r, flow.error(), scope);
      }
      int depth = CallDepth() + 1;
      if (depth > options_.max_call_depth)
        return FailStep(
            r,
            Error(ErrorCode::kStepFailed,
                  "flow.call: calling \"" + flow->name + "\" would nest " + std::to_string(depth) +
                      " flows deep, over the limit of " + std::to_string(options_.max_call_depth) +
                      " (does the flow call itself?)"),
            scope);
      r.attempts = 1;
      r.state = {
          {"call_run_id", NewId(ToUnixMs(now))}, {"flow_id", flow->id}, {"flow_name", flow->name},
          {"flow_version", flow->version},       {"depth", depth},      {"polls", 0}};
      r.logs = Json::array({{{"at", FormatIso(now)},
                             {"level", "info"},
                             {"message", "calling flow \"" + flow->name + "\" (version " +
                                             std::to_string(flow->version) + "): run " +
                                             r.state["call_run_id"].get<std::string>()}}});
      Start(r, true);  // the id is durable before the run exists
    }
    const std::string child_id = r.state["call_run_id"].get<std::string>();
    auto child = store_.GetRun(child_id, false);
    if (!child && child.error().code == ErrorCode::kNotFound) {
      Run call;
      call.id = child_id;
      call.flow_id = r.state["flow_id"].get<std::string>();
      call.flow_name = r.state["flow_name"].get<std::string>();
      call.flow_version = r.state["flow_version"].get<int>();
      call.trigger_type = "flow";
      Json input = r.input.value("input", Json(nullptr));
      call.trigger = {{"type", "flow"},
                      {"body", input},
                      {"headers", Json::object()},
                      {"query", Json::object()},
                      {"parent",
                       {{"run_id", run_.id},
                        {"flow_id", run_.flow_id},
                        {"flow_name", run_.flow_name},
                        {"step", r.path}}},
                      {"depth", r.state["depth"]}};
      call.input = input;
      call.created_at = now;
      auto created = store_.CreateRun(call);
      if (!created) {
        if (created.error().code == ErrorCode::kNotFound)  // the flow was deleted meanwhile
          return FailStep(
              r,
              Error(ErrorCode::kStepFailed, "flow.call: flow \"" + call.flow_name + "\" is gone"),
              scope);
        return FailStep(r, created.error(), scope);
      }
      hub_.RunQueued();
      child = std::move(created);
    } else if (!child) {
      return FailStep(r, child.error(), scope);
    }

    if (IsTerminal(child->status)) {
      const std::string who = "flow \"" + child->flow_name + "\" (run " + child->id + ")";
      if (child->status == RunStatus::kSucceeded) return Succeed(r, child->output, scope);
      if (child->status == RunStatus::kCancelled)
        return FailStep(r, Error(ErrorCode::kStepFailed, who + " was cancelled"), scope);
      std::string why = GetString(child->error, "message", std::string(ToString(child->status)));
      std::string at = GetString(child->error, "step");
      return FailStep(r,
                      Error(ErrorCode::kStepFailed,
                            who + " failed" + (at.empty() ? "" : " at step " + at) + ": " + why),
                      scope);
    }
    if (step.timeout && r.started_at && now >= *r.started_at + *step.timeout) {
      (void)store_.RequestCancel(child_id);
      hub_.RunQueued();
      return FailStep(r,
                      Error(ErrorCode::kTimeout,
                            "flow.call: the called run " + child_id + " did not finish within " +
                                FormatDuration(*step.timeout) + " (it is being cancelled)"),
                      scope);
    }
    int polls = r.state.value("polls", 0);
    Millis wait = std::min(Millis(30'000), Millis(1000) * (1 << std::min(polls, 5)));
    r.state["polls"] = polls + 1;
    Commit(r);
    Outcome o;
    o.kind = Kind::kSuspended;
    o.resume_at = now + wait;
    if (step.timeout && r.started_at)
      o.resume_at = std::min(o.resume_at, *r.started_at + *step.timeout);
    o.resume_at = Cap(o.resume_at);  // wake at the run's timeout, not a poll later
    o.waiting_for = child_id;
    return o;
  }

  // A flow.call step given up (the caller's settings.timeout): the run it
  // waits for is cancelled too, as when the caller is cancelled.
  void CancelCalledRun(const Step& step, const StepRun& r) {
    if (step.uses != "flow.call" || !r.state.is_object() || !r.state.contains("call_run_id"))
      return;
    (void)store_.RequestCancel(r.state["call_run_id"].get<std::string>());
    hub_.RunQueued();
  }

  // How deep this run is in a chain of flow.call runs (0 for a run started otherwise).
  int CallDepth() const {
    if (run_.trigger_type != "flow" || !run_.trigger.is_object()) return 0;
    auto d = run_.trigger.find("depth");
    return d != run_.trigger.end() && d->is_number_integer() ? d->get<int>() : 0;
  }

  Millis RetryDelay(const RetryPolicy& p, int attempt) {
    if (p.backoff == Backoff::kFixed) return p.delay;
    double base = static_cast<double>(p.delay.count()) * std::pow(2.0, attempt - 1);
    base = std::min(base, static_cast<double>(p.max_delay.count()));
    uint32_t rnd;
    RandomBytes(&rnd, sizeof rnd);
    double jittered = base / 2 + (base / 2) * (rnd / 4294967296.0);  // "equal jitter"
    return Millis(static_cast<int64_t>(jittered));
  }

  Outcome ExecAction(const Step& step, StepRun& r, Json& scope) {
    TimePoint now = clock_.Now();
    if (r.wake_at && now < *r.wake_at) {  // a retry still waiting
      if (PastDeadline(now)) return FailStep(r, TimeoutError(), scope);
      Outcome o;
      o.kind = Kind::kSuspended;
      o.resume_at = Cap(*r.wake_at);
      return o;
    }
    std::shared_ptr<Action> action = catalog_.FindAction(step.uses);
    if (!action)
      return FailStep(
          r, Error(ErrorCode::kStepFailed, "no action \"" + step.uses + "\" in this build"), scope);

    std::optional<Connection> connection;
    if (!step.connection.empty()) {
      auto c = options_.resolve_connection ? options_.resolve_connection(step.connection)
                                           : store_.GetConnectionByName(step.connection);
      if (!c)
        return FailStep(
            r,
            Error(ErrorCode::kStepFailed, "connection \"" + step.connection + "\" does not exist"),
            scope);
      if (!c->active)
        return FailStep(
            r, Error(ErrorCode::kStepFailed, "connection \"" + step.connection + "\" is inactive"),
            scope);
      connection = std::move(*c);
    }

    std::optional<TimePoint> slot;  // the first request's rate slot (WaitForSlot)
    if (connection)
      if (auto waiting = WaitForSlot(r, *connection, slot)) return std::move(*waiting);

    Error err;
    auto with = ResolveWith(step, scope, &err);
    if (!with) return ResolveFailed(r, err, scope);
    r.input = *with;
    r.attempts += 1;
    r.wake_at.reset();
    Start(r, !SideEffectFree(step.uses));

    Json logs = r.logs.is_array() ? r.logs : Json::array();
    TimePoint step_deadline =
        step.timeout ? clock_.Now() + *step.timeout : clock_.Now() + Millis(3'600'000);
    // The run's timeout cuts this attempt short; an action may give up a
    // little before its deadline, hence the margin when telling why it ended.
    const bool run_deadline_first = deadline_ && *deadline_ <= step_deadline;
    ActionContext ctx{
        r.input,
        connection ? &*connection : nullptr,
        run_.id,
        r.path,
        clock_,
        Cap(step_deadline),
        cancelled_,
        [&](const std::string& level, const std::string& message) {
          logs.push_back({{"at", FormatIso(clock_.Now())}, {"level", level}, {"message", message}});
          log::Info(message, {{"run", run_.id}, {"step", r.path}, {"level", level}});
        },
        &scope};
    ctx.expr_limits = &expr_limits_;
    ctx.files = options_.files;
    if (connection) ctx.before_request = SendAtSlot(*connection, slot, ctx.deadline);
    ActionOutcome out = action->Execute(ctx);
    r.logs = std::move(logs);
    if (!out.error) return Succeed(r, std::move(out.output), scope);

    if (CancelRequested()) return Interrupted();
    // data.transform's evaluation cancelled by shutdown: nothing happened outside, run it again
    // later
    if (stopping_.load() && SideEffectFree(step.uses)) return Outcome{Kind::kHandedBack};
    if (run_deadline_first && PastDeadline(clock_.Now() + Millis(100)))
      return FailStep(r, TimeoutError(), scope);
    // A 429 or 503 with Retry-After: the application wants no request of this
    // connection for that long. Every step using it waits (PauseConnection),
    // and this one is retried after the pause even beyond its retry policy,
    // up to kMaxRateRetries times.
    bool rate_retry = false;
    if (connection && out.retry_after && (out.http_status == 429 || out.http_status == 503)) {
      Millis pause = std::clamp(*out.retry_after, Millis(0), kMaxConnectionPause);
      TimePoint until = clock_.Now() + pause;
      if (auto p = store_.PauseConnection(connection->id, until); !p)
        log::Warn("could not pause a connection",
                  {{"connection", connection->name}, {"error", p.error().message}});
      r.logs.push_back({{"at", FormatIso(clock_.Now())},
                        {"level", "warn"},
                        {"message", "HTTP " + std::to_string(out.http_status) +
                                        ": the application asked to wait " + FormatDuration(pause) +
                                        " (Retry-After); connection \"" + connection->name +
                                        "\" paused until " + FormatIso(until)}});
      int rate_retries = r.state.is_object() ? r.state.value("rate_retries", 0) : 0;
      if (r.attempts >= step.retry.attempts && rate_retries < kMaxRateRetries) {
        if (!r.state.is_object()) r.state = Json::object();
        r.state["rate_retries"] = rate_retries + 1;
        rate_retry = true;
      }
    }
    if ((out.retryable && r.attempts < step.retry.attempts) || rate_retry) {
      Millis delay = rate_retry ? Millis(0) : RetryDelay(step.retry, r.attempts);
      if (out.retry_after)
        delay = std::max(delay, std::clamp(*out.retry_after, Millis(0), kMaxConnectionPause));
      r.error = ErrorJson(*out.error);
      r.wake_at = clock_.Now() + delay;
      r.logs.push_back(
          {{"at", FormatIso(clock_.Now())},
           {"level", "warn"},
           {"message", "attempt " + std::to_string(r.attempts) + " failed (" + out.error->message +
                           "); retrying in " + FormatDuration(delay)}});
      Commit(r);
      Outcome o;
      o.kind = Kind::kSuspended;
      o.resume_at = Cap(*r.wake_at);
      return o;
    }
    return FailStep(r, *out.error, scope);
  }

  // The connection's rate limit and pauses (core/rate_limit.h). Takes the
  // next slot of the connection from the store, shared by every run, worker
  // and node; a slot in the future suspends the run until shortly before
  // then (kWakeEarly), holding no worker, with the slot kept in the step's
  // state: the attempt made on waking is that slot's and takes no other.
  // nullopt: go on, `slot` set to the first request's slot (SendAtSlot waits
  // for it to the millisecond, so requests reach the application spaced as
  // the limit says, not as late as the run's wake-up happens to be).
  std::optional<Outcome> WaitForSlot(StepRun& r, const Connection& c,
                                     std::optional<TimePoint>& reserved) {
    if (r.state.is_object() && r.state.contains("rate_slot")) {
      // Reserved before the run waited: this attempt's.
      reserved = FromUnixMs(r.state["rate_slot"].get<int64_t>());
      r.state.erase("rate_slot");
      return std::nullopt;
    }
    const ConnectorSpec* spec = catalog_.FindConnector(c.connector);
    std::optional<RateLimit> limit =
        EffectiveRateLimit(c.settings, spec ? spec->rate_limit : Json());
    TimePoint now = clock_.Now();
    auto slot = store_.TakeRateSlot(c.id, limit ? &*limit : nullptr, now);
    if (!slot) {
      // No slot, no request: look again in a second.
      log::Warn("could not take a rate-limit slot",
                {{"run", run_.id}, {"connection", c.name}, {"error", slot.error().message}});
      Outcome o;
      o.kind = Kind::kSuspended;
      o.resume_at = Cap(now + Millis(1000));
      return o;
    }
    if (*slot <= now + kWakeEarly) {
      reserved = *slot;
      return std::nullopt;
    }
    if (!r.state.is_object()) r.state = Json::object();
    r.state["rate_slot"] = ToUnixMs(*slot);
    r.wake_at = *slot - kWakeEarly;
    std::string why = limit ? "the rate limit of connection \"" + c.name + "\" (" +
                                  std::to_string(limit->requests) + " per " +
                                  FormatDuration(limit->per) + ")"
                            : "connection \"" + c.name + "\", paused by the application";
    if (!r.logs.is_array()) r.logs = Json::array();
    r.logs.push_back({{"at", FormatIso(now)},
                      {"level", "info"},
                      {"message", "waiting " + FormatDuration(*slot - now) + " for " + why}});
    Start(r, true);
    Outcome o;
    o.kind = Kind::kSuspended;
    o.resume_at = Cap(*r.wake_at);
    return o;
  }

  // ActionContext::before_request for a step using connection `c`: the first
  // request waits for `first` (its slot, taken by WaitForSlot), each later
  // one (pages, retries inside the action) takes the next slot of a limited
  // connection right before it is sent. The wait is in this thread: at most
  // kWakeEarly for the first request, one slot's spacing (or the queue ahead
  // on a busy connection) for the later ones.
  std::function<Result<void>()> SendAtSlot(const Connection& c, std::optional<TimePoint> first,
                                           TimePoint deadline) {
    const ConnectorSpec* spec = catalog_.FindConnector(c.connector);
    std::optional<RateLimit> limit =
        EffectiveRateLimit(c.settings, spec ? spec->rate_limit : Json());
    return [this, id = c.id, limit, first, deadline, used = false]() mutable -> Result<void> {
      std::optional<TimePoint> at;
      if (!used && first) {
        at = first;
      } else if (used && limit) {
        auto slot = store_.TakeRateSlot(id, &*limit, clock_.Now());
        if (!slot) return Fail(slot.error());
        at = *slot;
      }
      used = true;
      if (!at) return {};
      if (*at > deadline)
        return Fail(ErrorCode::kTimeout,
                    "the connection's next rate-limit slot is past the step's timeout");
      std::mutex mu;
      std::condition_variable cv;
      std::unique_lock lock(mu);
      while (clock_.Now() < *at) {
        if (cancelled_.load())
          return Fail(ErrorCode::kCancelled, "cancelled while waiting for a rate-limit slot");
        clock_.WaitUntil(cv, lock, std::min(*at, clock_.Now() + Millis(50)),
                         [&] { return cancelled_.load(); });
      }
      return {};
    };
  }

  // How long before its rate slot a waiting run wakes: the wake-up's own
  // delay is absorbed by SendAtSlot's wait in the worker.
  static constexpr Millis kWakeEarly{250};
  static constexpr int kMaxRateRetries = 5;

  ::weft::Run run_;
  const CompiledFlow& flow_;
  Store& store_;
  const ActionCatalog& catalog_;
  ChangeHub& hub_;
  Clock& clock_;
  const EngineOptions& options_;
  const std::atomic<bool>& cancelled_;
  const std::atomic<bool>& stopping_;
  std::mutex records_mu_;
  std::map<std::string, StepRun> records_;
  int next_seq_ = 1;  // 0 would ask the store to pick one: ties with the next step
  Json ctx_;
  std::string until_step_;  // the top-level step the run ends after ("Run to here"), if any
  std::mutex commit_mu_;    // guards the two below
  std::optional<::weft::Run> pending_header_;  // DeferStart
  std::vector<StepRun> pending_steps_;         // deferrable records not written yet (Commit)
  std::optional<TimePoint> deadline_;          // settings.timeout
  std::string deadline_limit_;
  expr::EvalLimits expr_limits_;  // settings.expression_*, else the engine's
};

}  // namespace

Executor::Executor(Store& store, const ActionCatalog& catalog, ChangeHub& hub, Clock& clock,
                   const EngineOptions& options)
    : store_(store), catalog_(catalog), hub_(hub), clock_(clock), options_(options) {}

Executor::~Executor() = default;

std::shared_ptr<const CompiledFlow> Executor::Load(const std::string& flow_id, int version,
                                                   Error* error) {
  {
    std::lock_guard<std::mutex> g(cache_mu_);
    auto it = cache_.find({flow_id, version});
    if (it != cache_.end()) return it->second;
  }
  auto v = store_.GetFlowVersion(flow_id, version);
  if (!v) {
    *error = v.error();
    return nullptr;
  }
  auto doc = ParseStoredDocument(v->document);
  if (!doc) {
    *error = doc.error();
    return nullptr;
  }
  auto compiled = std::make_shared<const CompiledFlow>(std::move(*doc));
  std::lock_guard<std::mutex> g(cache_mu_);
  if (cache_.size() > 1000) cache_.clear();  // versions are immutable; a bound is all we need
  cache_[{flow_id, version}] = compiled;
  return compiled;
}

// settings.timeout as a duration and as written; nullopt when unset.
std::optional<std::pair<Millis, std::string>> Executor::RunTimeout(const Json& settings) {
  if (!settings.is_object()) return std::nullopt;
  auto it = settings.find("timeout");
  if (it == settings.end() || !it->is_string()) return std::nullopt;
  auto ms = ParseDuration(it->get<std::string>());
  if (!ms || ms->count() <= 0) return std::nullopt;
  return std::make_pair(*ms, it->get<std::string>());
}

namespace {

// The error run's id follows from the failed run's, so starting it again
// after a crash between the two writes finds it there (kConflict) instead of
// starting a second one. Same shape as NewId: the failed run's time digits,
// then its random digits shifted by one.
std::string ErrorRunId(const std::string& failed_id) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  if (failed_id.size() != 20) return failed_id + "e";
  std::string id = failed_id;
  for (size_t i = 10; i < id.size(); ++i) {
    const char* at = std::strchr(kDigits, id[i]);
    if (!at || !*at) return failed_id + "e";
    id[i] = kDigits[(at - kDigits + 1) % 36];
  }
  return id;
}

}  // namespace

// settings.error_flow (or --error-flow): queues a run of that flow, trigger
// type "error", whether or not it is active. Written before the failed run is
// marked failed, with an id derived from it, so a crash in between neither
// loses the error run nor, when the failure is met again on resume, doubles
// it. A run started by an error flow never starts another (no loops).
void Executor::StartErrorFlow(const Run& failed, const Json& settings,
                              const std::string& failed_step, const Error& error) {
  if (failed.trigger_type == "error") return;
  std::string name = options_.default_error_flow;
  if (settings.is_object())
    if (auto it = settings.find("error_flow"); it != settings.end() && it->is_string())
      name = it->get<std::string>();
  if (name.empty()) return;
  auto target = store_.GetFlowByName(name);
  if (!target) {
    log::Warn("error flow not started",
              {{"run", failed.id}, {"error_flow", name}, {"error", target.error().message}});
    return;
  }
  if (target->id == failed.flow_id) return;  // a flow that is its own error flow
  Run run;
  TimePoint now = clock_.Now();
  run.id = ErrorRunId(failed.id);
  run.flow_id = target->id;
  run.flow_name = target->name;
  run.flow_version = target->version;
  run.trigger_type = "error";
  run.created_at = now;
  std::string base = options_.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  Json body = {
      {"run_id", failed.id},
      {"flow_id", failed.flow_id},
      {"flow_name", failed.flow_name},
      {"failed_step", failed_step},
      {"error", error.message},
      {"error_code", ErrorCodeName(error.code)},
      {"started_at", failed.started_at ? Json(FormatIso(*failed.started_at)) : Json(nullptr)},
      {"url", base + "/runs/" + failed.id}};
  run.trigger = {{"type", "error"},
                 {"body", std::move(body)},
                 {"headers", Json::object()},
                 {"query", Json::object()}};
  auto created = store_.CreateRun(run);
  if (!created && created.error().code != ErrorCode::kConflict) {
    log::Error("could not start the error flow",
               {{"run", failed.id}, {"error_flow", name}, {"error", created.error().message}});
    return;
  }
  if (created) {
    log::Info("error flow started",
              {{"run", failed.id}, {"error_flow", name}, {"error_run", run.id}});
    hub_.RunQueued();
  }
}

ExecuteResult Executor::Execute(Run run, const std::atomic<bool>& cancelled,
                                const std::atomic<bool>& stopping) {
  // `run` is as ClaimRuns returned it, with its steps: nothing to read again.
  TimePoint now = clock_.Now();
  std::vector<StepRun>
      pending;  // step results written with the run's end (RunExecution::TakePending)
  auto finish = [&](RunStatus status, Json output, Json error) {
    if (status == RunStatus::kCancelled) {
      // Runs this one called and still waits for are cancelled with it.
      for (const auto& step : run.steps) {
        if (IsTerminal(step.status) || !step.state.is_object()) continue;
        std::string child = GetString(step.state, "call_run_id");
        if (child.empty()) continue;
        auto asked = store_.RequestCancel(child);
        if (asked && *asked) hub_.RunQueued();
      }
    }
    run.status = status;
    run.output = std::move(output);
    run.error = std::move(error);
    run.finished_at = clock_.Now();
    if (!run.started_at) run.started_at = run.finished_at;
    run.claimed_by.clear();
    run.lease_until.reset();
    run.not_before.reset();
    run.steps.clear();
    if (auto r = store_.SaveRun(&run, pending); !r)
      log::Error("could not save a finished run", {{"run", run.id}, {"error", r.error().message}});
    hub_.RunProgressed(run.id);
    if (metrics::Enabled()) {
      metrics::Weft().runs_total.With({run.trigger_type, ToString(status)}).Increment();
      metrics::Weft().run_duration.ObserveDuration(*run.finished_at - *run.started_at);
    }
    log::Info(
        "run finished",
        {{"run", run.id}, {"flow", run.flow_name}, {"status", std::string(ToString(status))}});
    // A run started by flow.call wakes the run that waits for it.
    if (run.trigger_type == "flow" && run.trigger.is_object() && run.trigger.contains("parent")) {
      std::string parent = GetString(run.trigger["parent"], "run_id");
      if (!parent.empty()) {
        auto woken = store_.WakeRun(parent);
        if (woken && *woken) hub_.RunQueued();
      }
    }
    return ExecuteResult{ExecuteResult::kFinished};
  };

  if (run.cancel_requested || (cancelled.load() && !stopping.load()))  // see Interrupted()
    return finish(RunStatus::kCancelled, nullptr,
                  Json{{"code", "cancelled"}, {"message", "cancelled by request"}});

  Error load_error;
  auto flow = Load(run.flow_id, run.flow_version, &load_error);
  if (!flow) {
    StartErrorFlow(run, Json::object(), "", load_error);
    return finish(RunStatus::kFailed, nullptr,
                  Json{{"code", ErrorCodeName(load_error.code)},
                       {"message", "flow version " + std::to_string(run.flow_version) +
                                       " could not be loaded: " + load_error.message}});
  }

  std::optional<Run> header;  // committed by the first step that needs it (DeferStart)
  if (run.status == RunStatus::kQueued) {
    run.status = RunStatus::kRunning;
    run.started_at = now;
    header = run;
    header->steps.clear();
    log::Info("run started",
              {{"run", run.id}, {"flow", run.flow_name}, {"trigger", run.trigger_type}});
  }

  RunExecution exec(run, *flow, store_, catalog_, hub_, clock_, options_, cancelled, stopping);
  if (header) exec.DeferStart(std::move(*header));
  if (auto limit = RunTimeout(flow->doc().settings))
    exec.SetDeadline(run.started_at.value_or(now) + limit->first, limit->second);
  auto outcome = exec.Execute();
  pending = exec.TakePending();
  switch (outcome.kind) {
    case RunExecution::Kind::kOk:
      return finish(RunStatus::kSucceeded, outcome.has_output ? outcome.output : Json(nullptr),
                    nullptr);
    case RunExecution::Kind::kFailed:
      StartErrorFlow(run, flow->doc().settings, outcome.failed_step, outcome.error);
      return finish(RunStatus::kFailed, nullptr, ErrorJson(outcome.error, outcome.failed_step));
    case RunExecution::Kind::kCancelled:
      return finish(RunStatus::kCancelled, nullptr,
                    Json{{"code", "cancelled"}, {"message", "cancelled by request"}});
    case RunExecution::Kind::kSuspended: {
      run.claimed_by.clear();
      run.lease_until.reset();
      run.not_before = outcome.resume_at;
      run.steps.clear();
      if (auto r = store_.SaveRun(&run, pending); !r) return {ExecuteResult::kHandedBack};
      if (!outcome.waiting_for.empty()) {
        // The called run may have ended while this one still held its claim
        // (its wake found nobody to wake): look once more, now unclaimed.
        auto child = store_.GetRun(outcome.waiting_for, false);
        if (child && IsTerminal(child->status)) {
          auto woken = store_.WakeRun(run.id);
          if (woken && *woken) {
            hub_.RunQueued();
            return {ExecuteResult::kSuspended, clock_.Now()};
          }
        }
      }
      return {ExecuteResult::kSuspended, outcome.resume_at};
    }
    case RunExecution::Kind::kHandedBack:
      break;
  }
  run.claimed_by.clear();
  run.lease_until.reset();
  run.steps.clear();
  (void)store_.SaveRun(&run, pending);
  return {ExecuteResult::kHandedBack};
}

}  // namespace weft
