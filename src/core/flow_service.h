// FlowService: the use cases of flows (create, save as a new version, list,
// activate, clone, import/export, webhook URL), shared by the HTTP API and the
// CLI. It validates before it writes, so a bad document changes nothing, and
// tells the ChangeHub after every change. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "core/action.h"
#include "core/document.h"
#include "core/events.h"
#include "core/secrets.h"
#include "core/store.h"

namespace weft {

struct FlowServiceOptions {
  std::string public_url = "http://127.0.0.1:8080";  // webhook URLs start with it
  std::string default_timezone = "UTC";
  // Seals webhook secrets (trigger.webhook.auth) before the store sees them;
  // null keeps them as sent (tests that need no encryption).
  const SecretBox* secrets = nullptr;
};

// A flow together with the warnings its last save produced.
struct SavedFlow {
  Flow flow;
  std::vector<FieldError> warnings;
};

// One Flow List row (GET /api/v1/flows, docs/api.md).
struct FlowRow {
  Flow flow;
  std::vector<std::string> connections;
  std::string schedule_summary;
  std::optional<RunSummary> last_run;
};

// Computes schedule facts for a document (the scheduler module provides it;
// without one, flows show no schedule facts).
class ScheduleInfo {
 public:
  virtual ~ScheduleInfo() = default;
  // Problems with trigger.schedule, paths relative to the document root.
  virtual std::vector<FieldError> Validate(const Json& schedule, const std::string& default_tz,
                                           const Json* previous_schedule, TimePoint now) const = 0;
  virtual std::string Describe(const Json& schedule, const std::string& default_tz) const = 0;
  // The first fire strictly after `after`, as the scheduler computes it;
  // nullopt when there is none (or the schedule is invalid).
  virtual std::optional<TimePoint> NextFire(const Json& schedule, const std::string& default_tz,
                                            TimePoint after) const {
    return std::nullopt;
  }
};

class FlowService {
 public:
  FlowService(Store& store, const ActionCatalog& catalog, ChangeHub& hub, Clock& clock,
              FlowServiceOptions options, const ScheduleInfo* schedules = nullptr);

  Result<SavedFlow> Create(const Json& document, const std::string& actor);
  // Saves a new version. `document` may carry `base_version`.
  Result<SavedFlow> Save(const std::string& id, const Json& document, const std::string& actor);
  Result<Flow> Get(const std::string& id);
  Result<Flow> GetByName(const std::string& name);
  Result<std::vector<FlowRow>> List();
  Result<void> Delete(const std::string& id);
  // Activation re-validates: connections exist, schedule valid.
  Result<Flow> Activate(const std::string& id);
  Result<Flow> Deactivate(const std::string& id);
  Result<SavedFlow> Clone(const std::string& id, const std::string& actor);
  Result<Json> Export(const std::string& id);  // the document without secrets
  Result<SavedFlow> Import(const Json& document, const std::string& actor);
  Result<std::vector<FlowVersion>> Versions(const std::string& id);
  Result<FlowVersion> Version(const std::string& id, int version);
  Result<Flow> RotateWebhook(const std::string& id);

  // Validates without saving (weft validate, the editor).
  Result<ValidatedFlow> Validate(const Json& document, const Json* previous = nullptr);

  std::string WebhookUrl(const Flow& flow) const;
  const FlowServiceOptions& options() const { return options_; }

 private:
  ValidationContext MakeContext(const Json* previous);
  // Stores the flow's next scheduled fire as activating or saving it leaves
  // it (the response carries it; the scheduler keeps it): the first fire
  // after now when the flow's schedule starts or changes, none when the flow
  // is not an active schedule. `before` is the flow before the change.
  void UpdateNextRun(Flow& flow, const Flow& before);

  Store& store_;
  const ActionCatalog& catalog_;
  ChangeHub& hub_;
  Clock& clock_;
  FlowServiceOptions options_;
  const ScheduleInfo* schedules_;
};

}  // namespace weft
