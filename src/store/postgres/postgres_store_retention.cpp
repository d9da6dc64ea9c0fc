#include <algorithm>

#include "store/postgres/postgres_store_impl.h"

namespace weft {

// ---- retention ------------------------------------------------------------

#define FINISHED "status IN ('succeeded', 'failed', 'cancelled', 'skipped')"

Result<int64_t> PostgresStore::PruneRuns(const RunPrune& p, int max_rows) {
  if (max_rows <= 0) max_rows = 500;
  // Failed runs are judged by failed_before, the others by before; the range
  // bound on finished_at (the later of the two) lets the partial index of
  // finished runs (migration 0006) stop early. Step runs go by ON DELETE CASCADE.
  TimePoint top = std::max(p.before, p.failed_before);
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<int64_t> {
    Txn txn(c);
    int64_t deleted = 0;
    if (top > TimePoint{}) {
      std::string sql = "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE " FINISHED
                        " AND finished_at < $1 AND (CASE WHEN status = 'failed' THEN finished_at < "
                        "$2 ELSE finished_at < $3 END)";
      sql += p.flow_id.empty() ? " AND flow_id <> ALL($5::text[])" : " AND flow_id = $5";
      sql += " ORDER BY finished_at LIMIT $4)";
      Params params;
      params.Time(top).Time(p.failed_before).Time(p.before).Int(max_rows);
      if (p.flow_id.empty())
        params.TextArray(p.except_flows);
      else
        params.Text(p.flow_id);
      deleted += c.Exec(sql, params).affected();
    }
    if (!p.flow_id.empty() && p.keep > 0 && deleted < max_rows) {
      deleted +=
          c.Exec(
               "DELETE FROM runs WHERE id IN (SELECT id FROM (SELECT id, status, finished_at FROM "
               "runs "
               "WHERE flow_id = $1 AND " FINISHED
               " ORDER BY created_at DESC, id DESC OFFSET $2) k "
               "WHERE status <> 'failed' OR COALESCE(finished_at, 0) < $3 LIMIT $4)",
               Params().Text(p.flow_id).Int(p.keep).Time(p.failed_before).Int(max_rows - deleted))
              .affected();
    }
    txn.Commit();
    return deleted;
  });
}

}  // namespace weft
