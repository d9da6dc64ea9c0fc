#include "common/ids.h"
#include "store/postgres/postgres_store_impl.h"

namespace weft {

// ---- access control ----------------------------------------------------

Result<User> PostgresStore::CreateUser(const User& in) {
  User u = in;
  StampNew(u.id, u.created_at, impl_->Now());
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<User> {
    try {
      c.Exec("INSERT INTO users (" USER_COLS ") VALUES ($1, $2, $3, $4, $5)",
             Params()
                 .Text(u.id)
                 .Text(u.username)
                 .Text(u.password_hash)
                 .Text(RoleName(u.role))
                 .Time(u.created_at));
    } catch (const PgError& e) {
      if (e.sqlstate != kUniqueViolation) throw;
      if (retry) {  // our first attempt may have committed
        auto mine =
            First(c.Exec("SELECT " USER_COLS " FROM users WHERE id = $1", Params().Text(u.id)),
                  ReadUser<PgRow>);
        if (mine) return std::move(*mine);
      }
      return NameTaken("user", u.username);
    }
    return u;
  });
}

Result<User> PostgresStore::GetUser(const std::string& id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<User> {
    auto u = First(c.Exec("SELECT " USER_COLS " FROM users WHERE id = $1", Params().Text(id)),
                   ReadUser<PgRow>);
    if (!u) return NotFound("user " + id);
    return std::move(*u);
  });
}

Result<User> PostgresStore::GetUserByName(const std::string& name) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<User> {
    auto u =
        First(c.Exec("SELECT " USER_COLS " FROM users WHERE username = $1", Params().Text(name)),
              ReadUser<PgRow>);
    if (!u) return NotFound("user named \"" + name + "\"");
    return std::move(*u);
  });
}

Result<std::vector<User>> PostgresStore::ListUsers() {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<std::vector<User>> {
    Rows rows = c.Exec("SELECT " USER_COLS " FROM users ORDER BY username");
    std::vector<User> out;
    for (int i = 0; i < rows.size(); ++i) out.push_back(ReadUser(PgRow(rows, i)));
    return out;
  });
}

Result<void> PostgresStore::DeleteUser(const std::string& id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<void> {
    if (c.Exec("DELETE FROM users WHERE id = $1", Params().Text(id)).affected() == 0) {
      if (retry) return Ok();
      return NotFound("user " + id);
    }
    return Ok();
  });
}

Result<ApiToken> PostgresStore::CreateApiToken(const ApiToken& in) {
  ApiToken t = in;
  StampNew(t.id, t.created_at, impl_->Now());
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<ApiToken> {
    try {
      c.Exec("INSERT INTO api_tokens (" TOKEN_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
             Params()
                 .Text(t.id)
                 .Text(t.name)
                 .Text(RoleName(t.role))
                 .Text(t.prefix)
                 .Text(t.hash)
                 .Time(t.created_at)
                 .Text(t.created_by)
                 .Time(t.expires_at)
                 .Time(t.last_used_at));
    } catch (const PgError& e) {
      if (e.sqlstate != kUniqueViolation) throw;
      if (retry) {
        auto mine = First(
            c.Exec("SELECT " TOKEN_COLS " FROM api_tokens WHERE id = $1", Params().Text(t.id)),
            ReadToken<PgRow>);
        if (mine && mine->hash == t.hash) return std::move(*mine);
      }
      return Fail(ErrorCode::kConflict, "token " + t.id + " already exists");
    }
    return t;
  });
}

Result<ApiToken> PostgresStore::GetApiTokenByHash(const std::string& hash) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<ApiToken> {
    auto t =
        First(c.Exec("SELECT " TOKEN_COLS " FROM api_tokens WHERE hash = $1", Params().Text(hash)),
              ReadToken<PgRow>);
    if (!t) return NotFound("token");
    return std::move(*t);
  });
}

Result<std::vector<ApiToken>> PostgresStore::ListApiTokens() {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<std::vector<ApiToken>> {
    Rows rows = c.Exec("SELECT " TOKEN_COLS " FROM api_tokens ORDER BY created_at DESC, id DESC");
    std::vector<ApiToken> out;
    for (int i = 0; i < rows.size(); ++i) out.push_back(ReadToken(PgRow(rows, i)));
    return out;
  });
}

Result<void> PostgresStore::DeleteApiToken(const std::string& id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<void> {
    if (c.Exec("DELETE FROM api_tokens WHERE id = $1", Params().Text(id)).affected() == 0) {
      if (retry) return Ok();
      return NotFound("token " + id);
    }
    return Ok();
  });
}

Result<void> PostgresStore::TouchApiToken(const std::string& id, TimePoint at) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    if (c.Exec("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", Params().Text(id).Time(at))
            .affected() == 0) {
      return NotFound("token " + id);
    }
    return Ok();
  });
}

Result<Session> PostgresStore::CreateSession(const Session& in) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<Session> {
    try {
      c.Exec("INSERT INTO sessions (" SESSION_COLS ") VALUES ($1, $2, $3, $4, $5)",
             Params()
                 .Text(in.id_hash)
                 .Text(in.user_id)
                 .Time(in.created_at)
                 .Time(in.last_seen_at)
                 .Time(in.expires_at));
    } catch (const PgError& e) {
      if (e.sqlstate == kForeignKeyViolation) return NotFound("user " + in.user_id);
      if (e.sqlstate != kUniqueViolation) throw;
      if (retry) return in;  // the id is 256 random bits: a clash is our first attempt
      return Fail(ErrorCode::kConflict, "session already exists");
    }
    return in;
  });
}

Result<Session> PostgresStore::GetSession(const std::string& id_hash) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Session> {
    auto x = First(
        c.Exec("SELECT " SESSION_COLS " FROM sessions WHERE id_hash = $1", Params().Text(id_hash)),
        ReadSession<PgRow>);
    if (!x) return NotFound("session");
    return std::move(*x);
  });
}

Result<void> PostgresStore::TouchSession(const std::string& id_hash, TimePoint at) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    c.Exec("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2",
           Params().Text(id_hash).Time(at));
    return Ok();
  });
}

Result<void> PostgresStore::DeleteSession(const std::string& id_hash) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<void> {
    if (c.Exec("DELETE FROM sessions WHERE id_hash = $1", Params().Text(id_hash)).affected() == 0) {
      if (retry) return Ok();
      return NotFound("session");
    }
    return Ok();
  });
}

Result<int64_t> PostgresStore::PruneSessions(TimePoint idle_before, TimePoint now) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<int64_t> {
    return c
        .Exec("DELETE FROM sessions WHERE last_seen_at < $1 OR expires_at <= $2",
              Params().Time(idle_before).Time(now))
        .affected();
  });
}

}  // namespace weft
