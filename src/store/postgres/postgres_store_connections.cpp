#include "common/ids.h"
#include "store/postgres/postgres_store_impl.h"

namespace weft {

// ---- connections ----------------------------------------------------------------

namespace {

std::optional<Connection> FindConnection(Conn& c, const char* column, const std::string& v) {
  return First(
      c.Exec(std::string("SELECT " CONNECTION_COLS " FROM connections WHERE ") + column + " = $1",
             Params().Text(v)),
      ReadConnection<PgRow>);
}

}  // namespace

Result<Connection> PostgresStore::CreateConnection(const Connection& in) {
  Connection conn = in;
  TimePoint now = impl_->Now();
  StampNew(conn.id, conn.created_at, now);
  if (conn.updated_at == TimePoint{}) conn.updated_at = conn.created_at;
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<Connection> {
    try {
      c.Exec("INSERT INTO connections (" CONNECTION_COLS
             ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
             Params()
                 .Text(conn.id)
                 .Text(conn.name)
                 .Text(conn.connector)
                 .JsonAlways(conn.settings)
                 .JsonAlways(conn.auth)
                 .Bool(conn.active)
                 .Time(conn.created_at)
                 .Time(conn.updated_at)
                 .Text(conn.updated_by));
    } catch (const PgError& e) {
      if (e.sqlstate != kUniqueViolation) throw;
      if (retry) {
        auto stored = FindConnection(c, "id", conn.id);
        if (stored && stored->name == conn.name && stored->created_at == conn.created_at) {
          return conn;
        }
      }
      if (IsUnique(e, "connections_name_key")) return NameTaken("connection", conn.name);
      return Fail(ErrorCode::kConflict, "connection " + conn.id + " already exists");
    }
    return conn;
  });
}

Result<Connection> PostgresStore::GetConnection(const std::string& id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Connection> {
    auto conn = FindConnection(c, "id", id);
    if (!conn) return NotFound("connection " + id);
    return std::move(*conn);
  });
}

Result<Connection> PostgresStore::GetConnectionByName(const std::string& name) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Connection> {
    auto conn = FindConnection(c, "name", name);
    if (!conn) return NotFound("connection named \"" + name + "\"");
    return std::move(*conn);
  });
}

Result<std::vector<Connection>> PostgresStore::ListConnections() {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<std::vector<Connection>> {
    Rows rows = c.Exec("SELECT " CONNECTION_COLS " FROM connections ORDER BY name, id");
    std::vector<Connection> out;
    for (int i = 0; i < rows.size(); ++i) out.push_back(ReadConnection(PgRow(rows, i)));
    return out;
  });
}

Result<Connection> PostgresStore::UpdateConnection(const Connection& in) {
  TimePoint now = impl_->Now();
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Connection> {
    try {
      auto stored = First(
          c.Exec("UPDATE connections SET name = $2, connector = $3, settings = $4, auth = $5, "
                 "active = $6, updated_at = $7, updated_by = $8 WHERE id = $1 "
                 "RETURNING " CONNECTION_COLS,
                 Params()
                     .Text(in.id)
                     .Text(in.name)
                     .Text(in.connector)
                     .JsonAlways(in.settings)
                     .JsonAlways(in.auth)
                     .Bool(in.active)
                     .Time(now)
                     .Text(in.updated_by)),
          ReadConnection<PgRow>);
      if (!stored) return NotFound("connection " + in.id);
      return std::move(*stored);
    } catch (const PgError& e) {
      if (IsUnique(e, "connections_name_key")) return NameTaken("connection", in.name);
      throw;
    }
  });
}

Result<void> PostgresStore::DeleteConnection(const std::string& id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<void> {
    if (c.Exec("DELETE FROM connections WHERE id = $1", Params().Text(id)).affected() == 0) {
      if (retry) return Ok();  // the first attempt deleted it
      return NotFound("connection " + id);
    }
    return Ok();
  });
}

}  // namespace weft

namespace weft {

// ---- connection rate limits (migration 0013) --------------------------------------

Result<TimePoint> PostgresStore::TakeRateSlot(const std::string& connection_id,
                                              const RateLimit* limit, TimePoint now) {
  const int64_t now_ms = ToUnixMs(now);
  if (!limit) {
    return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<TimePoint> {
      Rows rows = c.Exec("SELECT paused_until FROM connection_rates WHERE connection_id = $1",
                         Params().Text(connection_id));
      int64_t paused = rows.empty() ? 0 : rows.Int(0, 0);
      return FromUnixMs(std::max(now_ms, paused));
    });
  }
  const int64_t interval = limit->Interval().count();
  const int64_t tolerance = interval * (limit->burst - 1);
  // Not retried once it may have committed: a second take would reserve a
  // second slot (harmless, but a slot lost for everyone).
  return impl_->Do(Retry::kIfNotCommitted, [&](Conn& c, bool) -> Result<TimePoint> {
    try {
      // GCRA in one statement, under the row's lock (see the SQLite store):
      // the SET expressions read the row as it was.
      Rows rows = c.Exec(
          "INSERT INTO connection_rates AS r (connection_id, tat, last_slot, paused_until) "
          "VALUES ($1, $2::bigint + $3::bigint, $2::bigint, 0) "
          "ON CONFLICT (connection_id) DO UPDATE SET "
          "last_slot = GREATEST($2::bigint, r.paused_until, r.tat - $4::bigint), "
          "tat = GREATEST(r.tat, $2::bigint, r.paused_until) + $3::bigint "
          "RETURNING last_slot",
          Params().Text(connection_id).Int(now_ms).Int(interval).Int(tolerance));
      if (rows.empty()) return Fail(ErrorCode::kInternal, "rate slot: no row returned");
      return FromUnixMs(rows.Int(0, 0));
    } catch (const PgError& e) {
      if (e.sqlstate == kForeignKeyViolation) return NotFound("connection " + connection_id);
      throw;
    }
  });
}

Result<void> PostgresStore::PauseConnection(const std::string& connection_id, TimePoint until) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    try {
      c.Exec(
          "INSERT INTO connection_rates AS r (connection_id, paused_until) VALUES ($1, $2) "
          "ON CONFLICT (connection_id) DO UPDATE SET "
          "paused_until = GREATEST(r.paused_until, EXCLUDED.paused_until)",
          Params().Text(connection_id).Int(ToUnixMs(until)));
    } catch (const PgError& e) {
      if (e.sqlstate == kForeignKeyViolation) return NotFound("connection " + connection_id);
      throw;
    }
    return Ok();
  });
}

}  // namespace weft
