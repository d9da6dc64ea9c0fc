// PostgresListener: NOTIFY wake-ups for a weft node on PostgreSQL, so idle
// workers and schedulers learn at once that another node queued a run or
// changed a flow (PostgresStore::Notify sends them), with polling as the
// fallback when a notification is lost. One connection of its own, which is
// reopened (and the channels listened to again) after the server drops it.
// Not thread-safe: one thread calls Wait in a loop.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/postgres/postgres_store.h"

namespace weft {

class PostgresListener {
 public:
  // Connects (options.url, options.schema) and LISTENs on `channels`
  // (e.g. "weft_runs", "weft_flows"). kUnavailable when the server cannot be reached.
  static Result<std::unique_ptr<PostgresListener>> Open(const PostgresOptions& options,
                                                        std::vector<std::string> channels);
  ~PostgresListener();
  PostgresListener(const PostgresListener&) = delete;
  PostgresListener& operator=(const PostgresListener&) = delete;

  // Waits up to `timeout` and returns the channels notified meanwhile (each
  // once per NOTIFY; empty on timeout). After a lost connection it reconnects
  // and answers {"*"} once: notifications may have been missed, so the caller
  // should look at everything as if woken. kUnavailable while the server is
  // down (the caller waits and calls again).
  Result<std::vector<std::string>> Wait(Millis timeout);

  // As Wait, with each NOTIFY's payload: {channel, payload}; after a
  // reconnect {"*", ""} once.
  struct Event {
    std::string channel;
    std::string payload;
  };
  Result<std::vector<Event>> WaitEvents(Millis timeout);

 private:
  struct Impl;
  explicit PostgresListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft
