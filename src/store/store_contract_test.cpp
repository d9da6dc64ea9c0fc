#include "store/store_contract_test.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "store/store_contract_util.h"

namespace weft {

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

namespace contract {

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

}  // namespace contract
}  // namespace weft
