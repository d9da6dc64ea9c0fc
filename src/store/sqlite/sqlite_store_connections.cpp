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
