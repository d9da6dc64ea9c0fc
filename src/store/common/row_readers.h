// The row readers both stores share: one function per entity that turns a
// row selected with the column list of columns.h into the model value. Each
// is a template over a RowAccessor, the store's view of the current row;
// the two stores differ only there. Pure; thread-safe as the accessor is.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/json.h"
#include "core/auth_model.h"
#include "core/model.h"
#include "store/common/errors.h"

namespace weft::store {

// Column `col` of the current row. The few ways a value is read that are not
// the same in both databases: SQLite keeps booleans as 0/1 and a body as a
// BLOB, PostgreSQL answers 't'/'f' and escaped bytea; each names the column
// when a stored JSON does not parse. Json is JSON null for SQL NULL; Int is 0
// for SQL NULL. Times are unix milliseconds in an integer column (ReadTime).
template <typename A>
concept RowAccessor = requires(const A& row, int col) {
  { row.IsNull(col) } -> std::same_as<bool>;
  { row.Text(col) } -> std::same_as<std::string>;
  { row.Int(col) } -> std::same_as<int64_t>;
  { row.Bool(col) } -> std::same_as<bool>;
  { row.Json(col) } -> std::same_as<Json>;
  { row.Bytes(col) } -> std::same_as<std::string>;
};

template <RowAccessor A>
TimePoint ReadTime(const A& row, int col) {
  return FromUnixMs(row.Int(col));
}

template <RowAccessor A>
std::optional<TimePoint> ReadOptTime(const A& row, int col) {
  if (row.IsNull(col)) return std::nullopt;
  return ReadTime(row, col);
}

template <RowAccessor A>
RunStatus ReadRunStatus(const A& row, int col) {
  auto st = ParseRunStatus(row.Text(col));
  if (!st) throw CorruptValue("stored run status \"" + row.Text(col) + "\" unknown");
  return *st;
}

template <RowAccessor A>
Role ReadRole(const A& row, int col) {
  auto r = ParseRole(row.Text(col));
  if (!r) throw CorruptValue("stored role \"" + row.Text(col) + "\" unknown");
  return *r;
}

// FLOW_BASE_COLS, then next_run_at and missed_fires.
template <RowAccessor A>
Flow ReadFlow(const A& row) {
  Flow f;
  f.id = row.Text(0);
  f.name = row.Text(1);
  f.description = row.Text(2);
  f.version = static_cast<int>(row.Int(3));
  f.document = row.Json(4);
  f.active = row.Bool(5);
  f.trigger_type = row.Text(6);
  f.webhook_token = row.Text(7);
  f.created_at = ReadTime(row, 8);
  f.updated_at = ReadTime(row, 9);
  f.updated_by = row.Text(10);
  f.next_run_at = ReadOptTime(row, 11);
  f.missed_fires = row.Int(12);
  return f;
}

template <RowAccessor A>
FlowVersion ReadVersion(const A& row) {
  FlowVersion v;
  v.flow_id = row.Text(0);
  v.version = static_cast<int>(row.Int(1));
  v.document = row.Json(2);
  v.created_at = ReadTime(row, 3);
  v.created_by = row.Text(4);
  return v;
}

template <RowAccessor A>
Connection ReadConnection(const A& row) {
  Connection c;
  c.id = row.Text(0);
  c.name = row.Text(1);
  c.connector = row.Text(2);
  c.settings = row.Json(3);
  c.auth = row.Json(4);
  c.active = row.Bool(5);
  c.created_at = ReadTime(row, 6);
  c.updated_at = ReadTime(row, 7);
  c.updated_by = row.Text(8);
  return c;
}

// The JSON columns of RUN_COLS: trigger, input, output, error.
inline constexpr int kRunJsonCols[4] = {5, 11, 12, 13};

namespace detail {
template <RowAccessor A>
Run ReadRunColumns(const A& row, bool json) {
  Run r;
  r.id = row.Text(0);
  r.flow_id = row.Text(1);
  r.flow_name = row.Text(2);
  r.flow_version = static_cast<int>(row.Int(3));
  r.trigger_type = row.Text(4);
  if (json) r.trigger = row.Json(5);
  r.status = ReadRunStatus(row, 6);
  r.scheduled_for = ReadOptTime(row, 7);
  r.created_at = ReadTime(row, 8);
  r.started_at = ReadOptTime(row, 9);
  r.finished_at = ReadOptTime(row, 10);
  if (json) {
    r.input = row.Json(11);
    r.output = row.Json(12);
    r.error = row.Json(13);
  }
  r.retry_of = row.Text(14);
  r.claimed_by = row.Text(15);
  r.lease_until = ReadOptTime(row, 16);
  r.not_before = ReadOptTime(row, 17);
  r.cancel_requested = row.Bool(18);
  return r;
}
}  // namespace detail

// RUN_COLS.
template <RowAccessor A>
Run ReadRun(const A& row) {
  return detail::ReadRunColumns(row, true);
}

// RUN_COLS but the JSON columns (kRunJsonCols), which stay null: the caller
// reads their text and parses it later (SqliteStore::ClaimRuns, after its
// write, so the group commit waits for nothing but SQL).
template <RowAccessor A>
Run ReadRunWithoutJson(const A& row) {
  return detail::ReadRunColumns(row, false);
}

template <RowAccessor A>
StepRun ReadStep(const A& row) {
  StepRun st;
  st.run_id = row.Text(0);
  st.path = row.Text(1);
  st.step_id = row.Text(2);
  st.uses = row.Text(3);
  st.seq = static_cast<int>(row.Int(4));
  auto status = ParseStepStatus(row.Text(5));
  if (!status) throw CorruptValue("stored step status \"" + row.Text(5) + "\" unknown");
  st.status = *status;
  st.attempts = static_cast<int>(row.Int(6));
  st.started_at = ReadOptTime(row, 7);
  st.finished_at = ReadOptTime(row, 8);
  st.input = row.Json(9);
  st.output = row.Json(10);
  st.error = row.Json(11);
  st.logs = row.IsNull(12) ? Json::array() : row.Json(12);
  st.wake_at = ReadOptTime(row, 13);
  st.state = row.Json(14);
  return st;
}

template <RowAccessor A>
Delivery ReadDelivery(const A& row) {
  Delivery d;
  d.id = row.Text(0);
  d.flow_id = row.Text(1);
  d.received_at = ReadTime(row, 2);
  d.method = row.Text(3);
  d.path = row.Text(4);
  d.status_code = static_cast<int>(row.Int(5));
  d.run_id = row.Text(6);
  d.headers = row.Json(7);
  d.query = row.Json(8);
  d.body = row.Bytes(9);
  d.content_type = row.Text(10);
  d.auth_passed = row.Bool(11);
  return d;
}

template <RowAccessor A>
User ReadUser(const A& row) {
  User u;
  u.id = row.Text(0);
  u.username = row.Text(1);
  u.password_hash = row.Text(2);
  u.role = ReadRole(row, 3);
  u.created_at = ReadTime(row, 4);
  return u;
}

template <RowAccessor A>
ApiToken ReadToken(const A& row) {
  ApiToken t;
  t.id = row.Text(0);
  t.name = row.Text(1);
  t.role = ReadRole(row, 2);
  t.prefix = row.Text(3);
  t.hash = row.Text(4);
  t.created_at = ReadTime(row, 5);
  t.created_by = row.Text(6);
  t.expires_at = ReadOptTime(row, 7);
  t.last_used_at = ReadOptTime(row, 8);
  return t;
}

template <RowAccessor A>
Session ReadSession(const A& row) {
  Session x;
  x.id_hash = row.Text(0);
  x.user_id = row.Text(1);
  x.created_at = ReadTime(row, 2);
  x.last_seen_at = ReadTime(row, 3);
  x.expires_at = ReadTime(row, 4);
  return x;
}

}  // namespace weft::store
