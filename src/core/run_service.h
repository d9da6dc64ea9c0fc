// RunService: the use cases of runs (start a manual run, read, list, wait,
// cancel, retry). A run is acknowledged only after Store::CreateRun returned.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "core/events.h"
#include "core/store.h"

namespace weft {

// How a failed run is retried (POST /runs/{id}/retry). The defaults are the
// first retry weft had: from the failed step, on the version the run ran with.
struct RetryOptions {
  // Run every step again instead of reusing the outputs of those that succeeded.
  bool from_start = false;
  // Run the flow's latest version instead of the one the run ran with. From the
  // failed step, a result is reused only when its top-level step (with
  // everything nested in it) is the same in both versions; a step added,
  // changed or removed runs again (or not at all).
  bool latest_version = false;
};

class RunService {
 public:
  RunService(Store& store, ChangeHub& hub, Clock& clock);

  // Queues a run of the flow's latest version, active or not. `input` becomes
  // trigger.body. A non-empty `until_step` ("Run to here") names a top-level
  // step: the run ends, succeeded, after it (the steps after it do not run);
  // kValidation on field until_step when the flow has no such top-level step.
  // Returns the committed run.
  Result<Run> StartManual(const std::string& flow_id, const Json& input, bool has_input,
                          const std::string& actor, const std::string& until_step = "");
  // Queues a run with a trigger made elsewhere (webhook, schedule, error).
  Result<Run> Enqueue(const Flow& flow, const std::string& trigger_type, Json trigger,
                      std::optional<TimePoint> scheduled_for = std::nullopt,
                      RunStatus status = RunStatus::kQueued);

  Result<Run> Get(const std::string& id, bool with_steps = true);
  Result<RunPage> List(const RunFilter& filter);
  // Waits until the run has finished or `timeout` passed; returns it either way.
  Result<Run> Wait(const std::string& id, std::chrono::milliseconds timeout);
  // Asks a queued or running run to stop. kConflict when it has finished.
  Result<Run> Cancel(const std::string& id);
  // A new run of a failed run's trigger: by default on the same version,
  // reusing the outputs of the steps that succeeded and starting at the failed
  // one (see RetryOptions). kConflict unless failed; kNotFound when "latest"
  // is asked of a flow deleted since.
  Result<Run> Retry(const std::string& id, const RetryOptions& options = {});

  ChangeHub& hub() { return hub_; }

  // Makes StartManual of a webhook flow without input replay the last
  // delivery: `replay` returns the trigger (or kNoDelivery). Call once,
  // before any run is started (the webhook receiver's wiring).
  void SetWebhookReplay(std::function<Result<Json>(const Flow&)> replay) {
    webhook_replay_ = std::move(replay);
  }

  // Back-pressure (--max-queued): with more than `max_queued` runs queued,
  // Admit refuses new manual runs, retries and webhook requests. 0: no limit.
  // Call once, before serving.
  void SetMaxQueued(int64_t max_queued) { max_queued_ = max_queued; }
  // kTooManyRequests when the queue is full; otherwise counts one more run as
  // queued. Cheap: the store is counted at most every 250 ms, and the runs
  // admitted in between are added to that count.
  Result<void> Admit();
  // Seconds a refused caller should wait (the Retry-After header).
  static constexpr int kRetryAfterSeconds = 1;

 private:
  Store& store_;
  ChangeHub& hub_;
  Clock& clock_;
  std::function<Result<Json>(const Flow&)> webhook_replay_;
  int64_t max_queued_ = 0;
  std::atomic<int64_t> queued_estimate_{0};
  std::atomic<int64_t> counted_at_ms_{-1'000'000};  // steady clock, ms
  std::mutex count_mu_;
};

}  // namespace weft
