#include "core/model.h"

#include <array>
#include <utility>

#include "core/store.h"

namespace weft {
namespace {

constexpr std::array<std::pair<RunStatus, std::string_view>, 6> kRunStatus = {{
    {RunStatus::kQueued, "queued"},
    {RunStatus::kRunning, "running"},
    {RunStatus::kSucceeded, "succeeded"},
    {RunStatus::kFailed, "failed"},
    {RunStatus::kCancelled, "cancelled"},
    {RunStatus::kSkipped, "skipped"},
}};
constexpr std::array<std::pair<StepStatus, std::string_view>, 5> kStepStatus = {{
    {StepStatus::kPending, "pending"},
    {StepStatus::kRunning, "running"},
    {StepStatus::kSucceeded, "succeeded"},
    {StepStatus::kFailed, "failed"},
    {StepStatus::kSkipped, "skipped"},
}};

}  // namespace

std::string FlowDocument::TriggerType() const { return GetString(trigger, "type", "manual"); }

std::string_view ToString(RunStatus s) {
  for (const auto& [v, name] : kRunStatus)
    if (v == s) return name;
  return "queued";
}

std::string_view ToString(StepStatus s) {
  for (const auto& [v, name] : kStepStatus)
    if (v == s) return name;
  return "pending";
}

std::optional<RunStatus> ParseRunStatus(std::string_view s) {
  for (const auto& [v, name] : kRunStatus)
    if (name == s) return v;
  return std::nullopt;
}

std::optional<StepStatus> ParseStepStatus(std::string_view s) {
  for (const auto& [v, name] : kStepStatus)
    if (name == s) return v;
  return std::nullopt;
}

bool IsTerminal(RunStatus s) {
  return s == RunStatus::kSucceeded || s == RunStatus::kFailed || s == RunStatus::kCancelled ||
         s == RunStatus::kSkipped;
}

bool IsTerminal(StepStatus s) {
  return s == StepStatus::kSucceeded || s == StepStatus::kFailed || s == StepStatus::kSkipped;
}

namespace {
thread_local WritePriority thread_write_priority = WritePriority::kNormal;
}  // namespace

void SetThreadWritePriority(WritePriority priority) { thread_write_priority = priority; }
WritePriority ThreadWritePriority() { return thread_write_priority; }

}  // namespace weft
