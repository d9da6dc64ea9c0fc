#include "store/postgres/postgres_role_lock.h"

#include "store/postgres/pg_conn.h"

namespace weft {

using pg::Conn;
using pg::Params;
using pg::PgError;

namespace {
constexpr int32_t kRoleLockClass = 0x77656672;  // "wefr"; migrations use "weft"

int32_t RoleKey(const std::string& schema, const std::string& role) {
  return pg::SchemaKey(schema + "/" + role);
}
}  // namespace

struct PostgresRoleLock::Impl {
  PostgresOptions options;
  int32_t key = 0;
  std::unique_ptr<Conn> conn;
};

PostgresRoleLock::PostgresRoleLock(const PostgresOptions& options, const std::string& role)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->key = RoleKey(options.schema, role);
}

PostgresRoleLock::~PostgresRoleLock() { Release(); }

bool PostgresRoleLock::Poll() {
  try {
    if (held_) {
      impl_->conn->Exec("SELECT 1");
      last_error_.clear();
      return true;
    }
    if (!impl_->conn)
      impl_->conn =
          Conn::Open(impl_->options.url, impl_->options.schema, impl_->options.connect_timeout);
    auto rows = impl_->conn->Exec("SELECT pg_try_advisory_lock($1::integer, $2::integer)",
                                  Params().Int(kRoleLockClass).Int(impl_->key));
    held_ = rows.Bool(0, 0);
    last_error_.clear();
    return held_;
  } catch (const std::exception& e) {
    // A broken session holds nothing: PostgreSQL released the lock with it.
    impl_->conn.reset();
    held_ = false;
    last_error_ = e.what();
    return false;
  }
}

void PostgresRoleLock::Release() {
  if (impl_->conn && held_) {
    try {
      impl_->conn->Exec("SELECT pg_advisory_unlock($1::integer, $2::integer)",
                        Params().Int(kRoleLockClass).Int(impl_->key));
    } catch (const std::exception&) {
      // Closing the session below releases it anyway.
    }
  }
  impl_->conn.reset();
  held_ = false;
}

}  // namespace weft
