#include "store/postgres/postgres_listener.h"

#include "store/postgres/pg_conn.h"

namespace weft {

using pg::Conn;
using pg::PgError;

struct PostgresListener::Impl {
  PostgresOptions options;
  std::vector<std::string> channels;
  std::unique_ptr<Conn> conn;

  void Connect() {
    conn = Conn::Open(options.url, options.schema, options.connect_timeout);
    std::string sql;
    for (const auto& ch : channels) sql += "LISTEN " + pg::QuoteIdent(ch) + ";";
    if (!sql.empty()) conn->ExecScript(sql);
  }
};

PostgresListener::PostgresListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresListener::~PostgresListener() = default;

Result<std::unique_ptr<PostgresListener>> PostgresListener::Open(
    const PostgresOptions& options, std::vector<std::string> channels) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->channels = std::move(channels);
  try {
    impl->Connect();
  } catch (const PgError& e) {
    return Fail(ErrorCode::kUnavailable, e.what());
  }
  return std::unique_ptr<PostgresListener>(new PostgresListener(std::move(impl)));
}

Result<std::vector<std::string>> PostgresListener::Wait(Millis timeout) {
  auto events = WaitEvents(timeout);
  if (!events) return Fail(std::move(events).error());
  std::vector<std::string> out;
  out.reserve(events->size());
  for (auto& e : *events) out.push_back(std::move(e.channel));
  return out;
}

Result<std::vector<PostgresListener::Event>> PostgresListener::WaitEvents(Millis timeout) {
  try {
    if (!impl_->conn) {
      impl_->Connect();
      return std::vector<Event>{{"*", ""}};  // whatever was sent meanwhile is lost
    }
    std::vector<Event> out;
    for (auto& [channel, payload] : impl_->conn->WaitForNotifications(timeout))
      out.push_back({std::move(channel), std::move(payload)});
    return out;
  } catch (const PgError& e) {
    impl_->conn.reset();  // reconnect on the next call
    return Fail(ErrorCode::kUnavailable, e.what());
  } catch (const std::exception& e) {
    impl_->conn.reset();
    return Fail(ErrorCode::kInternal, std::string("listener: ") + e.what());
  }
}

}  // namespace weft
