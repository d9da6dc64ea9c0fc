#include "connectors/sqlite/sqlite.h"

#include <sqlite3.h>

#include "common/base64.h"
#include "connectors/common/new_rows.h"
#include "connectors/common/spec.h"

namespace weft::connectors {
namespace {

struct Db {
  sqlite3* db = nullptr;
  ~Db() {
    if (db) sqlite3_close_v2(db);
  }
};

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() {
    if (s) sqlite3_finalize(s);
  }
};

struct Watch {
  const ActionContext* ctx = nullptr;
  bool timed_out = false;
};

int Progress(void* p) {
  auto* w = static_cast<Watch*>(p);
  if (w->ctx->cancelled.load()) return 1;
  if (w->ctx->clock.Now() >= w->ctx->deadline) {
    w->timed_out = true;
    return 1;
  }
  return 0;
}

Result<void> Bind(sqlite3_stmt* s, int index, const Json& v) {
  int rc;
  if (v.is_null()) {
    rc = sqlite3_bind_null(s, index);
  } else if (v.is_boolean()) {
    rc = sqlite3_bind_int(s, index, v.get<bool>() ? 1 : 0);
  } else if (v.is_number_integer()) {
    rc = sqlite3_bind_int64(s, index, v.get<int64_t>());
  } else if (v.is_number()) {
    rc = sqlite3_bind_double(s, index, v.get<double>());
  } else {
    std::string text = v.is_string() ? v.get<std::string>() : v.dump();
    rc = sqlite3_bind_text(s, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  if (rc != SQLITE_OK)
    return Fail(ErrorCode::kValidation, "cannot bind parameter " + std::to_string(index));
  return Ok();
}

Result<void> BindAll(sqlite3_stmt* s, const Json& params) {
  int count = sqlite3_bind_parameter_count(s);
  if (params.is_null()) {
    if (count > 0)
      return Fail(ErrorCode::kValidation,
                  "the SQL has " + std::to_string(count) + " parameters and no params were given");
    return Ok();
  }
  if (params.is_array()) {
    if (static_cast<int>(params.size()) != count)
      return Fail(ErrorCode::kValidation, "the SQL has " + std::to_string(count) +
                                              " parameters and " + std::to_string(params.size()) +
                                              " params were given");
    for (int i = 0; i < count; ++i) {
      auto r = Bind(s, i + 1, params[i]);
      if (!r) return r;
    }
    return Ok();
  }
  if (params.is_object()) {
    for (int i = 1; i <= count; ++i) {
      const char* name = sqlite3_bind_parameter_name(s, i);
      if (!name)
        return Fail(ErrorCode::kValidation,
                    "parameter " + std::to_string(i) + " has no name; pass params as an array");
      std::string key = name + 1;  // without the : @ or $
      auto it = params.find(key);
      if (it == params.end())
        return Fail(ErrorCode::kValidation, "params has no value for " + std::string(name));
      auto r = Bind(s, i, *it);
      if (!r) return r;
    }
    return Ok();
  }
  return Fail(ErrorCode::kValidation, "params must be an array (for ?) or an object (for :name)");
}

Json Column(sqlite3_stmt* s, int i) {
  switch (sqlite3_column_type(s, i)) {
    case SQLITE_INTEGER:
      return sqlite3_column_int64(s, i);
    case SQLITE_FLOAT:
      return sqlite3_column_double(s, i);
    case SQLITE_TEXT:
      return std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, i)),
                         sqlite3_column_bytes(s, i));
    case SQLITE_BLOB:
      return Base64Encode(std::string_view(static_cast<const char*>(sqlite3_column_blob(s, i)),
                                           sqlite3_column_bytes(s, i)));
    default:
      return nullptr;
  }
}

Result<std::string> PathOf(const Connection* c) {
  if (!c) return Fail(ErrorCode::kValidation, "the sqlite connector needs a connection");
  std::string path = GetString(c->settings, "path");
  if (path.empty())
    return Fail(ErrorCode::kValidation, "the connection has no path",
                {{"settings.path", "is required"}});
  return path;
}

Result<void> OpenDb(const Connection& c, const std::string& path, Db& db) {
  bool read_only = c.settings.value("read_only", false) == true;
  bool create = c.settings.value("create", false) == true;
  int flags = read_only ? SQLITE_OPEN_READONLY
                        : (SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0));
  if (sqlite3_open_v2(path.c_str(), &db.db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK)
    return Fail(ErrorCode::kUnavailable, "cannot open the SQLite database " + path + ": " +
                                             (db.db ? sqlite3_errmsg(db.db) : "out of memory"));
  sqlite3_busy_timeout(db.db, 5000);
  sqlite3_extended_result_codes(db.db, 1);
  return Ok();
}

class SqlAction : public Action {
 public:
  explicit SqlAction(bool query) : query_(query) {}

  ActionOutcome Execute(ActionContext& ctx) override {
    auto path = PathOf(ctx.connection);
    if (!path) return InputError(path.error());
    auto sql = ReqString(ctx.input, "sql");
    if (!sql) return InputError(sql.error());
    Db db;
    if (auto r = OpenDb(*ctx.connection, *path, db); !r) return InputError(r.error());
    Watch watch{&ctx};
    sqlite3_progress_handler(db.db, 1000, &Progress, &watch);

    Stmt st;
    const char* tail = nullptr;
    if (sqlite3_prepare_v2(db.db, sql->c_str(), static_cast<int>(sql->size()), &st.s, &tail) !=
        SQLITE_OK)
      return ActionOutcome::Failed(ErrorCode::kStepFailed,
                                   std::string("SQLite: ") + sqlite3_errmsg(db.db));
    if (!st.s) return ActionOutcome::Failed(ErrorCode::kValidation, "the SQL is empty");
    if (tail && std::string(tail).find_first_not_of(" \t\r\n;") != std::string::npos)
      return ActionOutcome::Failed(ErrorCode::kValidation, "sql must hold one statement");
    if (auto r = BindAll(st.s, ctx.input.value("params", Json(nullptr))); !r)
      return InputError(r.error());

    Json rows = Json::array();
    auto limit = OptInt(ctx.input, "max_rows");
    if (!limit) return InputError(limit.error());
    int64_t max_rows = limit->value_or(100000);
    int rc;
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
      if (!query_) continue;
      if (static_cast<int64_t>(rows.size()) >= max_rows)
        return ActionOutcome::Failed(
            ErrorCode::kStepFailed,
            "the query returned more than max_rows (" + std::to_string(max_rows) + ") rows");
      Json row = Json::object();
      int n = sqlite3_column_count(st.s);
      for (int i = 0; i < n; ++i) row[sqlite3_column_name(st.s, i)] = Column(st.s, i);
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) {
      if (rc == SQLITE_INTERRUPT) {
        if (ctx.cancelled.load()) return ActionOutcome::Failed(ErrorCode::kCancelled, "cancelled");
        return ActionOutcome::Failed(ErrorCode::kTimeout, "the statement timed out", true);
      }
      bool busy = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
      return ActionOutcome::Failed(busy ? ErrorCode::kUnavailable : ErrorCode::kStepFailed,
                                   std::string("SQLite: ") + sqlite3_errmsg(db.db), busy);
    }
    if (query_) {
      Json out = {{"rows", rows}, {"row_count", rows.size()}};
      return ActionOutcome::Ok(std::move(out));
    }
    return ActionOutcome::Ok(Json{{"affected_rows", sqlite3_changes64(db.db)},
                                  {"last_insert_id", sqlite3_last_insert_rowid(db.db)}});
  }

 private:
  bool query_;
};

ConnectionTestResult TestSqlite(const Connection& c, Clock&) {
  auto path = PathOf(&c);
  if (!path) return {false, path.error().message};
  Db db;
  if (auto r = OpenDb(c, *path, db); !r) return {false, r.error().message};
  char* err = nullptr;
  if (sqlite3_exec(db.db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, &err) !=
      SQLITE_OK) {
    std::string m = err ? err : "error";
    sqlite3_free(err);
    return {false, "SQLite: " + m};
  }
  return {true, "opened " + *path + " (SQLite " + sqlite3_libversion() + ")"};
}

}  // namespace

void RegisterSqlite(ActionCatalog& catalog) {
  ConnectorSpec s;
  s.name = "sqlite";
  s.title = "SQLite";
  s.description = "Query and change a SQLite database file.";
  s.icon = "database";
  s.needs_connection = true;
  s.fields = {Field("path", "Database file", "string", true,
                    "A path on the weft server, e.g. /var/lib/app/app.db"),
              Field("read_only", "Read only", "boolean", false, "", false),
              Field("create", "Create when missing", "boolean", false, "", false)};
  std::vector<FieldSpec> inputs = {
      Field("sql", "SQL", "text", true,
            "One statement; use ? or :name placeholders, never {{ }} inside the SQL."),
      Field("params", "Parameters", "any", false,
            "An array for ? placeholders, an object for :name ones.")};
  std::vector<FieldSpec> query_inputs = inputs;
  query_inputs.push_back(
      Field("max_rows", "Row limit", "integer", false, "The step fails beyond it.", 100000));
  s.actions = {{"query",
                "Query",
                "Runs a SELECT (or any statement returning rows) with bound parameters.",
                query_inputs,
                "{rows: [{column: value}], row_count}; BLOBs as base64.",
                {}},
               {"execute",
                "Execute",
                "Runs an INSERT, UPDATE, DELETE or DDL statement with bound parameters.",
                inputs,
                "{affected_rows, last_insert_id}",
                {}}};
  auto query = std::make_shared<SqlAction>(true);
  catalog.Register(std::move(s),
                   {{"query", query}, {"execute", std::make_shared<SqlAction>(false)}},
                   &TestSqlite);
  catalog.RegisterPollSource(
      "sqlite", NewRowsSpec(false),
      MakeNewRowsSource(
          {"sqlite", false, [query](PollContext& ctx, const std::string& sql, const Json& params) {
             return RunQueryAction(*query, ctx, sql, params);
           }}));
}

}  // namespace weft::connectors
