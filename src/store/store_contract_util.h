// Helpers the files of the Store contract suite share (store_contract_*.cpp):
// fixed times, sample flows, runs, steps, connections and deliveries, and
// the Result unwrapping the tests use. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/store.h"

namespace weft::contract {

// A fixed instant, so run ordering in the tests never depends on the clock.
inline const TimePoint kT0 = FromUnixMs(1'800'000'000'000);

inline TimePoint At(int64_t seconds) { return kT0 + std::chrono::seconds(seconds); }

inline FlowWrite Write(const std::string& name, Json steps = Json::array(),
                       const std::string& trigger = "manual") {
  FlowWrite w;
  w.name = name;
  w.description = "the " + name + " flow";
  w.trigger_type = trigger;
  w.document = Json{{"name", name}, {"trigger", {{"type", trigger}}}, {"steps", steps}};
  w.actor = "ann";
  return w;
}

inline Json OneStep(const std::string& id) {
  return Json::array({Json{{"id", id}, {"uses", "data.set"}, {"with", {{"value", 1}}}}});
}

inline weft::Run NewRun(const std::string& flow_id, TimePoint created_at,
                        RunStatus status = RunStatus::kQueued) {
  weft::Run r;
  r.flow_id = flow_id;
  r.flow_name = "flow " + flow_id;
  r.flow_version = 1;
  r.trigger_type = "manual";
  r.trigger = Json{{"type", "manual"}};
  r.status = status;
  r.created_at = created_at;
  r.input = Json{{"n", 1}};
  return r;
}

inline StepRun NewStep(const std::string& run_id, const std::string& path, int seq,
                       StepStatus status = StepStatus::kSucceeded) {
  StepRun s;
  s.run_id = run_id;
  s.path = path;
  s.step_id = path;
  s.uses = "data.set";
  s.seq = seq;
  s.status = status;
  s.attempts = 1;
  s.started_at = kT0;
  s.finished_at = kT0 + Millis(5);
  s.input = Json{{"value", path}};
  s.output = Json{{"value", path}};
  return s;
}

inline std::vector<std::string> Ids(const std::vector<weft::Run>& runs) {
  std::vector<std::string> ids;
  for (const auto& r : runs) ids.push_back(r.id);
  return ids;
}

#define ASSERT_OK(expr)                                \
  do {                                                 \
    const auto& _r = (expr);                           \
    ASSERT_TRUE(_r.has_value()) << _r.error().message; \
  } while (0)

// Unwraps a Result in a test, failing the test (and returning a default) on error.
template <typename T>
T Must(Result<T> r) {
  EXPECT_TRUE(r.has_value()) << (r.has_value() ? "" : r.error().message);
  if (!r.has_value()) return T{};
  return std::move(r).value();
}

template <typename T>
ErrorCode CodeOf(const Result<T>& r) {
  EXPECT_FALSE(r.has_value());
  return r.has_value() ? ErrorCode::kInternal : r.error().code;
}

inline Connection NewConnection(const std::string& name) {
  Connection c;
  c.name = name;
  c.connector = "http";
  c.settings = Json{{"base_url", "https://example.com"}, {"timeout", 5}};
  c.auth = Json{{"type", "bearer"}, {"token", "sealed:abc"}};
  c.updated_by = "ann";
  return c;
}

inline Delivery NewDelivery(const std::string& flow_id, TimePoint at) {
  Delivery d;
  d.flow_id = flow_id;
  d.received_at = at;
  d.method = "POST";
  d.path = "/hooks/abcd";
  d.status_code = 202;
  d.run_id = "run1";
  d.headers = Json{{"content-type", "application/json"}};
  d.query = Json{{"a", "1"}};
  d.body = R"({"x":1})";
  d.content_type = "application/json";
  d.auth_passed = true;
  return d;
}

}  // namespace weft::contract
