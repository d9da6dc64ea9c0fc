// Writer: SqliteStore's one write connection and its group commit. Writes
// that arrive while another is running are committed together: one leader
// runs every waiting write in one transaction, each atomic on its own, and
// each caller returns once the transaction holding its write has committed.
// One commit (one fsync with FULL) serves many writes. Writes of a thread
// marked WritePriority::kBackground (core/store.h) make way for the others
// while the writer is saturated. Thread-safe: any thread may call Write; the
// connection is used by the current leader alone.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "core/store.h"
#include "store/sqlite/sqlite_db.h"

namespace weft::sqlite {

class Writer {
 public:
  // The connection every write runs on; Write may be called once it is set.
  void Open(std::unique_ptr<Conn> conn) { conn_ = std::move(conn); }
  // Closes the connection (SQLite then checkpoints and removes the WAL).
  void Close() { conn_.reset(); }
  // For what runs before any Write (Open's migrations) or alongside none.
  Conn& conn() { return *conn_; }

  // Runs f(conn) as one atomic write; exceptions become Errors. With
  // `guarded` false (SqliteStore's WriteUnguarded) the write gets no
  // savepoint of its own inside a group commit, and a failure after one of
  // its changes rolls the whole commit back (RunBatch).
  template <typename F>
  auto Write(F&& f, bool guarded) -> decltype(f(std::declval<Conn&>())) {
    using R = decltype(f(std::declval<Conn&>()));
    std::optional<R> out;
    WriteTask task;
    task.guarded = guarded;
    task.body = [&](Conn& c) {
      out.emplace(Guard([&]() -> R { return f(c); }));
      task.wrote = out->has_value();
    };
    task.abort = [&](const Error& e) { out.emplace(Fail(e)); };
    RunWrite(task);
    return std::move(*out);
  }

 private:
  struct WriteTask {
    std::function<void(Conn&)> body;          // runs the write, sets the caller's result
    std::function<void(const Error&)> abort;  // its commit failed: replaces the result
    bool wrote = false;                       // body succeeded
    bool done = false;                        // committed, or failed for good
    bool guarded = true;                      // false: WriteUnguarded
    bool background = ThreadWritePriority() == WritePriority::kBackground;
    std::chrono::steady_clock::time_point queued_at = std::chrono::steady_clock::now();
  };

  static constexpr size_t kSmallBatch = 4;  // RunWrite: fewer waiting writes than this, yield once
  // Background writes (core/store.h: the engine's claims and step results)
  // make way for the others. While kSaturated or more normal writes wait,
  // the writer is the bottleneck, and background writes younger than
  // kMaxDefer wait for a later commit: a webhook burst is taken in at the
  // writer's full speed and run right after, and kMaxDefer keeps runs moving
  // under sustained load.
  static constexpr size_t kSaturated = 4;
  static constexpr auto kMaxDefer = std::chrono::milliseconds(100);

  void RunWrite(WriteTask& task);
  // The waiting writes the next commit runs (queue_mu_ held): all of them,
  // unless the writer is saturated (see kSaturated).
  std::vector<WriteTask*> TakeBatch();
  void RunBatch(const std::vector<WriteTask*>& batch);

  std::unique_ptr<Conn> conn_;  // used by the current leader alone
  std::mutex queue_mu_;
  std::condition_variable done_cv_;
  std::vector<WriteTask*> queue_;  // writes waiting for a leader
  bool leading_ = false;           // a leader is running a batch
  size_t normal_queued_ = 0;       // writes in queue_ that are not background
};

}  // namespace weft::sqlite
