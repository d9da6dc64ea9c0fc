#include "common/ids.h"
#include "store/common/file_refs.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace weft {

using sqlite::Journalable;

// Inserts the run; throws SqlError (SQLITE_CONSTRAINT_PRIMARYKEY: id taken).
void InsertWebhookRun(Conn& c, const WebhookRows& w) {
  const Run& run = *w.run;
  Stmt s(c, kInsertRun);
  s.Text(":id", run.id)
      .Text(":flow_id", run.flow_id)
      .Text(":flow_name", run.flow_name)
      .Int(":flow_version", run.flow_version)
      .Text(":trigger_type", run.trigger_type)
      .Time(":created_at", run.created_at)
      .Text(":retry_of", run.retry_of);
  if (w.trigger_text)
    s.Text(":trigger", *w.trigger_text);
  else
    s.Null(":trigger");
  if (w.input_text)
    s.Text(":input", *w.input_text);
  else
    s.Null(":input");
  BindRunState(s, run);
  s.Run();
  if (w.trigger_text) InsertFileRefs(c, run.id, store::FileIdsInText(*w.trigger_text));
}

// Inserts the delivery with `run_id`; throws SqlError.
void InsertWebhookDelivery(Conn& c, const WebhookRows& w, const std::string& run_id) {
  const Delivery& d = *w.delivery;
  Stmt s(c, kInsertDelivery);
  s.Text(":id", d.id)
      .Text(":flow_id", d.flow_id)
      .Time(":received_at", d.received_at)
      .Text(":method", d.method)
      .Text(":path", d.path)
      .Int(":status_code", d.status_code)
      .Text(":run_id", run_id)
      .Text(":headers", w.headers_text)
      .Text(":query", w.query_text)
      .Blob(":body", d.body)
      .Text(":content_type", d.content_type)
      .Int(":auth_passed", d.auth_passed ? 1 : 0);
  s.Run();
}

// ---- deliveries ------------------------------------------------------------------------

Result<Delivery> SqliteStore::CreateDelivery(const Delivery& in) {
  return impl_->Write([&](Conn& c) -> Result<Delivery> {
    Delivery d = in;
    StampNew(d.id, d.received_at, impl_->Now());
    Stmt s(c, kInsertDelivery);
    s.Text(":id", d.id)
        .Text(":flow_id", d.flow_id)
        .Time(":received_at", d.received_at)
        .Text(":method", d.method)
        .Text(":path", d.path)
        .Int(":status_code", d.status_code)
        .Text(":run_id", d.run_id)
        .Text(":headers", DumpJson(d.headers))
        .Text(":query", DumpJson(d.query))
        .Blob(":body", d.body)
        .Text(":content_type", d.content_type)
        .Int(":auth_passed", d.auth_passed ? 1 : 0);
    try {
      s.Run();
    } catch (const SqlError& e) {
      if (IsConstraint(e, SQLITE_CONSTRAINT_PRIMARYKEY)) {
        return Fail(ErrorCode::kConflict, "delivery " + d.id + " already exists");
      }
      throw;
    }
    return d;
  });
}

Result<Delivery> SqliteStore::GetDelivery(const std::string& id) {
  return impl_->ReadRuns([&](Conn& c) -> Result<Delivery> {
    Stmt s(c, "SELECT " DELIVERY_COLS " FROM deliveries WHERE id = :id");
    s.Text(":id", id);
    auto d = One(s, ReadDelivery<SqliteRow>);
    if (!d) return NotFound("delivery " + id);
    return std::move(*d);
  });
}

Result<std::vector<Delivery>> SqliteStore::ListDeliveries(const std::string& flow_id, int limit) {
  if (limit <= 0) limit = 50;
  return impl_->ReadRuns([&](Conn& c) -> Result<std::vector<Delivery>> {
    std::string sql = "SELECT " DELIVERY_COLS " FROM deliveries";
    if (!flow_id.empty()) sql += " WHERE flow_id = :flow_id";
    sql += " ORDER BY received_at DESC, id DESC LIMIT :limit";
    Stmt s(c, sql);
    if (!flow_id.empty()) s.Text(":flow_id", flow_id);
    s.Int(":limit", limit);
    std::vector<Delivery> out;
    while (s.Step()) out.push_back(ReadDelivery(SqliteRow(s)));
    return out;
  });
}

// ---- webhooks ----------------------------------------------------------------------------

Result<WebhookRecorded> SqliteStore::RecordWebhook(const WebhookRecord& r) {
  const bool journaled = impl_->journal_appends && Journalable(r);
  // The copies and the JSON text are made here, before the write: the group
  // commit's leader runs every waiting write one after the other, so work
  // done inside a write holds up every request queued behind it.
  WebhookRows rows;
  if (r.run) {
    Run& run = rows.run.emplace(*r.run);
    StampNew(run.id, run.created_at, impl_->Now());
    if (!run.trigger.is_null()) rows.trigger_text = DumpJson(run.trigger);
    if (!run.input.is_null()) rows.input_text = DumpJson(run.input);
  }
  if (r.delivery) {
    Delivery& d = rows.delivery.emplace(*r.delivery);
    StampNew(d.id, d.received_at, impl_->Now());
    rows.headers_text = DumpJson(d.headers);
    rows.query_text = DumpJson(d.query);
  }
  if (journaled) {
    if (auto put = impl_->Journal(rows); !put) return Fail(put.error());
    WebhookRecorded out;
    out.run = std::move(rows.run);
    out.delivery = std::move(rows.delivery);
    if (out.delivery) out.delivery->run_id = out.run->id;
    out.announced_later = true;
    return out;
  }
  return impl_->WriteUnguarded([&](Conn& c) -> Result<WebhookRecorded> {
    WebhookRecorded out;
    // The key, the run and the delivery go together. No savepoint in a group
    // commit (WriteUnguarded): only the run's insert can fail on purpose (a
    // run id taken), and it is the first change.
    WriteTxn txn(c, WriteTxn::kNoSavepoint);
    const std::optional<Run>& run = rows.run;
    if (run) {
      bool take = true;
      if (!r.idempotency_key.empty()) {
        // Writes are serialised: read, then insert or take over a stale key.
        Stmt q(
            c,
            "SELECT run_id, created_at FROM webhook_keys WHERE flow_id = :flow_id AND key = :key");
        q.Text(":flow_id", run->flow_id).Text(":key", r.idempotency_key);
        if (q.Step() && q.ColTime(1) >= r.keys_since) {
          out.duplicate_of = q.ColText(0);
          take = false;
        }
      }
      if (take) {
        try {
          InsertWebhookRun(c, rows);
        } catch (const SqlError& e) {
          if (IsConstraint(e, SQLITE_CONSTRAINT_PRIMARYKEY)) {
            return Fail(ErrorCode::kConflict, "run " + run->id + " already exists");
          }
          throw;
        }
        if (!r.idempotency_key.empty()) {
          Stmt k(c,
                 "INSERT OR REPLACE INTO webhook_keys (flow_id, key, run_id, created_at) "
                 "VALUES (:flow_id, :key, :run_id, :created_at)");
          k.Text(":flow_id", run->flow_id)
              .Text(":key", r.idempotency_key)
              .Text(":run_id", run->id)
              .Time(":created_at", run->created_at);
          k.Run();
        }
      }
    }
    if (rows.delivery) {
      std::string run_id = rows.delivery->run_id;
      if (run && out.duplicate_of.empty())
        run_id = run->id;
      else if (!out.duplicate_of.empty())
        run_id = out.duplicate_of;
      InsertWebhookDelivery(c, rows, run_id);
    }
    txn.Commit();
    // Each write's body runs once (RunBatch), so these may be moved out.
    if (rows.run && out.duplicate_of.empty()) out.run = std::move(rows.run);
    if (rows.delivery) {
      out.delivery = std::move(rows.delivery);
      if (out.run)
        out.delivery->run_id = out.run->id;
      else if (!out.duplicate_of.empty())
        out.delivery->run_id = out.duplicate_of;
    }
    return out;
  });
}

bool SqliteStore::RecordsWebhooksAtOnce() const { return impl_->journal_appends; }

Result<std::optional<std::string>> SqliteStore::FindWebhookKey(const std::string& flow_id,
                                                               const std::string& key,
                                                               TimePoint since) {
  return impl_->Read([&](Conn& c) -> Result<std::optional<std::string>> {
    Stmt q(c,
           "SELECT run_id FROM webhook_keys WHERE flow_id = :flow_id AND key = :key AND created_at "
           ">= :since");
    q.Text(":flow_id", flow_id).Text(":key", key).Time(":since", since);
    if (!q.Step()) return std::optional<std::string>{};
    return std::optional<std::string>(q.ColText(0));
  });
}

Result<int64_t> SqliteStore::PruneWebhookData(const std::string& flow_id, TimePoint before,
                                              int64_t keep, TimePoint keys_before, int max_rows) {
  if (max_rows <= 0) max_rows = 500;
  return impl_->Write([&](Conn& c) -> Result<int64_t> {
    int64_t deleted = 0;
    {
      std::string sql = "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE ";
      sql += flow_id.empty() ? "received_at < :before"
                             : "flow_id = :flow_id AND received_at < :before";
      sql += " ORDER BY received_at LIMIT :max)";
      Stmt s(c, sql);
      if (!flow_id.empty()) s.Text(":flow_id", flow_id);
      s.Time(":before", before).Int(":max", max_rows);
      s.Run();
      deleted += sqlite3_changes(c.db());
    }
    if (!flow_id.empty() && keep > 0) {
      Stmt s(
          c,
          "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE flow_id = :flow_id "
          "ORDER BY received_at DESC, id DESC LIMIT :max OFFSET :keep)");
      s.Text(":flow_id", flow_id).Int(":keep", keep).Int(":max", max_rows);
      s.Run();
      deleted += sqlite3_changes(c.db());
    }
    {
      Stmt s(c,
             "DELETE FROM webhook_keys WHERE rowid IN (SELECT rowid FROM webhook_keys "
             "WHERE created_at < :before LIMIT :max)");
      s.Time(":before", keys_before).Int(":max", max_rows);
      s.Run();
      deleted += sqlite3_changes(c.db());
    }
    return deleted;
  });
}

}  // namespace weft
