#include "common/ids.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace weft {

// ---- connections ----------------------------------------------------------------

namespace {

bool ConnectionNameTaken(Conn& c, const std::string& name, const std::string& except_id) {
  Stmt s(c, "SELECT 1 FROM connections WHERE name = :name AND id <> :id");
  return s.Text(":name", name).Text(":id", except_id).Step();
}

void BindConnection(Stmt& s, const Connection& c) {
  s.Text(":id", c.id)
      .Text(":name", c.name)
      .Text(":connector", c.connector)
      .Text(":settings", DumpJson(c.settings))
      .Text(":auth", DumpJson(c.auth))
      .Int(":active", c.active ? 1 : 0)
      .Time(":updated_at", c.updated_at)
      .Text(":updated_by", c.updated_by);
}

}  // namespace

Result<Connection> SqliteStore::CreateConnection(const Connection& in) {
  return impl_->Write([&](Conn& c) -> Result<Connection> {
    if (ConnectionNameTaken(c, in.name, "")) return NameTaken("connection", in.name);
    Connection conn = in;
    TimePoint now = impl_->Now();
    StampNew(conn.id, conn.created_at, now);
    if (conn.updated_at == TimePoint{}) conn.updated_at = conn.created_at;
    Stmt s(c, "INSERT INTO connections (" CONNECTION_COLS
              ") VALUES (:id, :name, :connector, :settings, :auth, :active, :created_at, "
              ":updated_at, :updated_by)");
    BindConnection(s, conn);
    s.Time(":created_at", conn.created_at);
    try {
      s.Run();
    } catch (const SqlError& e) {
      if (IsConstraint(e, SQLITE_CONSTRAINT_PRIMARYKEY)) {
        return Fail(ErrorCode::kConflict, "connection " + conn.id + " already exists");
      }
      throw;
    }
    return conn;
  });
}

Result<Connection> SqliteStore::GetConnection(const std::string& id) {
  return impl_->Read([&](Conn& c) -> Result<Connection> {
    Stmt s(c, "SELECT " CONNECTION_COLS " FROM connections WHERE id = :id");
    s.Text(":id", id);
    auto conn = One(s, ReadConnection<SqliteRow>);
    if (!conn) return NotFound("connection " + id);
    return std::move(*conn);
  });
}

Result<Connection> SqliteStore::GetConnectionByName(const std::string& name) {
  return impl_->Read([&](Conn& c) -> Result<Connection> {
    Stmt s(c, "SELECT " CONNECTION_COLS " FROM connections WHERE name = :name");
    s.Text(":name", name);
    auto conn = One(s, ReadConnection<SqliteRow>);
    if (!conn) return NotFound("connection named \"" + name + "\"");
    return std::move(*conn);
  });
}

Result<std::vector<Connection>> SqliteStore::ListConnections() {
  return impl_->Read([&](Conn& c) -> Result<std::vector<Connection>> {
    Stmt s(c, "SELECT " CONNECTION_COLS " FROM connections ORDER BY name, id");
    std::vector<Connection> out;
    while (s.Step()) out.push_back(ReadConnection(SqliteRow(s)));
    return out;
  });
}

Result<Connection> SqliteStore::UpdateConnection(const Connection& in) {
  return impl_->Write([&](Conn& c) -> Result<Connection> {
    if (ConnectionNameTaken(c, in.name, in.id)) return NameTaken("connection", in.name);
    Connection conn = in;
    conn.updated_at = impl_->Now();
    Stmt s(c,
           "UPDATE connections SET name = :name, connector = :connector, settings = :settings, "
           "auth = :auth, active = :active, updated_at = :updated_at, updated_by = :updated_by "
           "WHERE id = :id RETURNING " CONNECTION_COLS);
    BindConnection(s, conn);
    auto stored = One(s, ReadConnection<SqliteRow>);
    if (!stored) return NotFound("connection " + in.id);
    return std::move(*stored);
  });
}

Result<void> SqliteStore::DeleteConnection(const std::string& id) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c, "DELETE FROM connections WHERE id = :id");
    s.Text(":id", id).Run();
    if (c.Changes() == 0) return NotFound("connection " + id);
    return Ok();
  });
}

}  // namespace weft

namespace weft {

// ---- connection rate limits (migration 0013) --------------------------------------

Result<TimePoint> SqliteStore::TakeRateSlot(const std::string& connection_id,
                                            const RateLimit* limit, TimePoint now) {
  const int64_t now_ms = ToUnixMs(now);
  if (!limit) {
    return impl_->Read([&](Conn& c) -> Result<TimePoint> {
      Stmt s(c, "SELECT paused_until FROM connection_rates WHERE connection_id = :id");
      s.Text(":id", connection_id);
      int64_t paused = s.Step() ? s.ColInt(0) : 0;
      return FromUnixMs(std::max(now_ms, paused));
    });
  }
  const int64_t interval = limit->Interval().count();
  const int64_t tolerance = interval * (limit->burst - 1);
  return impl_->Write([&](Conn& c) -> Result<TimePoint> {
    // GCRA: the slot is the later of now, the pause's end and tat - tolerance
    // (a burst's allowance); tat moves on by one interval from the later of
    // itself and the slot. The SET expressions read the row as it was.
    Stmt s(c,
           "INSERT INTO connection_rates (connection_id, tat, last_slot, paused_until) "
           "VALUES (:id, :now + :interval, :now, 0) "
           "ON CONFLICT (connection_id) DO UPDATE SET "
           "last_slot = max(:now, paused_until, tat - :tolerance), "
           "tat = max(tat, :now, paused_until) + :interval "
           "RETURNING last_slot");
    s.Text(":id", connection_id)
        .Int(":now", now_ms)
        .Int(":interval", interval)
        .Int(":tolerance", tolerance);
    try {
      if (!s.Step()) return Fail(ErrorCode::kInternal, "rate slot: no row returned");
      return FromUnixMs(s.ColInt(0));
    } catch (const SqlError& e) {
      if (IsConstraint(e, SQLITE_CONSTRAINT_FOREIGNKEY))
        return NotFound("connection " + connection_id);
      throw;
    }
  });
}

Result<void> SqliteStore::PauseConnection(const std::string& connection_id, TimePoint until) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c,
           "INSERT INTO connection_rates (connection_id, paused_until) VALUES (:id, :until) "
           "ON CONFLICT (connection_id) DO UPDATE SET paused_until = max(paused_until, :until)");
    s.Text(":id", connection_id).Int(":until", ToUnixMs(until));
    try {
      s.Run();
    } catch (const SqlError& e) {
      if (IsConstraint(e, SQLITE_CONSTRAINT_FOREIGNKEY))
        return NotFound("connection " + connection_id);
      throw;
    }
    return Ok();
  });
}

}  // namespace weft
