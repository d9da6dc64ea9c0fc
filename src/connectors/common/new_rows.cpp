#include "connectors/common/new_rows.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "connectors/common/spec.h"

namespace weft::connectors {
namespace {

bool IdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The query's `:cursor` placeholders as PostgreSQL's $1, outside quotes and
// comments (a `::cast` is left alone). Nullopt when there is none.
std::optional<std::string> DollarCursor(const std::string& sql) {
  std::string out;
  out.reserve(sql.size());
  bool found = false;
  for (size_t i = 0; i < sql.size();) {
    char c = sql[i];
    if (c == '\'' || c == '"') {  // a string or a quoted name, '' and "" escaped by doubling
      size_t j = i + 1;
      while (j < sql.size() && sql[j] != c) ++j;
      out.append(sql, i, std::min(j + 1, sql.size()) - i);
      i = j + 1;
      continue;
    }
    if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t j = sql.find('\n', i);
      j = j == std::string::npos ? sql.size() : j;
      out.append(sql, i, j - i);
      i = j;
      continue;
    }
    if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      size_t j = sql.find("*/", i + 2);
      j = j == std::string::npos ? sql.size() : j + 2;
      out.append(sql, i, j - i);
      i = j;
      continue;
    }
    if (c == ':' && sql.compare(i, 7, ":cursor") == 0 && (i == 0 || sql[i - 1] != ':') &&
        (i + 7 >= sql.size() || !IdentChar(sql[i + 7]))) {
      out += "$1";
      found = true;
      i += 7;
      continue;
    }
    out += c;
    ++i;
  }
  if (!found) return std::nullopt;
  return out;
}

bool HasSqliteCursor(const std::string& sql) {
  for (size_t p = sql.find(":cursor"); p != std::string::npos; p = sql.find(":cursor", p + 1))
    if (p + 7 >= sql.size() || !IdentChar(sql[p + 7])) return true;
  return false;
}

struct Opts {
  std::string query, column;
  int64_t page_size = 1000;
  Json initial = 0;
  bool guard = true;  // PostgreSQL: the xmin guard
};

Result<Opts> Options(const Json& with, bool postgres) {
  Opts o;
  auto query = ReqString(with, "query");
  if (!query) return Fail(query.error());
  o.query = *query;
  while (!o.query.empty() &&
         (std::isspace(static_cast<unsigned char>(o.query.back())) || o.query.back() == ';'))
    o.query.pop_back();
  bool has_cursor = postgres ? DollarCursor(o.query).has_value() : HasSqliteCursor(o.query);
  if (postgres) {
    auto guard = OptBool(with, "xmin_guard");
    if (!guard) return Fail(guard.error());
    o.guard = guard->value_or(true);
  } else {
    o.guard = false;
  }
  if (!has_cursor && !o.guard)
    return Fail(ErrorCode::kValidation,
                "with.query must use the :cursor parameter (WHERE id > :cursor)",
                {{"with.query", "must use the :cursor parameter (WHERE id > :cursor)"}});
  auto column = ReqString(with, "cursor");
  if (!column) return Fail(column.error());
  o.column = *column;
  if (o.column.empty() || o.column.size() > 63 ||
      !std::all_of(o.column.begin(), o.column.end(), IdentChar))
    return Fail(ErrorCode::kValidation, "with.cursor must be a column name (letters, digits and _)",
                {{"with.cursor", "must be a column name (letters, digits and _)"}});
  auto page = OptInt(with, "page_size");
  if (!page) return Fail(page.error());
  o.page_size = page->value_or(1000);
  if (o.page_size < 1 || o.page_size > 10'000)
    return Fail(ErrorCode::kValidation, "with.page_size must be 1 to 10000",
                {{"with.page_size", "must be 1 to 10000"}});
  if (with.contains("initial") && !with["initial"].is_null()) o.initial = with["initial"];
  return o;
}

class NewRowsSource : public PollSource {
 public:
  explicit NewRowsSource(RowsDialect dialect) : d_(std::move(dialect)) {}

  Result<PollResult> Poll(PollContext& ctx) override {
    if (!ctx.connection)
      return Fail(ErrorCode::kValidation, d_.connector + ".new_rows needs a connection");
    auto opts = Options(ctx.with, d_.postgres);
    if (!opts) return Fail(opts.error());
    if (opts->guard) return PollByTransaction(ctx, *opts);
    const std::string quoted = "\"" + opts->column + "\"";
    const std::string inner = d_.postgres ? *DollarCursor(opts->query) : opts->query;
    const Json cursor = ctx.cursor.is_object() && ctx.cursor.contains("value") ? ctx.cursor["value"]
                                                                               : opts->initial;
    PollResult out;
    out.keyed = false;

    // start: new: the cursor jumps to the current end, nothing is listed.
    if (ctx.baseline && ctx.cursor.is_null()) {
      std::string sql = "SELECT max(" + quoted + ") AS weft_max FROM (" + inner + ") AS weft_rows";
      Json params = d_.postgres ? Json::array({cursor}) : Json{{"cursor", cursor}};
      auto rows = d_.run(ctx, sql, params);
      if (!rows) return Fail(rows.error());
      Json max = rows->empty() ? Json() : (*rows)[0].value("weft_max", Json());
      out.cursor = Json{{"value", max.is_null() ? cursor : max}};
      return out;
    }

    const int64_t limit = std::min<int64_t>(
        opts->page_size,
        static_cast<int64_t>(std::min<size_t>(ctx.max_items, static_cast<size_t>(INT64_MAX))));
    std::string sql;
    Json params;
    if (d_.postgres) {
      sql = "SELECT * FROM (" + inner + ") AS weft_rows ORDER BY " + quoted + " LIMIT $2";
      params = Json::array({cursor, limit});
    } else {
      sql = "SELECT * FROM (" + inner + ") AS weft_rows ORDER BY " + quoted + " LIMIT :weft_limit";
      params = Json{{"cursor", cursor}, {"weft_limit", limit}};
    }
    auto got = d_.run(ctx, sql, params);
    if (!got) return Fail(got.error());
    Json rows = std::move(*got);
    bool full = static_cast<int64_t>(rows.size()) >= limit;
    if (!rows.empty() && !rows[0].contains(opts->column))
      return Fail(ErrorCode::kValidation,
                  "with.cursor: the query's rows have no column " + opts->column,
                  {{"with.cursor", "is not a column of the query's rows"}});

    size_t usable = rows.size();
    // A page that ends inside a run of equal cursor values leaves that run
    // for the next page (`> :cursor` would skip its rest).
    if (full && usable > 0) {
      const Json last = rows[usable - 1][opts->column];
      size_t cut = usable;
      while (cut > 0 && rows[cut - 1][opts->column] == last) --cut;
      if (cut == 0)
        return Fail(ErrorCode::kValidation,
                    "more than page_size rows share the cursor value " + last.dump() +
                        ": raise with.page_size or choose a unique cursor column",
                    {{"with.page_size", "is smaller than a run of equal cursor values"}});
      usable = cut;
    }
    for (size_t i = 0; i < usable; ++i) {
      const Json& v = rows[i][opts->column];
      if (v.is_null())
        return Fail(ErrorCode::kValidation, "with.cursor: a row's " + opts->column + " is null",
                    {{"with.cursor", "must not be null in any row"}});
      out.items.push_back({v.is_string() ? v.get<std::string>() : v.dump(), std::move(rows[i])});
    }
    if (!out.items.empty()) out.cursor = Json{{"value", out.items.back().item[opts->column]}};
    out.more = full;
    return out;
  }

  // PostgreSQL with the xmin guard: rows are read by the transaction that
  // wrote them. Every transaction id below the snapshot's xmin belongs to a
  // transaction that has ended, and every transaction to come gets a larger
  // id, so the rows written by ids in [watermark, snapshot xmin) are final:
  // emitted in (transaction, cursor column) order, after which the
  // watermark moves to the snapshot's xmin. A row committed late with a
  // smaller id is not skipped, whatever order the ids were taken in.
  Result<PollResult> PollByTransaction(PollContext& ctx, const Opts& o) {
    PollResult out;
    out.keyed = false;
    const Json& state = ctx.cursor;
    const std::string quoted = "\"" + o.column + "\"";
    auto snapshot_now = [&]() -> Result<int64_t> {
      auto rows =
          d_.run(ctx, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS s", Json::array());
      if (!rows) return Fail(rows.error());
      try {
        return std::stoll(GetString((*rows)[0], "s"));
      } catch (...) {
        return Fail(ErrorCode::kInternal, "PostgreSQL answered no snapshot xmin");
      }
    };
    int64_t w = -1;
    if (state.is_object() && state["xid"].is_number_integer()) w = state["xid"].get<int64_t>();
    if (w < 0) {
      auto s = snapshot_now();
      if (!s) return Fail(s.error());
      if (ctx.baseline) {  // start: new: what exists now counts as seen
        out.cursor = Json{{"xid", *s}};
        return out;
      }
      // start: all: every row a live transaction id can have written.
      w = std::max<int64_t>(3, *s - 2'000'000'000);
    }
    Json at = state.is_object() ? state.value("at", Json()) : Json();
    const int64_t limit = std::min<int64_t>(
        o.page_size,
        static_cast<int64_t>(std::min<size_t>(ctx.max_items, static_cast<size_t>(INT64_MAX))));

    // Placeholders: the query's :cursor (bound to `initial`) first, if it has one.
    Json params = Json::array();
    std::string inner = o.query;
    if (auto d = DollarCursor(o.query)) {
      inner = *d;
      params.push_back(o.initial);
    }
    auto p = [&](Json v) {
      params.push_back(std::move(v));
      return "$" + std::to_string(params.size());
    };
    const std::string pw = p(w), pw32 = p(w % 4294967296LL), pn = p(limit);
    std::string resume;
    if (at.is_array() && at.size() == 2) {
      const std::string po = p(at[0]);
      resume = " AND (weft_xid_offset, " + quoted + ") > (" + po + "::bigint, " + p(at[1]) + ")";
    }
    // One statement, one snapshot: its xmin and the rows below it. The
    // LATERAL join answers the xmin even when no row is ready.
    std::string sql =
        "SELECT weft_s.weft_snapshot_xmin, weft_r.* FROM (SELECT "
        "pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS weft_snapshot_xmin) AS weft_s "
        "LEFT JOIN LATERAL (SELECT * FROM (SELECT weft_q.*, ((weft_q.xmin::text::bigint - " +
        pw32 + "::bigint + 4294967296) % 4294967296) AS weft_xid_offset FROM (" + inner +
        ") AS weft_q) AS weft_o WHERE weft_xid_offset < weft_s.weft_snapshot_xmin - " + pw +
        "::bigint" + resume + " ORDER BY weft_xid_offset, " + quoted + " LIMIT " + pn +
        "::bigint) AS weft_r ON true ORDER BY weft_r.weft_xid_offset, weft_r." + quoted;
    auto got = d_.run(ctx, sql, params);
    if (!got) {
      if (got.error().message.find("weft_q.xmin") != std::string::npos)
        return Fail(ErrorCode::kValidation,
                    "with.query must select the table's xmin for the xmin guard (SELECT *, xmin "
                    "FROM ...), or set xmin_guard: false",
                    {{"with.query", "must select xmin (or xmin_guard: false)"}});
      return Fail(got.error());
    }
    Json rows = std::move(*got);
    if (rows.empty() || !rows[0]["weft_snapshot_xmin"].is_number_integer())
      return Fail(ErrorCode::kInternal, "PostgreSQL answered no snapshot xmin");
    const int64_t s = rows[0]["weft_snapshot_xmin"].get<int64_t>();
    std::vector<Json> ready;
    for (auto& row : rows) {
      if (row["weft_xid_offset"].is_null()) continue;
      if (!row.contains(o.column))
        return Fail(ErrorCode::kValidation,
                    "with.cursor: the query's rows have no column " + o.column,
                    {{"with.cursor", "is not a column of the query's rows"}});
      ready.push_back(std::move(row));
    }
    bool full = static_cast<int64_t>(ready.size()) >= limit;
    size_t usable = ready.size();
    if (full) {  // a page ending inside equal (transaction, cursor) pairs leaves them for the next
      auto pair = [&](const Json& r) { return Json::array({r["weft_xid_offset"], r[o.column]}); };
      const Json last = pair(ready[usable - 1]);
      while (usable > 0 && pair(ready[usable - 1]) == last) --usable;
      if (usable == 0)
        return Fail(ErrorCode::kValidation,
                    "more than page_size rows of one transaction share the cursor value " +
                        last[1].dump() + ": raise with.page_size or choose a unique cursor column",
                    {{"with.page_size", "is smaller than a run of equal cursor values"}});
    }
    Json last_at;
    for (size_t i = 0; i < usable; ++i) {
      Json& row = ready[i];
      last_at = Json::array({row["weft_xid_offset"], row[o.column]});
      row.erase("weft_snapshot_xmin");
      row.erase("weft_xid_offset");
      const Json& v = row[o.column];
      out.items.push_back({v.is_string() ? v.get<std::string>() : v.dump(), std::move(row)});
    }
    if (full) {
      out.cursor = Json{{"xid", w}, {"at", last_at}};  // the rest of this window next
      out.more = true;
    } else if (s > w || !at.is_null()) {
      out.cursor = Json{{"xid", std::max(s, w)}};  // the window is done
    }
    return out;
  }

 private:
  RowsDialect d_;
};

}  // namespace

std::shared_ptr<PollSource> MakeNewRowsSource(RowsDialect dialect) {
  return std::make_shared<NewRowsSource>(std::move(dialect));
}

PollSpec NewRowsSpec(bool postgres) {
  std::vector<FieldSpec> inputs = {
      Field("query", "Query", "text", true,
            postgres ? "A SELECT of the table's rows and its xmin, e.g. SELECT *, xmin FROM orders "
                       "(with xmin_guard: false, SELECT * FROM orders WHERE id > :cursor)."
                     : "A SELECT using :cursor, e.g. SELECT * FROM orders WHERE id > :cursor."),
      Field("cursor", "Cursor column", "string", true,
            "The column rows are read in the order of (id, updated_at); the last emitted row's "
            "value is bound to :cursor next time."),
      Field("page_size", "Page size", "integer", false, "Rows read per query (1 to 10000).", 1000),
      Field("initial", "Initial cursor", "any", false,
            "The cursor before the first row (start: all), e.g. 0 or \"1970-01-01\".", 0)};
  if (postgres)
    inputs.push_back(
        Field("xmin_guard", "Read by transaction (xmin guard)", "boolean", false,
              "Read rows by the transaction that wrote them, up to the oldest transaction still "
              "running, so a row committed late with a smaller id is never skipped (the query "
              "selects xmin; an update emits the row again). Off: a plain cursor over the column.",
              true));
  return {"new_rows", "New rows",
          "Rows of a query past the cursor, in the cursor column's order; each row once.", inputs,
          "the row: {column: value}"};
}

Result<Json> RunQueryAction(Action& action, PollContext& ctx, const std::string& sql,
                            const Json& params) {
  Json input = {{"sql", sql}, {"params", params}, {"max_rows", 100'000}};
  const std::string run_id, step = "trigger.poll.source";
  ActionContext a{input,     ctx.connection, run_id,        step,
                  ctx.clock, ctx.deadline,   ctx.cancelled, ctx.log};
  ActionOutcome o = action.Execute(a);
  if (o.error) return Fail(o.error->code, o.error->message);
  return o.output.value("rows", Json::array());
}

}  // namespace weft::connectors
