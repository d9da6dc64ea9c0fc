#include "store/sqlite/sqlite_writer.h"

#include <sqlite3.h>

#include <string>
#include <thread>

#include "common/metrics.h"

namespace weft::sqlite {

void Writer::RunWrite(WriteTask& task) {
  std::unique_lock lock(queue_mu_);
  queue_.push_back(&task);
  if (!task.background) ++normal_queued_;
  while (!task.done) {
    if (leading_) {
      done_cv_.wait(lock);
      continue;
    }
    leading_ = true;
    if (queue_.size() < kSmallBatch) {
      // Let the threads that are about to write (runnable, but not yet
      // queued: on 2 busy cores they wait for a CPU) join this commit
      // first. One yield took the commit from 2.6 to 9.9 writes on average
      // under webhook load, and each commit writes its dirty pages to the
      // WAL once (docs/benchmarks.md, webhooks 2026-11-29).
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
    }
    std::vector<WriteTask*> batch = TakeBatch();
    lock.unlock();
    try {
      // One sample per transaction (a group commit is one), not per caller.
      metrics::ScopedTimer timer(metrics::Weft().store_write);
      RunBatch(batch);
    } catch (...) {  // out of memory around BEGIN/COMMIT: fail the lot, stay usable
      if (!sqlite3_get_autocommit(conn_->db())) {
        sqlite3_exec(conn_->db(), "ROLLBACK", nullptr, nullptr, nullptr);
      }
      for (auto* t : batch) t->abort(Error(ErrorCode::kInternal, "store: write failed"));
    }
    lock.lock();
    for (auto* t : batch) t->done = true;
    leading_ = false;
    done_cv_.notify_all();
  }
}

std::vector<Writer::WriteTask*> Writer::TakeBatch() {
  std::vector<WriteTask*> batch;
  size_t normal = normal_queued_;
  normal_queued_ = 0;
  if (normal < kSaturated || normal == queue_.size()) {
    batch.swap(queue_);
    return batch;
  }
  auto defer_since = std::chrono::steady_clock::now() - kMaxDefer;
  std::vector<WriteTask*> later;
  for (auto* t : queue_) {
    if (t->background && t->queued_at > defer_since)
      later.push_back(t);
    else
      batch.push_back(t);
  }
  queue_.swap(later);
  return batch;
}

void Writer::RunBatch(const std::vector<WriteTask*>& batch) {
  Conn& c = *conn_;
  if (batch.size() == 1) {
    batch[0]->body(c);
    return;
  }
  try {
    Stmt(c, "BEGIN IMMEDIATE").Run();
  } catch (const SqlError&) {
    for (auto* t : batch) t->body(c);  // each on its own then
    return;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    sqlite3_int64 changes = sqlite3_total_changes64(c.db());
    batch[i]->body(c);
    std::string why;
    if (!batch[i]->guarded && !batch[i]->wrote && !sqlite3_get_autocommit(c.db()) &&
        sqlite3_total_changes64(c.db()) != changes) {
      // An unguarded write failed after a change: undo the whole commit
      // rather than keep half of it.
      why = "another write in its commit failed halfway";
      sqlite3_exec(c.db(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    if (sqlite3_get_autocommit(c.db())) {
      // SQLite rolled the whole transaction back (I/O error, disk full), or
      // we did: the writes before this one are gone; the rest go one by one.
      if (why.empty()) why = sqlite3_errmsg(c.db());
      Error lost(ErrorCode::kUnavailable, "write rolled back: " + why);
      for (size_t j = 0; j < i; ++j) {
        if (batch[j]->wrote) batch[j]->abort(lost);
      }
      for (size_t j = i + 1; j < batch.size(); ++j) batch[j]->body(c);
      return;
    }
  }
  try {
    Stmt(c, "COMMIT").Run();
  } catch (const SqlError& e) {
    sqlite3_exec(c.db(), "ROLLBACK", nullptr, nullptr, nullptr);
    Error failed(CodeFor(e.code), std::string("commit failed: ") + e.what());
    for (auto* t : batch) {
      if (t->wrote) t->abort(failed);
    }
  }
}

}  // namespace weft::sqlite
