// http.request against a real HTTP server on loopback (tests/servers/http_server.py).
#include "connectors/http/http.h"

#include <gtest/gtest.h>

#include <thread>

#include "connectors/http/http_client.h"
#include "connectors/testing/child_server.h"
#include "connectors/testing/run_action.h"
#include "store/files/local_file_store.h"

namespace weft::connectors {
namespace {

using testing::GetJson;
using testing::MakeConnection;
using testing::RunAction;

class HttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new testing::ChildServer(
        {testing::SystemPython(), WEFT_TEST_SERVERS_DIR "/http_server.py"});
    ASSERT_NE(server_->port(), 0) << server_->error();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { RegisterHttp(catalog_); }

  static std::string Base() { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  // The requests the server recorded whose path is `path`.
  static std::vector<Json> Received(const std::string& path) {
    std::vector<Json> out;
    for (auto& r : GetJson(Base() + "/__requests"))
      if (r["path"] == path) out.push_back(r);
    return out;
  }

  static testing::ChildServer* server_;
  ActionCatalog catalog_;
};
testing::ChildServer* HttpTest::server_ = nullptr;

TEST_F(HttpTest, CatalogDeclaresTheActionAndAuthTypes) {
  const ConnectorSpec* http = catalog_.FindConnector("http");
  ASSERT_NE(http, nullptr);
  ASSERT_NE(catalog_.FindActionSpec("http.request"), nullptr);
  std::vector<std::string> auths;
  for (const auto& a : http->auth_types) auths.push_back(a.name);
  EXPECT_EQ(auths, (std::vector<std::string>{"none", "basic", "bearer", "api_key",
                                             "oauth2_client_credentials", "oauth2_code"}));
  ASSERT_NE(catalog_.FindTester("http"), nullptr);
}

TEST_F(HttpTest, PostsJsonRelativeToBaseUrlWithHeadersQueryAndBearer) {
  Connection c = MakeConnection(
      "http", {{"base_url", Base() + "/"}, {"headers", {{"Accept", "application/json"}}}},
      {{"type", "bearer"}, {"token", "s3cret-token"}});
  auto run = RunAction(catalog_, "http.request",
                       {{"method", "POST"},
                        {"url", "/echo"},
                        {"query", {{"q", "a b"}, {"tag", {"x", "y"}}}},
                        {"headers", {{"X-Trace", "7"}}},
                        {"body", {{"name", "Ada"}, {"n", 1}}}},
                       &c);
  ASSERT_FALSE(run.outcome.error) << run.error();
  EXPECT_EQ(run.output()["status"], 200);
  const Json& got = run.output()["body"];  // the echo, parsed as JSON
  EXPECT_EQ(got["method"], "POST");
  EXPECT_EQ(got["query"]["q"], "a b");
  EXPECT_EQ(got["query"]["tag"], Json({"x", "y"}));
  EXPECT_EQ(got["headers"]["authorization"], "Bearer s3cret-token");
  EXPECT_EQ(got["headers"]["accept"], "application/json");
  EXPECT_EQ(got["headers"]["x-trace"], "7");
  EXPECT_EQ(got["headers"]["content-type"], "application/json");
  EXPECT_EQ(Json::parse(got["body"].get<std::string>()), Json({{"name", "Ada"}, {"n", 1}}));
  EXPECT_EQ(run.output()["headers"]["content-type"], "application/json");
}

TEST_F(HttpTest, FormTextAndMultipartBodies) {
  Connection c = MakeConnection("http", {{"base_url", Base()}});
  auto form = RunAction(catalog_, "http.request",
                        {{"method", "PUT"},
                         {"url", "echo"},
                         {"body_type", "form"},
                         {"body", {{"a", "1 2"}, {"b", "&"}}}},
                        &c);
  ASSERT_FALSE(form.outcome.error) << form.error();
  EXPECT_EQ(form.output()["body"]["body"], "a=1%202&b=%26");
  EXPECT_EQ(form.output()["body"]["headers"]["content-type"], "application/x-www-form-urlencoded");

  auto text = RunAction(catalog_, "http.request",
                        {{"method", "POST"}, {"url", "/echo"}, {"body", "hello"}}, &c);
  EXPECT_EQ(text.output()["body"]["body"], "hello");

  auto multi = RunAction(catalog_, "http.request",
                         {{"method", "POST"},
                          {"url", "/echo"},
                          {"body_type", "multipart"},
                          {"body",
                           {{"title", "report"},
                            {"file",
                             {{"filename", "r.txt"},
                              {"content_base64", "aGVsbG8="},
                              {"content_type", "text/plain"}}}}}},
                         &c);
  ASSERT_FALSE(multi.outcome.error) << multi.error();
  std::string sent = multi.output()["body"]["body"];
  EXPECT_NE(multi.output()["body"]["headers"]["content-type"].get<std::string>().find(
                "multipart/form-data"),
            std::string::npos);
  EXPECT_NE(sent.find("name=\"title\""), std::string::npos);
  EXPECT_NE(sent.find("filename=\"r.txt\""), std::string::npos);
  EXPECT_NE(sent.find("hello"), std::string::npos);
}

TEST_F(HttpTest, BasicAndApiKeyAuth) {
  Connection basic = MakeConnection("http", {{"base_url", Base()}},
                                    {{"type", "basic"}, {"username", "ada"}, {"password", "pw"}});
  auto r1 = RunAction(catalog_, "http.request", {{"url", "/echo"}}, &basic);
  EXPECT_EQ(r1.output()["body"]["headers"]["authorization"], "Basic YWRhOnB3");

  Connection header =
      MakeConnection("http", {{"base_url", Base()}},
                     {{"type", "api_key"}, {"in", "header"}, {"name", "X-Key"}, {"value", "k1"}});
  auto r2 = RunAction(catalog_, "http.request", {{"url", "/echo"}}, &header);
  EXPECT_EQ(r2.output()["body"]["headers"]["x-key"], "k1");

  Connection query =
      MakeConnection("http", {{"base_url", Base()}},
                     {{"type", "api_key"}, {"in", "query"}, {"name", "api_key"}, {"value", "k2"}});
  auto r3 =
      RunAction(catalog_, "http.request", {{"url", "/echo"}, {"query", {{"x", "1"}}}}, &query);
  EXPECT_EQ(r3.output()["body"]["query"]["api_key"], "k2");
  EXPECT_EQ(r3.output()["body"]["query"]["x"], "1");
  // The key never shows in the step's log.
  for (const auto& line : r3.logs) EXPECT_EQ(line.find("k2"), std::string::npos) << line;
}

TEST_F(HttpTest, NonOkStatusFailsWithStatusAndExcerptAndRedactsSecrets) {
  Connection c = MakeConnection("http", {{"base_url", Base()}},
                                {{"type", "bearer"}, {"token", "very-secret-token"}});
  auto r = RunAction(catalog_, "http.request", {{"url", "/status/404"}}, &c);
  ASSERT_TRUE(r.outcome.error);
  EXPECT_EQ(r.outcome.error->code, ErrorCode::kStepFailed);
  EXPECT_NE(r.error().find("HTTP 404"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("boom 404"), std::string::npos) << r.error();
  // The server echoed the Authorization header: the token must not appear.
  EXPECT_EQ(r.error().find("very-secret-token"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("********"), std::string::npos) << r.error();
  EXPECT_FALSE(r.outcome.retryable);

  auto accepted = RunAction(catalog_, "http.request",
                            {{"url", "/status/404"}, {"ok_statuses", {404, "2xx"}}}, &c);
  ASSERT_FALSE(accepted.outcome.error) << accepted.error();
  EXPECT_EQ(accepted.output()["status"], 404);
  EXPECT_EQ(accepted.output()["body"]["error"], "boom 404");
}

TEST_F(HttpTest, ServerErrorsAnd429AreRetryableWithRetryAfter) {
  Connection c = MakeConnection("http", {{"base_url", Base()}});
  auto r500 = RunAction(catalog_, "http.request", {{"url", "/status/500"}}, &c);
  ASSERT_TRUE(r500.outcome.error);
  EXPECT_TRUE(r500.outcome.retryable);
  auto r429 = RunAction(catalog_, "http.request", {{"url", "/status/429"}}, &c);
  ASSERT_TRUE(r429.outcome.error);
  EXPECT_TRUE(r429.outcome.retryable);
  ASSERT_TRUE(r429.outcome.retry_after);
  EXPECT_EQ(r429.outcome.retry_after->count(), 7000);
  EXPECT_EQ(r429.outcome.http_status, 429);  // what pauses the connection (engine)
  EXPECT_EQ(r500.outcome.http_status, 500);
  // A Retry-After too long for 64 bits is a long wait, not a crash.
  auto huge = http::ParseRetryAfter("99999999999999999999999999");
  ASSERT_TRUE(huge);
  EXPECT_GT(huge->count(), int64_t{86'400'000} * 365);  // over a year
}

TEST_F(HttpTest, NetworkErrorsAreRetryable) {
  int port = testing::FreePort();  // nobody listens there
  auto r = RunAction(catalog_, "http.request",
                     {{"url", "http://127.0.0.1:" + std::to_string(port) + "/x"}});
  ASSERT_TRUE(r.outcome.error);
  EXPECT_EQ(r.outcome.error->code, ErrorCode::kUnavailable);
  EXPECT_TRUE(r.outcome.retryable);
}

TEST_F(HttpTest, TimeoutAndDeadlineAndCancel) {
  Connection c = MakeConnection("http", {{"base_url", Base()}});
  auto t = RunAction(catalog_, "http.request", {{"url", "/slow?s=3"}, {"timeout", "200ms"}}, &c);
  ASSERT_TRUE(t.outcome.error);
  EXPECT_EQ(t.outcome.error->code, ErrorCode::kTimeout) << t.error();
  EXPECT_TRUE(t.outcome.retryable);

  auto d = RunAction(catalog_, "http.request", {{"url", "/slow?s=3"}}, &c,
                     Millis(300));  // the step's deadline
  ASSERT_TRUE(d.outcome.error);
  EXPECT_EQ(d.outcome.error->code, ErrorCode::kTimeout) << d.error();

  std::atomic<bool> cancelled{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancelled = true;
  });
  auto start = std::chrono::steady_clock::now();
  auto x =
      RunAction(catalog_, "http.request", {{"url", "/slow?s=3"}}, &c, Millis(10'000), &cancelled);
  canceller.join();
  ASSERT_TRUE(x.outcome.error);
  EXPECT_EQ(x.outcome.error->code, ErrorCode::kCancelled) << x.error();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(HttpTest, RedirectsBinaryAndText) {
  Connection c = MakeConnection("http", {{"base_url", Base()}});
  auto followed = RunAction(catalog_, "http.request", {{"url", "/redirect"}}, &c);
  EXPECT_EQ(followed.output()["status"], 200);
  EXPECT_EQ(followed.output()["body"]["path"], "/echo");
  auto not_followed =
      RunAction(catalog_, "http.request",
                {{"url", "/redirect"}, {"follow_redirects", false}, {"ok_statuses", {"3xx"}}}, &c);
  EXPECT_EQ(not_followed.output()["status"], 302);
  EXPECT_EQ(not_followed.output()["headers"]["location"], "/echo");

  auto bin = RunAction(catalog_, "http.request", {{"url", "/binary"}}, &c);
  EXPECT_EQ(bin.output()["body_encoding"], "base64");
  EXPECT_EQ(bin.output()["body"].get<std::string>().substr(0, 8), "AAECAwQF");
  auto text = RunAction(catalog_, "http.request", {{"url", "/text"}}, &c);
  EXPECT_EQ(text.output()["body"], "plain words");
}

TEST_F(HttpTest, PaginationCollectsEveryPage) {
  Connection c = MakeConnection("http", {{"base_url", Base()}});
  auto link =
      RunAction(catalog_, "http.request",
                {{"url", "/pages/link"}, {"paginate", {{"type", "link"}, {"items", "items"}}}}, &c);
  ASSERT_FALSE(link.outcome.error) << link.error();
  EXPECT_EQ(link.output()["body"], Json({11, 12, 21, 22, 31, 32}));
  EXPECT_EQ(link.output()["pages"], 3);

  auto cursor =
      RunAction(catalog_, "http.request",
                {{"url", "/pages/cursor"},
                 {"paginate", {{"type", "cursor"}, {"items", "data"}, {"cursor", "meta.next"}}}},
                &c);
  ASSERT_FALSE(cursor.outcome.error) << cursor.error();
  EXPECT_EQ(cursor.output()["body"], Json::parse(R"([{"id":"a"},{"id":"b"},{"id":"c"}])"));

  auto pages = RunAction(catalog_, "http.request",
                         {{"url", "/pages/number"}, {"paginate", {{"type", "page"}}}}, &c);
  ASSERT_FALSE(pages.outcome.error) << pages.error();
  EXPECT_EQ(pages.output()["body"], Json({1, 2, 3}));
  EXPECT_EQ(pages.output()["pages"], 4);  // the fourth, empty page ends it
}

TEST_F(HttpTest, OAuth2ClientCredentialsCachesTheTokenAndRefreshesOn401) {
  Json auth = {{"type", "oauth2_client_credentials"},
               {"token_url", Base() + "/token"},
               {"client_id", "cid"},
               {"client_secret", "csecret"},
               {"scope", "read"}};
  Connection c = MakeConnection("http", {{"base_url", Base()}}, auth);
  size_t tokens_before = Received("/token").size();
  auto a = RunAction(catalog_, "http.request", {{"url", "/protected"}}, &c);
  ASSERT_FALSE(a.outcome.error) << a.error();
  auto b = RunAction(catalog_, "http.request", {{"url", "/protected"}}, &c);
  ASSERT_FALSE(b.outcome.error) << b.error();
  EXPECT_EQ(a.output()["body"]["token"], b.output()["body"]["token"]);
  auto token_requests = Received("/token");
  ASSERT_EQ(token_requests.size(), tokens_before + 1);  // cached
  EXPECT_NE(token_requests.back()["body"].get<std::string>().find("grant_type=client_credentials"),
            std::string::npos);
  EXPECT_NE(token_requests.back()["body"].get<std::string>().find("scope=read"), std::string::npos);

  // The server forgets its tokens: the next step gets a 401, fetches a new token, succeeds.
  GetJson(Base() + "/__revoke");
  auto after = RunAction(catalog_, "http.request", {{"url", "/protected"}}, &c);
  ASSERT_FALSE(after.outcome.error) << after.error();
  EXPECT_NE(after.output()["body"]["token"], a.output()["body"]["token"]);

  // Wrong secret: the step fails naming the token endpoint, without the secret.
  Json bad = auth;
  bad["client_secret"] = "wrong-secret";
  Connection wrong = MakeConnection("http", {{"base_url", Base()}}, bad);
  auto failed = RunAction(catalog_, "http.request", {{"url", "/protected"}}, &wrong);
  ASSERT_TRUE(failed.outcome.error);
  EXPECT_NE(failed.error().find("token endpoint"), std::string::npos) << failed.error();
  EXPECT_EQ(failed.error().find("wrong-secret"), std::string::npos);
}

TEST_F(HttpTest, OAuth2CodeUsesTheRefreshToken) {
  Connection c = MakeConnection("http", {{"base_url", Base()}},
                                {{"type", "oauth2_code"},
                                 {"authorize_url", Base() + "/authorize"},
                                 {"token_url", Base() + "/token"},
                                 {"client_id", "cid"},
                                 {"client_secret", "csecret"},
                                 {"client_auth", "body"},
                                 {"refresh_token", "rt-1"}});
  auto r = RunAction(catalog_, "http.request", {{"url", "/protected"}}, &c);
  ASSERT_FALSE(r.outcome.error) << r.error();
  auto body = Received("/token").back()["body"].get<std::string>();
  EXPECT_NE(body.find("grant_type=refresh_token"), std::string::npos);
  EXPECT_NE(body.find("client_id=cid"), std::string::npos);
}

TEST_F(HttpTest, KeepAliveReusesTheConnection) {
  Connection reuse = MakeConnection("http", {{"base_url", Base()}});
  for (int i = 0; i < 3; ++i)
    RunAction(catalog_, "http.request", {{"url", "/echo"}, {"query", {{"k", "reuse"}}}}, &reuse);
  Connection fresh = MakeConnection("http", {{"base_url", Base()}, {"keep_alive", false}});
  for (int i = 0; i < 3; ++i)
    RunAction(catalog_, "http.request", {{"url", "/echo"}, {"query", {{"k", "fresh"}}}}, &fresh);
  std::set<int> reuse_ports, fresh_ports;
  for (auto& r : Received("/echo")) {
    if (r["query"]["k"] == "reuse") reuse_ports.insert(r["client_port"].get<int>());
    if (r["query"]["k"] == "fresh") fresh_ports.insert(r["client_port"].get<int>());
  }
  EXPECT_EQ(reuse_ports.size(), 1u);  // one TCP connection for three steps
  EXPECT_EQ(fresh_ports.size(), 3u);
}

TEST_F(HttpTest, ConnectionTester) {
  const ConnectionTester* tester = catalog_.FindTester("http");
  SystemClock clock;
  Connection ok = MakeConnection("http", {{"base_url", Base() + "/echo"}});
  auto r = (*tester)(ok, clock);
  EXPECT_TRUE(r.ok) << r.message;
  Connection denied = MakeConnection("http", {{"base_url", Base() + "/status/401"}},
                                     {{"type", "bearer"}, {"token", "tkn-123"}});
  auto d = (*tester)(denied, clock);
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.message.find("401"), std::string::npos) << d.message;
  EXPECT_EQ(d.message.find("tkn-123"), std::string::npos) << d.message;
  Connection down = MakeConnection(
      "http", {{"base_url", "http://127.0.0.1:" + std::to_string(testing::FreePort())}});
  EXPECT_FALSE((*tester)(down, clock).ok);
}

// ---- files (core/files.h) ------------------------------------------------------

class HttpFilesTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    dir_ = testing::MakeTempDir("weft-http-files");
    LocalFileStoreOptions o;
    o.dir = dir_;
    o.max_file_size = 1 << 20;
    files_ = std::move(*LocalFileStore::Open(o));
  }
  void TearDown() override { testing::RemoveTree(dir_); }
  testing::ActionRun Run(const Json& in, const Connection* c) {
    return RunAction(catalog_, "http.request", in, c, Millis(10'000), nullptr, files_.get());
  }
  std::string dir_;
  std::unique_ptr<LocalFileStore> files_;
};

TEST_F(HttpFilesTest, BinaryBodiesBecomeFilesAndFilesAreSentBack) {
  Connection c = MakeConnection("http", {{"base_url", Base()}});
  auto bin = Run({{"url", "/binary"}}, &c);
  ASSERT_FALSE(bin.outcome.error) << bin.error();
  Json file = bin.output()["body"];
  ASSERT_TRUE(IsFileValue(file)) << file.dump();
  EXPECT_EQ(file["size"], 256);
  EXPECT_EQ(file["name"], "binary");
  EXPECT_EQ(file["content_type"], "application/octet-stream");
  EXPECT_FALSE(bin.output().contains("body_encoding"));
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  EXPECT_EQ(*ReadWholeFile(*files_, file["id"], 1000, "x"), bytes);

  // Text and JSON stay in the run under auto; `file` forces a file.
  EXPECT_EQ(Run({{"url", "/text"}}, &c).output()["body"], "plain words");
  auto forced = Run({{"url", "/text"}, {"response_type", "file"}}, &c);
  EXPECT_EQ(forced.output()["body"]["content_type"], "text/plain");
  EXPECT_EQ(forced.output()["body"]["size"], 11);

  // A file value as the body is streamed, with its content type.
  auto put = Run({{"url", "/echo"}, {"method", "PUT"}, {"body", forced.output()["body"]}}, &c);
  ASSERT_FALSE(put.outcome.error) << put.error();
  EXPECT_EQ(put.output()["body"]["body"], "plain words");
  EXPECT_EQ(put.output()["body"]["headers"]["content-type"], "text/plain");
  EXPECT_EQ(put.output()["body"]["method"], "PUT");

  // And as a multipart part.
  auto multi = Run({{"url", "/echo"},
                    {"method", "POST"},
                    {"body_type", "multipart"},
                    {"body", {{"title", "t"}, {"doc", {{"file", forced.output()["body"]}}}}}},
                   &c);
  ASSERT_FALSE(multi.outcome.error) << multi.error();
  std::string sent = multi.output()["body"]["body"];
  EXPECT_NE(sent.find("filename=\"text\""), std::string::npos) << sent;
  EXPECT_NE(sent.find("plain words"), std::string::npos) << sent;
}

TEST_F(HttpFilesTest, ErrorsNameTheFileAndKeepNothing) {
  Connection c = MakeConnection("http", {{"base_url", Base()}});
  Json ghost = {{"type", "file"}, {"id", "fil_" + std::string(22, 'Z')}};
  auto missing = Run({{"url", "/echo"}, {"method", "POST"}, {"body", ghost}}, &c);
  ASSERT_TRUE(missing.outcome.error);
  EXPECT_NE(missing.error().find("with.body: file fil_ZZZ"), std::string::npos) << missing.error();

  // An error status keeps its body readable and writes no file.
  auto failed = Run({{"url", "/status/404"}, {"response_type", "file"}}, &c);
  ASSERT_TRUE(failed.outcome.error);
  EXPECT_NE(failed.error().find("boom 404"), std::string::npos) << failed.error();
  int count = 0;
  ASSERT_TRUE(files_->ForEach([&](const FileInfo&) { ++count; }));
  EXPECT_EQ(count, 0);

  EXPECT_TRUE(
      Run({{"url", "/binary"}, {"response_type", "file"}, {"paginate", {{"type", "link"}}}}, &c)
          .outcome.error);
}

}  // namespace
}  // namespace weft::connectors
