// Poller: runs the polls of active `type: poll` flows (docs/polling.md). One
// thread keeps each flow's next poll time (its `every`, a duration or a
// schedule object) and hands due flows to a few poll threads; a flow is
// never handed out while its last poll runs, so polls of one flow never
// overlap. A poll asks the source (core/poll.h) what is new since the
// committed cursor and commits cursor, keys and runs in one
// Store::RecordPoll; only then does the source's `after` (move, delete) run.
// The Scheduler owns the Poller (SchedulerOptions::poll_catalog), so it runs
// on the node holding the scheduler role. Start()/Stop() once; thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "core/action.h"
#include "core/events.h"
#include "core/files.h"
#include "core/store.h"

namespace weft {

struct PollerOptions {
  std::string default_timezone = "UTC";
  // A connection by name with its secrets decrypted (app wires the
  // ConnectionService); without it the store's row is used as is.
  std::function<Result<Connection>(const std::string& name)> resolve_connection;
  FileStore* files = nullptr;  // downloads; null: metadata only
  int threads = 4;             // polls of different flows at once
  Millis poll_timeout{300'000};
  size_t max_items = 1000;  // new items one commit takes; more: poll again at once
  // Re-read every poll flow this often (changes made on other nodes); 0: never.
  Millis rescan_interval{0};
};

class Poller {
 public:
  Poller(Store& store, const ActionCatalog& catalog, ChangeHub& hub, Clock& clock,
         PollerOptions options);
  ~Poller();
  void Start();
  void Stop();
  size_t ActiveFlows() const;
  // Tests: polls every active flow once now (outside its schedule) and
  // waits until those polls ended. False on timeout.
  bool PollAllNow(Millis timeout);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// What the next poll of `flow` would pick, as POST /flows/{id}/poll/check
// answers: {source, items: [{key, item}], known, more, cursor, baseline}.
// A dry run: no run, no key, no cursor change, nothing downloaded or moved.
Result<Json> CheckPoll(Store& store, const ActionCatalog& catalog, Clock& clock, const Flow& flow,
                       const std::function<Result<Connection>(const std::string&)>& resolve);

}  // namespace weft
