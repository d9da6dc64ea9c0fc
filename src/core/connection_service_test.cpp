// ConnectionService and SecretBox: validation paths, secrets sealed at rest
// and kept on a masked PUT, in-use connections protected, tests run.
#include "core/connection_service.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "common/ids.h"
#include "core/api_json.h"

namespace weft {
namespace {

// Keeps connections and flows in memory; everything else is unused here.
class MemoryStore : public Store {
 public:
  std::vector<Connection> connections;
  std::vector<Flow> flows;

  Result<Connection> CreateConnection(const Connection& c) override {
    for (const auto& e : connections)
      if (e.name == c.name)
        return Fail(ErrorCode::kConflict, "connection name \"" + c.name + "\" is taken");
    Connection n = c;
    n.id = "c" + std::to_string(connections.size() + 1);
    connections.push_back(n);
    return n;
  }
  Result<Connection> GetConnection(const std::string& id) override {
    for (const auto& e : connections)
      if (e.id == id) return e;
    return Fail(ErrorCode::kNotFound, "no connection " + id);
  }
  Result<Connection> GetConnectionByName(const std::string& name) override {
    for (const auto& e : connections)
      if (e.name == name) return e;
    return Fail(ErrorCode::kNotFound, "no connection " + name);
  }
  Result<std::vector<Connection>> ListConnections() override { return connections; }
  Result<Connection> UpdateConnection(const Connection& c) override {
    for (auto& e : connections) {
      if (e.name == c.name && e.id != c.id) return Fail(ErrorCode::kConflict, "taken");
    }
    for (auto& e : connections)
      if (e.id == c.id) return e = c;
    return Fail(ErrorCode::kNotFound, "no connection");
  }
  Result<void> DeleteConnection(const std::string& id) override {
    std::erase_if(connections, [&](const Connection& c) { return c.id == id; });
    return Ok();
  }
  Result<std::vector<Flow>> ListFlows() override { return flows; }

  // ---- unused ----
  Unexpected No() { return Fail(ErrorCode::kInternal, "unused in this test"); }
  Result<Flow> CreateFlow(const FlowWrite&, const std::string&) override { return No(); }
  Result<Flow> GetFlow(const std::string&) override { return No(); }
  Result<TimePoint> TakeRateSlot(const std::string&, const RateLimit*, TimePoint) override {
    return No();
  }
  Result<void> PauseConnection(const std::string&, TimePoint) override { return No(); }
  Result<Flow> GetFlowByName(const std::string&) override { return No(); }
  Result<Flow> GetFlowByWebhookToken(const std::string&) override { return No(); }
  Result<Flow> SaveFlow(const std::string&, const FlowWrite&, std::optional<int>,
                        const std::string&) override {
    return No();
  }
  Result<void> DeleteFlow(const std::string&) override { return No(); }
  Result<Flow> SetFlowActive(const std::string&, bool) override { return No(); }
  Result<Flow> SetWebhookToken(const std::string&, const std::string&) override { return No(); }
  Result<FlowVersion> GetFlowVersion(const std::string&, int) override { return No(); }
  Result<std::vector<FlowVersion>> ListFlowVersions(const std::string&) override { return No(); }
  Result<std::vector<std::pair<std::string, RunSummary>>> LastRuns() override { return No(); }
  Result<void> SetNextRunAt(const std::string&, std::optional<TimePoint>) override { return No(); }
  Result<bool> RecordScheduleFire(const std::string&, TimePoint, const Run*,
                                  std::optional<TimePoint>, int64_t) override {
    return No();
  }
  Result<Run> CreateRun(const Run&) override { return No(); }
  Result<std::vector<Run>> ClaimRuns(const std::string&, int, TimePoint, TimePoint) override {
    return No();
  }
  Result<void> RenewLeases(const std::string&, const std::vector<std::string>&,
                           TimePoint) override {
    return No();
  }
  Result<Run> GetRun(const std::string&, bool) override { return No(); }
  Result<RunPage> ListRuns(const RunFilter&) override { return No(); }
  Result<void> UpdateRun(const Run&) override { return No(); }
  Result<void> SaveStepRun(const StepRun&) override { return No(); }
  Result<bool> RequestCancel(const std::string&) override { return No(); }
  Result<int64_t> CountRuns(std::optional<RunStatus>) override { return No(); }
  Result<Delivery> CreateDelivery(const Delivery&) override { return No(); }
  Result<Delivery> GetDelivery(const std::string&) override { return No(); }
  Result<std::vector<Delivery>> ListDeliveries(const std::string&, int) override { return No(); }
};

FieldSpec F(std::string name, bool required, bool secret = false, std::string type = "string") {
  FieldSpec f;
  f.name = std::move(name);
  f.required = required;
  f.secret = secret;
  f.type = std::move(type);
  return f;
}

class ConnectionServiceTest : public ::testing::Test {
 protected:
  ConnectionServiceTest()
      : box_(*SecretBox::FromHex(std::string(64, 'a'))), service_(store_, catalog_, box_, clock_) {
    ConnectorSpec http;
    http.name = "api";
    http.needs_connection = true;
    http.fields = {F("base_url", true), F("api_secret", false, true),
                   F("timeout", false, false, "duration")};
    http.auth_types = {{"none", "None", {}},
                       {"bearer", "Bearer", {F("token", true, true)}},
                       {"basic", "Basic", {F("username", true), F("password", true, true)}}};
    catalog_.Register(http, {}, [this](const Connection& c, Clock&) {
      seen_token_ = GetString(c.auth, "token");
      return ConnectionTestResult{GetString(c.auth, "token") == "good",
                                  "checked " + GetString(c.settings, "base_url")};
    });
    ConnectorSpec util;
    util.name = "data";
    catalog_.Register(util, {});
  }

  Json Body() {
    return {{"name", "crm"},
            {"connector", "api"},
            {"settings", {{"base_url", "https://crm.example.com"}, {"api_secret", "s-1"}}},
            {"auth", {{"type", "bearer"}, {"token", "good"}}}};
  }

  std::vector<std::string> Paths(const Error& e) {
    std::vector<std::string> out;
    for (const auto& d : e.details) out.push_back(d.path);
    return out;
  }

  MemoryStore store_;
  ActionCatalog catalog_;
  SecretBox box_;
  FakeClock clock_{FromUnixMs(1'800'000'000'000)};
  ConnectionService service_;
  std::string seen_token_;
};

TEST_F(ConnectionServiceTest, SecretsAreSealedAtRestMaskedInJsonAndOpenedForUse) {
  auto c = service_.Create(Body(), "ada");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->active);
  const Connection& stored = store_.connections.at(0);
  EXPECT_TRUE(SecretBox::IsSealed(stored.auth["token"]));
  EXPECT_TRUE(SecretBox::IsSealed(stored.settings["api_secret"]));
  EXPECT_EQ(stored.settings["base_url"], "https://crm.example.com");  // not a secret
  EXPECT_EQ(stored.auth.dump().find("good"), std::string::npos);

  Json shown = ConnectionToJson(*c, catalog_);
  EXPECT_EQ(shown["auth"]["token"], kSecretMask);
  EXPECT_EQ(shown["settings"]["api_secret"], kSecretMask);

  auto opened = service_.Resolve("crm");
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->auth["token"], "good");
  EXPECT_EQ(opened->settings["api_secret"], "s-1");

  // Another key cannot open them.
  auto other = SecretBox::FromHex(std::string(64, 'b'));
  Connection copy = stored;
  EXPECT_FALSE(OpenConnectionSecrets(copy, *catalog_.FindConnector("api"), *other));
}

TEST_F(ConnectionServiceTest, APutWithTheMaskKeepsTheStoredSecret) {
  auto c = service_.Create(Body(), "ada");
  ASSERT_TRUE(c);
  Json put = Body();
  put["settings"]["base_url"] = "https://crm2.example.com";
  put["settings"]["api_secret"] = kSecretMask;
  put["auth"]["token"] = kSecretMask;
  auto u = service_.Update(c->id, put, "ada");
  ASSERT_TRUE(u) << u.error().message;
  auto opened = service_.Resolve("crm");
  EXPECT_EQ(opened->auth["token"], "good");
  EXPECT_EQ(opened->settings["api_secret"], "s-1");
  EXPECT_EQ(opened->settings["base_url"], "https://crm2.example.com");

  put["auth"]["token"] = "new-token";
  ASSERT_TRUE(service_.Update(c->id, put, "ada"));
  EXPECT_EQ(service_.Resolve("crm")->auth["token"], "new-token");

  // The mask cannot stand in for a secret of another auth type.
  Json basic = Body();
  basic["auth"] = {{"type", "basic"}, {"username", "u"}, {"password", kSecretMask}};
  auto bad = service_.Update(c->id, basic, "ada");
  ASSERT_FALSE(bad);
  EXPECT_EQ(Paths(bad.error()), std::vector<std::string>{"auth.password"});
}

TEST_F(ConnectionServiceTest, ValidationNamesTheFields) {
  auto e1 = service_.Create(Json{{"name", "x"}, {"connector", "nope"}}, "");
  ASSERT_FALSE(e1);
  EXPECT_EQ(e1.error().code, ErrorCode::kValidation);
  EXPECT_EQ(Paths(e1.error()), std::vector<std::string>{"connector"});

  auto e2 = service_.Create(Json{{"connector", "api"},
                                 {"settings", {{"timeout", "soon"}}},
                                 {"auth", {{"type", "bearer"}}}},
                            "");
  ASSERT_FALSE(e2);
  EXPECT_EQ(Paths(e2.error()), (std::vector<std::string>{"name", "settings.base_url",
                                                         "settings.timeout", "auth.token"}));

  auto e3 = service_.Create(Json{{"name", "x"},
                                 {"connector", "api"},
                                 {"settings", {{"base_url", "u"}}},
                                 {"auth", {{"type", "magic"}}}},
                            "");
  ASSERT_FALSE(e3);
  EXPECT_EQ(Paths(e3.error()), std::vector<std::string>{"auth.type"});

  auto e4 = service_.Create(Json{{"name", "x"}, {"connector", "data"}},
                            "");  // a utility takes no connection
  ASSERT_FALSE(e4);

  // No auth at all means "none" when the connector offers it.
  auto ok = service_.Create(
      Json{{"name", "plain"}, {"connector", "api"}, {"settings", {{"base_url", "u"}}}}, "");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->auth["type"], "none");

  ASSERT_TRUE(service_.Create(Body(), ""));
  auto dup = service_.Create(Body(), "");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
}

TEST_F(ConnectionServiceTest, ARateLimitInTheSettingsIsCheckedFieldByField) {
  Json body = Body();
  body["settings"]["rate_limit"] = {{"requests", 0}, {"per", "soon"}, {"burst", 2.5}, {"x", 1}};
  auto bad = service_.Create(body, "");
  ASSERT_FALSE(bad);
  EXPECT_EQ(Paths(bad.error()),
            (std::vector<std::string>{"settings.rate_limit.x", "settings.rate_limit.requests",
                                      "settings.rate_limit.burst", "settings.rate_limit.per"}));
  body["settings"]["rate_limit"] = {{"per", "1s"}};
  bad = service_.Create(body, "");
  ASSERT_FALSE(bad);
  EXPECT_EQ(Paths(bad.error()), std::vector<std::string>{"settings.rate_limit.requests"});
  body["settings"]["rate_limit"] = "fast";
  bad = service_.Create(body, "");
  ASSERT_FALSE(bad);
  EXPECT_EQ(Paths(bad.error()), std::vector<std::string>{"settings.rate_limit"});

  body["settings"]["rate_limit"] = {{"requests", 50}, {"per", "10s"}, {"burst", 10}};
  auto ok = service_.Create(body, "");
  ASSERT_TRUE(ok) << ok.error().message;
  auto limit = EffectiveRateLimit(ok->settings, Json{{"requests", 1}});
  ASSERT_TRUE(limit);
  EXPECT_EQ(limit->requests, 50);
  EXPECT_EQ(limit->per, Millis(10'000));
  EXPECT_EQ(limit->burst, 10);
  EXPECT_EQ(limit->Interval(), Millis(200));
  // Without a setting of its own, the connector's default applies.
  auto fallback = EffectiveRateLimit(Json::object(), Json{{"requests", 5}, {"per", "1s"}});
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->Interval(), Millis(200));
  EXPECT_EQ(fallback->burst, 1);
  EXPECT_FALSE(EffectiveRateLimit(Json::object(), nullptr));
  // 3 per second is a slot every 334 ms, not 333: never faster than the limit.
  EXPECT_EQ(EffectiveRateLimit(Json::object(), Json{{"requests", 3}})->Interval(), Millis(334));
}

TEST_F(ConnectionServiceTest, AConnectionInUseCannotBeDeletedOrRenamed) {
  auto c = service_.Create(Body(), "");
  ASSERT_TRUE(c);
  Flow f;
  f.id = "f1";
  f.name = "Sync CRM";
  f.document = Json::parse(R"({"name":"Sync CRM","trigger":{"type":"manual"},
    "steps":[{"id":"check","uses":"flow.if","with":{"condition":"{{ true }}"},
              "then":[{"id":"get","uses":"api.request","connection":"crm","with":{}}]}]})");
  store_.flows.push_back(f);

  auto del = service_.Delete(c->id);
  ASSERT_FALSE(del);
  EXPECT_EQ(del.error().code, ErrorCode::kConflict);
  EXPECT_NE(del.error().message.find("Sync CRM"), std::string::npos) << del.error().message;

  Json renamed = Body();
  renamed["name"] = "crm-new";
  auto ren = service_.Update(c->id, renamed, "");
  ASSERT_FALSE(ren);
  EXPECT_EQ(ren.error().code, ErrorCode::kConflict);

  Json same = Body();
  same["active"] = false;  // other changes are fine
  auto upd = service_.Update(c->id, same, "");
  ASSERT_TRUE(upd);
  EXPECT_FALSE(upd->active);

  store_.flows.clear();
  EXPECT_TRUE(service_.Delete(c->id));
  EXPECT_TRUE(store_.connections.empty());
}

TEST_F(ConnectionServiceTest, TestRunsTheConnectorsCheckOnOpenedSecrets) {
  auto c = service_.Create(Body(), "");
  ASSERT_TRUE(c);
  auto r = service_.Test(c->id);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->message, "checked https://crm.example.com");
  EXPECT_EQ(seen_token_, "good");
  EXPECT_GE(r->duration_ms, 0);
  EXPECT_FALSE(service_.Test("nope"));
}

TEST(SecretBoxTest, KeyFileIsCreatedWithMode0600AndReused) {
  std::string dir =
      (std::filesystem::temp_directory_path() / ("weft-key-test-" + RandomToken(40))).string();
  std::filesystem::create_directories(dir);
  unsetenv("WEFT_SECRET_KEY");
  auto a = SecretBox::Open(dir);
  ASSERT_TRUE(a) << a.error().message;
  struct stat st {};
  ASSERT_EQ(stat((dir + "/secret.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::string sealed = a->Encrypt(Json("p@ss"));
  EXPECT_TRUE(sealed.starts_with("enc:v1:"));
  EXPECT_NE(a->Encrypt(Json("p@ss")), sealed);  // a fresh nonce each time
  auto b = SecretBox::Open(dir);                // the second start reads the same key
  ASSERT_TRUE(b);
  EXPECT_EQ(*b->Decrypt(sealed), Json("p@ss"));

  setenv("WEFT_SECRET_KEY", std::string(64, 'c').c_str(), 1);
  auto env = SecretBox::Open(dir);
  ASSERT_TRUE(env);
  EXPECT_FALSE(env->Decrypt(sealed));  // the env key wins over the file
  setenv("WEFT_SECRET_KEY", "short", 1);
  EXPECT_FALSE(SecretBox::Open(dir));
  unsetenv("WEFT_SECRET_KEY");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace weft
