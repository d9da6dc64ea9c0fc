#include "core/run_service.h"

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "common/ids.h"
#include "common/time_format.h"

namespace weft {

RunService::RunService(Store& store, ChangeHub& hub, Clock& clock)
    : store_(store), hub_(hub), clock_(clock) {}

Result<Run> RunService::StartManual(const std::string& flow_id, const Json& input, bool has_input,
                                    const std::string& actor, const std::string& until_step) {
  auto flow = store_.GetFlow(flow_id);
  if (!flow) return Fail(flow.error());
  if (!until_step.empty()) {
    bool found = false;
    if (auto steps = flow->document.find("steps");
        steps != flow->document.end() && steps->is_array())
      for (const auto& s : *steps)
        if (s.is_object() && s.value("id", Json()) == until_step) found = true;
    if (!found) {
      std::string message = "the flow has no top-level step with this id";
      return Fail(ErrorCode::kValidation, "until_step: " + message,
                  {FieldError{"until_step", message}});
    }
  }
  Json trigger = {{"type", "manual"},
                  {"body", has_input ? input : Json(nullptr)},
                  {"headers", Json::object()},
                  {"query", Json::object()}};
  if (!has_input && flow->trigger_type == "webhook" && webhook_replay_) {
    // A webhook flow run by hand replays its last delivery (docs/webhooks.md).
    auto replayed = webhook_replay_(*flow);
    if (!replayed) return Fail(replayed.error());
    trigger = std::move(*replayed);
  }
  if (!actor.empty()) trigger["actor"] = actor;
  // Read by the executor, which keeps it out of the run's `trigger` scope.
  if (!until_step.empty()) trigger["until_step"] = until_step;
  if (auto admitted = Admit(); !admitted) return Fail(admitted.error());
  auto run = Enqueue(*flow, "manual", std::move(trigger));
  if (run && has_input) run->input = input;
  return run;
}

Result<Run> RunService::Enqueue(const Flow& flow, const std::string& trigger_type, Json trigger,
                                std::optional<TimePoint> scheduled_for, RunStatus status) {
  Run run;
  TimePoint now = clock_.Now();
  run.id = NewId(ToUnixMs(now));
  run.flow_id = flow.id;
  run.flow_name = flow.name;
  run.flow_version = flow.version;
  run.trigger_type = trigger_type;
  if (trigger.is_object() && trigger.contains("body") && trigger_type == "manual")
    run.input = trigger["body"];
  run.trigger = std::move(trigger);
  run.status = status;
  run.scheduled_for = scheduled_for;
  run.created_at = now;
  if (status == RunStatus::kSkipped) run.finished_at = now;
  auto created = store_.CreateRun(run);
  if (!created) return created;
  if (status == RunStatus::kQueued) hub_.RunQueued();
  return created;
}

Result<void> RunService::Admit() {
  if (max_queued_ <= 0) return Ok();
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
  if (now_ms - counted_at_ms_.load() >= 250) {
    std::unique_lock lock(count_mu_, std::try_to_lock);
    if (lock && now_ms - counted_at_ms_.load() >= 250) {
      if (auto n = store_.CountRuns(RunStatus::kQueued)) {
        queued_estimate_.store(*n);
        counted_at_ms_.store(now_ms);
      }
    }
  }
  if (queued_estimate_.fetch_add(1) >= max_queued_) {
    queued_estimate_.fetch_sub(1);
    return Fail(ErrorCode::kTooManyRequests, "the run queue is full (more than " +
                                                 std::to_string(max_queued_) +
                                                 " runs queued, --max-queued); try again later");
  }
  return Ok();
}

Result<Run> RunService::Get(const std::string& id, bool with_steps) {
  return store_.GetRun(id, with_steps);
}

Result<RunPage> RunService::List(const RunFilter& filter) {
  RunFilter f = filter;
  if (f.limit <= 0) f.limit = 50;
  f.limit = std::min(f.limit, 1000);
  return store_.ListRuns(f);
}

Result<Run> RunService::Wait(const std::string& id, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    uint64_t mark = hub_.ProgressMark();
    // Every step of every run wakes every waiter: look at the run's row alone
    // and read its steps only for the answer.
    auto run = store_.GetRun(id, false);
    if (!run) return run;
    auto now = std::chrono::steady_clock::now();
    if (IsTerminal(run->status) || now >= deadline) return store_.GetRun(id, true);
    // Re-read at least every 250 ms: another node may be running it.
    hub_.WaitProgress(mark, std::min(deadline, now + std::chrono::milliseconds(250)));
  }
}

Result<Run> RunService::Cancel(const std::string& id) {
  auto requested = store_.RequestCancel(id);
  if (!requested) return Fail(requested.error());
  if (!*requested) return Fail(ErrorCode::kConflict, "run " + id + " has already finished");
  hub_.RunQueued();  // a free worker picks a queued run up and ends it
  hub_.RunProgressed(id);
  return store_.GetRun(id, true);
}

namespace {

// The top-level step a result belongs to: "each[3].push" -> "each".
std::string TopLevelId(const std::string& path) { return path.substr(0, path.find_first_of(".[")); }

// The top-level steps of a canonical document, by id.
std::map<std::string, Json> StepsById(const Json& document) {
  std::map<std::string, Json> out;
  auto it = document.find("steps");
  if (it == document.end() || !it->is_array()) return out;
  for (const auto& step : *it) {
    if (step.is_object() && step.contains("id") && step["id"].is_string())
      out.emplace(step["id"].get<std::string>(), step);
  }
  return out;
}

}  // namespace

Result<Run> RunService::Retry(const std::string& id, const RetryOptions& options) {
  auto old = store_.GetRun(id, true);
  if (!old) return old;
  if (old->status != RunStatus::kFailed)
    return Fail(ErrorCode::kConflict, "run " + id + " is " + std::string(ToString(old->status)) +
                                          "; only a failed run can be retried");
  Run run;
  run.flow_name = old->flow_name;
  run.flow_version = old->flow_version;
  // On the latest version: which top-level steps are the same in both.
  std::optional<std::map<std::string, Json>> old_steps, new_steps;
  if (options.latest_version) {
    auto flow = store_.GetFlow(old->flow_id);
    if (!flow) return Fail(flow.error());
    run.flow_name = flow->name;
    run.flow_version = flow->version;
    if (flow->version != old->flow_version && !options.from_start) {
      auto was = store_.GetFlowVersion(old->flow_id, old->flow_version);
      if (!was) return Fail(was.error());
      old_steps = StepsById(was->document);
      new_steps = StepsById(flow->document);
    }
  }
  if (auto admitted = Admit(); !admitted) return Fail(admitted.error());
  TimePoint now = clock_.Now();
  run.id = NewId(ToUnixMs(now));
  run.flow_id = old->flow_id;
  run.trigger_type = old->trigger_type;
  run.trigger = old->trigger;
  run.input = old->input;
  run.scheduled_for = old->scheduled_for;
  run.retry_of = old->id;
  run.created_at = now;
  // The reused steps go in with the run, in one transaction: a worker never
  // sees the new run without them.
  int seq = 0;
  for (const auto& step : options.from_start ? std::vector<StepRun>{} : old->steps) {
    if (step.status != StepStatus::kSucceeded && step.status != StepStatus::kSkipped) continue;
    if (old_steps) {
      std::string top = TopLevelId(step.path);
      auto was = old_steps->find(top);
      auto is = new_steps->find(top);
      if (was == old_steps->end() || is == new_steps->end() || was->second != is->second) continue;
    }
    StepRun copy = step;
    copy.run_id = run.id;
    copy.seq = ++seq;
    copy.logs = Json::array({{{"at", FormatIso(step.finished_at.value_or(now))},
                              {"level", "info"},
                              {"message", "reused from run " + old->id}}});
    run.steps.push_back(std::move(copy));
  }
  auto created = store_.CreateRun(run);
  if (!created) return created;
  hub_.RunQueued();
  return store_.GetRun(run.id, true);
}

}  // namespace weft
