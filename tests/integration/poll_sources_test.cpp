// The poll sources beyond files (docs/polling.md), against the real binary
// and real local servers: http.new_items against tests/servers/items_server.py
// (an "items changed since" API with cursor pages and bearer auth);
// sqlite.new_rows on a real SQLite file written by the test; s3.new_objects
// against s3rver (tests/servers/s3_server.js) with after: delete and move;
// postgres.new_rows when WEFT_TEST_DB is set:
//   scripts/test-postgres --run build/tests/integration/integration_poll_sources_test
//   build/tests/integration/integration_poll_sources_test
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "connectors/postgres/postgres.h"
#include "connectors/s3/s3.h"
#include "connectors/testing/child_server.h"
#include "connectors/testing/run_action.h"
#include "harness.h"

namespace weft::itest {
namespace {

class HttpItemsTest : public WeftTest {
 protected:
  void SetUp() override {
    WeftTest::SetUp();
    if (HasFatalFailure()) return;
    items_ = std::make_unique<weft::testing::ChildServer>(std::vector<std::string>{
        weft::testing::SystemPython(), std::string(WEFT_TEST_SERVERS_DIR) + "/items_server.py"});
    ASSERT_GT(items_->port(), 0) << items_->error();
    base_ = "http://127.0.0.1:" + std::to_string(items_->port());
    conn_ = UniqueName("items-api");
    HttpResult c = api().Post("/api/v1/connections",
                              Json{{"name", conn_},
                                   {"connector", "http"},
                                   {"settings", {{"base_url", base_}}},
                                   {"auth", {{"type", "bearer"}, {"token", "items-token"}}}});
    ASSERT_EQ(c.status, 201) << c.body;
  }

  // Creates or updates an item at the API (its revision moves on).
  void Put(const std::string& id, const std::string& title) {
    HttpResult r = server_api_.Post(base_ + "/admin/put", Json{{"id", id}, {"title", title}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  Json ItemsFlow(const std::string& every, const std::string& start) {
    return CreateFlow(
        api(),
        Json{{"name", UniqueName("items")},
             {"trigger",
              {{"type", "poll"},
               {"poll",
                {{"every", every},
                 {"start", start},
                 {"source",
                  {{"uses", "http.new_items"},
                   {"connection", conn_},
                   {"with",
                    {{"url", "/items"},
                     {"query", {{"limit", 4}}},
                     {"paginate",
                      {{"type", "cursor"}, {"cursor", "next"}, {"cursor_param", "page_token"}}},
                     {"items", "data"},
                     {"key", "id & \"@\" & $string(updated)"},
                     {"cursor", "$max(items.updated)"},
                     {"cursor_param", "since"}}}}}}}}},
             {"steps",
              {{{"id", "note"},
                {"uses", "data.set"},
                {"with", {{"value", "{{ trigger.item.title }}"}}}}}}});
  }

  std::vector<Json> Runs(const Json& flow) {
    HttpResult r = api().Get("/api/v1/runs?limit=1000&flow_id=" + flow["id"].get<std::string>());
    std::vector<Json> out;
    if (r.status == 200)
      for (const auto& run : r.json["runs"]) out.push_back(run);
    return out;
  }

  Json Log() { return server_api_.Get(base_ + "/admin/log").json; }

  std::unique_ptr<weft::testing::ChildServer> items_;
  std::string base_, conn_;
  Client server_api_{""};
};

TEST_F(HttpItemsTest, EachVersionOfEachItemIsOneRunAndTheCursorAsksOnlyForChanges) {
  for (int i = 0; i < 10; ++i) Put("item-" + std::to_string(i), "v1");
  Json flow = ItemsFlow("1s", "all");
  ASSERT_EQ(api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/activate").status, 200);
  ASSERT_TRUE(WaitFor([&] { return Runs(flow).size() == 10; }, 20s)) << Runs(flow).size();
  // Updates while the flow polls: three of the ten, one of them twice, and two new items.
  Put("item-3", "v2");
  Put("item-7", "v2");
  Put("new-a", "v1");
  std::this_thread::sleep_for(1500ms);
  Put("item-3", "v3");
  Put("new-b", "v1");
  ASSERT_TRUE(WaitFor([&] { return Runs(flow).size() == 15; }, 20s)) << Runs(flow).size();
  std::this_thread::sleep_for(3s);  // more polls: nothing new, no run
  std::vector<Json> runs = Runs(flow);
  ASSERT_EQ(runs.size(), 15u);
  std::map<std::string, std::multiset<std::string>> versions;
  std::set<std::string> keys;
  for (const auto& r : runs) {
    EXPECT_EQ(r["trigger_type"], "poll");
    const Json& item = r["trigger"]["item"];
    versions[item["id"].get<std::string>()].insert(item["title"].get<std::string>());
    EXPECT_TRUE(keys.insert(r["trigger"]["key"].get<std::string>()).second)
        << "twice: " << r["trigger"].dump();
  }
  EXPECT_EQ(versions.size(), 12u);
  EXPECT_EQ(versions["item-3"], (std::multiset<std::string>{"v1", "v2", "v3"}));
  EXPECT_EQ(versions["item-7"], (std::multiset<std::string>{"v1", "v2"}));
  EXPECT_EQ(versions["item-0"], (std::multiset<std::string>{"v1"}));
  EXPECT_EQ(versions["new-b"], (std::multiset<std::string>{"v1"}));
  // The first poll read every page (10 items, 4 a page); later polls sent the
  // committed cursor back and so listed only what changed since.
  Json log = Log();
  ASSERT_GE(log.size(), 5u);
  EXPECT_FALSE(log[0].contains("since")) << log.dump();
  EXPECT_EQ(log[1]["page_token"].is_string(), true) << log.dump();
  int with_since = 0;
  for (const auto& q : log)
    if (q.contains("since")) {
      ++with_since;
      EXPECT_GE(std::stoi(q["since"].get<std::string>()), 10) << q.dump();
    }
  EXPECT_GE(with_since, 3) << log.dump();
  // The runs ran, with the item in the trigger.
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& r : Runs(flow))
          if (r["status"] != "succeeded") return false;
        return true;
      },
      30s));
}

TEST_F(HttpItemsTest, CheckNowShowsTheNewVersionsAndChangesNothing) {
  for (int i = 0; i < 6; ++i) Put("item-" + std::to_string(i), "v1");
  Json flow = ItemsFlow("1h", "new");  // the baseline poll at once, the next in an hour
  const std::string id = flow["id"];
  ASSERT_EQ(api().Post("/api/v1/flows/" + id + "/activate").status, 200);
  ASSERT_TRUE(WaitFor(
      [&] {
        HttpResult c = api().Post("/api/v1/flows/" + id + "/poll/check");
        return c.status == 200 && c.json["baseline"] == false;
      },
      15s));
  Put("item-2", "v2");
  Put("fresh", "v1");
  for (int i = 0; i < 2; ++i) {
    HttpResult c = api().Post("/api/v1/flows/" + id + "/poll/check");
    ASSERT_EQ(c.status, 200) << c.body;
    ASSERT_EQ(c.json["items"].size(), 2u) << c.body;
    std::set<std::string> got;
    for (const auto& it : c.json["items"])
      got.insert(it["item"]["id"].get<std::string>() + "/" +
                 it["item"]["title"].get<std::string>());
    EXPECT_EQ(got, (std::set<std::string>{"item-2/v2", "fresh/v1"}));
    EXPECT_EQ(c.json["cursor"]["since"], 6) << c.body;  // the baseline's newest revision
    EXPECT_EQ(c.json["next_cursor"]["since"], 8) << c.body;
  }
  // No run, and the committed cursor did not move: the check asked with since=6 each time.
  EXPECT_TRUE(Runs(flow).empty());
  Json log = Log();
  ASSERT_GE(log.size(), 3u);
  EXPECT_EQ(log[log.size() - 1]["since"], "6") << log.dump();
  EXPECT_EQ(log[log.size() - 2]["since"], "6") << log.dump();
}

// A user manifest's trigger (docs/connector-manifests.md#triggers) over the
// same API: the connection, auth, base URL and pagination are the manifest's,
// the flow names only `<app>.items_changed` and its inputs.
class ManifestTriggerTest : public HttpItemsTest {
 protected:
  void SetUp() override {
    HttpItemsTest::SetUp();
    if (HasFatalFailure()) return;
    app_ = UniqueName("items_app");
    std::replace(app_.begin(), app_.end(), '-', '_');
    std::string manifest = "name: " + app_ + R"(
title: Items App
connection:
  fields: [{name: base_url, title: Base URL, required: true}]
  base_url: "{{ connection.base_url }}"
  auth: {type: bearer}
pagination:
  tokens: {type: cursor, items: data, cursor: next, param: page_token, max_pages: 50}
actions:
  list_items: {path: /items, paginate: tokens}
triggers:
  items_changed:
    title: Items changed
    description: Each new version of each item.
    path: /items
    query: {limit: "{{ input.page_size }}"}
    paginate: tokens
    key: id & "@" & $string(updated)
    cursor: $max(items.updated)
    cursor_param: since
    ordered: true
    input:
      type: object
      properties:
        page_size: {type: integer, default: 4, description: Items per page.}
)";
    HttpResult m = api().PostRaw("/api/v1/connectors", manifest, "application/yaml");
    ASSERT_EQ(m.status, 201) << m.body;
    app_conn_ = UniqueName("items-app");
    HttpResult c = api().Post("/api/v1/connections",
                              Json{{"name", app_conn_},
                                   {"connector", app_},
                                   {"settings", {{"base_url", base_}}},
                                   {"auth", {{"type", "bearer"}, {"token", "items-token"}}}});
    ASSERT_EQ(c.status, 201) << c.body;
  }

  Json TriggerFlow(const std::string& every, const std::string& start, Json with) {
    return Json{{"name", UniqueName("app-items")},
                {"trigger",
                 {{"type", "poll"},
                  {"poll",
                   {{"every", every},
                    {"start", start},
                    {"source",
                     {{"uses", app_ + ".items_changed"},
                      {"connection", app_conn_},
                      {"with", std::move(with)}}}}}}},
                {"steps",
                 {{{"id", "note"},
                   {"uses", "data.set"},
                   {"with", {{"value", "{{ trigger.item.title }}"}}}}}}};
  }

  std::string app_, app_conn_;
};

TEST_F(ManifestTriggerTest, AManifestTriggerEmitsEachNewVersionOnce) {
  // Its `with` is checked against the trigger's input schema on save.
  HttpResult bad =
      api().Post("/api/v1/flows", TriggerFlow("1s", "all", Json{{"page_size", "four"}, {"x", 1}}));
  ASSERT_EQ(bad.status, 400) << bad.body;
  auto paths = ErrorPaths(bad.json);
  EXPECT_NE(std::find(paths.begin(), paths.end(), "trigger.poll.source.with.page_size"),
            paths.end())
      << bad.body;
  EXPECT_NE(std::find(paths.begin(), paths.end(), "trigger.poll.source.with.x"), paths.end())
      << bad.body;

  for (int i = 0; i < 10; ++i) Put("item-" + std::to_string(i), "v1");
  Json flow = CreateFlow(api(), TriggerFlow("1s", "all", Json{{"page_size", 3}}));
  ASSERT_EQ(api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/activate").status, 200);
  ASSERT_TRUE(WaitFor([&] { return Runs(flow).size() == 10; }, 20s)) << Runs(flow).size();
  Put("item-4", "v2");
  Put("new-a", "v1");
  std::this_thread::sleep_for(1500ms);
  Put("item-4", "v3");
  ASSERT_TRUE(WaitFor([&] { return Runs(flow).size() == 13; }, 20s)) << Runs(flow).size();
  std::this_thread::sleep_for(3s);  // more polls: nothing new, no run
  std::vector<Json> runs = Runs(flow);
  ASSERT_EQ(runs.size(), 13u);
  std::map<std::string, std::multiset<std::string>> versions;
  for (const auto& r : runs) {
    const Json& item = r["trigger"]["item"];
    versions[item["id"].get<std::string>()].insert(item["title"].get<std::string>());
  }
  EXPECT_EQ(versions.size(), 11u);
  EXPECT_EQ(versions["item-4"], (std::multiset<std::string>{"v1", "v2", "v3"}));
  EXPECT_EQ(versions["new-a"], (std::multiset<std::string>{"v1"}));
  // The manifest's request: its page size from the input, its cursor pages
  // on the first poll (10 items, 3 a page), then only what changed since.
  Json log = Log();
  ASSERT_GE(log.size(), 5u) << log.dump();
  EXPECT_EQ(log[0]["limit"], "3") << log.dump();
  EXPECT_FALSE(log[0].contains("since")) << log.dump();
  EXPECT_TRUE(log[1]["page_token"].is_string()) << log.dump();
  int with_since = 0;
  for (const auto& q : log)
    if (q.contains("since")) {
      ++with_since;
      EXPECT_GE(std::stoi(q["since"].get<std::string>()), 10) << q.dump();
    }
  EXPECT_GE(with_since, 3) << log.dump();
}

TEST_F(ManifestTriggerTest, CheckNowListsTheNewItemsOfAManifestTrigger) {
  for (int i = 0; i < 5; ++i) Put("item-" + std::to_string(i), "v1");
  Json flow = CreateFlow(api(), TriggerFlow("1h", "new", Json::object()));
  const std::string id = flow["id"];
  ASSERT_EQ(api().Post("/api/v1/flows/" + id + "/activate").status, 200);
  ASSERT_TRUE(WaitFor(
      [&] {
        HttpResult c = api().Post("/api/v1/flows/" + id + "/poll/check");
        return c.status == 200 && c.json["baseline"] == false;
      },
      15s));
  Put("item-1", "v2");
  Put("fresh", "v1");
  HttpResult c = api().Post("/api/v1/flows/" + id + "/poll/check");
  ASSERT_EQ(c.status, 200) << c.body;
  std::set<std::string> got;
  for (const auto& it : c.json["items"])
    got.insert(it["item"]["id"].get<std::string>() + "/" + it["item"]["title"].get<std::string>());
  EXPECT_EQ(got, (std::set<std::string>{"item-1/v2", "fresh/v1"})) << c.body;
  EXPECT_EQ(c.json["cursor"]["since"], 5) << c.body;
  EXPECT_EQ(c.json["next_cursor"]["since"], 7) << c.body;
  EXPECT_TRUE(Runs(flow).empty());
  // The default page size from the input schema went to the API.
  Json log = Log();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back()["limit"], "4") << log.dump();
  EXPECT_EQ(log.back()["since"], "5") << log.dump();
}

TEST_F(HttpItemsTest, ABadKeyExpressionIsAFailedPollNamingTheField) {
  Put("x", "v1");
  Json flow = CreateFlow(
      api(),
      Json{{"name", UniqueName("bad-key")},
           {"trigger",
            {{"type", "poll"},
             {"poll",
              {{"every", "1h"},
               {"start", "all"},
               {"source",
                {{"uses", "http.new_items"},
                 {"connection", conn_},
                 {"with", {{"url", "/items"}, {"items", "data"}, {"key", "no_such_field"}}}}}}}}},
           {"steps", Json::array()}});
  HttpResult c = api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/poll/check");
  EXPECT_EQ(c.status, 400) << c.body;
  EXPECT_NE(c.body.find("with.key"), std::string::npos) << c.body;
}

// A backlog of 2,500 items, more than one poll emits (1,000): with ordered
// (the API lists oldest first) each poll stops at the page that brought its
// 1,000th new item and moves the cursor there, so the backlog is read once,
// not once per poll; every item is one run.
TEST_F(HttpItemsTest, AnOrderedBacklogIsReadOnceAcrossPolls) {
  for (int i = 0; i < 2500; ++i) Put("item-" + std::to_string(100000 + i), "v1");
  Json flow = CreateFlow(api(), Json{{"name", UniqueName("backlog")},
                                     {"trigger",
                                      {{"type", "poll"},
                                       {"poll",
                                        {{"every", "1h"},
                                         {"start", "all"},
                                         {"source",
                                          {{"uses", "http.new_items"},
                                           {"connection", conn_},
                                           {"with",
                                            {{"url", "/items"},
                                             {"query", {{"limit", 50}}},
                                             {"paginate",
                                              {{"type", "cursor"},
                                               {"cursor", "next"},
                                               {"cursor_param", "page_token"},
                                               {"max_pages", 1000}}},
                                             {"items", "data"},
                                             {"key", "id"},
                                             {"cursor", "$max(items.updated)"},
                                             {"ordered", true}}}}}}}}},
                                     {"steps", Json::array()}});
  ASSERT_EQ(api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/activate").status, 200);
  auto count = [&] {
    size_t n = 0;
    std::string cursor;
    for (int page = 0; page < 10; ++page) {
      HttpResult r = api().Get("/api/v1/runs?limit=1000&flow_id=" + flow["id"].get<std::string>() +
                               (cursor.empty() ? "" : "&cursor=" + cursor));
      n += r.json["runs"].size();
      cursor = r.json.value("next_cursor", Json("")).is_string()
                   ? r.json.value("next_cursor", std::string())
                   : "";
      if (cursor.empty()) break;
    }
    return n;
  };
  ASSERT_TRUE(WaitFor([&] { return count() >= 2500; }, 60s)) << count();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(count(), 2500u);
  // 2,500 items in pages of 50 are 50 pages; three polls (1,000 + 1,000 +
  // 500) each read again only the page they stopped in.
  Json log = Log();
  EXPECT_LE(log.size(), 56u) << log.size() << " requests";
}

// sqlite.new_rows: a table that grows while the flow polls every second, in
// pages of 7: each row is one run, in id order; start: new skips the rows
// that existed at activation.
class SqliteRowsTest : public WeftTest {
 protected:
  void SetUp() override {
    WeftTest::SetUp();
    if (HasFatalFailure()) return;
    path_ = server().temp_dir() + "/shop.db";
    Exec("CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, sku TEXT)");
    conn_ = UniqueName("shop");
    HttpResult c =
        api().Post("/api/v1/connections",
                   Json{{"name", conn_}, {"connector", "sqlite"}, {"settings", {{"path", path_}}}});
    ASSERT_EQ(c.status, 201) << c.body;
  }
  void Exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string message = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message;
  }
  void Insert(int from, int to) {
    std::string sql = "BEGIN;";
    for (int i = from; i < to; ++i)
      sql += "INSERT INTO orders (sku) VALUES ('sku-" + std::to_string(i) + "');";
    Exec(sql + "COMMIT;");
  }
  Json RowsFlow(const std::string& start) {
    Json flow =
        CreateFlow(api(), Json{{"name", UniqueName("rows")},
                               {"trigger",
                                {{"type", "poll"},
                                 {"poll",
                                  {{"every", "1s"},
                                   {"start", start},
                                   {"source",
                                    {{"uses", "sqlite.new_rows"},
                                     {"connection", conn_},
                                     {"with",
                                      {{"query", "SELECT id, sku FROM orders WHERE id > :cursor"},
                                       {"cursor", "id"},
                                       {"page_size", 7}}}}}}}}},
                               {"steps", Json::array()}});
    EXPECT_EQ(api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/activate").status,
              200);
    return flow;
  }
  std::vector<int64_t> RunIds(const Json& flow) {
    HttpResult r = api().Get("/api/v1/runs?limit=1000&flow_id=" + flow["id"].get<std::string>());
    std::vector<int64_t> ids;
    for (const auto& run : r.json["runs"]) ids.push_back(run["trigger"]["item"]["id"]);
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  std::string path_, conn_;
};

TEST_F(SqliteRowsTest, EachRowIsOneRunWhileTheTableGrows) {
  Insert(0, 20);
  Json flow = RowsFlow("all");
  std::thread writer([&] {
    for (int burst = 0; burst < 8; ++burst) {
      Insert(20 + burst * 10, 30 + burst * 10);
      std::this_thread::sleep_for(300ms);
    }
  });
  writer.join();
  ASSERT_TRUE(WaitFor([&] { return RunIds(flow).size() >= 100; }, 30s)) << RunIds(flow).size();
  std::this_thread::sleep_for(2s);
  std::vector<int64_t> ids = RunIds(flow);
  ASSERT_EQ(ids.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ids[i], i + 1);
  HttpResult check = api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/poll/check");
  ASSERT_EQ(check.status, 200) << check.body;
  EXPECT_TRUE(check.json["items"].empty()) << check.body;
  EXPECT_EQ(check.json["cursor"]["value"], 100) << check.body;
}

TEST_F(SqliteRowsTest, StartNewBeginsAfterTheRowsThatExist) {
  Insert(0, 50);
  Json flow = RowsFlow("new");
  ASSERT_TRUE(WaitFor(
      [&] {
        HttpResult c = api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/poll/check");
        return c.status == 200 && c.json["baseline"] == false;
      },
      15s));
  Insert(50, 53);
  ASSERT_TRUE(WaitFor([&] { return RunIds(flow).size() >= 3; }, 15s));
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(RunIds(flow), (std::vector<int64_t>{51, 52, 53}));
}

// s3.new_objects with after: delete: each matching object directly under the
// prefix is one run (its content in the file value) and is deleted once the
// run is committed; what the pattern or the prefix leaves out stays; an
// object written again under the same key is a new item. Then after: move.
TEST_F(WeftTest, S3NewObjectsWithAfterDeleteOrMoveEmitsEachObjectOnce) {
  if (access(WEFT_TEST_SERVERS_DIR "/node_modules/s3rver/package.json", R_OK) != 0)
    GTEST_SKIP() << "s3rver is not installed (scripts/install-deps runs npm ci in tests/servers)";
  std::string dir = server().temp_dir() + "/s3";
  std::filesystem::create_directories(dir);
  weft::testing::ChildServer s3(
      std::vector<std::string>{"node", WEFT_TEST_SERVERS_DIR "/s3_server.js", dir});
  ASSERT_GT(s3.port(), 0) << s3.error();
  Json settings = {{"bucket", "test-bucket"},
                   {"endpoint", "http://127.0.0.1:" + std::to_string(s3.port())},
                   {"path_style", true}};
  Json auth = {
      {"type", "access_key"}, {"access_key_id", "S3RVER"}, {"secret_access_key", "S3RVER"}};
  ActionCatalog catalog;
  connectors::RegisterS3(catalog);
  Connection direct = weft::testing::MakeConnection("s3", settings, auth);
  auto put = [&](const std::string& key, const std::string& content) {
    auto r =
        weft::testing::RunAction(catalog, "s3.put", {{"key", key}, {"content", content}}, &direct);
    ASSERT_FALSE(r.outcome.error) << r.error();
  };
  auto keys = [&] {
    std::set<std::string> out;
    auto r = weft::testing::RunAction(catalog, "s3.list", Json::object(), &direct);
    for (const auto& o : r.output()["objects"]) out.insert(o["key"].get<std::string>());
    return out;
  };
  std::string conn = UniqueName("bucket");
  HttpResult c =
      api().Post("/api/v1/connections",
                 Json{{"name", conn}, {"connector", "s3"}, {"settings", settings}, {"auth", auth}});
  ASSERT_EQ(c.status, 201) << c.body;
  Json flow = CreateFlow(api(), Json{{"name", UniqueName("s3-poll")},
                                     {"trigger",
                                      {{"type", "poll"},
                                       {"poll",
                                        {{"every", "1s"},
                                         {"start", "all"},
                                         {"source",
                                          {{"uses", "s3.new_objects"},
                                           {"connection", conn},
                                           {"with",
                                            {{"prefix", "inbound/"},
                                             {"pattern", "*.csv"},
                                             {"recursive", false},
                                             {"after", "delete"}}}}}}}}},
                                     {"steps", Json::array()}});
  for (int i = 0; i < 5; ++i)
    put("inbound/order-" + std::to_string(i) + ".csv", "id\n" + std::to_string(i) + "\n");
  put("inbound/notes.txt", "not a csv");
  put("inbound/archive/old.csv", "below the prefix's folder");
  put("elsewhere/x.csv", "another prefix");
  ASSERT_EQ(api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/activate").status, 200);
  const std::set<std::string> left = {"inbound/notes.txt", "inbound/archive/old.csv",
                                      "elsewhere/x.csv"};
  ASSERT_TRUE(WaitFor([&] { return keys() == left; }, 30s)) << keys().size();
  std::this_thread::sleep_for(2s);
  auto runs = [&] {
    return api().Get("/api/v1/runs?flow_id=" + flow["id"].get<std::string>()).json["runs"];
  };
  Json all = runs();
  ASSERT_EQ(all.size(), 5u) << all.dump();
  std::set<std::string> names;
  for (const auto& r : all) {
    const Json& item = r["trigger"]["item"];
    names.insert(item["name"].get<std::string>());
    EXPECT_EQ(item["key"], "inbound/" + item["name"].get<std::string>());
    EXPECT_FALSE(item["etag"].get<std::string>().empty());
    if (std::getenv("WEFT_TEST_DB")) continue;  // files are off with PostgreSQL
    ASSERT_EQ(item["file"]["type"], "file") << item.dump();
    HttpResult bytes = api().Get("/api/v1/files/" + item["file"]["id"].get<std::string>());
    EXPECT_EQ(bytes.body, "id\n" + item["name"].get<std::string>().substr(6, 1) + "\n");
  }
  EXPECT_EQ(names.size(), 5u);
  // Written again under a key emitted before: a new object, a new run.
  put("inbound/order-0.csv", "id\n0\n0\n");
  ASSERT_TRUE(WaitFor([&] { return runs().size() == 6; }, 20s));
  ASSERT_TRUE(WaitFor([&] { return keys() == left; }, 20s));

  // after: move copies each object under move_to (keeping the key below the
  // prefix) and deletes it; one run each.
  Json mover = CreateFlow(
      api(),
      Json{{"name", UniqueName("s3-move")},
           {"trigger",
            {{"type", "poll"},
             {"poll",
              {{"every", "1s"},
               {"start", "all"},
               {"source",
                {{"uses", "s3.new_objects"},
                 {"connection", conn},
                 {"with", {{"prefix", "drop/"}, {"after", "move"}, {"move_to", "done"}}}}}}}}},
           {"steps", Json::array()}});
  put("drop/a.csv", "a");
  put("drop/deep/b.csv", "bb");
  ASSERT_EQ(api().Post("/api/v1/flows/" + mover["id"].get<std::string>() + "/activate").status,
            200);
  std::set<std::string> moved = left;
  moved.insert({"done/a.csv", "done/deep/b.csv"});
  ASSERT_TRUE(WaitFor([&] { return keys() == moved; }, 30s)) << keys().size();
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(api().Get("/api/v1/runs?flow_id=" + mover["id"].get<std::string>()).json["runs"].size(),
            2u);
  auto got = weft::testing::RunAction(catalog, "s3.get", {{"key", "done/deep/b.csv"}}, &direct);
  EXPECT_EQ(got.output()["content"], "bb") << got.error();
}

// postgres.new_rows through the binary (with WEFT_TEST_DB): start: new with
// the xmin guard records the horizon, then each row written after it is one
// run, and Check now shows nothing left.
TEST_F(WeftTest, PostgresNewRowsStartNewEmitsOnlyTheRowsWrittenAfterActivation) {
  const char* url = std::getenv("WEFT_TEST_DB");
  if (!url || !*url) GTEST_SKIP() << "WEFT_TEST_DB is not set";
  ActionCatalog catalog;
  connectors::RegisterPostgres(catalog);
  Connection direct = weft::testing::MakeConnection("postgres", {{"url", url}}, {{"type", "none"}});
  std::string table = "poll_rows_" + UniqueName("t").substr(2);
  for (auto& ch : table) ch = ch == '-' ? '_' : static_cast<char>(std::tolower(ch));
  auto sql = [&](const std::string& text) {
    auto r = weft::testing::RunAction(catalog, "postgres.execute", {{"sql", text}}, &direct);
    ASSERT_FALSE(r.outcome.error) << r.error();
  };
  sql("CREATE TABLE " + table + " (id bigserial PRIMARY KEY, sku text)");
  sql("INSERT INTO " + table + " (sku) SELECT 'old-' || g FROM generate_series(1, 5) g");
  std::string conn = UniqueName("pg");
  ASSERT_EQ(api()
                .Post("/api/v1/connections", Json{{"name", conn},
                                                  {"connector", "postgres"},
                                                  {"settings", {{"url", url}}},
                                                  {"auth", {{"type", "none"}}}})
                .status,
            201);
  Json flow = CreateFlow(
      api(),
      Json{{"name", UniqueName("pg-rows")},
           {"trigger",
            {{"type", "poll"},
             {"poll",
              {{"every", "1s"},
               {"start", "new"},
               {"source",
                {{"uses", "postgres.new_rows"},
                 {"connection", conn},
                 {"with", {{"query", "SELECT *, xmin FROM " + table}, {"cursor", "id"}}}}}}}}},
           {"steps", Json::array()}});
  const std::string id = flow["id"];
  ASSERT_EQ(api().Post("/api/v1/flows/" + id + "/activate").status, 200);
  ASSERT_TRUE(WaitFor(
      [&] {
        HttpResult c = api().Post("/api/v1/flows/" + id + "/poll/check");
        return c.status == 200 && c.json["baseline"] == false;
      },
      15s));
  sql("INSERT INTO " + table + " (sku) VALUES ('new-1'), ('new-2'), ('new-3')");
  auto runs = [&] { return api().Get("/api/v1/runs?flow_id=" + id).json["runs"]; };
  ASSERT_TRUE(WaitFor([&] { return runs().size() >= 3; }, 15s));
  std::this_thread::sleep_for(2s);
  std::set<std::string> skus;
  for (const auto& r : runs()) skus.insert(r["trigger"]["item"]["sku"].get<std::string>());
  EXPECT_EQ(skus, (std::set<std::string>{"new-1", "new-2", "new-3"}));
  EXPECT_EQ(runs().size(), 3u);
  HttpResult check = api().Post("/api/v1/flows/" + id + "/poll/check");
  ASSERT_EQ(check.status, 200) << check.body;
  EXPECT_TRUE(check.json["items"].empty()) << check.body;
  ASSERT_EQ(api().Post("/api/v1/flows/" + id + "/deactivate").status, 200);
  sql("DROP TABLE " + table);
}

}  // namespace
}  // namespace weft::itest
