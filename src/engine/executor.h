// Executor: runs one claimed run from where its records say it stopped.
// Each step's result is committed before the next step starts; a finished
// step is never run again, so a run resumed after a crash continues at its
// first unfinished step. Delays and waiting retries suspend the run (the
// worker thread is freed; the run's not_before holds the wake time).
// One Executor serves many worker threads; each Execute call is independent.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "core/action.h"
#include "core/events.h"
#include "core/model.h"
#include "core/store.h"
#include "engine/engine.h"

namespace weft {

class CompiledFlow;

// How an Execute call ended.
struct ExecuteResult {
  enum Kind { kFinished, kSuspended, kHandedBack } kind = kFinished;
  std::optional<TimePoint> resume_at;  // kSuspended
};

class Executor {
 public:
  Executor(Store& store, const ActionCatalog& catalog, ChangeHub& hub, Clock& clock,
           const EngineOptions& options);
  ~Executor();

  // Executes `run`, claimed by this node and as Store::ClaimRuns returned it
  // (with its steps, if it has any). `cancelled` is raised by the caller
  // when a cancel is requested; `stopping` when the node shuts down.
  ExecuteResult Execute(Run run, const std::atomic<bool>& cancelled,
                        const std::atomic<bool>& stopping);

 private:
  std::shared_ptr<const CompiledFlow> Load(const std::string& flow_id, int version, Error* error);
  static std::optional<std::pair<Millis, std::string>> RunTimeout(const Json& settings);
  void StartErrorFlow(const Run& failed, const Json& settings, const std::string& failed_step,
                      const Error& error);

  Store& store_;
  const ActionCatalog& catalog_;
  ChangeHub& hub_;
  Clock& clock_;
  const EngineOptions& options_;
  std::mutex cache_mu_;
  std::map<std::pair<std::string, int>, std::shared_ptr<const CompiledFlow>> cache_;
};

}  // namespace weft
