// Scheduler: fires the runs of active schedule flows at their times. All
// active schedules sit in a min-heap of next fire instants; one thread sleeps
// until the earliest, records the fire (run + next fire, exactly once per
// (flow, scheduled_for)) and computes the next. Flow changes (ChangeHub) update
// the heap at once. Missed fires (weft down, or > 60 s late) follow `misfire`,
// unfinished previous runs follow `overlap` (docs/scheduling.md).
// Start()/Stop() once; thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "core/events.h"
#include "core/flow_service.h"
#include "core/run_service.h"
#include "core/store.h"
#include "engine/poller.h"

namespace weft {

struct SchedulerOptions {
  std::string default_timezone = "UTC";
  Millis misfire_threshold{60'000};  // later than this counts as missed
  // Re-read every flow this often, for changes made on other nodes (several
  // servers on one PostgreSQL). 0: never; one SQLite server sees every change
  // through the ChangeHub.
  Millis rescan_interval{0};
  Millis queue_poll{200};  // overlap: queue looks again this often for the previous run
  // Called on the scheduler thread for each fire once it is committed
  // (metrics, benchmarks). Must be quick.
  std::function<void(const ScheduleFire& fire, TimePoint committed_at)> on_fire;
  // With a catalog, the scheduler also runs the polls of `type: poll` flows
  // (engine/poller.h): they start and stop with it, so only the node
  // holding the scheduler role polls.
  const ActionCatalog* poll_catalog = nullptr;
  PollerOptions poll;
};

class Scheduler {
 public:
  Scheduler(Store& store, RunService& runs, ChangeHub& hub, Clock& clock, SchedulerOptions options);
  ~Scheduler();
  void Start();
  void Stop();
  // Number of schedules in the heap (tests, metrics).
  size_t ActiveSchedules() const;
  // Tests: waits until the loop has handled every change and every fire due
  // at the clock's current time, and sleeps. False on timeout.
  bool WaitIdle(Millis timeout);
  // Re-reads every schedule from the store on the loop's next pass, as the
  // periodic rescan does (rescan_interval): for changes that may not have
  // reached this node's ChangeHub (a NOTIFY lost while reconnecting).
  void Rescan();
  // The poller of poll flows, when SchedulerOptions::poll_catalog is set (tests).
  Poller* poller();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The schedule facts FlowService needs (validation at save, Flow List summary),
// from the schedule library.
class ScheduleFacts : public ScheduleInfo {
 public:
  std::vector<FieldError> Validate(const Json& schedule, const std::string& default_tz,
                                   const Json* previous_schedule, TimePoint now) const override;
  std::string Describe(const Json& schedule, const std::string& default_tz) const override;
  std::optional<TimePoint> NextFire(const Json& schedule, const std::string& default_tz,
                                    TimePoint after) const override;
};

}  // namespace weft
