// The new_rows poll source of the SQL connectors (sqlite.new_rows,
// postgres.new_rows; docs/polling.md): a query with a `:cursor` parameter,
// read in the order of a cursor column, page by page. A cursor source: it
// keeps only the cursor (the last emitted row's value), never keys.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/json.h"
#include "common/result.h"
#include "core/action.h"
#include "core/poll.h"

namespace weft::connectors {

struct RowsDialect {
  std::string connector;  // "sqlite", "postgres"
  // PostgreSQL: $1, $2 placeholders (the query's :cursor becomes $1), the
  // xmin guard; SQLite: named parameters.
  bool postgres = false;
  // Runs one statement through the connector's query action (its pool,
  // deadline and cancellation) and answers its rows.
  std::function<Result<Json>(PollContext& ctx, const std::string& sql, const Json& params)> run;
};

std::shared_ptr<PollSource> MakeNewRowsSource(RowsDialect dialect);
PollSpec NewRowsSpec(bool postgres);

// Runs `action` (a connector's query action) with {sql, params} in a poll's
// context, answering its `rows`.
Result<Json> RunQueryAction(Action& action, PollContext& ctx, const std::string& sql,
                            const Json& params);

}  // namespace weft::connectors
