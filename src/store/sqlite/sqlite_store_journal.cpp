#include "common/log.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace weft {

// ---- the import of the webhook journal ------------------------------------------

using sqlite::DecodeWebhook;
using sqlite::EncodeWebhook;

namespace {

// Imports one journal record into the open transaction. A record that cannot
// go in (unreadable, or its run id taken: a record imported before, as by a
// restore over the data dir) is left out and logged; it never stops the
// records behind it. A delivery whose flow was deleted meanwhile is dropped,
// as the flow's ON DELETE CASCADE would have dropped it, and its run kept.
void ImportWebhookRecord(Conn& c, std::string_view payload) {
  WebhookRows w;
  if (!DecodeWebhook(payload, w)) {
    log::Warn("webhook journal: an unreadable record was left out");
    return;
  }
  auto constraint = [](const SqlError& e) { return (e.code & 0xff) == SQLITE_CONSTRAINT; };
  try {
    InsertWebhookRun(c, w);
  } catch (const SqlError& e) {
    if (!constraint(e)) throw;
    log::Warn("webhook journal: a run was left out", {{"run_id", w.run->id}, {"error", e.what()}});
    return;
  }
  if (!w.delivery) return;
  try {
    InsertWebhookDelivery(c, w, w.run->id);
  } catch (const SqlError& e) {
    if (!constraint(e)) throw;
    if (e.code == SQLITE_CONSTRAINT_FOREIGNKEY) return;
    Stmt undo(c, "DELETE FROM runs WHERE id = :id");  // the run goes with its delivery
    undo.Text(":id", w.run->id).Run();
    log::Warn("webhook journal: a delivery was left out",
              {{"run_id", w.run->id}, {"error", e.what()}});
  }
}

}  // namespace

Result<size_t> SqliteStore::Impl::ImportSome() {
  auto chunk = journal->Read(import_offset, kImportBytes);
  if (!chunk) return Fail(chunk.error());
  if (chunk->records.empty()) return size_t{0};
  const uint64_t generation = journal->generation();
  // Unguarded: a record that cannot go in is skipped statement by
  // statement; an I/O error rolls the whole commit back, and the records
  // stay in the journal for the next try.
  auto written = WriteUnguarded([&](Conn& c) -> Result<void> {
    WriteTxn txn(c, WriteTxn::kNoSavepoint);
    for (std::string_view record : chunk->records) ImportWebhookRecord(c, record);
    Stmt s(c,
           "INSERT INTO webhook_journal (id, generation, imported_to) VALUES (1, :generation, :to) "
           "ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, imported_to = "
           "excluded.imported_to");
    s.Int(":generation", static_cast<int64_t>(generation))
        .Int(":to", static_cast<int64_t>(chunk->next))
        .Run();
    txn.Commit();
    return Ok();
  });
  if (!written) return Fail(written.error());
  import_offset = chunk->next;
  if (import_offset >= kRestartBytes) {
    if (auto restarted = journal->Restart(import_offset); restarted && *restarted) {
      import_offset = sqlite::WebhookJournal::kHeaderSize;
    } else {
      journal->Release(import_offset);  // under steady load it never catches up to restart
    }
  }
  return chunk->records.size();
}

bool SqliteStore::Impl::LoadImportOffset() {
  import_offset = sqlite::WebhookJournal::kHeaderSize;
  const uint64_t file_generation = journal->generation();
  Stmt s(writer.conn(), "SELECT generation, imported_to FROM webhook_journal WHERE id = 1");
  if (!s.Step()) return file_generation == 1;
  auto generation = static_cast<uint64_t>(s.ColInt(0));
  auto to = static_cast<uint64_t>(s.ColInt(1));
  if (file_generation == generation) {
    if (to >= sqlite::WebhookJournal::kHeaderSize && to <= journal->end()) import_offset = to;
    return true;
  }
  return file_generation == generation + 1;
}

void SqliteStore::Impl::StartImporter() {
  importer = std::thread([this] {
    for (;;) {
      {
        std::unique_lock lock(import_mu);
        while (appended.load() <= imported.load()) {
          if (import_stop) return;
          importer_sleeping.store(true);
          if (appended.load() > imported.load()) {
            importer_sleeping.store(false);
            break;
          }
          import_cv.wait_for(lock, std::chrono::seconds(1));
          importer_sleeping.store(false);
          // Woken by the first record after a pause: let more come, so a
          // steady stream is imported a few hundred at a time, not each in
          // a transaction of its own. A read waiting for it cuts this short.
          if (appended.load() > imported.load()) {
            import_cv.wait_for(lock, kGather, [&] { return import_urgent || import_stop; });
          }
        }
        import_urgent = false;
      }
      auto n = ImportSome();
      if (!n) {
        log::Warn("webhook journal: import failed, retrying", {{"error", n.error().message}});
        std::unique_lock lock(import_mu);
        import_problem = n.error().message;
        imported_cv.notify_all();  // a CatchUp waiting for it can say why at once
        if (import_stop) return;   // the records wait in the journal for the next start
        import_cv.wait_for(lock, std::chrono::milliseconds(100));
        continue;
      }
      if (*n == 0) {
        // A record is counted just after its write, so the import can be
        // ahead of the count for a moment; wait for the count to follow.
        std::unique_lock lock(import_mu);
        import_cv.wait_for(lock, std::chrono::milliseconds(1));
        continue;
      }
      {
        std::lock_guard lock(import_mu);
        imported.fetch_add(*n);
        import_problem.clear();
      }
      imported_cv.notify_all();
      std::function<void()> listener;
      {
        std::lock_guard lock(listener_mu);
        listener = on_imported;
      }
      if (listener) listener();
    }
  });
}

void SqliteStore::Impl::StopImporter() {
  if (!importer.joinable()) return;
  {
    std::lock_guard lock(import_mu);
    import_stop = true;
  }
  import_cv.notify_all();
  importer.join();
  imported_cv.notify_all();
}

Result<void> SqliteStore::Impl::Journal(const WebhookRows& rows) {
  if (auto put = journal->Append(EncodeWebhook(rows)); !put) {
    std::lock_guard lock(append_mu);
    append_problem = put.error().message;
    return put;
  }
  if (!append_problem.empty()) {  // racy peek; the lock makes the clear exact
    std::lock_guard lock(append_mu);
    append_problem.clear();
  }
  appended.fetch_add(1);
  if (importer_sleeping.load()) {
    std::lock_guard lock(import_mu);
    import_cv.notify_one();
  }
  return Ok();
}

Result<void> SqliteStore::Impl::CatchUp() {
  if (!journal_appends) return Ok();
  uint64_t target = appended.load();
  if (imported.load() >= target) return Ok();
  std::unique_lock lock(import_mu);
  import_urgent = true;
  import_cv.notify_one();
  // A healthy import catches up in milliseconds; give it 10 s. One that is
  // failing (a full disk) gets a second: it retries every 100 ms.
  auto start = std::chrono::steady_clock::now();
  imported_cv.wait_until(lock, start + std::chrono::seconds(10), [&] {
    if (imported.load() >= target || import_stop) return true;
    return !import_problem.empty() &&
           std::chrono::steady_clock::now() - start >= std::chrono::seconds(1);
  });
  if (imported.load() >= target) return Ok();
  uint64_t behind = target - imported.load();
  std::string why = import_problem.empty() ? "the import is slow" : import_problem;
  return Fail(ErrorCode::kUnavailable, std::to_string(behind) +
                                           " accepted webhooks are not in the database yet (" +
                                           why + "); try again shortly");
}

std::string SqliteStore::Impl::JournalProblem() const {
  {
    std::lock_guard lock(append_mu);
    if (!append_problem.empty()) return "webhook journal: " + append_problem;
  }
  std::lock_guard lock(import_mu);
  if (!import_problem.empty()) return "webhook journal import: " + import_problem;
  return {};
}

}  // namespace weft
