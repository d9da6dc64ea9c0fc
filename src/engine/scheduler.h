// Scheduler: fires the runs of active schedule flows at their times. All
// active schedules sit in a min-heap of next fire instants; one thread sleeps
// until the earliest, records the fire (run + next fire, exactly once per
// (flow, scheduled_for)) and computes the next. Flow changes (ChangeHub) update
// the heap at once. Missed fires (weft down, or > 60 s late) follow `misfire`,
// unfinished previous runs follow `overlap` (SCHEDULING.md).
// Start()/Stop() once; thread-safe.
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "core/events.h"
#include "core/flow_service.h"
#include "core/run_service.h"
#include "core/store.h"

namespace weft {

struct SchedulerOptions {
  std::string default_timezone = "UTC";
  Millis misfire_threshold{60'000};  // later than this counts as missed
  Millis rescan_interval{30'000};    // re-read the store (changes on other nodes)
};

class Scheduler {
 public:
  Scheduler(Store& store, RunService& runs, ChangeHub& hub, Clock& clock, SchedulerOptions options);
  ~Scheduler();
  void Start();
  void Stop();
  // Number of schedules in the heap (tests, metrics).
  size_t ActiveSchedules() const;

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
};

}  // namespace weft
