// Several weft nodes on one PostgreSQL: the wiring that is not a
// Store method. NotifyBridge carries the ChangeHub's "run queued" and "flow
// changed" events to every other node with LISTEN/NOTIFY (and theirs to this
// node's hub); SchedulerRole runs the Scheduler on the one node that holds the
// scheduler advisory lock. Both own their threads; Start once, Stop once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "core/events.h"
#include "engine/scheduler.h"
#include "store/postgres/postgres_listener.h"
#include "store/postgres/postgres_role_lock.h"
#include "store/postgres/postgres_store.h"

namespace weft::app {

// The NOTIFY channels of an installation (one per schema, since NOTIFY is
// database-wide): "weft_runs" and "weft_flows" in the public schema.
std::string RunsChannel(const std::string& schema);
std::string FlowsChannel(const std::string& schema);

// Local hub events go out as NOTIFY from a thread of their own that coalesces
// them (one NOTIFY for any number of runs queued meanwhile), so no request or
// commit waits for a NOTIFY. Remote events come in on a LISTEN connection and
// are replayed on the local hub (and never sent out again). A payload names
// the sending node, which ignores its own.
class NotifyBridge {
 public:
  NotifyBridge(PostgresStore& store, const PostgresOptions& options, ChangeHub& hub,
               std::string node_id);
  ~NotifyBridge();
  // Opens the LISTEN connection (kUnavailable when it cannot) and starts.
  Result<void> Start();
  void Stop();

 private:
  // What the hub's listeners touch: shared with them, since the hub keeps
  // its listeners after this bridge is gone.
  struct Pending {
    std::mutex mu;
    std::condition_variable cv;
    bool stopping = false;
    bool runs = false;
    std::set<std::string> flows;
  };
  void SendLoop();
  void ListenLoop();

  PostgresStore& store_;
  PostgresOptions options_;
  ChangeHub& hub_;
  const std::string node_id_;
  const std::string runs_channel_;
  const std::string flows_channel_;
  std::unique_ptr<PostgresListener> listener_;

  std::shared_ptr<Pending> pending_ = std::make_shared<Pending>();
  ChangeHub::Subscription runs_sub_;
  ChangeHub::Subscription flows_sub_;
  std::atomic<bool> stop_listen_{false};
  std::thread sender_;
  std::thread receiver_;
};

// Holds the scheduler role while this node has the advisory lock: polls it
// about once a second; on gaining it builds and starts a fresh Scheduler
// (which reads every schedule from the store, and catches up fire times
// missed since the last holder stopped, per each schedule's misfire policy);
// on losing it (its session ended: a database restart) stops that Scheduler.
class SchedulerRole {
 public:
  using Factory = std::function<std::unique_ptr<Scheduler>()>;
  SchedulerRole(const PostgresOptions& options, Factory make, Millis poll = Millis(1000));
  ~SchedulerRole();
  void Start();
  void Stop();
  bool holds() const { return holds_.load(); }

 private:
  void Loop();

  PostgresRoleLock lock_;
  Factory make_;
  Millis poll_;
  std::unique_ptr<Scheduler> scheduler_;
  std::atomic<bool> holds_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace weft::app
