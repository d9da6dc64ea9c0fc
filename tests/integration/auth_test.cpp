// Access control against the real binary over real HTTP: open mode
// (no user: loopback only, no sign-in), then users, sessions and tokens. The
// route checks walk every operation of the server's own openapi.json, which
// server_test holds equal to the route table.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "harness.h"

namespace weft::itest {
namespace {

namespace fs = std::filesystem;

const Json kFlow = Json{
    {"name", "auth-flow"},
    {"steps", Json::array({Json{{"id", "a"}, {"uses", "data.set"}, {"with", {{"value", 1}}}}})}};

bool SharedDatabase() {
  const char* db = std::getenv("WEFT_TEST_DB");
  return db && *db;
}

#define SKIP_ON_SHARED_DATABASE()                                             \
  if (SharedDatabase())                                                       \
  GTEST_SKIP() << "adds users, which would put every other test sharing the " \
                  "database behind sign-in"

std::vector<std::string> Bearer(const std::string& token) {
  return {"Authorization: Bearer " + token};
}

// One documented operation: method, a concrete path, and its documented access.
struct Operation {
  std::string method;  // upper-case
  std::string path;    // {params} filled with "x"
  std::string templ;
  std::string access;
};

std::vector<Operation> DocumentedOperations(const Client& api) {
  auto doc = api.Get("/api/v1/openapi.json");
  EXPECT_EQ(doc.status, 200) << doc.body;
  std::vector<Operation> out;
  for (auto& [path, item] : doc.json["paths"].items()) {
    for (auto& [method, op] : item.items()) {
      Operation o;
      o.method = method;
      for (char& c : o.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      o.templ = path;
      o.path = std::regex_replace(path, std::regex(R"(\{[^}]+\})"), "x");
      o.access = GetString(op, "x-weft-access");
      out.push_back(o);
    }
  }
  EXPECT_GT(out.size(), 40u);
  return out;
}

HttpResult Call(const Client& api, const Operation& op, std::vector<std::string> headers) {
  std::string body;
  if (op.method != "GET" && op.method != "DELETE") {
    body = "{}";
    headers.push_back("Content-Type: application/json");
  }
  return api.Request(op.method, op.path, body, headers, 10s);
}

// What the issue says is reachable without credentials once a user exists.
bool OpenWithUsers(const Operation& op) {
  return op.templ == "/healthz" || op.templ == "/readyz" || op.templ == "/api/v1/openapi.json" ||
         op.templ == "/api/v1/auth/login" || op.templ.starts_with("/hooks/") ||
         op.templ ==
             "/api/v1/oauth/callback";  // the provider's redirect: checked by its sealed state
}

struct Login {
  long status = 0;
  std::string cookie;  // "weft_session=..."
  std::string set_cookie;
  std::string csrf;
  Json body;
};

Login SignIn(const Client& api, const std::string& user, const std::string& password) {
  Login out;
  auto r = api.Post("/api/v1/auth/login", Json{{"username", user}, {"password", password}});
  out.status = r.status;
  out.body = r.json;
  out.set_cookie = r.Header("set-cookie");
  out.cookie = out.set_cookie.substr(0, out.set_cookie.find(';'));
  out.csrf = GetString(r.json, "csrf_token");
  return out;
}

std::string NewToken(const Client& api, const std::vector<std::string>& admin,
                     const std::string& name, const std::string& role, std::string* id = nullptr) {
  auto r = api.Request("POST", "/api/v1/tokens",
                       Json{{"name", name}, {"role", role}, {"expires_in", "1d"}}.dump(), [&] {
                         auto h = admin;
                         h.push_back("Content-Type: application/json");
                         return h;
                       }());
  EXPECT_EQ(r.status, 201) << r.body;
  if (id) *id = GetString(r.json, "id");
  return GetString(r.json, "token");
}

// Runs `weft ARGS` with `input` on its stdin; output is stdout and stderr.
CommandResult RunWeftWithInput(const std::string& args, const std::string& input) {
  CommandResult out;
  std::string out_path = (fs::temp_directory_path() / ("weft-auth-" + UniqueName("out"))).string();
  std::string cmd = WeftBinary() + " " + args + " > " + out_path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "w");
  if (!p) return out;
  fwrite(input.data(), 1, input.size(), p);
  int status = pclose(p);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(out_path);
  std::stringstream ss;
  ss << in.rdbuf();
  out.output = ss.str();
  fs::remove(out_path);
  return out;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- no user ---------------------------------------------------------------------

TEST(AuthOpenModeTest, LoopbackNeedsNoSignInButForeignHostsAndOriginsAreRefused) {
  SKIP_ON_SHARED_DATABASE();
  WeftServer server;
  const Client& api = server.api();
  auto me = api.Get("/api/v1/me");
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json["open"], true);
  EXPECT_EQ(me.json["role"], "admin");
  EXPECT_EQ(api.Get("/api/v1/flows").status, 200);
  auto created = api.Post("/api/v1/flows", kFlow);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_FALSE(created.json.contains("updated_by"));

  // DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends its own Host.
  auto rebound = api.Request("GET", "/api/v1/flows", "", {"Host: evil.example:8080"});
  EXPECT_EQ(rebound.status, 403) << rebound.body;
  EXPECT_EQ(rebound.json["error"]["code"], "forbidden");
  EXPECT_EQ(api.Request("GET", "/", "", {"Host: evil.example"}).status, 403);
  std::string port = server.base_url().substr(server.base_url().rfind(':') + 1);
  EXPECT_EQ(api.Request("GET", "/api/v1/flows", "", {"Host: localhost:" + port}).status, 200);

  // A cross-site form or fetch carries the foreign Origin: refused, writes and reads.
  auto cross = api.Request("POST", "/api/v1/flows",
                           Json{{"name", "x-site"}, {"steps", Json::array()}}.dump(),
                           {"Content-Type: application/json", "Origin: https://evil.example"});
  EXPECT_EQ(cross.status, 403) << cross.body;
  EXPECT_EQ(api.Request("GET", "/api/v1/flows", "", {"Origin: null"}).status, 403);
  EXPECT_EQ(api.Get("/api/v1/flows").json["flows"].size(), 1u);  // nothing was created
  // The UI's own origin is fine.
  auto same = api.Request("POST", "/api/v1/flows",
                          Json{{"name", "same-site"}, {"steps", Json::array()}}.dump(),
                          {"Content-Type: application/json", "Origin: " + server.base_url()});
  EXPECT_EQ(same.status, 201) << same.body;
  // Webhooks keep their own auth: no Host or Origin rule (a tunnel may front them).
  EXPECT_NE(api.Request("POST", "/hooks/unknown", "{}", {"Host: hooks.example"}).status, 403);
}

TEST(AuthOpenModeTest, ServeRefusesANetworkAddressUntilAUserExists) {
  SKIP_ON_SHARED_DATABASE();
  std::string tmpl = (fs::temp_directory_path() / "weft-auth-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  std::string data = tmpl + "/data";
  auto r = RunWeft({"serve", "--listen", "0.0.0.0:0", "--data", data}, 20s);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("weft user add"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("listening on"), std::string::npos) << r.output;

  auto added = RunWeftWithInput("user add ann --role admin --password-stdin --data " + data,
                                "correct horse\n");
  ASSERT_EQ(added.exit_code, 0) << added.output;
  auto list = RunWeft({"user", "list", "--data", data});
  EXPECT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("ann"), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("admin"), std::string::npos) << list.output;
  auto removed = RunWeft({"user", "remove", "ann", "--data", data});
  EXPECT_EQ(removed.exit_code, 0) << removed.output;
  EXPECT_EQ(RunWeft({"user", "list", "--data", data, "--json"}).output.find("ann"),
            std::string::npos);
  std::error_code ec;
  fs::remove_all(tmpl, ec);
}

// ---- users -----------------------------------------------------------------------

// A server with users: admin ann (by the CLI, on the data dir before the
// server starts), editor ed and viewer vic (by the API), and a token of each role.
class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (SharedDatabase())
      GTEST_SKIP() << "adds users, which would put every other test sharing the database "
                      "behind sign-in";
    server_ = std::make_unique<WeftServer>();
    ASSERT_EQ(server_->Stop(), 0);
    auto added =
        RunWeftWithInput("user add ann --role admin --password-stdin --data " + server_->data_dir(),
                         kAnnPassword + "\n");
    ASSERT_EQ(added.exit_code, 0) << added.output;
    server_->Start();
    ASSERT_FALSE(HasFatalFailure());
    Login ann = SignIn(api(), "ann", kAnnPassword);
    ASSERT_EQ(ann.status, 200) << ann.body.dump();
    admin_ = {"Cookie: " + ann.cookie, "X-CSRF-Token: " + ann.csrf};
    using Person = std::tuple<std::string, std::string, std::string>;
    for (const auto& [name, role, password] :
         std::vector<Person>{{"ed", "editor", kEdPassword}, {"vic", "viewer", kVicPassword}}) {
      auto h = admin_;
      h.push_back("Content-Type: application/json");
      auto r =
          api().Request("POST", "/api/v1/users",
                        Json{{"username", name}, {"password", password}, {"role", role}}.dump(), h);
      ASSERT_EQ(r.status, 201) << r.body;
      EXPECT_FALSE(r.json.contains("password"));
      EXPECT_EQ(r.body.find(password), std::string::npos);
    }
    viewer_token_ = NewToken(api(), admin_, "vt", "viewer");
    editor_token_ = NewToken(api(), admin_, "et", "editor");
    admin_token_ = NewToken(api(), admin_, "at", "admin");
    ASSERT_TRUE(viewer_token_.starts_with("wft_")) << viewer_token_;
  }

  const Client& api() { return server_->api(); }

  static inline const std::string kAnnPassword = "ann's long secret";
  static inline const std::string kEdPassword = "ed-password-123";
  static inline const std::string kVicPassword = "vic-password-456";
  std::unique_ptr<WeftServer> server_;
  std::vector<std::string> admin_;  // ann's cookie and CSRF token
  std::string viewer_token_, editor_token_, admin_token_;
};

TEST_F(AuthTest, EveryApiRouteAnswers401WithoutCredentials) {
  int checked = 0;
  for (const auto& op : DocumentedOperations(api())) {
    if (OpenWithUsers(op)) continue;
    for (const auto& headers :
         std::vector<std::vector<std::string>>{{},
                                               Bearer("wft_not-a-token"),
                                               {"Authorization: Basic YW5uOnB3"},
                                               {"Cookie: weft_session=forged"}}) {
      auto r = Call(api(), op, headers);
      EXPECT_EQ(r.status, 401) << op.method << " " << op.templ << " with "
                               << ::testing::PrintToString(headers) << ": " << r.body;
      EXPECT_EQ(r.json["error"]["code"], "unauthorized") << op.method << " " << op.templ;
    }
    ++checked;
  }
  EXPECT_GE(checked, 40);
  // The open few stay open.
  EXPECT_EQ(api().Get("/healthz").status, 200);
  EXPECT_EQ(api().Get("/api/v1/openapi.json").status, 200);
  // Metrics, once routed, take a token: any role will do.
  auto metrics = api().Get("/metrics");
  if (metrics.status != 404) {
    EXPECT_EQ(metrics.status, 401);
    EXPECT_EQ(api().Request("GET", "/metrics", "", Bearer(viewer_token_)).status, 200);
  }
  // The web UI's files are served to anybody: the page itself asks to sign in.
  EXPECT_NE(api().Get("/").status, 401);
}

TEST_F(AuthTest, ViewersOnlyReadAndEditorsCannotManageUsersOrTokens) {
  for (const auto& op : DocumentedOperations(api())) {
    if (OpenWithUsers(op) || op.templ.starts_with("/api/v1/auth/")) continue;
    bool write = op.method != "GET";
    // Users, tokens and other admin-only operations (adding a connector manifest).
    bool manage = op.templ.starts_with("/api/v1/users") || op.templ.starts_with("/api/v1/tokens") ||
                  op.access == "admin";
    auto v = Call(api(), op, Bearer(viewer_token_));
    if (write || manage) {
      EXPECT_EQ(v.status, 403) << "viewer " << op.method << " " << op.templ << ": " << v.body;
      EXPECT_EQ(v.json["error"]["code"], "forbidden") << op.method << " " << op.templ;
    } else if (op.access == "viewer") {
      EXPECT_NE(v.status, 401) << op.method << " " << op.templ;
      EXPECT_NE(v.status, 403) << "viewer " << op.method << " " << op.templ << ": " << v.body;
    }
    auto e = Call(api(), op, Bearer(editor_token_));
    if (manage) {
      EXPECT_EQ(e.status, 403) << "editor " << op.method << " " << op.templ << ": " << e.body;
    } else {
      EXPECT_NE(e.status, 401) << op.method << " " << op.templ;
      EXPECT_NE(e.status, 403) << "editor " << op.method << " " << op.templ << ": " << e.body;
    }
  }
  // The same roles by session: vic cannot save a flow, ed cannot add a user.
  Login vic = SignIn(api(), "vic", kVicPassword);
  ASSERT_EQ(vic.status, 200);
  auto r = api().Request(
      "POST", "/api/v1/flows", kFlow.dump(),
      {"Cookie: " + vic.cookie, "X-CSRF-Token: " + vic.csrf, "Content-Type: application/json"});
  EXPECT_EQ(r.status, 403) << r.body;
  Login ed = SignIn(api(), "ed", kEdPassword);
  ASSERT_EQ(ed.status, 200);
  r = api().Request(
      "POST", "/api/v1/users",
      Json{{"username", "eve"}, {"password", "12345678"}, {"role", "admin"}}.dump(),
      {"Cookie: " + ed.cookie, "X-CSRF-Token: " + ed.csrf, "Content-Type: application/json"});
  EXPECT_EQ(r.status, 403) << r.body;
  r = api().Request(
      "POST", "/api/v1/flows", kFlow.dump(),
      {"Cookie: " + ed.cookie, "X-CSRF-Token: " + ed.csrf, "Content-Type: application/json"});
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_F(AuthTest, SessionCookieNeedsTheCsrfTokenToChangeAnythingAndEndsAtSignOut) {
  Login ed = SignIn(api(), "ed", kEdPassword);
  ASSERT_EQ(ed.status, 200);
  EXPECT_NE(ed.set_cookie.find("HttpOnly"), std::string::npos) << ed.set_cookie;
  EXPECT_NE(ed.set_cookie.find("SameSite=Strict"), std::string::npos) << ed.set_cookie;
  EXPECT_EQ(ed.set_cookie.find("Secure"), std::string::npos) << "plain HTTP: " << ed.set_cookie;
  ASSERT_FALSE(ed.csrf.empty());
  std::string cookie = "Cookie: " + ed.cookie;

  auto me = api().Request("GET", "/api/v1/me", "", {cookie});
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json["user"]["username"], "ed");
  EXPECT_EQ(me.json["role"], "editor");
  EXPECT_EQ(me.json["csrf_token"], ed.csrf);  // a reloaded page gets it back

  EXPECT_EQ(api().Request("GET", "/api/v1/flows", "", {cookie}).status, 200);  // reads need none
  auto no_csrf = api().Request("POST", "/api/v1/flows", kFlow.dump(),
                               {cookie, "Content-Type: application/json"});
  EXPECT_EQ(no_csrf.status, 403) << no_csrf.body;
  auto wrong = api().Request("POST", "/api/v1/flows", kFlow.dump(),
                             {cookie, "X-CSRF-Token: " + std::string(ed.csrf.size(), '0'),
                              "Content-Type: application/json"});
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  EXPECT_EQ(api().Get("/api/v1/flows?x=1").status, 401);
  EXPECT_EQ(api().Request("GET", "/api/v1/flows", "", Bearer(admin_token_)).json["flows"].size(),
            0u);
  auto ok = api().Request("POST", "/api/v1/flows", kFlow.dump(),
                          {cookie, "X-CSRF-Token: " + ed.csrf, "Content-Type: application/json"});
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(ok.json["updated_by"], "ed");

  // Sign-out needs the CSRF token too, then the cookie is worthless.
  EXPECT_EQ(api().Request("POST", "/api/v1/auth/logout", "", {cookie}).status, 403);
  auto out = api().Request("POST", "/api/v1/auth/logout", "", {cookie, "X-CSRF-Token: " + ed.csrf});
  EXPECT_EQ(out.status, 204) << out.body;
  EXPECT_NE(out.Header("set-cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(api().Request("GET", "/api/v1/flows", "", {cookie}).status, 401);
}

TEST_F(AuthTest, HistoryRecordsWhoChangedFlowsAndConnections) {
  auto h = Bearer(editor_token_);
  h.push_back("Content-Type: application/json");
  auto created = api().Request("POST", "/api/v1/flows", kFlow.dump(), h);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string id = GetString(created.json, "id");
  Json changed = kFlow;
  changed["description"] = "saved by ann";
  auto saved = api().Request("PUT", "/api/v1/flows/" + id, changed.dump(), [&] {
    auto a = admin_;
    a.push_back("Content-Type: application/json");
    return a;
  }());
  ASSERT_EQ(saved.status, 200) << saved.body;
  auto versions =
      api().Request("GET", "/api/v1/flows/" + id + "/versions", "", Bearer(viewer_token_));
  ASSERT_EQ(versions.status, 200) << versions.body;
  ASSERT_EQ(versions.json["versions"].size(), 2u);
  EXPECT_EQ(versions.json["versions"][0]["created_by"], "ann");
  EXPECT_EQ(versions.json["versions"][1]["created_by"], "token:et");

  auto conn = api().Request(
      "POST", "/api/v1/connections",
      Json{{"name", "c1"}, {"connector", "http"}, {"settings", Json::object()}}.dump(), h);
  ASSERT_EQ(conn.status, 201) << conn.body;
  EXPECT_EQ(conn.json["updated_by"], "token:et") << conn.body;
}

TEST_F(AuthTest, ARevokedTokenIsRefusedAtOnce) {
  std::string id;
  std::string token = NewToken(api(), admin_, "short-lived", "viewer", &id);
  // Used (and so cached) before the revocation.
  EXPECT_EQ(api().Request("GET", "/api/v1/flows", "", Bearer(token)).status, 200);
  auto list = api().Request("GET", "/api/v1/tokens", "", Bearer(admin_token_));
  ASSERT_EQ(list.status, 200);
  bool listed = false;
  for (const auto& t : list.json["tokens"]) {
    EXPECT_FALSE(t.contains("token"));
    EXPECT_EQ(t.dump().find(token), std::string::npos);
    if (t["id"] == id) {
      listed = true;
      EXPECT_TRUE(token.starts_with(GetString(t, "prefix")));
      EXPECT_FALSE(t["last_used_at"].is_null());
    }
  }
  EXPECT_TRUE(listed);
  auto revoked = api().Request("DELETE", "/api/v1/tokens/" + id, "", Bearer(admin_token_));
  ASSERT_EQ(revoked.status, 204) << revoked.body;
  auto after = api().Request("GET", "/api/v1/flows", "", Bearer(token));
  EXPECT_EQ(after.status, 401) << after.body;
  // A removed user's sessions end at once too.
  Login vic = SignIn(api(), "vic", kVicPassword);
  ASSERT_EQ(vic.status, 200);
  EXPECT_EQ(api().Request("GET", "/api/v1/flows", "", {"Cookie: " + vic.cookie}).status, 200);
  auto users = api().Request("GET", "/api/v1/users", "", Bearer(admin_token_));
  for (const auto& u : users.json["users"]) {
    EXPECT_FALSE(u.contains("password_hash"));
    if (u["username"] == "vic") {
      EXPECT_EQ(
          api()
              .Request("DELETE", "/api/v1/users/" + GetString(u, "id"), "", Bearer(admin_token_))
              .status,
          204);
    }
  }
  EXPECT_EQ(api().Request("GET", "/api/v1/flows", "", {"Cookie: " + vic.cookie}).status, 401);
}

TEST_F(AuthTest, PasswordsTokensAndSessionsAreNowhereInClear) {
  Login ed = SignIn(api(), "ed", kEdPassword);
  ASSERT_EQ(ed.status, 200);
  std::string session = ed.cookie.substr(ed.cookie.find('=') + 1);
  ASSERT_GT(session.size(), 20u);
  for (const auto& t : {viewer_token_, editor_token_, admin_token_}) {
    EXPECT_EQ(api().Request("GET", "/api/v1/flows", "", Bearer(t)).status, 200);
  }
  EXPECT_EQ(SignIn(api(), "ann", "a wrong password").status, 401);
  ASSERT_EQ(server_->Stop(), 0);  // everything flushed, WAL checkpointed or not

  std::vector<std::string> secrets = {kAnnPassword,  kEdPassword,       kVicPassword,
                                      viewer_token_, editor_token_,     admin_token_,
                                      session,       "a wrong password"};
  // The token minus its prefix too, and a distinctive middle part of each.
  for (const auto& t : {viewer_token_, editor_token_, admin_token_})
    secrets.push_back(t.substr(10, 20));
  secrets.push_back(session.substr(5, 20));
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(server_->temp_dir())) {
    if (!entry.is_regular_file()) continue;
    ++files;
    std::string text = ReadAll(entry.path());
    for (const auto& s : secrets) {
      EXPECT_EQ(text.find(s), std::string::npos) << "\"" << s << "\" in clear in " << entry.path();
    }
  }
  EXPECT_GE(files, 2);  // the database and the log at least
  std::string logs = server_->Logs();
  EXPECT_NE(logs.find("login"), std::string::npos);
  EXPECT_NE(logs.find("ed"), std::string::npos);
}

TEST_F(AuthTest, SignInIsThrottledPerUserAndPerAddressWithoutTellingNamesApart) {
  Login unknown = SignIn(api(), "nobody-here", "whatever-pw");
  Login wrong = SignIn(api(), "ann", "whatever-pw");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.body, wrong.body) << "the answer must not tell whether a name exists";

  for (int i = 1; i < 5; ++i)
    EXPECT_EQ(SignIn(api(), "ann", "wrong " + std::to_string(i)).status, 401);
  // Five failures for ann: now even the right password is refused for a while.
  auto locked =
      api().Post("/api/v1/auth/login", Json{{"username", "ann"}, {"password", kAnnPassword}});
  EXPECT_EQ(locked.status, 429) << locked.body;
  EXPECT_FALSE(locked.Header("retry-after").empty());
  // An unknown name is locked the same way.
  for (int i = 1; i < 5; ++i) SignIn(api(), "nobody-here", "x");
  EXPECT_EQ(SignIn(api(), "nobody-here", "x").status, 429);
  // Another user from this address still signs in...
  EXPECT_EQ(SignIn(api(), "ed", kEdPassword).status, 200);
  // ...until this address has failed 20 times, whatever the names.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(SignIn(api(), "guess-" + std::to_string(i), "x").status, 401);
  }
  EXPECT_EQ(SignIn(api(), "ed", kEdPassword).status, 429);
  // Credentials already held keep working: the lock is on signing in.
  EXPECT_EQ(api().Request("GET", "/api/v1/flows", "", Bearer(viewer_token_)).status, 200);
  EXPECT_NE(server_->Logs().find("login failed"), std::string::npos);
}

TEST_F(AuthTest, CliSendsWeftTokenAsBearer) {
  const std::string url = server_->base_url();
  auto r = RunWeft({"flow", "list", "--server", url});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("unauthorized"), std::string::npos) << r.output;

  setenv("WEFT_TOKEN", editor_token_.c_str(), 1);
  r = RunWeft({"flow", "list", "--server", url});
  unsetenv("WEFT_TOKEN");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = RunWeft({"flow", "list", "--server", url, "--token", viewer_token_});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Users through the API need an admin's token.
  r = RunWeft({"user", "list", "--server", url, "--token", editor_token_});
  EXPECT_NE(r.exit_code, 0) << r.output;
  r = RunWeft({"user", "list", "--server", url, "--token", admin_token_});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ann"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("vic"), std::string::npos) << r.output;
  // The data dir is the server's while it runs: the CLI says how to go on.
  r = RunWeft({"user", "list", "--data", server_->data_dir()});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("--server"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace weft::itest
