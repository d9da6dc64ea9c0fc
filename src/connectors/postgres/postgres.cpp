#include "connectors/postgres/postgres.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>

#include "connectors/common/new_rows.h"
#include "connectors/common/redact.h"
#include "connectors/common/spec.h"

namespace weft::connectors {
namespace {

struct Conn {
  PGconn* pg = nullptr;
  ~Conn() {
    if (pg) PQfinish(pg);
  }
};

struct PgResult {
  PGresult* r = nullptr;
  ~PgResult() {
    if (r) PQclear(r);
  }
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

ConnectorSpec& Spec();

// The libpq parameters a connection gives, as (keyword, value) pairs.
std::vector<std::pair<std::string, std::string>> ConnParams(const Connection& c) {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](const char* k, const std::string& v) {
    if (!v.empty()) out.emplace_back(k, v);
  };
  std::string url = GetString(c.settings, "url");
  if (!url.empty()) add("dbname", url);
  add("host", GetString(c.settings, "host"));
  if (c.settings.contains("port") && !c.settings["port"].is_null())
    add("port", c.settings["port"].is_string() ? c.settings["port"].get<std::string>()
                                               : c.settings["port"].dump());
  if (url.empty()) add("dbname", GetString(c.settings, "database"));
  add("user", GetString(c.auth, "username", GetString(c.settings, "user")));
  add("password", GetString(c.auth, "password"));
  add("sslmode", GetString(c.settings, "sslmode"));
  return out;
}

// Idle server connections, kept per set of connection parameters (a hash of
// them, so no password sits in a key), reused by later steps instead of
// connecting each time. A connection goes back only when it is healthy and
// outside any transaction; one idle longer than kIdleLimit is closed.
class Pool {
 public:
  static constexpr size_t kMaxIdlePerKey = 8;
  static constexpr std::chrono::seconds kIdleLimit{120};

  static std::string KeyOf(const Connection& c) {
    std::string text;
    for (const auto& [k, v] : ConnParams(c)) text += k + '\0' + v + '\0';
    unsigned char out[crypto_generichash_BYTES];
    crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(text.data()),
                       text.size(), nullptr, 0);
    return std::string(reinterpret_cast<char*>(out), sizeof out);
  }

  // An idle connection that still looks alive, or null.
  PGconn* Take(const std::string& key) {
    auto now = std::chrono::steady_clock::now();
    std::vector<PGconn*> stale;
    PGconn* found = nullptr;
    {
      std::lock_guard<std::mutex> g(mu_);
      auto& idle = idle_[key];
      while (!idle.empty()) {
        Idle e = idle.back();
        idle.pop_back();
        if (now - e.since > kIdleLimit) {
          stale.push_back(e.pg);
          continue;
        }
        found = e.pg;
        break;
      }
    }
    for (PGconn* pg : stale) PQfinish(pg);
    if (found && !Alive(found)) {
      PQfinish(found);
      found = nullptr;
    }
    if (found) reused_.fetch_add(1);
    return found;
  }

  // Keeps `pg` for the next step when it is fit to share; else closes it.
  void Give(const std::string& key, PGconn* pg) {
    if (!pg) return;
    if (PQstatus(pg) != CONNECTION_OK || PQtransactionStatus(pg) != PQTRANS_IDLE) {
      PQfinish(pg);
      return;
    }
    PGconn* drop = nullptr;
    {
      std::lock_guard<std::mutex> g(mu_);
      auto& idle = idle_[key];
      idle.push_back({pg, std::chrono::steady_clock::now()});
      if (idle.size() > kMaxIdlePerKey) {
        drop = idle.front().pg;
        idle.pop_front();
      }
    }
    if (drop) PQfinish(drop);
  }

  int64_t reused() const { return reused_.load(); }

 private:
  struct Idle {
    PGconn* pg;
    std::chrono::steady_clock::time_point since;
  };
  // A server that closed the connection (restart, idle timeout) makes its
  // socket readable: read what is there; anything but nothing means unfit.
  static bool Alive(PGconn* pg) {
    if (PQstatus(pg) != CONNECTION_OK) return false;
    pollfd p{PQsocket(pg), POLLIN, 0};
    if (poll(&p, 1, 0) > 0) {
      if (!PQconsumeInput(pg) || PQstatus(pg) != CONNECTION_OK) return false;
      while (PGnotify* n = PQnotifies(pg)) PQfreemem(n);
      if (PQisBusy(pg)) return false;
    }
    return true;
  }

  std::mutex mu_;
  std::map<std::string, std::deque<Idle>> idle_;
  std::atomic<int64_t> reused_{0};
};

Pool& ThePool() {
  static Pool* pool = new Pool();  // never destroyed: worker threads may outlive static destruction
  return *pool;
}

// Connects with the connection's settings; the connect timeout comes from the deadline.
Result<void> Connect(const Connection& c, Clock& clock, TimePoint deadline, Conn& conn) {
  std::vector<std::string> keys, values;
  auto add = [&](const char* k, const std::string& v) {
    if (v.empty()) return;
    keys.push_back(k);
    values.push_back(v);
  };
  std::string url = GetString(c.settings, "url");
  for (const auto& [k, v] : ConnParams(c)) add(k.c_str(), v);
  int64_t left = std::chrono::duration_cast<std::chrono::seconds>(deadline - clock.Now()).count();
  add("connect_timeout", std::to_string(std::clamp<int64_t>(left, 2, 30)));
  add("application_name", "weft");
  std::vector<const char*> k, v;
  for (size_t i = 0; i < keys.size(); ++i) {
    k.push_back(keys[i].c_str());
    v.push_back(values[i].c_str());
  }
  k.push_back(nullptr);
  v.push_back(nullptr);
  conn.pg = PQconnectdbParams(k.data(), v.data(), url.empty() ? 0 : 1);
  if (!conn.pg || PQstatus(conn.pg) != CONNECTION_OK) {
    Redactor redact(c, Spec());
    return Fail(ErrorCode::kUnavailable,
                redact("cannot connect to PostgreSQL: " +
                       Trim(conn.pg ? PQerrorMessage(conn.pg) : "out of memory")));
  }
  return Ok();
}

// Text of a parameter for libpq (nullopt for SQL NULL).
std::optional<std::string> ParamText(const Json& v) {
  if (v.is_null()) return std::nullopt;
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
  return v.dump();
}

Json Value(const PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col)) return nullptr;
  std::string text(PQgetvalue(r, row, col), PQgetlength(r, row, col));
  switch (PQftype(r, col)) {
    case 16:  // bool
      return text == "t";
    case 20:
    case 21:
    case 23:
    case 26:  // int8 int2 int4 oid
      try {
        return std::stoll(text);
      } catch (...) {
        return text;
      }
    case 700:
    case 701:  // float4 float8
      try {
        return std::stod(text);
      } catch (...) {
        return text;  // NaN, Infinity
      }
    case 1700: {  // numeric: a JSON number when it reads as one
      auto j = ParseJson(text);
      return j && j->is_number() ? *j : Json(text);
    }
    case 114:
    case 3802: {  // json jsonb
      auto j = ParseJson(text);
      return j ? *j : Json(text);
    }
    default:
      return text;
  }
}

class SqlAction : public Action {
 public:
  explicit SqlAction(bool query) : query_(query) {}

  ActionOutcome Execute(ActionContext& ctx) override {
    if (!ctx.connection)
      return ActionOutcome::Failed(ErrorCode::kValidation,
                                   "the postgres connector needs a connection");
    auto sql = ReqString(ctx.input, "sql");
    if (!sql) return InputError(sql.error());
    auto limit = OptInt(ctx.input, "max_rows");
    if (!limit) return InputError(limit.error());
    int64_t max_rows = limit->value_or(100000);
    Json params = ctx.input.value("params", Json::array());
    if (params.is_null()) params = Json::array();
    if (!params.is_array())
      return ActionOutcome::Failed(ErrorCode::kValidation,
                                   "params must be an array: its items are $1, $2, ...");
    std::vector<std::optional<std::string>> texts;
    for (const auto& p : params) texts.push_back(ParamText(p));
    std::vector<const char*> values;
    for (const auto& t : texts) values.push_back(t ? t->c_str() : nullptr);

    // A pooled connection when one is idle (it goes back when this step is
    // done with it, unless the statement was cut short or left a transaction open).
    const std::string key = Pool::KeyOf(*ctx.connection);
    Conn conn;
    struct GiveBack {
      const std::string& key;
      Conn& conn;
      bool keep = true;
      ~GiveBack() {
        if (keep && conn.pg)
          ThePool().Give(key, conn.pg);
        else if (conn.pg)
          PQfinish(conn.pg);
        conn.pg = nullptr;
      }
    } give_back{key, conn};
    conn.pg = ThePool().Take(key);
    if (!conn.pg) {
      if (auto r = Connect(*ctx.connection, ctx.clock, ctx.deadline, conn); !r) {
        ActionOutcome o = ActionOutcome::Failed(r.error().code, r.error().message, true);
        return o;
      }
    }
    if (!PQsendQueryParams(conn.pg, sql->c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0))
      return ActionOutcome::Failed(ErrorCode::kStepFailed,
                                   "PostgreSQL: " + Trim(PQerrorMessage(conn.pg)));
    // Wait for the answer, cancelling the statement on cancel or deadline.
    bool timed_out = false, cancelled = false;
    while (true) {
      if (!PQconsumeInput(conn.pg))
        return ActionOutcome::Failed(ErrorCode::kUnavailable,
                                     "PostgreSQL: " + Trim(PQerrorMessage(conn.pg)), true);
      if (!PQisBusy(conn.pg)) break;
      if (!cancelled && !timed_out && (ctx.cancelled.load() || ctx.clock.Now() >= ctx.deadline)) {
        (ctx.cancelled.load() ? cancelled : timed_out) = true;
        if (PGcancel* c = PQgetCancel(conn.pg)) {
          char err[256];
          PQcancel(c, err, sizeof err);
          PQfreeCancel(c);
        }
      }
      pollfd p{PQsocket(conn.pg), POLLIN, 0};
      poll(&p, 1, 100);
    }
    PgResult res;
    res.r = PQgetResult(conn.pg);
    while (PGresult* extra = PQgetResult(conn.pg)) PQclear(extra);
    if (cancelled || timed_out) give_back.keep = false;
    if (cancelled) return ActionOutcome::Failed(ErrorCode::kCancelled, "cancelled");
    if (timed_out)
      return ActionOutcome::Failed(ErrorCode::kTimeout, "the statement timed out", true);
    ExecStatusType st = PQresultStatus(res.r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      std::string message = Trim(PQresultErrorMessage(res.r));
      const char* state = PQresultErrorField(res.r, PG_DIAG_SQLSTATE);
      std::string sqlstate = state ? state : "";
      // Serialization failures and deadlocks are worth another attempt.
      bool retryable = sqlstate == "40001" || sqlstate == "40P01" || sqlstate.starts_with("08");
      return ActionOutcome::Failed(
          ErrorCode::kStepFailed,
          "PostgreSQL" + (sqlstate.empty() ? "" : " " + sqlstate) + ": " + message, retryable);
    }
    if (!query_) {
      const char* n = PQcmdTuples(res.r);
      return ActionOutcome::Ok(Json{{"affected_rows", n && *n ? std::stoll(n) : 0}});
    }
    int rows = PQntuples(res.r), cols = PQnfields(res.r);
    if (rows > max_rows)
      return ActionOutcome::Failed(
          ErrorCode::kStepFailed,
          "the query returned more than max_rows (" + std::to_string(max_rows) + ") rows");
    Json out = Json::array();
    for (int i = 0; i < rows; ++i) {
      Json row = Json::object();
      for (int c = 0; c < cols; ++c) row[PQfname(res.r, c)] = Value(res.r, i, c);
      out.push_back(std::move(row));
    }
    return ActionOutcome::Ok(Json{{"rows", out}, {"row_count", rows}});
  }

 private:
  bool query_;
};

ConnectionTestResult TestPostgres(const Connection& c, Clock& clock) {
  Conn conn;
  if (auto r = Connect(c, clock, clock.Now() + Millis(10'000), conn); !r)
    return {false, r.error().message};
  PgResult res;
  res.r = PQexec(conn.pg, "SELECT 1");
  if (PQresultStatus(res.r) != PGRES_TUPLES_OK)
    return {false, "PostgreSQL: " + Trim(PQresultErrorMessage(res.r))};
  return {true, "connected; SELECT 1 answered (server version " +
                    std::to_string(PQserverVersion(conn.pg)) + ")"};
}

ConnectorSpec MakeSpec() {
  ConnectorSpec s;
  s.name = "postgres";
  s.title = "PostgreSQL";
  s.description = "Query and change a PostgreSQL database.";
  s.icon = "database";
  s.needs_connection = true;
  FieldSpec url =
      Field("url", "Connection URL", "string", false,
            "postgres://user:password@host:5432/db?sslmode=require; overrides the fields below.");
  url.secret = true;
  s.fields = {url, Field("host", "Host", "string", false, "", "localhost"),
              Field("port", "Port", "integer", false, "", 5432),
              Field("database", "Database", "string", false, ""),
              Field("sslmode", "TLS", "enum", false, "", "prefer",
                    {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"})};
  s.auth_types = {{"password",
                   "User and password",
                   {Field("username", "User", "string", true, ""),
                    SecretField("password", "Password", false, "")}},
                  {"none", "From the URL", {}}};
  std::vector<FieldSpec> inputs = {
      Field("sql", "SQL", "text", true,
            "One statement with $1, $2 ... placeholders; never {{ }} inside the SQL."),
      Field("params", "Parameters", "array", false,
            "Values for $1, $2, ... (objects are sent as JSON text).")};
  std::vector<FieldSpec> query_inputs = inputs;
  query_inputs.push_back(
      Field("max_rows", "Row limit", "integer", false, "The step fails beyond it.", 100000));
  s.actions = {{"query",
                "Query",
                "Runs a statement that returns rows, with bound parameters.",
                query_inputs,
                "{rows: [{column: value}], row_count}; numbers, booleans and json columns keep "
                "their JSON types.",
                {}},
               {"execute",
                "Execute",
                "Runs INSERT, UPDATE, DELETE or DDL with bound parameters.",
                inputs,
                "{affected_rows}",
                {}}};
  return s;
}

ConnectorSpec& Spec() {
  static ConnectorSpec* spec = new ConnectorSpec(MakeSpec());
  return *spec;
}

}  // namespace

void RegisterPostgres(ActionCatalog& catalog) {
  auto query = std::make_shared<SqlAction>(true);
  catalog.Register(Spec(), {{"query", query}, {"execute", std::make_shared<SqlAction>(false)}},
                   &TestPostgres);
  catalog.RegisterPollSource(
      "postgres", NewRowsSpec(true),
      MakeNewRowsSource(
          {"postgres", true, [query](PollContext& ctx, const std::string& sql, const Json& params) {
             return RunQueryAction(*query, ctx, sql, params);
           }}));
}

}  // namespace weft::connectors
