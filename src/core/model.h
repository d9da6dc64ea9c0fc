// The domain model: flows, steps, triggers, connections, runs, step runs and
// deliveries, as the store keeps them and the API shows them (docs/flow-format.md,
// docs/api.md).
// Plain values: copy freely; no synchronisation inside.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/json.h"

namespace weft {

// ---- flows ---------------------------------------------------------------

enum class OnError { kFail, kContinue };
enum class Backoff { kFixed, kExponential };

struct RetryPolicy {
  int attempts = 1;  // counting the first try
  Backoff backoff = Backoff::kFixed;
  Millis delay{1000};
  Millis max_delay{60'000};
};

// One step of a flow document. Container utilities hold nested lists:
// flow.if (then_steps, else_steps), flow.foreach (do_steps).
struct Step {
  std::string id;
  std::string name;
  std::string uses;        // "<connector>.<action>", e.g. "http.request", "flow.if"
  std::string connection;  // connection name, for connector actions
  Json with = Json::object();
  std::string if_expr;  // the `if:` string ("{{ ... }}"), empty when absent
  RetryPolicy retry;
  std::optional<Millis> timeout;  // per attempt
  OnError on_error = OnError::kFail;
  std::vector<Step> then_steps, else_steps, do_steps;
};

// A flow document as a client writes it (server-managed fields excluded).
// `trigger` and `settings` stay JSON: each capability (webhook, schedule,
// limits) reads its own part.
struct FlowDocument {
  std::string name;
  std::string description;
  Json trigger = Json{{"type", "manual"}};
  std::vector<Step> steps;
  Json settings = Json::object();
  // Pinned sample data for the editor ({trigger, steps: {<id>: {output}}}): what
  // "Test step" resolves inputs against. Saved with the flow, never read by a run.
  Json sample;  // null when absent

  std::string TriggerType() const;  // "manual" | "webhook" | "schedule"
};

// A flow as stored: the latest version's document plus server-managed fields.
struct Flow {
  std::string id;
  std::string name;
  std::string description;
  int version = 0;  // latest version
  Json document;    // the latest version's canonical document (JSON)
  bool active = false;
  std::string trigger_type;   // of the latest version
  std::string webhook_token;  // empty until a webhook flow is first saved
  TimePoint created_at{};
  TimePoint updated_at{};
  std::string updated_by;
  // Scheduling state (kept by the scheduler).
  std::optional<TimePoint> next_run_at;
  int64_t missed_fires = 0;
};

struct FlowVersion {
  std::string flow_id;
  int version = 0;
  Json document;
  TimePoint created_at{};
  std::string created_by;
};

// ---- connections -----------------------------------------------------------

struct Connection {
  std::string id;
  std::string name;
  std::string connector;
  Json settings = Json::object();
  Json auth = Json::object();  // secrets are decrypted only inside the engine
  bool active = true;
  TimePoint created_at{};
  TimePoint updated_at{};
  std::string updated_by;
};

// ---- runs ----------------------------------------------------------------------

enum class RunStatus { kQueued, kRunning, kSucceeded, kFailed, kCancelled, kSkipped };
enum class StepStatus { kPending, kRunning, kSucceeded, kFailed, kSkipped };

std::string_view ToString(RunStatus s);
std::string_view ToString(StepStatus s);
std::optional<RunStatus> ParseRunStatus(std::string_view s);
std::optional<StepStatus> ParseStepStatus(std::string_view s);
bool IsTerminal(RunStatus s);
bool IsTerminal(StepStatus s);

// One execution of a step (or of one iteration's step) inside a run.
struct StepRun {
  std::string run_id;
  std::string path;     // place in this run: "fetch", "each[3].push", "check.then.notify"
  std::string step_id;  // the step's id in the flow
  std::string uses;
  int seq = 0;  // execution order within the run
  StepStatus status = StepStatus::kPending;
  int attempts = 0;
  std::optional<TimePoint> started_at;
  std::optional<TimePoint> finished_at;
  Json input;                        // the resolved `with`
  Json output;                       // null until succeeded
  Json error;                        // null, or {code, message, ...}
  Json logs = Json::array();         // [{at, level, message}]
  std::optional<TimePoint> wake_at;  // a waiting retry or flow.delay
  Json state;                        // executor bookkeeping (e.g. flow.if branch)
};

struct Run {
  std::string id;
  std::string flow_id;
  std::string flow_name;
  int flow_version = 0;
  std::string trigger_type;  // manual | webhook | schedule | error
  Json trigger;              // the `trigger` of the run context
  RunStatus status = RunStatus::kQueued;
  std::optional<TimePoint> scheduled_for;
  TimePoint created_at{};
  std::optional<TimePoint> started_at;
  std::optional<TimePoint> finished_at;
  Json input;   // the Run input (manual) or null
  Json output;  // the last step's output when finished
  Json error;   // null, or {code, message, step}
  std::string retry_of;
  // Engine bookkeeping: who holds the run and until when; when it may run next.
  std::string claimed_by;
  std::optional<TimePoint> lease_until;
  std::optional<TimePoint> not_before;
  bool cancel_requested = false;
  std::vector<StepRun> steps;  // filled by Store::GetRun(with_steps)
};

struct RunFilter {
  std::string flow_id;
  std::optional<RunStatus> status;
  std::string trigger_type;
  std::optional<TimePoint> since, until;  // created_at bounds
  int limit = 50;
  std::string cursor;  // from RunPage::next_cursor
};

struct RunPage {
  std::vector<Run> runs;
  std::string next_cursor;  // empty at the end
};

// The last run of a flow, for the Flow List.
struct RunSummary {
  std::string id;
  RunStatus status = RunStatus::kQueued;
  std::optional<TimePoint> finished_at;
};

// ---- deliveries ---------------------------------------------------------------

struct Delivery {
  std::string id;
  std::string flow_id;
  TimePoint received_at{};
  std::string method;
  std::string path;
  int status_code = 0;
  std::string run_id;
  Json headers = Json::object();
  Json query = Json::object();
  std::string body;  // raw body as received (up to the limit)
  std::string content_type;
  bool auth_passed = false;
};

}  // namespace weft
