#include "store/store_contract_test.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace weft {
namespace {

// A fixed instant, so run ordering in the tests never depends on the clock.
const TimePoint kT0 = FromUnixMs(1'800'000'000'000);

TimePoint At(int64_t seconds) { return kT0 + std::chrono::seconds(seconds); }

FlowWrite Write(const std::string& name, Json steps = Json::array(),
                const std::string& trigger = "manual") {
  FlowWrite w;
  w.name = name;
  w.description = "the " + name + " flow";
  w.trigger_type = trigger;
  w.document = Json{{"name", name}, {"trigger", {{"type", trigger}}}, {"steps", steps}};
  w.actor = "ann";
  return w;
}

Json OneStep(const std::string& id) {
  return Json::array({Json{{"id", id}, {"uses", "data.set"}, {"with", {{"value", 1}}}}});
}

weft::Run NewRun(const std::string& flow_id, TimePoint created_at,
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

StepRun NewStep(const std::string& run_id, const std::string& path, int seq,
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

std::vector<std::string> Ids(const std::vector<weft::Run>& runs) {
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

}  // namespace

void StoreContractTest::SetUp() {
  harness_ = GetParam().make_harness();
  auto s = harness_->Open();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  store_ = std::move(s).value();
}

void StoreContractTest::TearDown() {
  store_.reset();
  harness_.reset();
}

void StoreContractTest::Reopen() {
  store_.reset();
  auto s = harness_->Open();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  store_ = std::move(s).value();
}

std::string StoreContractName(const ::testing::TestParamInfo<StoreContractParam>& info) {
  return info.param.name;
}

// ---- flows --------------------------------------------------------------------------

TEST_P(StoreContractTest, CreateFlowMakesVersionOneInactive) {
  Flow f = Must(store().CreateFlow(Write("orders", OneStep("a"), "webhook"), "tok123"));
  EXPECT_FALSE(f.id.empty());
  EXPECT_EQ(f.name, "orders");
  EXPECT_EQ(f.description, "the orders flow");
  EXPECT_EQ(f.version, 1);
  EXPECT_FALSE(f.active);
  EXPECT_EQ(f.trigger_type, "webhook");
  EXPECT_EQ(f.webhook_token, "tok123");
  EXPECT_EQ(f.updated_by, "ann");
  EXPECT_NE(f.created_at, TimePoint{});
  EXPECT_EQ(f.document, Write("orders", OneStep("a"), "webhook").document);

  Flow got = Must(store().GetFlow(f.id));
  EXPECT_EQ(got.id, f.id);
  EXPECT_EQ(got.name, "orders");
  EXPECT_EQ(got.version, 1);
  EXPECT_EQ(got.document, f.document);
  EXPECT_EQ(got.webhook_token, "tok123");
  EXPECT_EQ(got.created_at, f.created_at);
  EXPECT_EQ(got.updated_at, f.updated_at);
  EXPECT_FALSE(got.next_run_at.has_value());
  EXPECT_EQ(got.missed_fires, 0);

  auto versions = Must(store().ListFlowVersions(f.id));
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].version, 1);
  EXPECT_EQ(versions[0].document, f.document);
  EXPECT_EQ(versions[0].created_by, "ann");
}

TEST_P(StoreContractTest, FlowDocumentKeepsKeyOrder) {
  FlowWrite w = Write("ordered");
  w.document = Json::parse(R"({"name":"ordered","zeta":1,"alpha":{"y":2,"b":[3,"é"]}})", nullptr,
                           true, false);
  Flow f = Must(store().CreateFlow(w, ""));
  Flow got = Must(store().GetFlow(f.id));
  EXPECT_EQ(got.document.dump(), w.document.dump());
}

TEST_P(StoreContractTest, CreateFlowRejectsTakenName) {
  ASSERT_OK(store().CreateFlow(Write("orders"), ""));
  auto again = store().CreateFlow(Write("orders"), "");
  EXPECT_EQ(CodeOf(again), ErrorCode::kConflict);
  EXPECT_EQ(Must(store().ListFlows()).size(), 1u);
}

TEST_P(StoreContractTest, GetFlowUnknownIsNotFoundNamingIt) {
  auto r = store().GetFlow("nosuchflow");
  ASSERT_EQ(CodeOf(r), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("flow nosuchflow not found"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(CodeOf(store().GetFlowByName("nope")), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store().GetFlowByWebhookToken("nope")), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store().GetFlowVersion("nope", 1)), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store().ListFlowVersions("nope")), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store().SetFlowActive("nope", true)), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store().SetWebhookToken("nope", "t")), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store().SaveFlow("nope", Write("x"), std::nullopt, "")), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store().DeleteFlow("nope")), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, GetFlowByNameAndByWebhookToken) {
  Flow a = Must(store().CreateFlow(Write("a", Json::array(), "webhook"), "token-a"));
  Flow b = Must(store().CreateFlow(Write("b"), ""));
  EXPECT_EQ(Must(store().GetFlowByName("a")).id, a.id);
  EXPECT_EQ(Must(store().GetFlowByName("b")).id, b.id);
  EXPECT_EQ(Must(store().GetFlowByWebhookToken("token-a")).id, a.id);
  // A flow without a token is never found by the empty token.
  EXPECT_EQ(CodeOf(store().GetFlowByWebhookToken("")), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, ListFlowsReturnsEveryFlow) {
  EXPECT_TRUE(Must(store().ListFlows()).empty());
  for (const char* name : {"c", "a", "b"}) ASSERT_OK(store().CreateFlow(Write(name), ""));
  auto flows = Must(store().ListFlows());
  std::set<std::string> names;
  for (const auto& f : flows) names.insert(f.name);
  EXPECT_EQ(names, (std::set<std::string>{"a", "b", "c"}));
}

TEST_P(StoreContractTest, SaveFlowAppendsAVersion) {
  Flow f = Must(store().CreateFlow(Write("orders", OneStep("a")), ""));
  ASSERT_OK(store().SetFlowActive(f.id, true));
  FlowWrite w2 = Write("orders", OneStep("b"));
  w2.actor = "bob";
  Flow saved = Must(store().SaveFlow(f.id, w2, std::nullopt, ""));
  EXPECT_EQ(saved.id, f.id);
  EXPECT_EQ(saved.version, 2);
  EXPECT_EQ(saved.document, w2.document);
  EXPECT_TRUE(saved.active) << "a save keeps the flow active";
  EXPECT_EQ(saved.updated_by, "bob");
  EXPECT_EQ(saved.created_at, f.created_at);

  Flow got = Must(store().GetFlow(f.id));
  EXPECT_EQ(got.version, 2);
  EXPECT_EQ(got.document, w2.document);
  EXPECT_TRUE(got.active);

  EXPECT_EQ(Must(store().GetFlowVersion(f.id, 1)).document, f.document);
  FlowVersion v2 = Must(store().GetFlowVersion(f.id, 2));
  EXPECT_EQ(v2.document, w2.document);
  EXPECT_EQ(v2.created_by, "bob");
  EXPECT_EQ(v2.flow_id, f.id);
  EXPECT_EQ(CodeOf(store().GetFlowVersion(f.id, 3)), ErrorCode::kNotFound);

  auto versions = Must(store().ListFlowVersions(f.id));
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].version, 2) << "newest first";
  EXPECT_EQ(versions[1].version, 1);
}

TEST_P(StoreContractTest, SaveIdenticalDocumentMakesNoVersion) {
  Flow f = Must(store().CreateFlow(Write("orders", OneStep("a")), ""));
  Flow same = Must(store().SaveFlow(f.id, Write("orders", OneStep("a")), 1, ""));
  EXPECT_EQ(same.version, 1);
  EXPECT_EQ(same.updated_at, f.updated_at);
  EXPECT_EQ(Must(store().ListFlowVersions(f.id)).size(), 1u);
  EXPECT_EQ(Must(store().GetFlow(f.id)).version, 1);
}

TEST_P(StoreContractTest, SaveWithStaleBaseVersionIsVersionConflict) {
  Flow f = Must(store().CreateFlow(Write("orders", OneStep("a")), ""));
  ASSERT_OK(store().SaveFlow(f.id, Write("orders", OneStep("b")), 1, ""));  // tab 1
  auto r = store().SaveFlow(f.id, Write("orders", OneStep("c")), 1, "");    // tab 2
  EXPECT_EQ(CodeOf(r), ErrorCode::kVersionConflict);
  Flow got = Must(store().GetFlow(f.id));
  EXPECT_EQ(got.version, 2);
  EXPECT_EQ(got.document, Write("orders", OneStep("b")).document);
  // The current base version saves; no base version always saves.
  EXPECT_EQ(Must(store().SaveFlow(f.id, Write("orders", OneStep("c")), 2, "")).version, 3);
  EXPECT_EQ(Must(store().SaveFlow(f.id, Write("orders", OneStep("d")), std::nullopt, "")).version,
            4);
}

TEST_P(StoreContractTest, SaveFlowRenames) {
  Flow a = Must(store().CreateFlow(Write("a"), ""));
  ASSERT_OK(store().CreateFlow(Write("b"), ""));
  auto taken = store().SaveFlow(a.id, Write("b", OneStep("x")), std::nullopt, "");
  EXPECT_EQ(CodeOf(taken), ErrorCode::kConflict);
  EXPECT_EQ(Must(store().GetFlow(a.id)).version, 1) << "a rejected save writes nothing";

  Flow renamed = Must(store().SaveFlow(a.id, Write("c"), std::nullopt, ""));
  EXPECT_EQ(renamed.name, "c");
  EXPECT_EQ(Must(store().GetFlowByName("c")).id, a.id);
  EXPECT_EQ(CodeOf(store().GetFlowByName("a")), ErrorCode::kNotFound);
  ASSERT_OK(store().CreateFlow(Write("a"), ""));  // the old name is free again
}

TEST_P(StoreContractTest, SaveStoresWebhookTokenOnlyWhenNoneYet) {
  Flow f = Must(store().CreateFlow(Write("hook"), ""));
  EXPECT_TRUE(f.webhook_token.empty());
  Flow s1 =
      Must(store().SaveFlow(f.id, Write("hook", OneStep("a"), "webhook"), std::nullopt, "first"));
  EXPECT_EQ(s1.webhook_token, "first");
  EXPECT_EQ(s1.trigger_type, "webhook");
  Flow s2 =
      Must(store().SaveFlow(f.id, Write("hook", OneStep("b"), "webhook"), std::nullopt, "second"));
  EXPECT_EQ(s2.webhook_token, "first");
  EXPECT_EQ(Must(store().GetFlowByWebhookToken("first")).id, f.id);
  EXPECT_EQ(CodeOf(store().GetFlowByWebhookToken("second")), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, SetWebhookTokenRotates) {
  Flow f = Must(store().CreateFlow(Write("hook", Json::array(), "webhook"), "old"));
  Flow rotated = Must(store().SetWebhookToken(f.id, "new"));
  EXPECT_EQ(rotated.webhook_token, "new");
  EXPECT_EQ(rotated.version, 1);
  EXPECT_EQ(Must(store().GetFlowByWebhookToken("new")).id, f.id);
  EXPECT_EQ(CodeOf(store().GetFlowByWebhookToken("old")), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, SetFlowActiveToggles) {
  Flow f = Must(store().CreateFlow(Write("a"), ""));
  EXPECT_TRUE(Must(store().SetFlowActive(f.id, true)).active);
  EXPECT_TRUE(Must(store().GetFlow(f.id)).active);
  Flow off = Must(store().SetFlowActive(f.id, false));
  EXPECT_FALSE(off.active);
  EXPECT_EQ(off.version, 1);
  EXPECT_FALSE(Must(store().GetFlow(f.id)).active);
}

TEST_P(StoreContractTest, DeleteFlowRemovesItsVersionsButKeepsRuns) {
  Flow f = Must(store().CreateFlow(Write("gone", Json::array(), "webhook"), "tok"));
  ASSERT_OK(store().SaveFlow(f.id, Write("gone", OneStep("a"), "webhook"), std::nullopt, ""));
  weft::Run run = Must(store().CreateRun(NewRun(f.id, At(0))));
  ASSERT_OK(store().DeleteFlow(f.id));
  EXPECT_EQ(CodeOf(store().GetFlow(f.id)), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store().GetFlowVersion(f.id, 1)), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store().ListFlowVersions(f.id)), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store().GetFlowByWebhookToken("tok")), ErrorCode::kNotFound);
  EXPECT_EQ(Must(store().GetRun(run.id, false)).flow_id, f.id);
  EXPECT_EQ(CodeOf(store().DeleteFlow(f.id)), ErrorCode::kNotFound);

  // The name and the token are free again; the new flow starts at version 1.
  Flow again = Must(store().CreateFlow(Write("gone", Json::array(), "webhook"), "tok"));
  EXPECT_NE(again.id, f.id);
  EXPECT_EQ(again.version, 1);
  EXPECT_EQ(Must(store().ListFlowVersions(again.id)).size(), 1u);
}

TEST_P(StoreContractTest, LastRunsGivesTheNewestRunOfEachFlow) {
  Flow a = Must(store().CreateFlow(Write("a"), ""));
  Flow b = Must(store().CreateFlow(Write("b"), ""));
  ASSERT_OK(store().CreateFlow(Write("c"), ""));  // no runs
  ASSERT_OK(store().CreateRun(NewRun(a.id, At(1))));
  weft::Run a2 = NewRun(a.id, At(2), RunStatus::kSucceeded);
  a2.finished_at = At(3);
  a2 = Must(store().CreateRun(a2));
  weft::Run b1 = Must(store().CreateRun(NewRun(b.id, At(1), RunStatus::kFailed)));

  auto last = Must(store().LastRuns());
  std::map<std::string, RunSummary> by_flow(last.begin(), last.end());
  ASSERT_EQ(by_flow.size(), 2u);
  EXPECT_EQ(by_flow[a.id].id, a2.id);
  EXPECT_EQ(by_flow[a.id].status, RunStatus::kSucceeded);
  EXPECT_EQ(by_flow[a.id].finished_at, At(3));
  EXPECT_EQ(by_flow[b.id].id, b1.id);
  EXPECT_EQ(by_flow[b.id].status, RunStatus::kFailed);
  EXPECT_FALSE(by_flow[b.id].finished_at.has_value());
}

// ---- connections -------------------------------------------------------------------------

namespace {
Connection NewConnection(const std::string& name) {
  Connection c;
  c.name = name;
  c.connector = "http";
  c.settings = Json{{"base_url", "https://example.com"}, {"timeout", 5}};
  c.auth = Json{{"type", "bearer"}, {"token", "sealed:abc"}};
  c.updated_by = "ann";
  return c;
}
}  // namespace

TEST_P(StoreContractTest, ConnectionsRoundTrip) {
  Connection c = Must(store().CreateConnection(NewConnection("api")));
  EXPECT_FALSE(c.id.empty());
  EXPECT_TRUE(c.active);
  EXPECT_NE(c.created_at, TimePoint{});
  Connection got = Must(store().GetConnection(c.id));
  EXPECT_EQ(got.name, "api");
  EXPECT_EQ(got.connector, "http");
  EXPECT_EQ(got.settings, c.settings);
  EXPECT_EQ(got.auth, c.auth);
  EXPECT_TRUE(got.active);
  EXPECT_EQ(got.created_at, c.created_at);
  EXPECT_EQ(got.updated_by, "ann");
  EXPECT_EQ(Must(store().GetConnectionByName("api")).id, c.id);

  EXPECT_EQ(CodeOf(store().CreateConnection(NewConnection("api"))), ErrorCode::kConflict);
  ASSERT_OK(store().CreateConnection(NewConnection("mail")));
  EXPECT_EQ(Must(store().ListConnections()).size(), 2u);
}

TEST_P(StoreContractTest, UpdateConnection) {
  Connection c = Must(store().CreateConnection(NewConnection("api")));
  Connection other = Must(store().CreateConnection(NewConnection("other")));
  c.name = "api2";
  c.settings = Json{{"base_url", "https://example.org"}};
  c.active = false;
  Connection u = Must(store().UpdateConnection(c));
  EXPECT_EQ(u.name, "api2");
  EXPECT_FALSE(u.active);
  EXPECT_EQ(u.created_at, c.created_at);
  Connection got = Must(store().GetConnection(c.id));
  EXPECT_EQ(got.name, "api2");
  EXPECT_EQ(got.settings, c.settings);
  EXPECT_FALSE(got.active);
  EXPECT_EQ(CodeOf(store().GetConnectionByName("api")), ErrorCode::kNotFound);

  other.name = "api2";
  EXPECT_EQ(CodeOf(store().UpdateConnection(other)), ErrorCode::kConflict);
  Connection missing = NewConnection("x");
  missing.id = "nosuchconnection";
  EXPECT_EQ(CodeOf(store().UpdateConnection(missing)), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, DeleteConnection) {
  Connection c = Must(store().CreateConnection(NewConnection("api")));
  ASSERT_OK(store().DeleteConnection(c.id));
  auto r = store().GetConnection(c.id);
  ASSERT_EQ(CodeOf(r), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find(c.id), std::string::npos);
  EXPECT_EQ(CodeOf(store().DeleteConnection(c.id)), ErrorCode::kNotFound);
  EXPECT_TRUE(Must(store().ListConnections()).empty());
  ASSERT_OK(store().CreateConnection(NewConnection("api")));
}

// ---- runs ---------------------------------------------------------------------------------

TEST_P(StoreContractTest, CreateRunRoundTripsEveryField) {
  weft::Run r = NewRun("flow1", At(0));
  r.trigger = Json{{"type", "webhook"}, {"body", {{"x", 1}}}};
  r.trigger_type = "webhook";
  r.scheduled_for = At(-1);
  r.retry_of = "oldrun";
  r.not_before = At(5);
  weft::Run created = Must(store().CreateRun(r));
  EXPECT_FALSE(created.id.empty());

  weft::Run got = Must(store().GetRun(created.id, true));
  EXPECT_EQ(got.id, created.id);
  EXPECT_EQ(got.flow_id, "flow1");
  EXPECT_EQ(got.flow_name, "flow flow1");
  EXPECT_EQ(got.flow_version, 1);
  EXPECT_EQ(got.trigger_type, "webhook");
  EXPECT_EQ(got.trigger, r.trigger);
  EXPECT_EQ(got.status, RunStatus::kQueued);
  EXPECT_EQ(got.scheduled_for, At(-1));
  EXPECT_EQ(got.created_at, At(0));
  EXPECT_FALSE(got.started_at.has_value());
  EXPECT_FALSE(got.finished_at.has_value());
  EXPECT_EQ(got.input, r.input);
  EXPECT_TRUE(got.output.is_null());
  EXPECT_TRUE(got.error.is_null());
  EXPECT_EQ(got.retry_of, "oldrun");
  EXPECT_TRUE(got.claimed_by.empty());
  EXPECT_FALSE(got.lease_until.has_value());
  EXPECT_EQ(got.not_before, At(5));
  EXPECT_FALSE(got.cancel_requested);
  EXPECT_TRUE(got.steps.empty());
}

TEST_P(StoreContractTest, CreateRunFillsIdAndTimeAndRejectsDuplicates) {
  weft::Run r = NewRun("flow1", TimePoint{});
  weft::Run created = Must(store().CreateRun(r));
  EXPECT_FALSE(created.id.empty());
  EXPECT_NE(created.created_at, TimePoint{});
  EXPECT_EQ(Must(store().GetRun(created.id, false)).created_at, created.created_at);
  EXPECT_EQ(CodeOf(store().CreateRun(created)), ErrorCode::kConflict);
}

TEST_P(StoreContractTest, CreateRunWithStepsStoresThemTogether) {
  weft::Run r = NewRun("flow1", At(0));
  r.steps = {NewStep("", "a", 1), NewStep("", "b", 2)};
  weft::Run created = Must(store().CreateRun(r));
  weft::Run got = Must(store().GetRun(created.id, true));
  ASSERT_EQ(got.steps.size(), 2u);
  EXPECT_EQ(got.steps[0].path, "a");
  EXPECT_EQ(got.steps[0].run_id, created.id);
  EXPECT_EQ(got.steps[1].path, "b");
}

TEST_P(StoreContractTest, GetRunUnknownIsNotFound) {
  auto r = store().GetRun("norun", true);
  ASSERT_EQ(CodeOf(r), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("run norun not found"), std::string::npos);
}

TEST_P(StoreContractTest, ClaimRunsTakesRunnableRunsOldestFirst) {
  weft::Run r3 = Must(store().CreateRun(NewRun("f", At(3))));
  weft::Run r1 = Must(store().CreateRun(NewRun("f", At(1))));
  weft::Run r2 = Must(store().CreateRun(NewRun("f", At(2))));
  ASSERT_OK(store().CreateRun(NewRun("f", At(0), RunStatus::kSucceeded)));
  ASSERT_OK(store().CreateRun(NewRun("f", At(0), RunStatus::kSkipped)));
  weft::Run later = NewRun("f", At(0));
  later.not_before = At(100);
  later = Must(store().CreateRun(later));

  auto got = Must(store().ClaimRuns("node1", 2, At(10), At(400)));
  ASSERT_EQ(Ids(got), (std::vector<std::string>{r1.id, r2.id}));
  EXPECT_EQ(got[0].claimed_by, "node1");
  EXPECT_EQ(got[0].lease_until, At(400));
  EXPECT_EQ(got[0].status, RunStatus::kQueued);
  EXPECT_TRUE(got[0].steps.empty());
  EXPECT_EQ(got[0].input, r1.input);

  weft::Run stored = Must(store().GetRun(r1.id, false));
  EXPECT_EQ(stored.claimed_by, "node1");
  EXPECT_EQ(stored.lease_until, At(400));

  // Held runs are not handed out again; the finished and the not-yet ones never.
  EXPECT_EQ(Ids(Must(store().ClaimRuns("node2", 10, At(10), At(400)))),
            (std::vector<std::string>{r3.id}));
  EXPECT_TRUE(Must(store().ClaimRuns("node2", 10, At(10), At(400))).empty());
  // not_before reached.
  EXPECT_EQ(Ids(Must(store().ClaimRuns("node2", 10, At(100), At(140)))),
            (std::vector<std::string>{later.id}));
  EXPECT_TRUE(Must(store().ClaimRuns("node2", 0, At(10), At(400))).empty());
}

TEST_P(StoreContractTest, ClaimRunsTakesABatchOldestFirstFromEveryKindOfRunnableRun) {
  weft::Run ready0 = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run delayed = NewRun("f", At(1));
  delayed.not_before = At(5);
  delayed = Must(store().CreateRun(delayed));
  weft::Run lapsed = Must(store().CreateRun(NewRun("f", At(2))));
  ASSERT_EQ(Ids(Must(store().ClaimRuns("dead", 1, At(2), At(8)))), (std::vector<std::string>{ready0.id}));
  // ready0 is now held by "dead" until 8; lapsed gets a claim that ends at 6.
  weft::Run held = Must(store().GetRun(lapsed.id, false));
  held.claimed_by = "dead";
  held.lease_until = At(6);
  ASSERT_OK(store().UpdateRun(held));
  weft::Run ready3 = Must(store().CreateRun(NewRun("f", At(3))));
  weft::Run ready4 = Must(store().CreateRun(NewRun("f", At(4))));
  weft::Run later = NewRun("f", At(0));
  later.not_before = At(100);
  later = Must(store().CreateRun(later));

  // At 7: ready0 is still held; delayed is due, lapsed's lease has ended.
  auto got = Must(store().ClaimRuns("n", 3, At(7), At(60)));
  EXPECT_EQ(Ids(got), (std::vector<std::string>{delayed.id, lapsed.id, ready3.id}));
  for (const auto& r : got) EXPECT_EQ(r.claimed_by, "n");
  EXPECT_EQ(Ids(Must(store().ClaimRuns("n", 5, At(7), At(60)))), (std::vector<std::string>{ready4.id}));
  EXPECT_EQ(Ids(Must(store().ClaimRuns("n", 5, At(9), At(60)))), (std::vector<std::string>{ready0.id}));
}

TEST_P(StoreContractTest, ClaimRunsRetakesExpiredLeasesKeepingStatus) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  auto first = Must(store().ClaimRuns("dead", 1, At(1), At(30)));
  ASSERT_EQ(first.size(), 1u);
  weft::Run running = first[0];
  running.status = RunStatus::kRunning;
  running.started_at = At(2);
  ASSERT_OK(store().UpdateRun(running));

  EXPECT_TRUE(Must(store().ClaimRuns("alive", 5, At(29), At(60))).empty());
  auto again = Must(store().ClaimRuns("alive", 5, At(31), At(60)));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, r.id);
  EXPECT_EQ(again[0].status, RunStatus::kRunning);
  EXPECT_EQ(again[0].started_at, At(2));
  EXPECT_EQ(again[0].claimed_by, "alive");
  EXPECT_EQ(again[0].lease_until, At(60));
}

TEST_P(StoreContractTest, ClaimRunsTakesReleasedRuns) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  auto got = Must(store().ClaimRuns("n", 1, At(1), At(30)));
  ASSERT_EQ(got.size(), 1u);
  // The engine hands a run back (graceful shutdown, or a wait with not_before).
  weft::Run back = got[0];
  back.claimed_by.clear();
  back.lease_until.reset();
  back.not_before = At(5);
  ASSERT_OK(store().UpdateRun(back));
  EXPECT_TRUE(Must(store().ClaimRuns("m", 1, At(4), At(30))).empty());
  EXPECT_EQ(Ids(Must(store().ClaimRuns("m", 1, At(5), At(30)))), (std::vector<std::string>{r.id}));
}

TEST_P(StoreContractTest, ConcurrentClaimsNeverHandARunOutTwice) {
  constexpr int kRuns = 2000;
  constexpr int kThreads = 8;
  std::set<std::string> created;
  for (int i = 0; i < kRuns; ++i) {
    created.insert(Must(store().CreateRun(NewRun("f", At(i % 100)))).id);
  }
  std::vector<std::vector<std::string>> claimed(kThreads);
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string node = "node" + std::to_string(t);
      for (;;) {
        auto got = store().ClaimRuns(node, 1 + t % 4, At(1000), At(2000));
        if (!got) {
          failed = true;
          return;
        }
        if (got->empty()) return;
        for (const auto& r : *got) claimed[t].push_back(r.id);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_FALSE(failed);
  std::map<std::string, int> times;
  size_t total = 0;
  for (const auto& ids : claimed) {
    total += ids.size();
    for (const auto& id : ids) times[id]++;
  }
  EXPECT_EQ(total, static_cast<size_t>(kRuns));
  for (const auto& [id, n] : times) ASSERT_EQ(n, 1) << "run " << id << " claimed " << n << " times";
  std::set<std::string> seen;
  for (const auto& [id, n] : times) seen.insert(id);
  EXPECT_EQ(seen, created);
}

TEST_P(StoreContractTest, ConcurrentWritersAndReaders) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        auto run = store().CreateRun(NewRun("f", At(i)));
        if (!run) {
          failed = true;
          return;
        }
        if (!store().SaveStepRun(NewStep(run->id, "a", 1))) failed = true;
        auto got = store().GetRun(run->id, true);
        if (!got || got->steps.size() != 1) failed = true;
        RunFilter filter;
        filter.limit = 5;
        if (!store().ListRuns(filter)) failed = true;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), kThreads * kPerThread);
}

TEST_P(StoreContractTest, ConcurrentSavesFromOneBaseVersionLetOneWin) {
  Flow f = Must(store().CreateFlow(Write("race", OneStep("a")), ""));
  constexpr int kThreads = 8;
  std::atomic<int> won{0}, conflicts{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto r = store().SaveFlow(f.id, Write("race", OneStep("t" + std::to_string(t))), 1, "");
      if (r) {
        won++;
      } else if (r.error().code == ErrorCode::kVersionConflict) {
        conflicts++;
      } else {
        other++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(won, 1);
  EXPECT_EQ(conflicts, kThreads - 1);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(Must(store().GetFlow(f.id)).version, 2);
  EXPECT_EQ(Must(store().ListFlowVersions(f.id)).size(), 2u);
}

TEST_P(StoreContractTest, ConcurrentCreatesWithOneNameLetOneWin) {
  constexpr int kThreads = 8;
  std::atomic<int> won{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half race for one name; the others each have their own.
      std::string name = t % 2 ? "shared" : "own" + std::to_string(t);
      auto r = store().CreateFlow(Write(name), "");
      if (r) {
        won++;
      } else if (r.error().code == ErrorCode::kConflict) {
        conflicts++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(won, 1 + kThreads / 2);
  EXPECT_EQ(conflicts, kThreads / 2 - 1);
  EXPECT_EQ(Must(store().ListFlows()).size(), static_cast<size_t>(1 + kThreads / 2));
}

TEST_P(StoreContractTest, ClaimRunsWaitsForNotBeforeEvenAfterALeaseEnds) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  auto got = Must(store().ClaimRuns("n", 1, At(1), At(30)));
  ASSERT_EQ(got.size(), 1u);
  weft::Run waiting = got[0];  // a retry waiting until 100, still held by n
  waiting.status = RunStatus::kRunning;
  waiting.not_before = At(100);
  ASSERT_OK(store().UpdateRun(waiting));
  EXPECT_TRUE(Must(store().ClaimRuns("m", 1, At(50), At(80))).empty());
  EXPECT_EQ(Ids(Must(store().ClaimRuns("m", 1, At(100), At(130)))),
            (std::vector<std::string>{r.id}));
}

TEST_P(StoreContractTest, RenewLeasesExtendsOnlyTheNodesOwnRuns) {
  weft::Run a = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run b = Must(store().CreateRun(NewRun("f", At(1))));
  ASSERT_EQ(Must(store().ClaimRuns("n1", 1, At(2), At(30))).size(), 1u);
  ASSERT_EQ(Must(store().ClaimRuns("n2", 1, At(2), At(30))).size(), 1u);
  ASSERT_OK(store().RenewLeases("n1", {a.id, b.id}, At(90)));
  ASSERT_OK(store().RenewLeases("n1", {}, At(90)));
  EXPECT_EQ(Must(store().GetRun(a.id, false)).lease_until, At(90));
  EXPECT_EQ(Must(store().GetRun(b.id, false)).lease_until, At(30));
  // a is still held at 60; b has expired.
  EXPECT_EQ(Ids(Must(store().ClaimRuns("n3", 5, At(60), At(120)))),
            (std::vector<std::string>{b.id}));
}

TEST_P(StoreContractTest, UpdateRunWritesStateButNotIdentity) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run u = r;
  u.status = RunStatus::kFailed;
  u.started_at = At(1);
  u.finished_at = At(2);
  u.output = Json{{"ok", false}};
  u.error = Json{{"code", "step_failed"}, {"message", "boom"}, {"step", "a"}};
  u.claimed_by = "n";
  u.lease_until = At(3);
  u.not_before = At(4);
  // Identity fields are not written.
  u.flow_id = "other";
  u.flow_name = "other";
  u.input = Json{{"changed", true}};
  u.trigger_type = "schedule";
  ASSERT_OK(store().UpdateRun(u));

  weft::Run got = Must(store().GetRun(r.id, false));
  EXPECT_EQ(got.status, RunStatus::kFailed);
  EXPECT_EQ(got.started_at, At(1));
  EXPECT_EQ(got.finished_at, At(2));
  EXPECT_EQ(got.output, u.output);
  EXPECT_EQ(got.error, u.error);
  EXPECT_EQ(got.claimed_by, "n");
  EXPECT_EQ(got.lease_until, At(3));
  EXPECT_EQ(got.not_before, At(4));
  EXPECT_EQ(got.flow_id, "f");
  EXPECT_EQ(got.flow_name, r.flow_name);
  EXPECT_EQ(got.input, r.input);
  EXPECT_EQ(got.trigger_type, "manual");

  // Optional fields can be cleared again.
  u.claimed_by.clear();
  u.lease_until.reset();
  u.not_before.reset();
  u.output = Json();
  ASSERT_OK(store().UpdateRun(u));
  got = Must(store().GetRun(r.id, false));
  EXPECT_TRUE(got.claimed_by.empty());
  EXPECT_FALSE(got.lease_until.has_value());
  EXPECT_FALSE(got.not_before.has_value());
  EXPECT_TRUE(got.output.is_null());

  weft::Run missing = NewRun("f", At(0));
  missing.id = "norun";
  EXPECT_EQ(CodeOf(store().UpdateRun(missing)), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, UpdateRunNeverClearsARequestedCancel) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run engine_copy = r;  // read before the cancel
  EXPECT_TRUE(Must(store().RequestCancel(r.id)));
  engine_copy.status = RunStatus::kRunning;
  ASSERT_OK(store().UpdateRun(engine_copy));
  weft::Run got = Must(store().GetRun(r.id, false));
  EXPECT_TRUE(got.cancel_requested);
  EXPECT_EQ(got.status, RunStatus::kRunning);
}

TEST_P(StoreContractTest, SaveStepRunUpsertsKeepingSeq) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  ASSERT_OK(store().SaveStepRun(NewStep(r.id, "b", 2, StepStatus::kRunning)));
  ASSERT_OK(store().SaveStepRun(NewStep(r.id, "a", 1)));
  ASSERT_OK(store().SaveStepRun(NewStep(r.id, "each[0].c", 3)));
  // Replacing b (a retry's second attempt) keeps its place even if seq differs.
  StepRun b = NewStep(r.id, "b", 7, StepStatus::kFailed);
  b.attempts = 2;
  b.error = Json{{"code", "timeout"}, {"message", "took too long"}};
  b.output = Json();
  b.logs =
      Json::array({Json{{"at", "2027-01-15T08:00:00Z"}, {"level", "info"}, {"message", "hi"}}});
  b.wake_at = At(9);
  b.state = Json{{"branch", "then"}};
  ASSERT_OK(store().SaveStepRun(b));

  weft::Run got = Must(store().GetRun(r.id, true));
  ASSERT_EQ(got.steps.size(), 3u);
  EXPECT_EQ(got.steps[0].path, "a");
  EXPECT_EQ(got.steps[1].path, "b");
  EXPECT_EQ(got.steps[2].path, "each[0].c");
  const StepRun& gb = got.steps[1];
  EXPECT_EQ(gb.seq, 2);
  EXPECT_EQ(gb.run_id, r.id);
  EXPECT_EQ(gb.step_id, "b");
  EXPECT_EQ(gb.uses, "data.set");
  EXPECT_EQ(gb.status, StepStatus::kFailed);
  EXPECT_EQ(gb.attempts, 2);
  EXPECT_EQ(gb.started_at, kT0);
  EXPECT_EQ(gb.finished_at, kT0 + Millis(5));
  EXPECT_EQ(gb.input, b.input);
  EXPECT_TRUE(gb.output.is_null());
  EXPECT_EQ(gb.error, b.error);
  EXPECT_EQ(gb.logs, b.logs);
  EXPECT_EQ(gb.wake_at, At(9));
  EXPECT_EQ(gb.state, b.state);
  EXPECT_EQ(got.steps[0].output, Json({{"value", "a"}}));
  EXPECT_EQ(got.steps[0].logs, Json::array());

  EXPECT_TRUE(Must(store().GetRun(r.id, false)).steps.empty());
}

TEST_P(StoreContractTest, SaveStepRunForUnknownRunIsNotFound) {
  EXPECT_EQ(CodeOf(store().SaveStepRun(NewStep("norun", "a", 1))), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, SaveRunWritesTheRunAndItsStepsTogether) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run claimed = Must(store().ClaimRuns("n", 1, At(1), At(30))).at(0);
  // The executor's deferred header with the steps that waited for it.
  weft::Run header = claimed;
  header.status = RunStatus::kRunning;
  header.started_at = At(2);
  ASSERT_OK(store().SaveRun(&header, {NewStep(r.id, "a", 1), NewStep(r.id, "b", 2, StepStatus::kRunning)}));
  weft::Run got = Must(store().GetRun(r.id, true));
  EXPECT_EQ(got.status, RunStatus::kRunning);
  EXPECT_EQ(got.started_at, At(2));
  EXPECT_EQ(got.claimed_by, "n");
  ASSERT_EQ(got.steps.size(), 2u);
  EXPECT_EQ(got.steps[0].path, "a");
  EXPECT_EQ(got.steps[1].status, StepStatus::kRunning);

  // Steps alone (the header is written), replacing one and keeping its seq.
  ASSERT_OK(store().SaveRun(nullptr, {NewStep(r.id, "b", 9), NewStep(r.id, "c", 3)}));
  got = Must(store().GetRun(r.id, true));
  ASSERT_EQ(got.steps.size(), 3u);
  EXPECT_EQ(got.steps[1].path, "b");
  EXPECT_EQ(got.steps[1].status, StepStatus::kSucceeded);
  EXPECT_EQ(got.steps[2].path, "c");

  // The run's end with the last results; an empty call writes nothing.
  weft::Run end = got;
  end.steps.clear();
  end.status = RunStatus::kSucceeded;
  end.finished_at = At(4);
  end.claimed_by.clear();
  end.lease_until.reset();
  end.output = Json{{"value", "d"}};
  ASSERT_OK(store().SaveRun(&end, {NewStep(r.id, "d", 4)}));
  ASSERT_OK(store().SaveRun(nullptr, {}));
  got = Must(store().GetRun(r.id, true));
  EXPECT_EQ(got.status, RunStatus::kSucceeded);
  EXPECT_EQ(got.output, end.output);
  EXPECT_TRUE(got.claimed_by.empty());
  ASSERT_EQ(got.steps.size(), 4u);
  EXPECT_EQ(got.steps[3].path, "d");
}

TEST_P(StoreContractTest, SaveRunIsAtomic) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run header = Must(store().GetRun(r.id, false));
  header.status = RunStatus::kRunning;
  // A step of another (unknown) run fails the whole write: the header and the
  // step before it are not written either.
  EXPECT_EQ(CodeOf(store().SaveRun(&header, {NewStep(r.id, "a", 1), NewStep("norun", "b", 2)})),
            ErrorCode::kNotFound);
  weft::Run got = Must(store().GetRun(r.id, true));
  EXPECT_EQ(got.status, RunStatus::kQueued);
  EXPECT_TRUE(got.steps.empty());
  weft::Run unknown = header;
  unknown.id = "norun";
  EXPECT_EQ(CodeOf(store().SaveRun(&unknown, {NewStep(r.id, "a", 1)})), ErrorCode::kNotFound);
  EXPECT_TRUE(Must(store().GetRun(r.id, true)).steps.empty());
}

TEST_P(StoreContractTest, ClaimRunsReturnsTheStepsOfRunsThatHaveThem) {
  weft::Run fresh = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run started = Must(store().CreateRun(NewRun("f", At(1))));
  ASSERT_OK(store().SaveStepRun(NewStep(started.id, "b", 2, StepStatus::kRunning)));
  ASSERT_OK(store().SaveStepRun(NewStep(started.id, "a", 1)));
  auto got = Must(store().ClaimRuns("n", 5, At(2), At(30)));
  ASSERT_EQ(Ids(got), (std::vector<std::string>{fresh.id, started.id}));
  EXPECT_TRUE(got[0].steps.empty());
  ASSERT_EQ(got[1].steps.size(), 2u);
  EXPECT_EQ(got[1].steps[0].path, "a");
  EXPECT_EQ(got[1].steps[0].output, Json({{"value", "a"}}));
  EXPECT_EQ(got[1].steps[1].path, "b");
  EXPECT_EQ(got[1].steps[1].status, StepStatus::kRunning);
}

TEST_P(StoreContractTest, RequestCancel) {
  weft::Run queued = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run done = Must(store().CreateRun(NewRun("f", At(1), RunStatus::kSucceeded)));
  EXPECT_TRUE(Must(store().RequestCancel(queued.id)));
  EXPECT_TRUE(Must(store().GetRun(queued.id, false)).cancel_requested);
  EXPECT_FALSE(Must(store().RequestCancel(done.id)));
  EXPECT_FALSE(Must(store().GetRun(done.id, false)).cancel_requested);
  EXPECT_EQ(CodeOf(store().RequestCancel("norun")), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, WakeRunClearsNotBeforeOfAWaitingUnheldRunOnly) {
  weft::Run waiting = NewRun("f", At(0));
  waiting.not_before = At(60);
  waiting = Must(store().CreateRun(waiting));
  EXPECT_TRUE(Must(store().WakeRun(waiting.id)));
  EXPECT_FALSE(Must(store().GetRun(waiting.id, false)).not_before.has_value());
  EXPECT_FALSE(Must(store().WakeRun(waiting.id))) << "nothing left to wake";

  // A run some node holds keeps its not_before (its holder writes it), and so does a finished one.
  weft::Run held = NewRun("f", At(1));
  held.not_before = At(60);
  held = Must(store().CreateRun(held));
  held.claimed_by = "node-a";
  held.lease_until = At(30);
  ASSERT_OK(store().UpdateRun(held));
  EXPECT_FALSE(Must(store().WakeRun(held.id)));
  EXPECT_EQ(Must(store().GetRun(held.id, false)).not_before, At(60));
  weft::Run done = NewRun("f", At(2), RunStatus::kSucceeded);
  done.not_before = At(60);
  done = Must(store().CreateRun(done));
  EXPECT_FALSE(Must(store().WakeRun(done.id)));
  EXPECT_FALSE(Must(store().WakeRun("norun")));
}

TEST_P(StoreContractTest, CountRuns) {
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 0);
  for (int i = 0; i < 3; ++i) ASSERT_OK(store().CreateRun(NewRun("f", At(i))));
  ASSERT_OK(store().CreateRun(NewRun("f", At(5), RunStatus::kSkipped)));
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 4);
  EXPECT_EQ(Must(store().CountRuns(RunStatus::kQueued)), 3);
  EXPECT_EQ(Must(store().CountRuns(RunStatus::kSkipped)), 1);
  EXPECT_EQ(Must(store().CountRuns(RunStatus::kRunning)), 0);
}

TEST_P(StoreContractTest, QueueStatsCountQueuedRunsAndTheOldest) {
  auto empty = Must(store().GetQueueStats());
  EXPECT_EQ(empty.queued, 0);
  EXPECT_FALSE(empty.oldest_created_at);
  ASSERT_OK(store().CreateRun(NewRun("f", At(0), RunStatus::kSucceeded)));  // ended: not queued
  weft::Run oldest = Must(store().CreateRun(NewRun("f", At(2))));
  ASSERT_OK(store().CreateRun(NewRun("f", At(3))));
  weft::Run taken = Must(store().CreateRun(NewRun("f", At(1))));
  taken.status = RunStatus::kRunning;
  ASSERT_OK(store().UpdateRun(taken));
  auto q = Must(store().GetQueueStats());
  EXPECT_EQ(q.queued, 2);
  ASSERT_TRUE(q.oldest_created_at);
  EXPECT_EQ(*q.oldest_created_at, oldest.created_at);
}

TEST_P(StoreContractTest, SchemaStatusIsCurrentAfterOpen) {
  auto st = Must(store().GetSchemaStatus());
  EXPECT_GT(st.known, 0);
  EXPECT_EQ(st.applied, st.known);
}

TEST_P(StoreContractTest, ListRunsNewestFirstWithFilters) {
  weft::Run a0 = Must(store().CreateRun(NewRun("a", At(0))));
  weft::Run b1 = Must(store().CreateRun(NewRun("b", At(1), RunStatus::kFailed)));
  weft::Run a2 = NewRun("a", At(2), RunStatus::kSucceeded);
  a2.trigger_type = "schedule";
  a2 = Must(store().CreateRun(a2));
  weft::Run a3 = Must(store().CreateRun(NewRun("a", At(3), RunStatus::kFailed)));
  ASSERT_OK(store().SaveStepRun(NewStep(a3.id, "x", 1)));

  RunFilter all;
  auto page = Must(store().ListRuns(all));
  EXPECT_EQ(Ids(page.runs), (std::vector<std::string>{a3.id, a2.id, b1.id, a0.id}));
  EXPECT_TRUE(page.next_cursor.empty());
  EXPECT_TRUE(page.runs[0].steps.empty()) << "lists carry no steps";

  RunFilter f;
  f.flow_id = "a";
  EXPECT_EQ(Ids(Must(store().ListRuns(f)).runs), (std::vector<std::string>{a3.id, a2.id, a0.id}));
  f.status = RunStatus::kFailed;
  EXPECT_EQ(Ids(Must(store().ListRuns(f)).runs), (std::vector<std::string>{a3.id}));

  RunFilter by_status;
  by_status.status = RunStatus::kFailed;
  EXPECT_EQ(Ids(Must(store().ListRuns(by_status)).runs), (std::vector<std::string>{a3.id, b1.id}));

  RunFilter by_trigger;
  by_trigger.trigger_type = "schedule";
  EXPECT_EQ(Ids(Must(store().ListRuns(by_trigger)).runs), (std::vector<std::string>{a2.id}));

  RunFilter window;  // since inclusive, until exclusive
  window.since = At(1);
  window.until = At(3);
  EXPECT_EQ(Ids(Must(store().ListRuns(window)).runs), (std::vector<std::string>{a2.id, b1.id}));

  RunFilter none;
  none.flow_id = "zzz";
  EXPECT_TRUE(Must(store().ListRuns(none)).runs.empty());
}

TEST_P(StoreContractTest, ListRunsPagesWithAStableCursor) {
  // Runs sharing a created_at are still ordered (by id) and never repeated.
  std::vector<std::string> expected;
  for (int i = 0; i < 25; ++i) {
    expected.push_back(Must(store().CreateRun(NewRun("f", At(i / 3)))).id);
  }
  std::vector<weft::Run> all_runs;
  {
    RunFilter f;
    f.limit = 100;
    all_runs = Must(store().ListRuns(f)).runs;
  }
  ASSERT_EQ(all_runs.size(), 25u);
  for (size_t i = 1; i < all_runs.size(); ++i) {
    const weft::Run& prev = all_runs[i - 1];
    const weft::Run& cur = all_runs[i];
    EXPECT_TRUE(prev.created_at > cur.created_at ||
                (prev.created_at == cur.created_at && prev.id > cur.id));
  }

  RunFilter f;
  f.limit = 10;
  std::vector<std::string> paged;
  int pages = 0;
  for (;;) {
    auto page = Must(store().ListRuns(f));
    ++pages;
    for (const auto& r : page.runs) paged.push_back(r.id);
    if (pages == 1) {
      // New runs arriving between pages do not shift the pages that follow.
      ASSERT_OK(store().CreateRun(NewRun("f", At(50))));
    }
    if (page.next_cursor.empty()) break;
    ASSERT_LE(pages, 5);
    f.cursor = page.next_cursor;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(paged, Ids(all_runs));

  RunFilter exact;  // a page that ends exactly at the end has no cursor
  exact.limit = 26;
  EXPECT_TRUE(Must(store().ListRuns(exact)).next_cursor.empty());
  exact.limit = 25;
  EXPECT_FALSE(Must(store().ListRuns(exact)).next_cursor.empty());

  RunFilter bad;
  bad.cursor = "not a cursor";
  EXPECT_EQ(CodeOf(store().ListRuns(bad)), ErrorCode::kBadRequest);
}

// ---- deliveries ---------------------------------------------------------------------------

namespace {
Delivery NewDelivery(const std::string& flow_id, TimePoint at) {
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
}  // namespace

TEST_P(StoreContractTest, DeliveriesRoundTrip) {
  Delivery d = NewDelivery("f", At(0));
  d.body = std::string("bin\0ary\xff\xfe", 9);
  Delivery created = Must(store().CreateDelivery(d));
  EXPECT_FALSE(created.id.empty());
  Delivery got = Must(store().GetDelivery(created.id));
  EXPECT_EQ(got.flow_id, "f");
  EXPECT_EQ(got.received_at, At(0));
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.path, "/hooks/abcd");
  EXPECT_EQ(got.status_code, 202);
  EXPECT_EQ(got.run_id, "run1");
  EXPECT_EQ(got.headers, d.headers);
  EXPECT_EQ(got.query, d.query);
  EXPECT_EQ(got.body, d.body) << "the body is kept byte for byte";
  EXPECT_EQ(got.content_type, "application/json");
  EXPECT_TRUE(got.auth_passed);
  EXPECT_EQ(CodeOf(store().GetDelivery("nodelivery")), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, ListDeliveriesNewestFirstByFlow) {
  Delivery a0 = Must(store().CreateDelivery(NewDelivery("a", At(0))));
  Delivery b1 = Must(store().CreateDelivery(NewDelivery("b", At(1))));
  Delivery a2 = Must(store().CreateDelivery(NewDelivery("a", At(2))));
  auto ids = [](const std::vector<Delivery>& ds) {
    std::vector<std::string> out;
    for (const auto& d : ds) out.push_back(d.id);
    return out;
  };
  EXPECT_EQ(ids(Must(store().ListDeliveries("a", 10))), (std::vector<std::string>{a2.id, a0.id}));
  EXPECT_EQ(ids(Must(store().ListDeliveries("a", 1))), (std::vector<std::string>{a2.id}));
  EXPECT_EQ(ids(Must(store().ListDeliveries("", 10))),
            (std::vector<std::string>{a2.id, b1.id, a0.id}));
}

// ---- durability ------------------------------------------------------------------------------

TEST_P(StoreContractTest, EverythingPersistsAcrossReopen) {
  Flow f = Must(store().CreateFlow(Write("keep", OneStep("a"), "webhook"), "tok"));
  ASSERT_OK(store().SaveFlow(f.id, Write("keep", OneStep("b"), "webhook"), std::nullopt, ""));
  ASSERT_OK(store().SetFlowActive(f.id, true));
  Connection c = Must(store().CreateConnection(NewConnection("api")));
  weft::Run r = Must(store().CreateRun(NewRun(f.id, At(0))));
  ASSERT_OK(store().SaveStepRun(NewStep(r.id, "a", 1)));
  weft::Run done = r;
  done.status = RunStatus::kSucceeded;
  done.finished_at = At(1);
  done.output = Json{{"v", 1}};
  ASSERT_OK(store().UpdateRun(done));
  Delivery d = Must(store().CreateDelivery(NewDelivery(f.id, At(0))));

  Reopen();

  Flow got = Must(store().GetFlow(f.id));
  EXPECT_EQ(got.version, 2);
  EXPECT_TRUE(got.active);
  EXPECT_EQ(got.webhook_token, "tok");
  EXPECT_EQ(got.document, Write("keep", OneStep("b"), "webhook").document);
  EXPECT_EQ(Must(store().ListFlowVersions(f.id)).size(), 2u);
  EXPECT_EQ(Must(store().GetConnection(c.id)).auth, c.auth);
  weft::Run gr = Must(store().GetRun(r.id, true));
  EXPECT_EQ(gr.status, RunStatus::kSucceeded);
  EXPECT_EQ(gr.output, done.output);
  ASSERT_EQ(gr.steps.size(), 1u);
  EXPECT_EQ(gr.steps[0].path, "a");
  EXPECT_EQ(Must(store().GetDelivery(d.id)).body, d.body);
}

// ---- webhooks ------------------------------------------------------------------

TEST_P(StoreContractTest, RecordWebhookStoresRunKeyAndDeliveryTogether) {
  WebhookRecord r;
  r.run = NewRun("f", At(0));
  r.run->trigger_type = "webhook";
  r.idempotency_key = "evt_1";
  r.keys_since = At(0) - Millis(1000);
  r.delivery = NewDelivery("f", At(0));
  r.delivery->run_id = "";
  WebhookRecorded first = Must(store().RecordWebhook(r));
  ASSERT_TRUE(first.run);
  EXPECT_TRUE(first.duplicate_of.empty());
  EXPECT_EQ(Must(store().GetDelivery(first.delivery->id)).run_id, first.run->id);
  EXPECT_EQ(Must(store().GetRun(first.run->id, false)).trigger_type, "webhook");

  // The same key again: no new run, the first run's id, the delivery says so.
  r.run = NewRun("f", At(1));
  r.delivery = NewDelivery("f", At(1));
  WebhookRecorded again = Must(store().RecordWebhook(r));
  EXPECT_FALSE(again.run);
  EXPECT_EQ(again.duplicate_of, first.run->id);
  EXPECT_EQ(Must(store().GetDelivery(again.delivery->id)).run_id, first.run->id);

  // Another flow may use the same key; a key older than keys_since is forgotten.
  r.run = NewRun("g", At(2));
  EXPECT_TRUE(Must(store().RecordWebhook(r)).run);
  r.run = NewRun("f", At(3));
  r.keys_since = At(1);
  WebhookRecorded later = Must(store().RecordWebhook(r));
  ASSERT_TRUE(later.run);
  r.run = NewRun("f", At(4));
  EXPECT_EQ(Must(store().RecordWebhook(r)).duplicate_of, later.run->id);
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 3);
}

TEST_P(StoreContractTest, FindWebhookKeyAnswersTheFirstRunOfAFreshKeyAndWritesNothing) {
  EXPECT_EQ(Must(store().FindWebhookKey("f", "evt_1", At(0))), std::nullopt);
  WebhookRecord r;
  r.run = NewRun("f", At(5));
  r.idempotency_key = "evt_1";
  r.keys_since = At(0);
  WebhookRecorded first = Must(store().RecordWebhook(r));
  ASSERT_TRUE(first.run);

  EXPECT_EQ(Must(store().FindWebhookKey("f", "evt_1", At(5))), first.run->id);
  EXPECT_EQ(Must(store().FindWebhookKey("f", "evt_1", At(0))), first.run->id);
  // Recorded before `since`: forgotten, as RecordWebhook would take it again.
  EXPECT_EQ(Must(store().FindWebhookKey("f", "evt_1", At(6))), std::nullopt);
  // Keys are per flow, and a key is matched whole.
  EXPECT_EQ(Must(store().FindWebhookKey("g", "evt_1", At(0))), std::nullopt);
  EXPECT_EQ(Must(store().FindWebhookKey("f", "evt_", At(0))), std::nullopt);
  EXPECT_EQ(Must(store().FindWebhookKey("f", "", At(0))), std::nullopt);
  // A read only: the key still makes the next request a repeat of the first run.
  r.run = NewRun("f", At(6));
  EXPECT_EQ(Must(store().RecordWebhook(r)).duplicate_of, first.run->id);
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 1);
}

TEST_P(StoreContractTest, RecordWebhookConcurrentDuplicatesStartOneRun) {
  std::atomic<int> started{0};
  std::set<std::string> answered;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      WebhookRecord r;
      r.run = NewRun("f", At(0));
      r.idempotency_key = "same";
      r.keys_since = At(0) - Millis(1000);
      auto got = store().RecordWebhook(r);
      ASSERT_TRUE(got.has_value()) << got.error().message;
      std::lock_guard lock(mu);
      if (got->run) {
        ++started;
        answered.insert(got->run->id);
      } else {
        answered.insert(got->duplicate_of);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(answered.size(), 1u) << "every request answers the one run's id";
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 1);
}

TEST_P(StoreContractTest, PruneWebhookDataByAgeAndCount) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(store().CreateDelivery(NewDelivery("a", At(i))));
  ASSERT_OK(store().CreateDelivery(NewDelivery("b", At(0))));
  // Older than At(2) for flow a: two go.
  EXPECT_EQ(Must(store().PruneWebhookData("a", At(2), 0, At(0), 100)), 2);
  // Keep the newest two of a.
  EXPECT_EQ(Must(store().PruneWebhookData("a", At(0), 2, At(0), 100)), 1);
  EXPECT_EQ(Must(store().ListDeliveries("a", 10)).size(), 2u);
  EXPECT_EQ(Must(store().ListDeliveries("b", 10)).size(), 1u);
  // Every flow by age.
  EXPECT_EQ(Must(store().PruneWebhookData("", At(100), 0, At(0), 100)), 3);
}

// ---- schedule fires -------------------------------------------------------------

namespace {
weft::Run ScheduledRun(const std::string& flow_id, TimePoint at) {
  weft::Run r = NewRun(flow_id, at);
  r.trigger_type = "schedule";
  r.trigger = Json{{"type", "schedule"}};
  r.scheduled_for = at;
  return r;
}
}  // namespace

TEST_P(StoreContractTest, SetNextRunAtSetsAndClears) {
  Flow f = Must(store().CreateFlow(Write("timed", OneStep("a"), "schedule"), ""));
  ASSERT_OK(store().SetNextRunAt(f.id, At(60)));
  EXPECT_EQ(Must(store().GetFlow(f.id)).next_run_at, At(60));
  EXPECT_EQ(Must(store().ListFlows()).at(0).next_run_at, At(60));
  ASSERT_OK(store().SetNextRunAt(f.id, std::nullopt));
  EXPECT_FALSE(Must(store().GetFlow(f.id)).next_run_at.has_value());
  EXPECT_EQ(store().SetNextRunAt("nope", At(1)).error().code, ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, RecordScheduleFireRecordsEachTimeOnce) {
  Flow f = Must(store().CreateFlow(Write("fired", OneStep("a"), "schedule"), ""));
  weft::Run run = ScheduledRun(f.id, At(60));
  EXPECT_TRUE(Must(store().RecordScheduleFire(f.id, At(60), &run, At(120), 0)));
  Flow got = Must(store().GetFlow(f.id));
  EXPECT_EQ(got.next_run_at, At(120));
  EXPECT_EQ(got.missed_fires, 0);
  RunFilter filter;
  filter.flow_id = f.id;
  auto runs = Must(store().ListRuns(filter)).runs;
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].scheduled_for, At(60));
  EXPECT_EQ(runs[0].trigger_type, "schedule");

  // The same time again, or an earlier one, was fired already: nothing changes.
  weft::Run again = ScheduledRun(f.id, At(60));
  EXPECT_FALSE(Must(store().RecordScheduleFire(f.id, At(60), &again, At(999), 5)));
  EXPECT_FALSE(Must(store().RecordScheduleFire(f.id, At(30), nullptr, At(999), 5)));
  got = Must(store().GetFlow(f.id));
  EXPECT_EQ(got.next_run_at, At(120));
  EXPECT_EQ(got.missed_fires, 0);
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 1);

  // A fire without a run (misfire: skip) still moves on and counts what was missed.
  EXPECT_TRUE(Must(store().RecordScheduleFire(f.id, At(240), nullptr, At(300), 3)));
  got = Must(store().GetFlow(f.id));
  EXPECT_EQ(got.next_run_at, At(300));
  EXPECT_EQ(got.missed_fires, 3);
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 1);
  EXPECT_FALSE(Must(store().RecordScheduleFire(f.id, At(240), nullptr, std::nullopt, 0)));
  EXPECT_EQ(store().RecordScheduleFire("nope", At(1), nullptr, std::nullopt, 0).error().code, ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, RecordScheduleFiresRefusesRepeatedTimesAndInactiveFlows) {
  Flow on = Must(store().CreateFlow(Write("on", OneStep("a"), "schedule"), ""));
  Flow off = Must(store().CreateFlow(Write("off", OneStep("a"), "schedule"), ""));
  ASSERT_OK(store().SetFlowActive(on.id, true));
  std::vector<ScheduleFire> fires(4);
  fires[0] = {on.id, At(60), ScheduledRun(on.id, At(60)), At(120), 0};
  fires[1] = {off.id, At(60), ScheduledRun(off.id, At(60)), At(120), 0};
  fires[2] = {on.id, At(60), ScheduledRun(on.id, At(60)), At(120), 0};  // the same time twice
  fires[3] = {"gone", At(60), std::nullopt, At(120), 0};
  EXPECT_EQ(Must(store().RecordScheduleFires(fires)), (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 1);
  EXPECT_EQ(Must(store().GetFlow(on.id)).next_run_at, At(120));
  EXPECT_FALSE(Must(store().GetFlow(off.id)).next_run_at.has_value());

  ASSERT_OK(store().SetFlowActive(on.id, false));
  std::vector<ScheduleFire> later = {{on.id, At(120), ScheduledRun(on.id, At(120)), At(180), 0}};
  EXPECT_EQ(Must(store().RecordScheduleFires(later)), std::vector<bool>{false});
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 1);
}

TEST_P(StoreContractTest, ConcurrentSchedulersFireEachTimeOnce) {
  Flow f = Must(store().CreateFlow(Write("shared", OneStep("a"), "schedule"), ""));
  ASSERT_OK(store().SetFlowActive(f.id, true));
  constexpr int kTimes = 20;
  std::vector<std::atomic<int>> fired(kTimes);
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTimes; ++i) {
        TimePoint at = At(60 * (i + 1));
        weft::Run run = ScheduledRun(f.id, at);
        bool recorded = false;
        if (t % 2 == 0) {
          auto r = store().RecordScheduleFire(f.id, at, &run, at + Millis(60'000), 0);
          ASSERT_TRUE(r.has_value()) << r.error().message;
          recorded = *r;
        } else {
          auto r = store().RecordScheduleFires({ScheduleFire{f.id, at, run, at + Millis(60'000), 0}});
          ASSERT_TRUE(r.has_value()) << r.error().message;
          recorded = r->at(0);
        }
        if (recorded) fired[i]++;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kTimes; ++i) EXPECT_EQ(fired[i].load(), 1) << "time " << i;
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), kTimes);
  EXPECT_EQ(Must(store().GetFlow(f.id)).next_run_at, At(60 * (kTimes + 1)));
}

// The scheduler's batch, as large as one second of 100,000 per-minute
// schedules makes it in part: every kind of fire in one call, no flow twice.
TEST_P(StoreContractTest, RecordScheduleFiresBatchRecordsEachFireAsAlone) {
  constexpr int kFlows = 60;
  std::vector<Flow> flows;
  for (int i = 0; i < kFlows; ++i) {
    flows.push_back(Must(store().CreateFlow(Write("batch \"" + std::to_string(i) + "\" \\", OneStep("a"), "schedule"), "")));
    if (i % 6 != 5) ASSERT_OK(store().SetFlowActive(flows.back().id, true));  // every 6th stays inactive
  }
  // Every 4th flow fired a later time already (another scheduler).
  for (int i = 0; i < kFlows; i += 4) ASSERT_TRUE(Must(store().RecordScheduleFire(flows[i].id, At(120), nullptr, At(180), 0)));
  std::vector<ScheduleFire> fires;
  for (int i = 0; i < kFlows; ++i) {
    ScheduleFire f;
    f.flow_id = flows[i].id;
    f.scheduled_for = At(60);
    f.next_run_at = i % 10 == 9 ? std::nullopt : std::optional<TimePoint>(At(120));
    f.missed = i % 3 == 0 ? 2 : 0;
    if (i % 7 != 6) {  // every 7th without a run (misfire: skip)
      weft::Run r = ScheduledRun(flows[i].id, At(60));
      r.flow_name = flows[i].name;
      r.trigger = Json{{"type", "schedule"}, {"note", "a \"quoted\" \\ value, {braces}, ünïcode"}};
      if (i % 5 == 4) {
        r.status = RunStatus::kSkipped;
        r.finished_at = At(60);
        r.error = Json{{"code", "skipped"}};
      }
      f.run = std::move(r);
    }
    fires.push_back(std::move(f));
  }
  std::vector<bool> recorded = Must(store().RecordScheduleFires(fires));
  ASSERT_EQ(recorded.size(), fires.size());
  int64_t runs_expected = 0;
  for (int i = 0; i < kFlows; ++i) {
    bool active = i % 6 != 5, fired_later = i % 4 == 0;
    EXPECT_EQ(recorded[i], active && !fired_later) << "fire " << i;
    Flow got = Must(store().GetFlow(flows[i].id));
    if (recorded[i]) {
      EXPECT_EQ(got.next_run_at, fires[i].next_run_at) << i;
      EXPECT_EQ(got.missed_fires, fires[i].missed) << i;
      if (fires[i].run) ++runs_expected;
    } else {
      EXPECT_EQ(got.missed_fires, 0) << i;
      EXPECT_EQ(got.next_run_at, fired_later ? std::optional<TimePoint>(At(180)) : std::nullopt) << i;
    }
    RunFilter filter;
    filter.flow_id = flows[i].id;
    auto runs = Must(store().ListRuns(filter)).runs;
    ASSERT_EQ(runs.size(), recorded[i] && fires[i].run ? 1u : 0u) << i;
    if (runs.empty()) continue;
    weft::Run run = Must(store().GetRun(runs[0].id, false));
    EXPECT_EQ(run.flow_name, flows[i].name);
    EXPECT_EQ(run.trigger, fires[i].run->trigger);
    EXPECT_EQ(run.scheduled_for, At(60));
    EXPECT_EQ(run.input, (Json{{"n", 1}}));
    EXPECT_EQ(run.status, fires[i].run->status);
    EXPECT_EQ(run.error, fires[i].run->error);
    EXPECT_EQ(run.finished_at, fires[i].run->finished_at);
    EXPECT_FALSE(run.output.is_object());
  }
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), runs_expected);
  // The same batch again: every time was recorded, nothing changes.
  EXPECT_EQ(Must(store().RecordScheduleFires(fires)), std::vector<bool>(kFlows, false));
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), runs_expected);
  // A batch of inactive or unknown flows only.
  std::vector<ScheduleFire> none = {{flows[5].id, At(300), std::nullopt, At(360), 0},
                                    {"gone", At(300), std::nullopt, At(360), 0}};
  EXPECT_EQ(Must(store().RecordScheduleFires(none)), (std::vector<bool>{false, false}));
}

TEST_P(StoreContractTest, ForEachActiveScheduleAndSetNextRunAts) {
  Flow a = Must(store().CreateFlow(Write("a", OneStep("a"), "schedule"), ""));
  Flow b = Must(store().CreateFlow(Write("b", OneStep("a"), "schedule"), ""));
  Flow off = Must(store().CreateFlow(Write("off", OneStep("a"), "schedule"), ""));
  Flow manual = Must(store().CreateFlow(Write("manual", OneStep("a")), ""));
  for (const Flow* f : {&a, &b, &manual}) ASSERT_OK(store().SetFlowActive(f->id, true));
  ASSERT_OK(store().SetNextRunAts({{a.id, At(60)}, {b.id, At(90)}, {"gone", At(1)}, {off.id, At(30)}}));
  EXPECT_EQ(Must(store().GetFlow(a.id)).next_run_at, At(60));
  EXPECT_EQ(Must(store().GetFlow(b.id)).next_run_at, At(90));
  EXPECT_EQ(Must(store().GetFlow(off.id)).next_run_at, At(30));
  std::map<std::string, Flow> seen;
  ASSERT_OK(store().ForEachActiveSchedule([&](Flow&& f) { seen.emplace(f.name, std::move(f)); }));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen.at("a").next_run_at, At(60));
  EXPECT_EQ(seen.at("b").document["trigger"], b.document["trigger"]);  // the document may hold only that
  ASSERT_OK(store().SetNextRunAts({{a.id, std::nullopt}}));
  EXPECT_FALSE(Must(store().GetFlow(a.id)).next_run_at.has_value());
}

// ---- access control ----------------------------------------------------

TEST_P(StoreContractTest, UsersAreUniqueByNameAndListedByName) {
  User bob{"", "bob", "$argon2id$v=19$fake-bob", Role::kEditor, At(1)};
  User ann{"", "ann", "$argon2id$v=19$fake-ann", Role::kAdmin, At(2)};
  User b = Must(store().CreateUser(bob));
  ASSERT_FALSE(b.id.empty());
  ASSERT_OK(store().CreateUser(ann));
  auto dup = store().CreateUser(User{"", "bob", "x", Role::kViewer, At(3)});
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);

  auto users = Must(store().ListUsers());
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].username, "ann");
  EXPECT_EQ(users[1].username, "bob");
  User got = Must(store().GetUserByName("bob"));
  EXPECT_EQ(got.id, b.id);
  EXPECT_EQ(got.password_hash, bob.password_hash);
  EXPECT_EQ(got.role, Role::kEditor);
  EXPECT_EQ(got.created_at, At(1));
  EXPECT_EQ(Must(store().GetUser(b.id)).username, "bob");
  EXPECT_EQ(store().GetUserByName("carl").error().code, ErrorCode::kNotFound);

  Reopen();
  EXPECT_EQ(Must(store().ListUsers()).size(), 2u);
}

TEST_P(StoreContractTest, DeletingAUserEndsItsSessions) {
  User u = Must(store().CreateUser(User{"", "dora", "h", Role::kViewer, At(0)}));
  User other = Must(store().CreateUser(User{"", "emil", "h", Role::kViewer, At(0)}));
  ASSERT_OK(store().CreateSession(Session{"s1", u.id, At(0), At(0), At(3600)}));
  ASSERT_OK(store().CreateSession(Session{"s2", other.id, At(0), At(0), At(3600)}));
  EXPECT_EQ(store().CreateSession(Session{"s3", "nobody", At(0), At(0), At(3600)}).error().code,
            ErrorCode::kNotFound);
  ASSERT_OK(store().DeleteUser(u.id));
  EXPECT_EQ(store().GetSession("s1").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(Must(store().GetSession("s2")).user_id, other.id);
  EXPECT_EQ(store().DeleteUser(u.id).error().code, ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, SessionsAreTouchedDeletedAndPruned) {
  User u = Must(store().CreateUser(User{"", "fay", "h", Role::kAdmin, At(0)}));
  ASSERT_OK(store().CreateSession(Session{"old", u.id, At(0), At(0), At(100'000)}));
  ASSERT_OK(store().CreateSession(Session{"fresh", u.id, At(0), At(0), At(100'000)}));
  ASSERT_OK(store().CreateSession(Session{"ending", u.id, At(0), At(0), At(50)}));
  ASSERT_OK(store().TouchSession("fresh", At(500)));
  ASSERT_OK(store().TouchSession("fresh", At(400)));  // never moves back
  EXPECT_EQ(Must(store().GetSession("fresh")).last_seen_at, At(500));
  EXPECT_EQ(Must(store().GetSession("fresh")).expires_at, At(100'000));
  // Idle since before 300 s, or past its end at 100 s: old and ending go.
  EXPECT_EQ(Must(store().PruneSessions(At(300), At(100))), 2);
  EXPECT_EQ(store().GetSession("old").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store().GetSession("ending").error().code, ErrorCode::kNotFound);
  ASSERT_OK(store().DeleteSession("fresh"));
  EXPECT_EQ(store().GetSession("fresh").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store().DeleteSession("fresh").error().code, ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, ApiTokensAreFoundByHashAndRevoked) {
  ApiToken a;
  a.name = "ci";
  a.role = Role::kEditor;
  a.prefix = "wft_abc";
  a.hash = std::string(64, 'a');
  a.created_at = At(1);
  a.created_by = "ann";
  a.expires_at = At(86'400);
  ApiToken b = a;
  b.name = "metrics";
  b.role = Role::kViewer;
  b.hash = std::string(64, 'b');
  b.created_at = At(2);
  b.expires_at.reset();
  ApiToken sa = Must(store().CreateApiToken(a));
  ApiToken sb = Must(store().CreateApiToken(b));
  ASSERT_FALSE(sa.id.empty());
  ApiToken dup = a;
  dup.id.clear();
  EXPECT_EQ(store().CreateApiToken(dup).error().code, ErrorCode::kConflict);  // same hash

  ApiToken got = Must(store().GetApiTokenByHash(a.hash));
  EXPECT_EQ(got.id, sa.id);
  EXPECT_EQ(got.name, "ci");
  EXPECT_EQ(got.role, Role::kEditor);
  EXPECT_EQ(got.prefix, "wft_abc");
  EXPECT_EQ(got.created_by, "ann");
  EXPECT_EQ(got.expires_at, At(86'400));
  EXPECT_FALSE(got.last_used_at.has_value());
  EXPECT_FALSE(Must(store().GetApiTokenByHash(b.hash)).expires_at.has_value());

  ASSERT_OK(store().TouchApiToken(sa.id, At(60)));
  EXPECT_EQ(Must(store().GetApiTokenByHash(a.hash)).last_used_at, At(60));

  auto list = Must(store().ListApiTokens());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, sb.id);  // newest first
  EXPECT_EQ(list[1].id, sa.id);

  ASSERT_OK(store().DeleteApiToken(sa.id));
  EXPECT_EQ(store().GetApiTokenByHash(a.hash).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store().DeleteApiToken(sa.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(Must(store().ListApiTokens()).size(), 1u);
}

TEST_P(StoreContractTest, FlowVersionsAndConnectionsRecordWhoChangedThem) {
  Flow f = Must(store().CreateFlow(Write("by-whom"), ""));
  FlowWrite w = Write("by-whom", OneStep("x"));
  w.actor = "bob";
  ASSERT_OK(store().SaveFlow(f.id, w, std::nullopt, ""));
  auto versions = Must(store().ListFlowVersions(f.id));
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].created_by, "bob");
  EXPECT_EQ(versions[1].created_by, "ann");
  EXPECT_EQ(Must(store().GetFlow(f.id)).updated_by, "bob");
  Connection c;
  c.name = "by-whom";
  c.connector = "http";
  c.updated_by = "token:ci";
  Connection sc = Must(store().CreateConnection(c));
  EXPECT_EQ(Must(store().GetConnection(sc.id)).updated_by, "token:ci");
  sc.updated_by = "ann";
  ASSERT_OK(store().UpdateConnection(sc));
  EXPECT_EQ(Must(store().GetConnection(sc.id)).updated_by, "ann");
}

}  // namespace weft

// ---- limits and retention ------------------------------------------------------

namespace weft {
namespace {

FlowWrite LimitedWrite(const std::string& name, int max_concurrency) {
  FlowWrite w = Write(name);
  w.document["settings"] = Json{{"max_concurrency", max_concurrency}};
  return w;
}

weft::Run FinishedRun(const std::string& flow_id, TimePoint created, TimePoint finished,
                      RunStatus status = RunStatus::kSucceeded) {
  weft::Run r = NewRun(flow_id, created, status);
  r.started_at = created;
  r.finished_at = finished;
  return r;
}

}  // namespace

TEST_P(StoreContractTest, ClaimRunsHoldsAFlowToItsMaxConcurrency) {
  Flow limited = Must(store().CreateFlow(LimitedWrite("limited", 1), ""));
  Flow open = Must(store().CreateFlow(Write("open"), ""));
  weft::Run a1 = Must(store().CreateRun(NewRun(limited.id, At(1))));
  weft::Run a2 = Must(store().CreateRun(NewRun(limited.id, At(2))));
  weft::Run b1 = Must(store().CreateRun(NewRun(open.id, At(3))));
  weft::Run b2 = Must(store().CreateRun(NewRun(open.id, At(4))));

  // One claim of many takes one run of the limited flow, and every open one.
  auto got = Must(store().ClaimRuns("n", 10, At(10), At(100)));
  EXPECT_EQ(Ids(got), (std::vector<std::string>{a1.id, b1.id, b2.id}));
  EXPECT_TRUE(Must(store().ClaimRuns("n", 10, At(10), At(100))).empty());

  // Running, and also while waiting unclaimed (a delay), a1 holds the place.
  weft::Run running = Must(store().GetRun(a1.id, false));
  running.status = RunStatus::kRunning;
  running.started_at = At(10);
  running.claimed_by.clear();
  running.lease_until.reset();
  running.not_before = At(50);
  ASSERT_OK(store().UpdateRun(running));
  EXPECT_TRUE(Must(store().ClaimRuns("n", 10, At(20), At(100))).empty());
  // A running run itself is always taken back (it resumes), limit or not.
  EXPECT_EQ(Ids(Must(store().ClaimRuns("n", 10, At(50), At(100)))), (std::vector<std::string>{a1.id}));

  // Raising the limit with a save lets the next one go at once.
  FlowWrite two = LimitedWrite("limited", 2);
  ASSERT_OK(store().SaveFlow(limited.id, two, std::nullopt, ""));
  EXPECT_EQ(Ids(Must(store().ClaimRuns("n", 10, At(51), At(100)))), (std::vector<std::string>{a2.id}));
}

TEST_P(StoreContractTest, ClaimRunsFreesAPlaceWhenARunFinishesOrItsClaimLapses) {
  Flow limited = Must(store().CreateFlow(LimitedWrite("limited", 1), ""));
  weft::Run a1 = Must(store().CreateRun(NewRun(limited.id, At(1))));
  weft::Run a2 = Must(store().CreateRun(NewRun(limited.id, At(2))));
  ASSERT_EQ(Ids(Must(store().ClaimRuns("dead", 1, At(10), At(30)))), (std::vector<std::string>{a1.id}));
  EXPECT_TRUE(Must(store().ClaimRuns("n", 1, At(20), At(60))).empty());
  // The claimer died before starting a1: once its lease ends, a1 is taken again (not a2).
  EXPECT_EQ(Ids(Must(store().ClaimRuns("n", 1, At(31), At(60)))), (std::vector<std::string>{a1.id}));
  weft::Run done = Must(store().GetRun(a1.id, false));
  done.status = RunStatus::kSucceeded;
  done.finished_at = At(32);
  done.claimed_by.clear();
  done.lease_until.reset();
  ASSERT_OK(store().UpdateRun(done));
  EXPECT_EQ(Ids(Must(store().ClaimRuns("n", 1, At(33), At(60)))), (std::vector<std::string>{a2.id}));
}

TEST_P(StoreContractTest, ConcurrentClaimsKeepAFlowWithinItsMaxConcurrency) {
  Flow limited = Must(store().CreateFlow(LimitedWrite("limited", 2), ""));
  for (int i = 0; i < 20; ++i) ASSERT_OK(store().CreateRun(NewRun(limited.id, At(i))));
  std::atomic<int> claimed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto got = store().ClaimRuns("node" + std::to_string(t), 1, At(100), At(1000));
        if (got) claimed += static_cast<int>(got->size());
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(claimed.load(), 2);
}

TEST_P(StoreContractTest, PruneRunsByAgeNeverTouchesUnfinishedRuns) {
  weft::Run old_ok = Must(store().CreateRun(FinishedRun("f", At(0), At(1))));
  ASSERT_OK(store().SaveStepRun(NewStep(old_ok.id, "a", 1)));
  weft::Run old_failed = Must(store().CreateRun(FinishedRun("f", At(0), At(1), RunStatus::kFailed)));
  weft::Run old_cancelled = Must(store().CreateRun(FinishedRun("f", At(0), At(2), RunStatus::kCancelled)));
  weft::Run new_ok = Must(store().CreateRun(FinishedRun("f", At(0), At(20))));
  weft::Run queued = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run running = NewRun("f", At(0), RunStatus::kRunning);
  running.started_at = At(0);
  running = Must(store().CreateRun(running));

  RunPrune p;
  p.flow_id = "f";
  p.before = At(10);
  p.failed_before = At(0);  // failed runs are kept longer
  EXPECT_EQ(Must(store().PruneRuns(p, 100)), 2);
  EXPECT_EQ(CodeOf(store().GetRun(old_ok.id, true)), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store().GetRun(old_cancelled.id, false)), ErrorCode::kNotFound);
  for (const auto& id : {old_failed.id, new_ok.id, queued.id, running.id}) ASSERT_OK(store().GetRun(id, false));
  // Its steps went with it: a step saved for it now finds no run.
  EXPECT_EQ(CodeOf(store().SaveStepRun(NewStep(old_ok.id, "b", 2))), ErrorCode::kNotFound);

  p.failed_before = At(10);
  p.before = At(100);
  EXPECT_EQ(Must(store().PruneRuns(p, 100)), 2);  // old_failed, new_ok
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 2);
  EXPECT_EQ(Must(store().PruneRuns(p, 100)), 0);
}

TEST_P(StoreContractTest, PruneRunsByCountKeepsTheNewestAndRecentFailures) {
  std::vector<weft::Run> runs;
  for (int i = 0; i < 6; ++i) {
    RunStatus st = i == 1 ? RunStatus::kFailed : RunStatus::kSucceeded;
    runs.push_back(Must(store().CreateRun(FinishedRun("g", At(i), At(100 + i), st))));
  }
  ASSERT_OK(store().CreateRun(NewRun("g", At(0))));  // queued: never counted out
  RunPrune p;
  p.flow_id = "g";
  p.keep = 2;
  p.failed_before = At(50);  // the failed run (finished at 101) stays
  EXPECT_EQ(Must(store().PruneRuns(p, 100)), 3);   // runs 0, 2, 3
  for (int i : {1, 4, 5}) ASSERT_OK(store().GetRun(runs[i].id, false));
  for (int i : {0, 2, 3}) EXPECT_EQ(CodeOf(store().GetRun(runs[i].id, false)), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, PruneRunsEveryFlowButExceptionsInBatches) {
  for (int i = 0; i < 7; ++i) ASSERT_OK(store().CreateRun(FinishedRun("x", At(i), At(i))));
  weft::Run kept = Must(store().CreateRun(FinishedRun("y", At(0), At(0))));
  RunPrune p;
  p.except_flows = {"y"};
  p.before = At(100);
  p.failed_before = At(100);
  EXPECT_EQ(Must(store().PruneRuns(p, 3)), 3);
  EXPECT_EQ(Must(store().PruneRuns(p, 3)), 3);
  EXPECT_EQ(Must(store().PruneRuns(p, 3)), 1);
  EXPECT_EQ(Must(store().PruneRuns(p, 3)), 0);
  ASSERT_OK(store().GetRun(kept.id, false));
  // Nothing asked, nothing deleted.
  EXPECT_EQ(Must(store().PruneRuns(RunPrune{}, 100)), 0);
  ASSERT_OK(store().ReclaimSpace(100));
}

}  // namespace weft
