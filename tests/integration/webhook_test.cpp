// Webhook trigger end to end (docs/webhooks.md): the real
// binary, real HTTP on loopback.
#include <openssl/hmac.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "harness.h"

namespace weft::itest {
namespace {

std::string Base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v =
        (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

std::string Hmac(const EVP_MD* md, const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(md, key.data(), (int)key.size(), (const unsigned char*)data.data(), data.size(), out, &len);
  return std::string((char*)out, len);
}

std::string Hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) out += {d[c >> 4], d[c & 15]};
  return out;
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Json WebhookFlow(const std::string& name, Json webhook = Json::object(), Json steps = Json()) {
  if (steps.is_null())
    steps = Json::array(
        {Json{{"id", "echo"}, {"uses", "data.set"}, {"with", {{"value", "{{ trigger.body.x }}"}}}},
         Json{{"id", "second"},
              {"uses", "data.set"},
              {"with", {{"value", "{{ steps.echo.output }}"}}}}});
  return Json{{"name", UniqueName(name)},
              {"trigger", {{"type", "webhook"}, {"webhook", webhook}}},
              {"steps", steps}};
}

// The path of a webhook URL ("/hooks/<token>").
std::string HookPath(const Json& flow) {
  std::string url = flow.value("webhook_url", "");
  return url.substr(url.find("/hooks/"));
}

class WebhookTest : public WeftTest {
 protected:
  Json Activate(const Json& flow) {
    auto r = api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/activate");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json;
  }
  Json ActiveFlow(const std::string& name, Json webhook = Json::object(), Json steps = Json()) {
    Json flow = CreateFlow(api(), WebhookFlow(name, std::move(webhook), std::move(steps)));
    Activate(flow);
    return flow;
  }
  HttpResult Send(const std::string& path, const std::string& body,
                  std::vector<std::string> headers = {}, const std::string& method = "POST") {
    headers.push_back("Content-Type: application/json");
    return api().Request(method, path, body, headers);
  }
  int RunCount(const Json& flow) {
    auto r = api().Get("/api/v1/runs?limit=1000&flow_id=" + flow["id"].get<std::string>());
    return r.json.contains("runs") ? static_cast<int>(r.json["runs"].size()) : -1;
  }
  Json Deliveries(const Json& flow) {
    return api()
        .Get("/api/v1/deliveries?flow_id=" + flow["id"].get<std::string>())
        .json["deliveries"];
  }
};

TEST_F(WebhookTest, UrlOnFirstSaveStableAcrossSavesAndRotation) {
  Json flow = CreateFlow(api(), WebhookFlow("url"));
  std::string url = flow.value("webhook_url", "");
  ASSERT_NE(url.find("/hooks/"), std::string::npos) << flow.dump();
  Json doc = WebhookFlow("ignored");
  doc["name"] = flow["name"];
  doc["description"] = "changed";
  auto saved = api().Put("/api/v1/flows/" + flow["id"].get<std::string>(), doc);
  ASSERT_EQ(saved.status, 200) << saved.body;
  EXPECT_EQ(saved.json["version"], 2);
  EXPECT_EQ(saved.json.value("webhook_url", ""), url) << "later saves keep the URL";
  EXPECT_EQ(
      api().Get("/api/v1/flows/" + flow["id"].get<std::string>()).json.value("webhook_url", ""),
      url);

  Activate(flow);
  EXPECT_EQ(Send(HookPath(flow), R"({"x":1})").status, 202);
  auto rotated = api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/webhook/rotate");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  ASSERT_NE(rotated.json.value("webhook_url", ""), url);
  EXPECT_EQ(Send(HookPath(flow), R"({"x":1})").status, 404) << "the old URL stops at once";
  EXPECT_EQ(Send(HookPath(rotated.json), R"({"x":1})").status, 202);
}

TEST_F(WebhookTest, InactiveIs409ActiveRunsWithTheTrigger) {
  Json flow = CreateFlow(api(), WebhookFlow("active"));
  auto inactive = Send(HookPath(flow) + "/orders/7?a=1", R"({"x":"early"})");
  EXPECT_EQ(inactive.status, 409);
  EXPECT_EQ(inactive.json["error"]["code"], "flow_inactive");
  EXPECT_EQ(RunCount(flow), 0);

  Activate(flow);
  auto r = Send(HookPath(flow) + "/orders/7?a=1&b=2", R"({"x":"hello"})", {"X-Custom: Yes"});
  ASSERT_EQ(r.status, 202) << r.body;
  std::string run_id = r.json.value("run_id", "");
  ASSERT_FALSE(run_id.empty());
  Json run = WaitRunFinished(api(), run_id);
  EXPECT_EQ(run["status"], "succeeded") << run.dump();
  EXPECT_EQ(StepOf(run, "echo")["output"], "hello");
  EXPECT_EQ(StepOf(run, "second")["output"], "hello");
  const Json& t = run["trigger"];
  EXPECT_EQ(t["type"], "webhook");
  EXPECT_EQ(t["method"], "POST");
  EXPECT_EQ(t["path"], "/orders/7");
  EXPECT_EQ(t["headers"]["x-custom"], "Yes");
  EXPECT_EQ(t["query"]["b"], "2");
  EXPECT_TRUE(t.contains("received_at"));
  EXPECT_EQ(run["trigger"].dump().find(HookPath(flow).substr(7)), std::string::npos)
      << "the token is not in the trigger";

  Json ds = Deliveries(flow);
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds[0]["status_code"], 202);
  EXPECT_EQ(ds[0]["run_id"], run_id);
  EXPECT_EQ(ds[1]["status_code"], 409);
  auto one = api().Get("/api/v1/deliveries/" + ds[0]["id"].get<std::string>());
  EXPECT_EQ(one.json["body"]["x"], "hello");

  api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/deactivate");
  EXPECT_EQ(Send(HookPath(flow), R"({"x":1})").status, 409) << "deactivation refuses at once";
}

TEST_F(WebhookTest, MethodSizeAndMalformedBodiesStartNoRun) {
  Json flow = ActiveFlow("limits", Json{{"max_body", 100}});
  auto get = Send(HookPath(flow), "", {}, "GET");
  EXPECT_EQ(get.status, 405);
  EXPECT_NE(get.Header("allow").find("POST"), std::string::npos);
  std::string big = R"({"x":")" + std::string(5000, 'a') + R"("})";
  auto large = Send(HookPath(flow), big);
  EXPECT_EQ(large.status, 413) << "the client sees the 413: " << large.error;
  auto bad = Send(HookPath(flow), R"({"x":)");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("parse error"), std::string::npos) << bad.body;
  EXPECT_EQ(RunCount(flow), 0);
  // Form and text bodies.
  auto form = api().Request("POST", HookPath(flow), "x=from+form",
                            {"Content-Type: application/x-www-form-urlencoded"});
  ASSERT_EQ(form.status, 202);
  EXPECT_EQ(StepOf(WaitRunFinished(api(), form.json["run_id"]), "echo")["output"], "from form");
}

TEST_F(WebhookTest, LargeBodyRefusedFromContentLengthBeforeReading) {
  Json flow = ActiveFlow("huge");  // default limit 16 MiB
  std::string body(17u << 20, 'a');
  auto r = api().Request("POST", HookPath(flow), body, {"Content-Type: text/plain"});
  EXPECT_EQ(r.status, 413) << r.error;
  EXPECT_EQ(RunCount(flow), 0);
  EXPECT_EQ(Deliveries(flow)[0]["status_code"], 413);
}

TEST_F(WebhookTest, StandardWebhooksAuth) {
  std::string key = "0123456789abcdef0123456789abcdef";
  std::string secret = "whsec_" + Base64(key);
  Json flow = ActiveFlow(
      "stdwh",
      Json{{"auth", {{"type", "hmac"}, {"scheme", "standard-webhooks"}, {"secret", secret}}}});
  auto send = [&](const std::string& id, int64_t ts, const std::string& signed_body,
                  const std::string& sent_body, const std::string& k) {
    std::string sig =
        Base64(Hmac(EVP_sha256(), k, id + "." + std::to_string(ts) + "." + signed_body));
    return Send(HookPath(flow), sent_body,
                {"webhook-id: " + id, "webhook-timestamp: " + std::to_string(ts),
                 "webhook-signature: v1," + sig});
  };
  EXPECT_EQ(send("m1", NowSeconds(), R"({"x":1})", R"({"x":1})", key).status, 202);
  EXPECT_EQ(send("m2", NowSeconds(), R"({"x":1})", R"({"x":1})", "wrong-key").status, 401);
  EXPECT_EQ(send("m3", NowSeconds() - 600, R"({"x":1})", R"({"x":1})", key).status, 401)
      << "stale timestamp";
  EXPECT_EQ(send("m4", NowSeconds(), R"({"x":1})", R"({"x":2})", key).status, 401)
      << "tampered body";
  EXPECT_EQ(RunCount(flow), 1);
  // The secret is masked in the API; a save that sends the mask keeps it.
  auto got = api().Get("/api/v1/flows/" + flow["id"].get<std::string>());
  EXPECT_EQ(got.json["trigger"]["webhook"]["auth"]["secret"], "********");
  Json doc = got.json;
  for (const char* k : {"id", "version", "active", "webhook_url", "next_run_at", "created_at",
                        "updated_at", "trigger_type", "missed_fires"})
    doc.erase(k);
  doc["description"] = "resaved";
  ASSERT_EQ(api().Put("/api/v1/flows/" + flow["id"].get<std::string>(), doc).status, 200);
  EXPECT_EQ(send("m5", NowSeconds(), R"({"x":1})", R"({"x":1})", key).status, 202);
  auto exported = api().Get("/api/v1/flows/" + flow["id"].get<std::string>() + "/export");
  EXPECT_EQ(exported.body.find(secret), std::string::npos);
}

TEST_F(WebhookTest, GithubCustomHeaderAndBasicAuth) {
  Json gh =
      ActiveFlow("gh", Json{{"auth", {{"type", "hmac"}, {"scheme", "github"}, {"secret", "s3"}}}});
  std::string body = R"({"x":1})";
  auto ghsig = [&](const std::string& k, const std::string& b) {
    return "X-Hub-Signature-256: sha256=" + Hex(Hmac(EVP_sha256(), k, b));
  };
  EXPECT_EQ(Send(HookPath(gh), body, {ghsig("s3", body)}).status, 202);
  EXPECT_EQ(Send(HookPath(gh), body, {ghsig("nope", body)}).status, 401);
  EXPECT_EQ(Send(HookPath(gh), R"({"x":2})", {ghsig("s3", body)}).status, 401);

  Json custom = ActiveFlow("custom", Json{{"auth",
                                           {{"type", "hmac"},
                                            {"scheme", "custom"},
                                            {"secret", "k"},
                                            {"header", "X-Sig"},
                                            {"algorithm", "sha512"},
                                            {"encoding", "base64"},
                                            {"prefix", "v0="}}}});
  auto csig = [&](const std::string& k, const std::string& b) {
    return "X-Sig: v0=" + Base64(Hmac(EVP_sha512(), k, b));
  };
  EXPECT_EQ(Send(HookPath(custom), body, {csig("k", body)}).status, 202);
  EXPECT_EQ(Send(HookPath(custom), body, {csig("j", body)}).status, 401);
  EXPECT_EQ(Send(HookPath(custom), R"({"x":3})", {csig("k", body)}).status, 401);

  Json header = ActiveFlow(
      "header", Json{{"auth", {{"type", "header"}, {"name", "X-Token"}, {"value", "tok-1"}}}});
  auto ok = Send(HookPath(header), body, {"X-Token: tok-1", "Authorization: Bearer abc"});
  ASSERT_EQ(ok.status, 202);
  EXPECT_EQ(Send(HookPath(header), body, {"X-Token: tok-2"}).status, 401);
  Json run = WaitRunFinished(api(), ok.json["run_id"]);
  EXPECT_EQ(run["trigger"]["headers"]["x-token"], "********");
  EXPECT_EQ(run["trigger"]["headers"]["authorization"], "********");
  EXPECT_EQ(Deliveries(header)[1]["headers"]["x-token"], "********");

  Json basic = ActiveFlow(
      "basic", Json{{"auth", {{"type", "basic"}, {"username", "u"}, {"password", "p"}}}});
  EXPECT_EQ(Send(HookPath(basic), body, {"Authorization: Basic " + Base64("u:p")}).status, 202);
  EXPECT_EQ(Send(HookPath(basic), body, {"Authorization: Basic " + Base64("u:x")}).status, 401);
  EXPECT_EQ(RunCount(basic), 1);

  auto invalid =
      api().Post("/api/v1/flows", WebhookFlow("bad", Json{{"auth", {{"type", "hmac"}}}}));
  EXPECT_EQ(invalid.status, 400);
  auto paths = ErrorPaths(invalid.json);
  EXPECT_NE(std::find(paths.begin(), paths.end(), "trigger.webhook.auth.secret"), paths.end())
      << invalid.body;
}

// Every file of a directory tree, concatenated (the SQLite database and its WAL).
std::string ReadTree(const std::string& dir) {
  std::string all;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return all;
}

TEST_F(WebhookTest, SecretsAreEncryptedAtRestMaskedAndKeptByTheMask) {
  const std::string token = "hdr-secret-7fQ2xLm9Zr4";
  const std::string hmac_secret = "gh-secret-Kp3Vw8Ns1Yd6";
  Json header = ActiveFlow(
      "enc-header", Json{{"auth", {{"type", "header"}, {"name", "X-Token"}, {"value", token}}}});
  Json gh = ActiveFlow(
      "enc-gh", Json{{"auth", {{"type", "hmac"}, {"scheme", "github"}, {"secret", hmac_secret}}}});
  const std::string hid = header["id"], gid = gh["id"];
  std::string body = R"({"x":1})";
  auto ghsig = [&](const std::string& k) {
    return "X-Hub-Signature-256: sha256=" + Hex(Hmac(EVP_sha256(), k, body));
  };

  // Auth verifies with the secrets as sent, although the store holds them sealed.
  EXPECT_EQ(Send(HookPath(header), body, {"X-Token: " + token}).status, 202);
  EXPECT_EQ(Send(HookPath(header), body, {"X-Token: wrong"}).status, 401);
  EXPECT_EQ(Send(HookPath(gh), body, {ghsig(hmac_secret)}).status, 202);
  EXPECT_EQ(Send(HookPath(gh), body, {ghsig("wrong")}).status, 401);

  // The API shows the mask: the flow, its versions, the export.
  auto got = api().Get("/api/v1/flows/" + hid);
  EXPECT_EQ(got.json["trigger"]["webhook"]["auth"]["value"], "********") << got.body;
  for (const std::string& path :
       {"/api/v1/flows/" + hid, "/api/v1/flows/" + hid + "/versions",
        "/api/v1/flows/" + hid + "/versions/1", "/api/v1/flows/" + hid + "/export",
        "/api/v1/flows/" + gid, "/api/v1/flows/" + gid + "/export", std::string("/api/v1/flows")}) {
    auto r = api().Get(path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body.find(token), std::string::npos) << path;
    EXPECT_EQ(r.body.find(hmac_secret), std::string::npos) << path;
    EXPECT_EQ(r.body.find("enc:v1:"), std::string::npos) << "not even sealed: " << path;
  }

  // A save that sends the mask keeps the secret; sent back unchanged it makes no new version.
  Json doc = got.json;
  for (const char* k : {"id", "version", "active", "webhook_url", "next_run_at", "created_at",
                        "updated_at", "trigger_type", "missed_fires", "updated_by"})
    doc.erase(k);
  auto same = api().Put("/api/v1/flows/" + hid, doc);
  ASSERT_EQ(same.status, 200) << same.body;
  EXPECT_EQ(same.json["version"], 1) << "an identical save (mask included) is no new version";
  doc["description"] = "resaved with the mask";
  auto resaved = api().Put("/api/v1/flows/" + hid, doc);
  ASSERT_EQ(resaved.status, 200) << resaved.body;
  EXPECT_EQ(resaved.json["version"], 2);
  EXPECT_EQ(Send(HookPath(header), body, {"X-Token: " + token}).status, 202)
      << "the mask kept the secret";
  EXPECT_EQ(Send(HookPath(header), body, {"X-Token: ********"}).status, 401)
      << "the mask is not the secret";

  // A new secret replaces the old one at once.
  doc["trigger"]["webhook"]["auth"]["value"] = token + "-v2";
  ASSERT_EQ(api().Put("/api/v1/flows/" + hid, doc).status, 200);
  EXPECT_EQ(Send(HookPath(header), body, {"X-Token: " + token}).status, 401);
  EXPECT_EQ(Send(HookPath(header), body, {"X-Token: " + token + "-v2"}).status, 202);

  // A clone verifies with the same secret.
  auto clone = api().Post("/api/v1/flows/" + gid + "/clone");
  ASSERT_EQ(clone.status, 201) << clone.body;
  Activate(clone.json);
  EXPECT_EQ(Send(HookPath(clone.json), body, {ghsig(hmac_secret)}).status, 202);

  // An export carries no secret: its import says so, and the flow cannot be
  // activated (so never runs with the mask as its secret) until one is set.
  auto exported = api().Get("/api/v1/flows/" + gid + "/export");
  ASSERT_EQ(exported.status, 200);
  Json import_doc = exported.json;
  import_doc["name"] = UniqueName("enc-gh-imported");
  auto imported = api().Post("/api/v1/flows/import", import_doc);
  ASSERT_EQ(imported.status, 201) << imported.body;
  ASSERT_TRUE(imported.json.contains("warnings")) << imported.body;
  EXPECT_EQ(imported.json["warnings"][0]["path"], "trigger.webhook.auth.secret") << imported.body;
  const std::string iid = imported.json["id"];
  auto refused = api().Post("/api/v1/flows/" + iid + "/activate");
  EXPECT_EQ(refused.status, 400) << refused.body;
  auto refused_paths = ErrorPaths(refused.json);
  EXPECT_NE(std::find(refused_paths.begin(), refused_paths.end(), "trigger.webhook.auth.secret"),
            refused_paths.end())
      << refused.body;
  EXPECT_EQ(api().Get("/api/v1/flows/" + iid).json["active"], false);
  Json fixed = import_doc;
  fixed["trigger"]["webhook"]["auth"]["secret"] = hmac_secret + "-imported";
  ASSERT_EQ(api().Put("/api/v1/flows/" + iid, fixed).status, 200);
  Activate(imported.json);
  EXPECT_EQ(Send(HookPath(imported.json), body, {ghsig(hmac_secret + "-imported")}).status, 202);
  EXPECT_EQ(Send(HookPath(imported.json), body, {ghsig("********")}).status, 401);

  // Nothing on disk holds a secret in clear (SQLite: the database and its WAL).
  if (const char* db = std::getenv("WEFT_TEST_DB"); db && *db)
    return;  // PostgreSQL: no data dir to read
  std::string disk = ReadTree(server().data_dir());
  ASSERT_GT(disk.size(), 0u);
  EXPECT_NE(disk.find("enc:v1:"), std::string::npos) << "sealed secrets are stored";
  EXPECT_EQ(disk.find(token), std::string::npos) << "the header secret is on disk in clear";
  EXPECT_EQ(disk.find(hmac_secret), std::string::npos) << "the hmac secret is on disk in clear";
}

TEST_F(WebhookTest, IdempotencyKeysIncludingConcurrentDuplicates) {
  Json flow = ActiveFlow("idem");
  auto a = Send(HookPath(flow), R"({"x":1})", {"Idempotency-Key: k1"});
  auto b = Send(HookPath(flow), R"({"x":1})", {"Idempotency-Key: k1"});
  ASSERT_EQ(a.status, 202);
  ASSERT_EQ(b.status, 202);
  EXPECT_EQ(a.json["run_id"], b.json["run_id"]);
  std::set<std::string> ids;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i)
    threads.emplace_back([&] {
      auto r = Send(HookPath(flow), R"({"x":2})", {"webhook-id: same-event"});
      std::lock_guard lock(mu);
      ids.insert(r.status == 202 ? r.json.value("run_id", "")
                                 : "status " + std::to_string(r.status));
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(RunCount(flow), 2) << "one run per key";
}

TEST_F(WebhookTest, SyncModeAnswersWithRespondStepOrFails) {
  Json steps = Json::array({Json{{"id", "reply"},
                                 {"uses", "webhook.respond"},
                                 {"with",
                                  {{"status", 201},
                                   {"headers", {{"X-Out", "yes"}}},
                                   {"body", {{"got", "{{ trigger.body.x }}"}}}}}}});
  Json flow = ActiveFlow("sync", Json{{"response", {{"mode", "sync"}}}}, steps);
  auto r = Send(HookPath(flow), R"({"x":"ping"})");
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Header("x-out"), "yes");
  EXPECT_EQ(r.json["got"], "ping");

  Json failing = ActiveFlow(
      "syncfail", Json{{"response", {{"mode", "sync"}}}},
      Json::array({Json{{"id", "boom"}, {"uses", "flow.fail"}, {"with", {{"message", "no"}}}}}));
  auto f = Send(HookPath(failing), R"({"x":1})");
  EXPECT_EQ(f.status, 500) << f.body;
  EXPECT_TRUE(f.json.contains("error"));
  EXPECT_FALSE(f.json.value("run_id", "").empty());

  Json plain = ActiveFlow("syncplain", Json{{"response", {{"mode", "sync"}}}});
  auto p = Send(HookPath(plain), R"({"x":"last"})");
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.json, "last") << "the last step's output";
}

TEST_F(WebhookTest, ManualRunReplaysTheLastDelivery) {
  Json flow = CreateFlow(api(), WebhookFlow("replay"));
  auto none =
      api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/runs", Json::object());
  EXPECT_EQ(none.status, 409);
  EXPECT_EQ(none.json["error"]["code"], "no_delivery");
  EXPECT_EQ(Send(HookPath(flow) + "/p", R"({"x":"kept"})").status,
            409);  // inactive, still replayable
  auto run = RunAndWait(api(), flow["id"]);
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(run.json["trigger"]["type"], "webhook");
  EXPECT_EQ(run.json["trigger"]["path"], "/p");
  EXPECT_EQ(StepOf(run.json, "echo")["output"], "kept");
}

TEST_F(WebhookTest, TwoHundredConcurrentSendersNoLostOrDuplicatedRun) {
  Json flow = ActiveFlow("burst");
  std::set<std::string> ids;
  std::atomic<int> accepted{0};
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int i = 0; i < 200; ++i)
    threads.emplace_back([&, i] {
      auto r = Send(HookPath(flow), R"({"x":)" + std::to_string(i) + "}");
      if (r.status != 202) return;
      ++accepted;
      std::lock_guard lock(mu);
      ids.insert(r.json.value("run_id", ""));
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 200);
  EXPECT_EQ(ids.size(), 200u);
  EXPECT_TRUE(WaitFor([&] { return RunCount(flow) == 200; }, 30s)) << RunCount(flow);
}

}  // namespace
}  // namespace weft::itest
