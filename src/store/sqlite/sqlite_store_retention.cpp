#include <algorithm>

#include "store/sqlite/sqlite_store_impl.h"

namespace weft {

// ---- retention ------------------------------------------------------------

Result<int64_t> SqliteStore::PruneRuns(const RunPrune& p, int max_rows) {
  if (max_rows <= 0) max_rows = 500;
  // Failed runs are judged by failed_before, the others by before; the range
  // bound on finished_at (the later of the two) lets the partial index of
  // finished runs (migration 0006) stop early.
  TimePoint top = std::max(p.before, p.failed_before);
  return impl_->Write([&](Conn& c) -> Result<int64_t> {
    WriteTxn txn(c);
    int64_t deleted = 0;
    if (top > TimePoint{}) {
      // INDEXED BY: left to itself the planner reads runs_by_status and sorts
      // every finished run for each batch.
      std::string sql =
          std::string("DELETE FROM runs WHERE id IN (SELECT id FROM runs INDEXED BY ") +
          (p.flow_id.empty() ? "runs_finished" : "runs_flow_finished") +
          " WHERE " FINISHED_STATUS
          " AND finished_at < :top AND (CASE WHEN status = 'failed' THEN finished_at < "
          ":failed_before "
          "ELSE finished_at < :before END)";
      sql += p.flow_id.empty() ? " AND flow_id NOT IN (SELECT value FROM json_each(:except))"
                               : " AND flow_id = :flow_id";
      sql += " ORDER BY finished_at LIMIT :max)";
      Stmt s(c, sql);
      s.Time(":top", top)
          .Time(":before", p.before)
          .Time(":failed_before", p.failed_before)
          .Int(":max", max_rows);
      if (p.flow_id.empty())
        s.Text(":except", DumpJson(p.except_flows));
      else
        s.Text(":flow_id", p.flow_id);
      s.Run();
      deleted += sqlite3_changes(c.db());
    }
    if (!p.flow_id.empty() && p.keep > 0 && deleted < max_rows) {
      Stmt s(
          c,
          "DELETE FROM runs WHERE id IN (SELECT id FROM (SELECT id, status, finished_at FROM runs "
          "WHERE flow_id = :flow_id AND " FINISHED_STATUS
          " ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET :keep) "
          "WHERE status <> 'failed' OR ifnull(finished_at, 0) < :failed_before LIMIT :max)");
      s.Text(":flow_id", p.flow_id).Int(":keep", p.keep).Time(":failed_before", p.failed_before);
      s.Int(":max", max_rows - deleted).Run();
      deleted += sqlite3_changes(c.db());
    }
    txn.Commit();
    return deleted;
  });
}

Result<int64_t> SqliteStore::ReclaimSpace(int max_pages) {
  if (max_pages <= 0) max_pages = 1000;
  return impl_->Write([&](Conn& c) -> Result<int64_t> {
    // Outside a transaction only: inside one (a group commit) it would hold
    // the pages until that commit anyway, so it waits for the next call.
    if (sqlite3_get_autocommit(c.db()))
      c.Exec("PRAGMA incremental_vacuum(" + std::to_string(max_pages) + ")");
    Stmt s(c, "PRAGMA freelist_count");
    return s.Step() ? s.ColInt(0) : int64_t{0};
  });
}

}  // namespace weft
