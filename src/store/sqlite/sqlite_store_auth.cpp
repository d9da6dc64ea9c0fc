#include "common/ids.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace weft {

// ---- access control ----------------------------------------------------

Result<User> SqliteStore::CreateUser(const User& in) {
  return impl_->Write([&](Conn& c) -> Result<User> {
    User u = in;
    StampNew(u.id, u.created_at, impl_->Now());
    Stmt s(c,
           "INSERT INTO users (" USER_COLS ") VALUES (:id, :username, :hash, :role, :created_at)");
    s.Text(":id", u.id)
        .Text(":username", u.username)
        .Text(":hash", u.password_hash)
        .Text(":role", RoleName(u.role))
        .Time(":created_at", u.created_at);
    try {
      s.Run();
    } catch (const SqlError& e) {
      if ((e.code & 0xff) == SQLITE_CONSTRAINT) return NameTaken("user", u.username);
      throw;
    }
    return u;
  });
}

Result<User> SqliteStore::GetUser(const std::string& id) {
  return impl_->Read([&](Conn& c) -> Result<User> {
    Stmt s(c, "SELECT " USER_COLS " FROM users WHERE id = :id");
    s.Text(":id", id);
    auto u = One(s, ReadUser<SqliteRow>);
    if (!u) return NotFound("user " + id);
    return std::move(*u);
  });
}

Result<User> SqliteStore::GetUserByName(const std::string& name) {
  return impl_->Read([&](Conn& c) -> Result<User> {
    Stmt s(c, "SELECT " USER_COLS " FROM users WHERE username = :name");
    s.Text(":name", name);
    auto u = One(s, ReadUser<SqliteRow>);
    if (!u) return NotFound("user named \"" + name + "\"");
    return std::move(*u);
  });
}

Result<std::vector<User>> SqliteStore::ListUsers() {
  return impl_->Read([&](Conn& c) -> Result<std::vector<User>> {
    Stmt s(c, "SELECT " USER_COLS " FROM users ORDER BY username");
    std::vector<User> out;
    while (s.Step()) out.push_back(ReadUser(SqliteRow(s)));
    return out;
  });
}

Result<void> SqliteStore::DeleteUser(const std::string& id) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c, "DELETE FROM users WHERE id = :id");  // sessions go with it (ON DELETE CASCADE)
    s.Text(":id", id).Run();
    if (c.Changes() == 0) return NotFound("user " + id);
    return Ok();
  });
}

Result<ApiToken> SqliteStore::CreateApiToken(const ApiToken& in) {
  return impl_->Write([&](Conn& c) -> Result<ApiToken> {
    ApiToken t = in;
    StampNew(t.id, t.created_at, impl_->Now());
    Stmt s(c, "INSERT INTO api_tokens (" TOKEN_COLS
              ") VALUES (:id, :name, :role, :prefix, :hash, :created_at, :created_by, :expires_at, "
              ":last_used_at)");
    s.Text(":id", t.id)
        .Text(":name", t.name)
        .Text(":role", RoleName(t.role))
        .Text(":prefix", t.prefix)
        .Text(":hash", t.hash)
        .Time(":created_at", t.created_at)
        .Text(":created_by", t.created_by)
        .Time(":expires_at", t.expires_at)
        .Time(":last_used_at", t.last_used_at);
    try {
      s.Run();
    } catch (const SqlError& e) {
      if ((e.code & 0xff) == SQLITE_CONSTRAINT)
        return Fail(ErrorCode::kConflict, "token " + t.id + " already exists");
      throw;
    }
    return t;
  });
}

Result<ApiToken> SqliteStore::GetApiTokenByHash(const std::string& hash) {
  return impl_->Read([&](Conn& c) -> Result<ApiToken> {
    Stmt s(c, "SELECT " TOKEN_COLS " FROM api_tokens WHERE hash = :hash");
    s.Text(":hash", hash);
    auto t = One(s, ReadToken<SqliteRow>);
    if (!t) return NotFound("token");
    return std::move(*t);
  });
}

Result<std::vector<ApiToken>> SqliteStore::ListApiTokens() {
  return impl_->Read([&](Conn& c) -> Result<std::vector<ApiToken>> {
    Stmt s(c, "SELECT " TOKEN_COLS " FROM api_tokens ORDER BY created_at DESC, id DESC");
    std::vector<ApiToken> out;
    while (s.Step()) out.push_back(ReadToken(SqliteRow(s)));
    return out;
  });
}

Result<void> SqliteStore::DeleteApiToken(const std::string& id) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c, "DELETE FROM api_tokens WHERE id = :id");
    s.Text(":id", id).Run();
    if (c.Changes() == 0) return NotFound("token " + id);
    return Ok();
  });
}

Result<void> SqliteStore::TouchApiToken(const std::string& id, TimePoint at) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c, "UPDATE api_tokens SET last_used_at = :at WHERE id = :id");
    s.Text(":id", id).Time(":at", at).Run();
    if (c.Changes() == 0) return NotFound("token " + id);
    return Ok();
  });
}

Result<Session> SqliteStore::CreateSession(const Session& in) {
  return impl_->Write([&](Conn& c) -> Result<Session> {
    Stmt s(c, "INSERT INTO sessions (" SESSION_COLS
              ") VALUES (:id_hash, :user_id, :created_at, :last_seen_at, :expires_at)");
    s.Text(":id_hash", in.id_hash)
        .Text(":user_id", in.user_id)
        .Time(":created_at", in.created_at)
        .Time(":last_seen_at", in.last_seen_at)
        .Time(":expires_at", in.expires_at);
    try {
      s.Run();
    } catch (const SqlError& e) {
      if (IsConstraint(e, SQLITE_CONSTRAINT_FOREIGNKEY)) return NotFound("user " + in.user_id);
      if ((e.code & 0xff) == SQLITE_CONSTRAINT)
        return Fail(ErrorCode::kConflict, "session already exists");
      throw;
    }
    return in;
  });
}

Result<Session> SqliteStore::GetSession(const std::string& id_hash) {
  return impl_->Read([&](Conn& c) -> Result<Session> {
    Stmt s(c, "SELECT " SESSION_COLS " FROM sessions WHERE id_hash = :id_hash");
    s.Text(":id_hash", id_hash);
    auto x = One(s, ReadSession<SqliteRow>);
    if (!x) return NotFound("session");
    return std::move(*x);
  });
}

Result<void> SqliteStore::TouchSession(const std::string& id_hash, TimePoint at) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(
        c,
        "UPDATE sessions SET last_seen_at = :at WHERE id_hash = :id_hash AND last_seen_at < :at");
    s.Text(":id_hash", id_hash).Time(":at", at).Run();
    return Ok();
  });
}

Result<void> SqliteStore::DeleteSession(const std::string& id_hash) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c, "DELETE FROM sessions WHERE id_hash = :id_hash");
    s.Text(":id_hash", id_hash).Run();
    if (c.Changes() == 0) return NotFound("session");
    return Ok();
  });
}

Result<int64_t> SqliteStore::PruneSessions(TimePoint idle_before, TimePoint now) {
  return impl_->Write([&](Conn& c) -> Result<int64_t> {
    Stmt s(c, "DELETE FROM sessions WHERE last_seen_at < :idle OR expires_at <= :now");
    s.Time(":idle", idle_before).Time(":now", now).Run();
    return c.Changes();
  });
}

}  // namespace weft
