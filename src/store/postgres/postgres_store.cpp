// PostgresStore: opening (migrations under an advisory lock, the pool) and
// Notify. The Store's methods are in postgres_store_<aggregate>.cpp.
#include "store/postgres/postgres_store.h"

#include "store/postgres/postgres_migrations.h"
#include "store/postgres/postgres_store_impl.h"

namespace weft {

namespace {

// The advisory lock taken while migrating: (kMigrateLockKey, a hash of the
// schema name), so installations in different schemas do not wait for each
// other. Computed here rather than with hashtext(), which PostgreSQL does not
// promise to keep stable.
constexpr int32_t kMigrateLockKey = 0x77656674;  // "weft"

using pg::SchemaKey;

// Applies the migrations newer than the schema's, holding an advisory lock
// for the whole time so that nodes starting together migrate once. The lock
// is a session lock on a connection of its own, released when it closes.
Result<int> Migrate(const PostgresOptions& o) {
  auto conn = Conn::Open(o.url, o.schema, o.connect_timeout);
  Conn& c = *conn;
  Params lock_key;
  lock_key.Int(kMigrateLockKey).Int(SchemaKey(o.schema));
  c.Exec("SELECT pg_advisory_lock($1::integer, $2::integer)", lock_key);
  c.ExecScript("CREATE SCHEMA IF NOT EXISTS " + pg::QuoteIdent(o.schema));
  c.ExecScript(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
      "name text NOT NULL, applied_at bigint NOT NULL)");
  int current =
      static_cast<int>(c.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Int(0, 0));
  auto migrations = postgres::Migrations();
  int latest = migrations.empty() ? 0 : migrations.back().version;
  if (current > latest) {
    return Fail(ErrorCode::kUnavailable, "the database schema \"" + o.schema + "\" has version " +
                                             std::to_string(current) +
                                             ", newer than this weft knows (" +
                                             std::to_string(latest) + "); run a newer weft");
  }
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    Txn txn(c);
    c.ExecScript(m.sql);
    c.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
           Params().Int(m.version).Text(m.name).Time(SystemClock().Now()));
    txn.Commit();
    current = m.version;
  }
  c.Exec("SELECT pg_advisory_unlock($1::integer, $2::integer)", lock_key);
  return current;
}

}  // namespace

// ---- opening and closing --------------------------------------------------------

PostgresStore::PostgresStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const PostgresOptions& options) {
  if (options.url.empty()) {
    return Fail(ErrorCode::kBadRequest, "no PostgreSQL URL given (postgres://user@host/db)");
  }
  if (options.schema.empty()) return Fail(ErrorCode::kBadRequest, "empty PostgreSQL schema name");
  return Guard([&]() -> Result<std::unique_ptr<PostgresStore>> {
    auto version = Migrate(options);
    if (!version) return Fail(std::move(version).error());
    auto impl = std::make_unique<Impl>(options);
    impl->schema_version = *version;
    // One connection now, so a bad URL or password fails here, not later.
    { auto lease = impl->pool.Acquire(); }
    return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(impl)));
  });
}

int PostgresStore::schema_version() const { return impl_->schema_version; }
int PostgresStore::open_connections() const { return impl_->pool.open_connections(); }

Result<void> PostgresStore::Notify(const std::string& channel, const std::string& payload) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    c.Exec("SELECT pg_notify($1, $2)", Params().Text(channel).Text(payload));
    return Ok();
  });
}

}  // namespace weft
