#include "common/ids.h"
#include "store/postgres/postgres_store_impl.h"

namespace weft {

// ---- deliveries ------------------------------------------------------------------------

Result<Delivery> PostgresStore::CreateDelivery(const Delivery& in) {
  Delivery d = in;
  StampNew(d.id, d.received_at, impl_->Now());
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<Delivery> {
    try {
      c.Exec("INSERT INTO deliveries (" DELIVERY_COLS
             ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
             Params()
                 .Text(d.id)
                 .Text(d.flow_id)
                 .Time(d.received_at)
                 .Text(d.method)
                 .Text(d.path)
                 .Int(d.status_code)
                 .Text(d.run_id)
                 .JsonAlways(d.headers)
                 .JsonAlways(d.query)
                 .Bytes(d.body)
                 .Text(d.content_type)
                 .Bool(d.auth_passed));
    } catch (const PgError& e) {
      if (e.sqlstate != kUniqueViolation) throw;
      if (retry) {
        Rows rows = c.Exec("SELECT received_at, flow_id FROM deliveries WHERE id = $1",
                           Params().Text(d.id));
        if (!rows.empty() && rows.Time(0, 0) == d.received_at && rows.Text(0, 1) == d.flow_id) {
          return d;
        }
      }
      return Fail(ErrorCode::kConflict, "delivery " + d.id + " already exists");
    }
    return d;
  });
}

Result<Delivery> PostgresStore::GetDelivery(const std::string& id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Delivery> {
    auto d =
        First(c.Exec("SELECT " DELIVERY_COLS " FROM deliveries WHERE id = $1", Params().Text(id)),
              ReadDelivery<PgRow>);
    if (!d) return NotFound("delivery " + id);
    return std::move(*d);
  });
}

Result<std::vector<Delivery>> PostgresStore::ListDeliveries(const std::string& flow_id, int limit) {
  if (limit <= 0) limit = 50;
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<std::vector<Delivery>> {
    Rows rows =
        flow_id.empty()
            ? c.Exec("SELECT " DELIVERY_COLS
                     " FROM deliveries ORDER BY received_at DESC, id DESC LIMIT $1",
                     Params().Int(limit))
            : c.Exec("SELECT " DELIVERY_COLS
                     " FROM deliveries WHERE flow_id = $1 ORDER BY received_at DESC, id DESC "
                     "LIMIT $2",
                     Params().Text(flow_id).Int(limit));
    std::vector<Delivery> out;
    for (int i = 0; i < rows.size(); ++i) out.push_back(ReadDelivery(PgRow(rows, i)));
    return out;
  });
}

// ---- webhooks ----------------------------------------------------------------------------

Result<WebhookRecorded> PostgresStore::RecordWebhook(const WebhookRecord& r) {
  std::optional<Run> run = r.run;
  if (run) {
    StampNew(run->id, run->created_at, impl_->Now());
  }
  std::optional<Delivery> delivery = r.delivery;
  if (delivery) {
    StampNew(delivery->id, delivery->received_at, impl_->Now());
  }
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<WebhookRecorded> {
    WebhookRecorded out;
    if (retry && delivery) {
      // The first attempt may have committed before the connection broke.
      Rows done =
          c.Exec("SELECT run_id FROM deliveries WHERE id = $1", Params().Text(delivery->id));
      if (!done.empty()) {
        std::string id = done.Text(0, 0);
        if (run && id == run->id)
          out.run = run;
        else
          out.duplicate_of = id;
        out.delivery = delivery;
        out.delivery->run_id = id;
        return out;
      }
    }
    Txn txn(c);
    if (run) {
      bool take = true;
      if (!r.idempotency_key.empty()) {
        // Takes the key, or a stale one; a fresh key held by another request
        // (concurrent ones wait for its transaction) yields no row.
        Rows taken = c.Exec(
            "INSERT INTO webhook_keys (flow_id, key, run_id, created_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (flow_id, key) DO UPDATE SET run_id = EXCLUDED.run_id, created_at = "
            "EXCLUDED.created_at "
            "WHERE webhook_keys.created_at < $5 RETURNING run_id",
            Params()
                .Text(run->flow_id)
                .Text(r.idempotency_key)
                .Text(run->id)
                .Time(run->created_at)
                .Time(r.keys_since));
        if (taken.empty()) {
          Rows first = c.Exec("SELECT run_id FROM webhook_keys WHERE flow_id = $1 AND key = $2",
                              Params().Text(run->flow_id).Text(r.idempotency_key));
          if (!first.empty()) out.duplicate_of = first.Text(0, 0);
          take = false;
        }
      }
      if (take) {
        try {
          InsertRun(c, *run);
        } catch (const PgError& e) {
          if (e.sqlstate != kUniqueViolation) throw;
          return Fail(ErrorCode::kConflict, "run " + run->id + " already exists");
        }
        out.run = run;
      }
    }
    if (delivery) {
      Delivery d = *delivery;
      if (out.run)
        d.run_id = out.run->id;
      else if (!out.duplicate_of.empty())
        d.run_id = out.duplicate_of;
      c.Exec("INSERT INTO deliveries (" DELIVERY_COLS
             ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
             Params()
                 .Text(d.id)
                 .Text(d.flow_id)
                 .Time(d.received_at)
                 .Text(d.method)
                 .Text(d.path)
                 .Int(d.status_code)
                 .Text(d.run_id)
                 .JsonAlways(d.headers)
                 .JsonAlways(d.query)
                 .Bytes(d.body)
                 .Text(d.content_type)
                 .Bool(d.auth_passed));
      out.delivery = std::move(d);
    }
    txn.Commit();
    return out;
  });
}

Result<std::optional<std::string>> PostgresStore::FindWebhookKey(const std::string& flow_id,
                                                                 const std::string& key,
                                                                 TimePoint since) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<std::optional<std::string>> {
    Rows rows = c.Exec(
        "SELECT run_id FROM webhook_keys WHERE flow_id = $1 AND key = $2 AND created_at >= $3",
        Params().Text(flow_id).Text(key).Time(since));
    if (rows.empty()) return std::optional<std::string>{};
    return std::optional<std::string>(rows.Text(0, 0));
  });
}

Result<int64_t> PostgresStore::PruneWebhookData(const std::string& flow_id, TimePoint before,
                                                int64_t keep, TimePoint keys_before, int max_rows) {
  if (max_rows <= 0) max_rows = 500;
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<int64_t> {
    int64_t deleted = 0;
    if (flow_id.empty()) {
      deleted += c.Exec(
                      "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE "
                      "received_at < $1 "
                      "ORDER BY received_at LIMIT $2)",
                      Params().Time(before).Int(max_rows))
                     .affected();
    } else {
      deleted +=
          c.Exec(
               "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE flow_id = $1 "
               "AND received_at < $2 ORDER BY received_at LIMIT $3)",
               Params().Text(flow_id).Time(before).Int(max_rows))
              .affected();
      if (keep > 0) {
        deleted +=
            c.Exec(
                 "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE flow_id = $1 "
                 "ORDER BY received_at DESC, id DESC LIMIT $2 OFFSET $3)",
                 Params().Text(flow_id).Int(max_rows).Int(keep))
                .affected();
      }
    }
    deleted += c.Exec(
                    "DELETE FROM webhook_keys WHERE (flow_id, key) IN (SELECT flow_id, key FROM "
                    "webhook_keys "
                    "WHERE created_at < $1 LIMIT $2)",
                    Params().Time(keys_before).Int(max_rows))
                   .affected();
    return deleted;
  });
}

}  // namespace weft
