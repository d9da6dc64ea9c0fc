// Connectors over the real binary: the Process Log's time window
// (GET /runs?since=&until=), save-time checks of connector inputs, flow.call
// (a sub-flow run that holds no worker while it waits), and the OAuth2
// authorization code flow against a fake provider on loopback, driven like a
// browser (cookies, redirects).
#include <curl/curl.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "connectors/testing/child_server.h"
#include "harness.h"

namespace weft::itest {
namespace {

Json Doc(const std::string& name, const std::string& steps_json) {
  return Json::parse(R"({"name": ")" + name + R"(", "trigger": {"type": "manual"}, "steps": )" +
                     steps_json + "}");
}

std::string UrlEncode(const std::string& s) {
  char* e = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  std::string out(e);
  curl_free(e);
  return out;
}

std::string Iso(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

size_t RunCount(const Client& api, const std::string& query) {
  auto r = api.Get("/api/v1/runs?limit=1000&" + query);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json["runs"].size();
}

// ---- GET /runs?since=&until= ------------------------------------------------

TEST_F(WeftTest, RunsListFiltersByCreationTime) {
  Json flow = CreateFlow(api(), Doc(UniqueName("timed"),
                                    R"([{"id": "a", "uses": "data.set", "with": {"value": 1}}])"));
  std::string id = flow["id"];
  for (int i = 0; i < 2; ++i) ASSERT_EQ(RunAndWait(api(), id).status, 200);
  std::this_thread::sleep_for(50ms);
  auto middle = std::chrono::system_clock::now();
  std::this_thread::sleep_for(50ms);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(RunAndWait(api(), id).status, 200);

  std::string f = "flow_id=" + id;
  EXPECT_EQ(RunCount(api(), f), 5u);
  EXPECT_EQ(RunCount(api(), f + "&since=" + UrlEncode(Iso(middle))), 3u);
  EXPECT_EQ(RunCount(api(), f + "&until=" + UrlEncode(Iso(middle))), 2u);
  EXPECT_EQ(RunCount(api(), f + "&since=" + UrlEncode(Iso(middle - std::chrono::hours(1))) +
                                "&until=" + UrlEncode(Iso(middle))),
            2u);
  // The same instant written with an offset.
  std::string utc = Iso(middle);
  std::time_t secs = std::chrono::system_clock::to_time_t(middle);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char plus2[64];
  std::snprintf(plus2, sizeof plus2, "%04d-%02d-%02dT%02d:%02d:%02d%s+02:00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, (tm.tm_hour + 2) % 24, tm.tm_min, tm.tm_sec,
                utc.substr(19, 4).c_str());
  if (tm.tm_hour < 22) {
    EXPECT_EQ(RunCount(api(), f + "&since=" + UrlEncode(plus2)), 3u) << plus2;
  }
  // Pages of a window are the window's runs only.
  auto page = api().Get("/api/v1/runs?limit=2&" + f + "&since=" + UrlEncode(Iso(middle)));
  ASSERT_EQ(page.status, 200);
  ASSERT_TRUE(page.json["next_cursor"].is_string());
  auto rest = api().Get("/api/v1/runs?limit=2&" + f + "&since=" + UrlEncode(Iso(middle)) +
                        "&cursor=" + page.json["next_cursor"].get<std::string>());
  EXPECT_EQ(rest.json["runs"].size(), 1u);

  for (const char* bad :
       {"since=yesterday", "since=2026-11-28T10:00:00", "until=2026-13-01T00:00:00Z"}) {
    auto r = api().Get(std::string("/api/v1/runs?") + bad);
    EXPECT_EQ(r.status, 400) << bad;
    std::string param = std::string(bad).substr(0, std::string(bad).find('='));
    EXPECT_EQ(ErrorPaths(r.json), std::vector<std::string>{param}) << r.body;
  }
  auto backwards = api().Get("/api/v1/runs?since=2026-11-28T10:00:00Z&until=2026-11-28T09:00:00Z");
  EXPECT_EQ(backwards.status, 400);
  EXPECT_EQ(ErrorPaths(backwards.json), std::vector<std::string>{"until"});
}

// ---- save-time checks ------------------------------------------------------------

TEST_F(WeftTest, SavingAFlowChecksEachStepAgainstTheConnectorCatalog) {
  std::string http_name = UniqueName("api");
  auto c =
      api().Post("/api/v1/connections", Json{{"name", http_name},
                                             {"connector", "http"},
                                             {"settings", {{"base_url", "http://127.0.0.1:9"}}}});
  ASSERT_EQ(c.status, 201) << c.body;

  Json doc = Json::parse(R"({"trigger": {"type": "manual"}, "steps": [
      {"id": "ok", "uses": "data.set", "with": {"value": 1}},
      {"id": "unknown", "uses": "http.fetch", "connection": "CONN"},
      {"id": "no_url", "uses": "http.request", "connection": "CONN", "with": {"method": "GET"}},
      {"id": "blank_url", "uses": "http.request", "connection": "CONN", "with": {"url": ""}},
      {"id": "wrong_type", "uses": "http.request", "connection": "CONN", "with": {"url": "/x", "follow_redirects": "yes"}},
      {"id": "wrong_connector", "uses": "postgres.query", "connection": "CONN", "with": {"sql": "SELECT 1"}},
      {"id": "expr_ok", "uses": "http.request", "connection": "CONN",
       "with": {"url": "{{ trigger.body.url }}", "follow_redirects": "{{ trigger.body.follow }}", "timeout": "{{ '5s' }}"}},
      {"id": "bad_enum", "uses": "http.request", "connection": "CONN", "with": {"url": "/x", "method": "FETCH"}},
      {"id": "not_an_input", "uses": "data.set", "with": {"value": 1, "colour": "red"}}
    ]})");
  doc["name"] = UniqueName("checked");
  for (auto& s : doc["steps"])
    if (s.contains("connection")) s["connection"] = http_name;

  auto r = api().Post("/api/v1/flows", doc);
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json["error"]["code"], "validation_failed");
  auto paths = ErrorPaths(r.json);
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths,
            (std::vector<std::string>{"steps[1].uses", "steps[2].with.url", "steps[3].with.url",
                                      "steps[4].with.follow_redirects", "steps[5].connection",
                                      "steps[7].with.method", "steps[8].with.colour"}))
      << r.body;
  for (const auto& d : r.json["error"]["details"]) {
    if (d["path"] == "steps[5].connection") {
      EXPECT_NE(GetString(d, "message").find("http connector"), std::string::npos) << d;
      EXPECT_NE(GetString(d, "message").find("postgres"), std::string::npos) << d;
    }
  }

  // Fixed, it saves; a PUT that breaks it again is refused with the same paths.
  Json good = doc;
  good["steps"] = Json::array({doc["steps"][0], doc["steps"][6]});
  auto created = api().Post("/api/v1/flows", good);
  ASSERT_EQ(created.status, 201) << created.body;
  good["steps"].push_back(doc["steps"][5]);
  auto put = api().Put("/api/v1/flows/" + GetString(created.json, "id"), good);
  EXPECT_EQ(put.status, 400);
  EXPECT_EQ(ErrorPaths(put.json), std::vector<std::string>{"steps[2].connection"}) << put.body;
}

// ---- flow.call ---------------------------------------------------------------------

class OneWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One worker: a parent that held its worker while waiting would never let the child run.
    server_ = std::make_unique<WeftServer>(std::vector<std::string>{"--workers", "1"});
    ASSERT_FALSE(HasFatalFailure()) << "the server did not start";
  }
  const Client& api() { return server_->api(); }
  std::unique_ptr<WeftServer> server_;
};

TEST_F(OneWorkerTest, FlowCallRunsAnotherFlowAndUsesItsOutput) {
  std::string child_name = UniqueName("double");
  Json child = CreateFlow(api(), Doc(child_name, R"([
      {"id": "wait", "uses": "flow.delay", "with": {"duration": "300ms"}},
      {"id": "twice", "uses": "data.set", "with": {"value": {"n": "{{ trigger.body.n * 2 }}", "via": "{{ trigger.type }}"}}}])"));
  Json parent = CreateFlow(
      api(), Doc(UniqueName("caller"),
                 R"([
      {"id": "call", "uses": "flow.call", "with": {"flow": ")" +
                     child_name + R"(", "input": {"n": "{{ trigger.body.n }}"}}},
      {"id": "again", "uses": "flow.call", "with": {"flow": ")" +
                     GetString(child, "id") + R"(", "input": {"n": "{{ steps.call.output.n }}"}}},
      {"id": "result", "uses": "data.set", "with": {"value": "{{ steps.again.output.n }}"}}])"));

  auto r = RunAndWait(api(), parent["id"], Json{{"n", 5}});
  ASSERT_EQ(r.status, 200) << r.body;
  Json run = WaitRunFinished(api(), GetString(r.json, "id"));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  EXPECT_EQ(run["output"], 20);
  Json call = StepOf(run, "call");
  EXPECT_EQ(call["output"], (Json{{"n", 10}, {"via", "flow"}}));

  // The called runs are runs of their own, in the Process Log under trigger "flow", naming the
  // caller.
  auto children = api().Get("/api/v1/runs?trigger=flow&flow_id=" + GetString(child, "id"));
  ASSERT_EQ(children.status, 200);
  ASSERT_EQ(children.json["runs"].size(), 2u) << children.body;
  for (const auto& c : children.json["runs"]) {
    EXPECT_EQ(c["status"], "succeeded");
    auto full = api().Get("/api/v1/runs/" + GetString(c, "id"));
    EXPECT_EQ(full.json["trigger"]["parent"]["run_id"], run["id"]) << full.body;
  }
  EXPECT_NE(GetString(call["logs"][0], "message").find(child_name), std::string::npos)
      << call.dump();
}

TEST_F(OneWorkerTest, FlowCallFailsWithTheCalledRunAndStopsRecursion) {
  std::string failing = UniqueName("failing");
  CreateFlow(
      api(),
      Doc(failing, R"([{"id": "boom", "uses": "flow.fail", "with": {"message": "no stock"}}])"));
  Json caller = CreateFlow(api(), Doc(UniqueName("caller"), R"([
      {"id": "call", "uses": "flow.call", "with": {"flow": ")" + failing +
                                                                R"("}},
      {"id": "after", "uses": "data.set", "with": {"value": 1}}])"));
  auto r = RunAndWait(api(), caller["id"]);
  ASSERT_EQ(r.status, 200) << r.body;
  Json run = WaitRunFinished(api(), GetString(r.json, "id"));
  EXPECT_EQ(run["status"], "failed");
  Json call = StepOf(run, "call");
  EXPECT_EQ(call["status"], "failed");
  std::string message = GetString(call["error"], "message");
  EXPECT_NE(message.find(failing), std::string::npos) << message;
  EXPECT_NE(message.find("no stock"), std::string::npos) << message;
  EXPECT_TRUE(StepOf(run, "after").is_null() || StepOf(run, "after")["status"] != "succeeded");

  Json missing = CreateFlow(
      api(), Doc(UniqueName("missing"),
                 R"([{"id": "call", "uses": "flow.call", "with": {"flow": "no-such-flow"}}])"));
  run = WaitRunFinished(api(), GetString(RunAndWait(api(), missing["id"]).json, "id"));
  EXPECT_EQ(run["status"], "failed");
  EXPECT_NE(GetString(StepOf(run, "call")["error"], "message").find("no flow \"no-such-flow\""),
            std::string::npos);

  // A flow that calls itself for ever stops at the depth limit (10 nested calls).
  std::string loop = UniqueName("loop");
  Json looping = CreateFlow(
      api(),
      Doc(loop, R"([{"id": "again", "uses": "flow.call", "with": {"flow": ")" + loop + R"("}}])"));
  r = RunAndWait(api(), looping["id"]);
  ASSERT_EQ(r.status, 200);
  run = WaitRunFinished(api(), GetString(r.json, "id"), 60s);
  EXPECT_EQ(run["status"], "failed");
  auto all = api().Get("/api/v1/runs?limit=100&flow_id=" + GetString(looping, "id"));
  EXPECT_EQ(all.json["runs"].size(), 11u);  // the first run and 10 nested calls
  bool saw_limit = false;
  for (const auto& x : all.json["runs"]) {
    EXPECT_EQ(x["status"], "failed");
    auto full = api().Get("/api/v1/runs/" + GetString(x, "id"));
    std::string m = GetString(StepOf(full.json, "again")["error"], "message");
    if (m.find("over the limit of 10") != std::string::npos) saw_limit = true;
  }
  EXPECT_TRUE(saw_limit);
}

TEST_F(OneWorkerTest, CancellingTheCallerCancelsTheCalledRun) {
  std::string slow = UniqueName("slow");
  Json child = CreateFlow(
      api(), Doc(slow, R"([{"id": "wait", "uses": "flow.delay", "with": {"duration": "1m"}}])"));
  Json caller = CreateFlow(
      api(), Doc(UniqueName("caller"),
                 R"([{"id": "call", "uses": "flow.call", "with": {"flow": ")" + slow + R"("}}])"));
  auto started = api().Post("/api/v1/flows/" + GetString(caller, "id") + "/runs");
  ASSERT_EQ(started.status, 202);
  std::string child_run;
  ASSERT_TRUE(WaitFor([&] {
    auto runs = api().Get("/api/v1/runs?flow_id=" + GetString(child, "id"));
    if (runs.json["runs"].empty() || runs.json["runs"][0]["status"] != "running") return false;
    child_run = GetString(runs.json["runs"][0], "id");
    return true;
  }));
  ASSERT_EQ(api().Post("/api/v1/runs/" + GetString(started.json, "id") + "/cancel").status, 200);
  EXPECT_EQ(WaitRunFinished(api(), GetString(started.json, "id"))["status"], "cancelled");
  EXPECT_EQ(WaitRunFinished(api(), child_run)["status"], "cancelled");
}

// ---- OAuth2 authorization code ---------------------------------------------------

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// A browser: follows redirects and keeps cookies across them.
struct Browser {
  CURL* h = curl_easy_init();
  explicit Browser(bool cookies = true) {
    if (cookies) curl_easy_setopt(h, CURLOPT_COOKIEFILE, "");
  }
  ~Browser() { curl_easy_cleanup(h); }
  struct Page {
    long status = 0;
    std::string url, body, location;
  };
  // The value of a cookie this browser holds ("" when none).
  std::string Cookie(const std::string& name) {
    curl_slist* list = nullptr;
    curl_easy_getinfo(h, CURLINFO_COOKIELIST, &list);
    std::string value;
    for (curl_slist* l = list; l; l = l->next) {
      // Netscape format: domain, flag, path, secure, expiry, name, value (tab-separated).
      std::vector<std::string> f;
      std::stringstream ss(l->data);
      std::string part;
      while (std::getline(ss, part, '\t')) f.push_back(part);
      if (f.size() >= 7 && f[5] == name) value = f[6];
    }
    curl_slist_free_all(list);
    return value;
  }
  Page Get(const std::string& url, bool follow = true, const std::string& cookie = "") {
    Page p;
    curl_easy_setopt(h, CURLOPT_COOKIE, cookie.empty() ? nullptr : cookie.c_str());
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &p.body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    if (curl_easy_perform(h) != CURLE_OK) return p;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &p.status);
    char* u = nullptr;
    curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &u);
    if (u) p.url = u;
    char* loc = nullptr;
    curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
    if (loc) p.location = loc;
    return p;
  }
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The provider below issues tokens for 8 s; weft refreshes a token once its
// life is over, so a sleep of this length is what lets one expire.
constexpr auto kPastTokenLife = 8500ms;

TEST_F(WeftTest, OAuthAuthorizationCodeStoresTokensAndRefreshesThem) {
  weft::testing::ChildServer provider({weft::testing::SystemPython(),
                                       std::string(WEFT_TEST_SERVERS_DIR) + "/oauth_server.py", "8",
                                       "rotate"});
  ASSERT_GT(provider.port(), 0) << provider.error();
  std::string idp = "http://127.0.0.1:" + std::to_string(provider.port());
  auto provider_log = [&] {
    Client c(idp);
    return c.Get("/__log").json;
  };

  std::string name = UniqueName("crm");
  auto created = api().Post("/api/v1/connections", Json{{"name", name},
                                                        {"connector", "http"},
                                                        {"settings", {{"base_url", idp}}},
                                                        {"auth",
                                                         {{"type", "oauth2_code"},
                                                          {"authorize_url", idp + "/authorize"},
                                                          {"token_url", idp + "/token"},
                                                          {"client_id", "weft-client"},
                                                          {"client_secret", "weft-secret"},
                                                          {"scope", "contacts.read offline"}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  std::string id = created.json["id"];

  // Before authorizing, a step says so.
  Json flow = CreateFlow(
      api(), Doc(UniqueName("me"), R"([{"id": "me", "uses": "http.request", "connection": ")" +
                                       name + R"(", "with": {"url": "/api/me"}}])"));
  Json run = WaitRunFinished(api(), GetString(RunAndWait(api(), flow["id"]).json, "id"));
  EXPECT_EQ(run["status"], "failed");
  EXPECT_NE(GetString(StepOf(run, "me")["error"], "message").find("not authorized yet"),
            std::string::npos)
      << run.dump();

  // The browser: weft -> provider's authorize page -> back to weft's callback.
  Browser browser;
  auto page = browser.Get(api().base() + "/api/v1/connections/" + id + "/oauth/start");
  EXPECT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.url.rfind(api().base() + "/api/v1/oauth/callback?", 0), 0u) << page.url;
  EXPECT_NE(page.body.find("Connection authorized"), std::string::npos) << page.body;
  Json plog = provider_log();
  ASSERT_EQ(plog["authorize"].size(), 1u);
  EXPECT_EQ(plog["authorize"][0]["scope"], "contacts.read offline");
  EXPECT_EQ(plog["authorize"][0]["redirect_uri"], api().base() + "/api/v1/oauth/callback");
  ASSERT_EQ(plog["grants"].size(), 1u);
  EXPECT_EQ(plog["grants"][0]["grant_type"], "authorization_code");

  // Tokens are stored, masked in the API and encrypted at rest.
  auto stored = api().Get("/api/v1/connections/" + id);
  EXPECT_EQ(stored.json["auth"]["access_token"], "********") << stored.body;
  EXPECT_EQ(stored.json["auth"]["refresh_token"], "********");
  EXPECT_TRUE(stored.json["auth"]["expires_at"].is_string());

  // A step carries the access token the code bought...
  run = WaitRunFinished(api(), GetString(RunAndWait(api(), flow["id"]).json, "id"));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  EXPECT_EQ(StepOf(run, "me")["output"]["body"]["user"], "ada");
  plog = provider_log();
  ASSERT_EQ(plog["api_tokens"].size(), 1u) << plog.dump();
  std::string first = plog["api_tokens"][0];
  EXPECT_EQ(plog["grants"].size(), 1u) << "no refresh while the token is fresh";
  std::string db =
      ReadAll(server().data_dir() + "/weft.db") + ReadAll(server().data_dir() + "/weft.db-wal");
  EXPECT_EQ(db.find(first), std::string::npos) << "the access token is stored in clear";
  EXPECT_EQ(db.find("oauth-refresh-token"), std::string::npos)
      << "the refresh token is stored in clear";
  EXPECT_EQ(server().Logs().find(first), std::string::npos) << "the access token is in the log";

  // ...and once it expires, the refresh token is exchanged for a new one.
  // Tokens live 8 s (long enough that a loaded machine runs the step above
  // while the first is fresh); sleeping past that life is what expires them.
  std::this_thread::sleep_for(kPastTokenLife);
  run = WaitRunFinished(api(), GetString(RunAndWait(api(), flow["id"]).json, "id"));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  plog = provider_log();
  ASSERT_EQ(plog["api_tokens"].size(), 2u) << plog.dump();
  EXPECT_NE(plog["api_tokens"][1], first) << "the expired token was sent again";
  ASSERT_EQ(plog["grants"].size(), 2u) << plog.dump();
  EXPECT_EQ(plog["grants"][1]["grant_type"], "refresh_token");
  EXPECT_TRUE(plog["api_refused"].empty()) << plog.dump();

  // The provider rotated the refresh token: the next refresh uses the new one.
  std::this_thread::sleep_for(kPastTokenLife);
  run = WaitRunFinished(api(), GetString(RunAndWait(api(), flow["id"]).json, "id"));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  plog = provider_log();
  ASSERT_EQ(plog["grants"].size(), 3u) << plog.dump();
  EXPECT_NE(plog["grants"][2]["refresh_token"], plog["grants"][1]["refresh_token"]) << plog.dump();

  // The rotated tokens were stored (sealed) in the connection: after a
  // restart, with the access token expired again, weft refreshes with the
  // newest refresh token (the provider refuses the retired ones).
  server().Restart();
  std::this_thread::sleep_for(kPastTokenLife);
  run = WaitRunFinished(api(), GetString(RunAndWait(api(), flow["id"]).json, "id"));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  plog = provider_log();
  ASSERT_EQ(plog["grants"].size(), 4u) << plog.dump();
  EXPECT_EQ(plog["grants"][3]["grant_type"], "refresh_token");
  for (int i = 1; i < 3; ++i)
    EXPECT_NE(plog["grants"][3]["refresh_token"], plog["grants"][i]["refresh_token"])
        << "a retired token was sent";
  EXPECT_TRUE(plog["api_refused"].empty()) << plog.dump();
  db = ReadAll(server().data_dir() + "/weft.db") + ReadAll(server().data_dir() + "/weft.db-wal");
  EXPECT_EQ(db.find("oauth-refresh-token"), std::string::npos)
      << "a rotated refresh token is stored in clear";
}

TEST_F(WeftTest, OAuthCallbackRefusesForeignReplayedAndDeniedStates) {
  weft::testing::ChildServer provider({weft::testing::SystemPython(),
                                       std::string(WEFT_TEST_SERVERS_DIR) + "/oauth_server.py",
                                       "60"});
  ASSERT_GT(provider.port(), 0) << provider.error();
  std::string idp = "http://127.0.0.1:" + std::to_string(provider.port());
  auto created = api().Post("/api/v1/connections", Json{{"name", UniqueName("crm")},
                                                        {"connector", "http"},
                                                        {"auth",
                                                         {{"type", "oauth2_code"},
                                                          {"authorize_url", idp + "/authorize"},
                                                          {"token_url", idp + "/token"},
                                                          {"client_id", "weft-client"},
                                                          {"client_secret", "weft-secret"}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  std::string id = created.json["id"];

  // The authorize URL, for API clients.
  auto json = api().Get("/api/v1/connections/" + id + "/oauth/start?format=json");
  ASSERT_EQ(json.status, 200) << json.body;
  std::string authorize = json.json["authorize_url"];
  EXPECT_EQ(
      authorize.rfind(idp + "/authorize?response_type=code&client_id=weft-client&redirect_uri=", 0),
      0u)
      << authorize;

  // A browser without the cookie (another one) cannot finish it.
  Browser other(false);
  auto back = other.Get(authorize, false);
  ASSERT_EQ(back.status, 302);
  auto refused = other.Get(back.location);
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("another browser"), std::string::npos) << refused.body;

  // The one that started finishes once; the same state again is refused.
  Browser browser;
  auto start = browser.Get(api().base() + "/api/v1/connections/" + id + "/oauth/start", false);
  ASSERT_EQ(start.status, 302);
  std::string nonce = browser.Cookie("weft_oauth");
  EXPECT_FALSE(nonce.empty());
  auto callback = browser.Get(start.location, false);
  ASSERT_EQ(callback.status, 302);
  EXPECT_EQ(browser.Get(callback.location).status, 200);
  EXPECT_TRUE(browser.Cookie("weft_oauth").empty()) << "the callback clears its cookie";
  auto replay = browser.Get(callback.location);
  EXPECT_EQ(replay.status, 400);
  EXPECT_NE(replay.body.find("cannot be completed"), std::string::npos) << replay.body;
  // Even with the cookie put back, a state works once.
  Browser replayer(false);
  replay = replayer.Get(callback.location, true, "weft_oauth=" + nonce);
  EXPECT_EQ(replay.status, 400);
  EXPECT_NE(replay.body.find("completed already"), std::string::npos) << replay.body;

  // A forged state, and a provider that says no.
  EXPECT_EQ(browser.Get(api().base() + "/api/v1/oauth/callback?code=x&state=AAAA").status, 400);
  start = browser.Get(api().base() + "/api/v1/connections/" + id + "/oauth/start", false);
  auto denied = browser.Get(start.location + "&deny=1");
  EXPECT_EQ(denied.status, 400);
  EXPECT_NE(denied.body.find("access_denied"), std::string::npos) << denied.body;

  // Only oauth2_code connections can be authorized this way.
  auto plain =
      api().Post("/api/v1/connections", Json{{"name", UniqueName("plain")}, {"connector", "http"}});
  ASSERT_EQ(plain.status, 201);
  auto no = api().Get("/api/v1/connections/" + GetString(plain.json, "id") + "/oauth/start");
  EXPECT_EQ(no.status, 400);
  EXPECT_EQ(ErrorPaths(no.json), std::vector<std::string>{"auth.type"});
  EXPECT_EQ(api().Get("/api/v1/connections/nosuch/oauth/start").status, 404);
}

}  // namespace
}  // namespace weft::itest
