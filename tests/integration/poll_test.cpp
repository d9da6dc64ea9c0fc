// Poll triggers ("New data", docs/polling.md) against Debian's OpenSSH sshd,
// started here on a loopback port with a temp host key and an authorized key:
// 1,000 files dropped in bursts while the flow polls every second, with two
// kill -9s of weft in the middle, make exactly 1,000 runs and are each moved
// to done/ once; a file still growing is picked only once it stopped, whole;
// start: new records what exists without runs and deactivation stops polling;
// Check now shows what the next poll picks and changes nothing; a source that
// is down is a failed run with its error. With WEFT_TEST_DB the servers run
// on PostgreSQL (files are off there: items carry metadata only):
//   scripts/test-postgres --run build/tests/integration/integration_poll_test
#include <openssl/evp.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "connectors/testing/child_server.h"
#include "harness.h"

namespace weft::itest {
namespace {

namespace fs = std::filesystem;

std::string Sha256(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

size_t CountFiles(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file()) ++n;
  return n;
}

class PollTest : public WeftTest {
 protected:
  void SetUp() override {
    if (access("/usr/sbin/sshd", X_OK) != 0) GTEST_SKIP() << "no /usr/sbin/sshd (openssh-server)";
    if (getuid() == 0) {
      std::error_code ec;
      fs::create_directories("/run/sshd", ec);
    }
    WeftTest::SetUp();
    if (HasFatalFailure()) return;
    dir_ = weft::testing::MakeTempDir("weft-poll");
    root_ = dir_ + "/files";
    fs::create_directories(root_ + "/in");
    fs::create_directories(root_ + "/done");
    for (const char* k : {"host_key", "user_key"}) {
      std::string cmd =
          "ssh-keygen -q -t ecdsa -b 256 -N '' -f " + dir_ + "/" + k + " >/dev/null 2>&1";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    fs::copy_file(dir_ + "/user_key.pub", dir_ + "/authorized_keys");
    port_ = weft::testing::FreePort();
    std::ofstream cfg(dir_ + "/sshd_config");
    cfg << "Port " << port_ << "\nListenAddress 127.0.0.1\nHostKey " << dir_ << "/host_key\n"
        << "AuthorizedKeysFile " << dir_ << "/authorized_keys\nPidFile " << dir_ << "/sshd.pid\n"
        << "StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        << "PubkeyAuthentication yes\nPermitRootLogin yes\nSubsystem sftp internal-sftp\n"
        << "MaxStartups 100\nMaxSessions 100\n";
    cfg.close();
    sshd_ = std::make_unique<weft::testing::ChildServer>(
        std::vector<std::string>{"/usr/sbin/sshd", "-D", "-f", dir_ + "/sshd_config", "-E",
                                 dir_ + "/sshd.log"},
        port_, 15'000);
    ASSERT_NE(sshd_->port(), 0) << sshd_->error() << weft::testing::ReadFile(dir_ + "/sshd.log");
    std::string user = getenv("USER") ? getenv("USER") : "root";
    if (getuid() == 0) user = "root";
    conn_ = UniqueName("drop");
    HttpResult c =
        api().Post("/api/v1/connections",
                   Json{{"name", conn_},
                        {"connector", "sftp"},
                        {"settings", {{"host", "127.0.0.1"}, {"port", port_}}},
                        {"auth",
                         {{"type", "private_key"},
                          {"username", user},
                          {"private_key", weft::testing::ReadFile(dir_ + "/user_key")}}}});
    ASSERT_EQ(c.status, 201) << c.body;
  }
  void TearDown() override {
    sshd_.reset();
    if (!dir_.empty()) weft::testing::RemoveTree(dir_);
  }

  // A flow polling the in/ folder; `with` adds to {folder}.
  Json PollFlow(const std::string& every, Json with, const std::string& start = "all",
                const std::string& connection = "") {
    with["folder"] = root_ + "/in";
    return CreateFlow(api(), Json{{"name", UniqueName("poll")},
                                  {"trigger",
                                   {{"type", "poll"},
                                    {"poll",
                                     {{"every", every},
                                      {"start", start},
                                      {"source",
                                       {{"uses", "sftp.new_files"},
                                        {"connection", connection.empty() ? conn_ : connection},
                                        {"with", with}}}}}}},
                                  {"steps",
                                   {{{"id", "note"},
                                     {"uses", "data.set"},
                                     {"with", {{"value", "{{ trigger.item.name }}"}}}}}}});
  }

  void Activate(const Json& flow) {
    HttpResult r = api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/activate");
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // Every run of the flow, paged.
  std::vector<Json> Runs(const Json& flow) {
    std::vector<Json> out;
    std::string cursor;
    for (int page = 0; page < 100; ++page) {
      HttpResult r = api().Get("/api/v1/runs?limit=1000&flow_id=" + flow["id"].get<std::string>() +
                               (cursor.empty() ? "" : "&cursor=" + cursor));
      if (r.status != 200) break;
      for (const auto& run : r.json["runs"]) out.push_back(run);
      cursor = r.json.contains("next_cursor") && r.json["next_cursor"].is_string()
                   ? r.json["next_cursor"].get<std::string>()
                   : "";
      if (cursor.empty()) break;
    }
    return out;
  }

  HttpResult Check(const Json& flow) {
    return api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/poll/check");
  }

  std::string dir_, root_, conn_;
  int port_ = 0;
  std::unique_ptr<weft::testing::ChildServer> sshd_;
};

TEST_F(PollTest, AThousandFilesInBurstsWithTwoKillsMakeAThousandRunsAndMoveEachOnce) {
  const int kFiles = 1000;
  Json flow =
      PollFlow("1s", Json{{"pattern", "*.csv"}, {"after", "move"}, {"move_to", root_ + "/done"}});
  Activate(flow);
  // The writer drops files in bursts of 50, each written under another name
  // and renamed, as a careful sender does (a half-written file is never
  // listed under its name).
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; i < kFiles; ++i) {
      std::string name = "order-" + std::to_string(10000 + i) + ".csv";
      WriteFile(root_ + "/in/" + name + ".part", "id,qty\n" + std::to_string(i) + ",1\n");
      fs::rename(root_ + "/in/" + name + ".part", root_ + "/in/" + name);
      ++written;
      if (i % 50 == 49) std::this_thread::sleep_for(600ms);  // about 12 s in all
    }
  });
  // Two kill -9s while files arrive and move.
  std::vector<int> written_at_kill;
  // Each once files have arrived and moved for a while, and more are coming.
  for (auto [arrived, moved] : {std::pair<int, size_t>{300, 100}, {700, 400}}) {
    ASSERT_TRUE(WaitFor(
        [&] { return written.load() >= arrived && CountFiles(root_ + "/done") >= moved; }, 120s))
        << CountFiles(root_ + "/done") << " moved\n"
        << server().Logs().substr(0, 4000);
    written_at_kill.push_back(written.load());
    server().Kill9();
    std::this_thread::sleep_for(200ms);
    server().Start();
  }
  writer.join();
  // Both kills came while files were still arriving; three starts in all.
  EXPECT_LT(written_at_kill[1], kFiles);
  std::string logs = server().Logs();
  size_t starts = 0;
  for (size_t p = logs.find("weft serving"); p != std::string::npos;
       p = logs.find("weft serving", p + 1))
    ++starts;
  EXPECT_EQ(starts, 3u);
  ASSERT_TRUE(WaitFor([&] { return CountFiles(root_ + "/done") == kFiles; }, 180s))
      << CountFiles(root_ + "/done") << " of " << kFiles << " moved";
  EXPECT_EQ(CountFiles(root_ + "/in"), 0u);
  // Every run exists once the files moved (the move follows the commit).
  std::vector<Json> runs = Runs(flow);
  ASSERT_EQ(runs.size(), static_cast<size_t>(kFiles));
  std::set<std::string> names;
  for (const auto& r : runs) {
    EXPECT_EQ(r["trigger_type"], "poll");
    EXPECT_TRUE(names.insert(r["trigger"]["item"]["name"].get<std::string>()).second)
        << "twice: " << r["trigger"]["item"].dump();
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kFiles));
  // Each file in done/ once, whole.
  for (int i = 0; i < kFiles; i += 97) {
    std::string name = "order-" + std::to_string(10000 + i) + ".csv";
    EXPECT_EQ(weft::testing::ReadFile(root_ + "/done/" + name),
              "id,qty\n" + std::to_string(i) + ",1\n");
  }
  // And every run finishes; its file value is the file's content.
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& r : Runs(flow))
          if (r["status"] != "succeeded") return false;
        return true;
      },
      120s));
  if (std::getenv("WEFT_TEST_DB")) return;  // files are off with PostgreSQL: metadata only
  Json one = WaitRunFinished(api(), runs[0]["id"]);
  Json file = one["trigger"]["item"]["file"];
  ASSERT_EQ(file["type"], "file") << one["trigger"].dump();
  HttpResult bytes = api().Get("/api/v1/files/" + file["id"].get<std::string>());
  EXPECT_EQ(bytes.body.substr(0, 7), "id,qty\n");
}

TEST_F(PollTest, AFileGrowingForFiveSecondsIsPickedOnceWholeAfterItStops) {
  Json flow = PollFlow("1s", Json{{"stable_for", "2s"}});
  Activate(flow);
  std::string content;
  {
    std::ofstream out(root_ + "/in/growing.csv", std::ios::binary);
    for (int i = 0; i < 20; ++i) {  // 5 s
      std::string chunk(1000 + i, static_cast<char>('a' + i % 26));
      content += chunk;
      out << chunk;
      out.flush();
      std::this_thread::sleep_for(250ms);
      EXPECT_TRUE(Runs(flow).empty()) << "picked while growing, after " << (i + 1) * 250 << " ms";
    }
  }
  ASSERT_TRUE(WaitFor([&] { return !Runs(flow).empty(); }, 20s));
  std::this_thread::sleep_for(3s);  // no second run for the same file
  std::vector<Json> runs = Runs(flow);
  ASSERT_EQ(runs.size(), 1u);
  Json item = runs[0]["trigger"]["item"];
  EXPECT_EQ(item["size"], content.size());
  if (std::getenv("WEFT_TEST_DB")) return;  // files are off with PostgreSQL: metadata only
  EXPECT_EQ(item["file"]["size"], content.size());
  EXPECT_EQ(item["file"]["sha256"], Sha256(content));
}

TEST_F(PollTest, StartNewRecordsWhatExistsAndDeactivationStopsPolling) {
  WriteFile(root_ + "/in/a.csv", "a");
  WriteFile(root_ + "/in/b.csv", "b");
  Json flow = PollFlow("1s", Json::object(), "new");
  Activate(flow);
  ASSERT_TRUE(WaitFor(
      [&] {
        HttpResult c = Check(flow);
        return c.status == 200 && c.json["baseline"] == false && c.json["known"] == 2;
      },
      15s));
  WriteFile(root_ + "/in/c.csv", "c");
  ASSERT_TRUE(WaitFor([&] { return Runs(flow).size() == 1; }, 15s));
  std::this_thread::sleep_for(2s);
  std::vector<Json> runs = Runs(flow);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["trigger"]["item"]["name"], "c.csv");
  EXPECT_EQ(runs[0]["trigger"]["key"].get<std::string>().rfind(root_ + "/in/c.csv|1|", 0), 0u);

  // Deactivated: a new file is not picked.
  const std::string id = flow["id"];
  ASSERT_EQ(api().Post("/api/v1/flows/" + id + "/deactivate").status, 200);
  WriteFile(root_ + "/in/d.csv", "d");
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(Runs(flow).size(), 1u);
  // Reactivated with start: new: d existed at activation, so it is no item.
  Activate(flow);
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(Runs(flow).size(), 1u);
  WriteFile(root_ + "/in/e.csv", "e");
  ASSERT_TRUE(WaitFor([&] { return Runs(flow).size() == 2; }, 15s));
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(Runs(flow).size(), 2u);
}

TEST_F(PollTest, CheckNowShowsTheNextItemsAndChangesNothing) {
  WriteFile(root_ + "/in/a.csv", "a");
  Json flow = PollFlow("1h", Json{{"after", "move"}, {"move_to", root_ + "/done"}});
  Activate(flow);  // the first poll is at once, the next in an hour
  ASSERT_TRUE(WaitFor([&] { return Runs(flow).size() == 1; }, 15s));
  ASSERT_TRUE(WaitFor([&] { return fs::exists(root_ + "/done/a.csv"); }, 15s));
  WriteFile(root_ + "/in/b.csv", "bb");
  WriteFile(root_ + "/in/c.txt", "ccc");
  for (int i = 0; i < 3; ++i) {
    HttpResult c = Check(flow);
    ASSERT_EQ(c.status, 200) << c.body;
    ASSERT_EQ(c.json["items"].size(), 2u) << c.body;
    std::set<std::string> names;
    for (const auto& it : c.json["items"]) {
      names.insert(it["item"]["name"].get<std::string>());
      EXPECT_FALSE(it["item"].contains("file"));  // nothing downloaded
    }
    EXPECT_EQ(names, (std::set<std::string>{"b.csv", "c.txt"}));
    EXPECT_EQ(c.json["baseline"], false);
    EXPECT_TRUE(c.json.contains("last_poll_at"));
  }
  // Nothing ran, nothing moved.
  EXPECT_EQ(Runs(flow).size(), 1u);
  EXPECT_TRUE(fs::exists(root_ + "/in/b.csv"));
  EXPECT_TRUE(fs::exists(root_ + "/in/c.txt"));
  // A flow without a poll trigger has nothing to check.
  Json manual = CreateFlow(api(), Json{{"name", UniqueName("manual")}, {"steps", Json::array()}});
  EXPECT_EQ(Check(manual).status, 409);
}

TEST_F(PollTest, ASourceThatIsDownIsAFailedRunWithItsErrorOncePerStreak) {
  // A connection to a port nothing listens on.
  std::string down = UniqueName("down");
  HttpResult c =
      api().Post("/api/v1/connections",
                 Json{{"name", down},
                      {"connector", "sftp"},
                      {"settings", {{"host", "127.0.0.1"}, {"port", weft::testing::FreePort()}}},
                      {"auth", {{"type", "password"}, {"username", "x"}, {"password", "y"}}}});
  ASSERT_EQ(c.status, 201) << c.body;
  Json flow = PollFlow("1s", Json::object(), "all", down);
  Activate(flow);
  ASSERT_TRUE(WaitFor([&] { return !Runs(flow).empty(); }, 15s));
  std::this_thread::sleep_for(3s);  // three more failed polls: the same error, no new run
  std::vector<Json> runs = Runs(flow);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["status"], "failed");
  EXPECT_EQ(runs[0]["trigger_type"], "poll");
  std::string message = runs[0]["error"]["message"];
  EXPECT_NE(message.find("the poll failed: "), std::string::npos) << message;
  EXPECT_NE(message.find("listing " + root_ + "/in"), std::string::npos) << message;
  HttpResult check = Check(flow);
  EXPECT_GE(check.status, 400);
  HttpResult metrics = api().Get("/metrics");
  EXPECT_NE(metrics.body.find("weft_poll_failures_total"), std::string::npos);
}

// The same source over FTP (pyftpdlib), with after: delete: each file is one
// run, and gone from the server once its run is committed.
TEST_F(WeftTest, FtpNewFilesWithAfterDeleteEmitsEachFileOnceAndDeletesIt) {
  std::string root = server().temp_dir() + "/ftp";
  fs::create_directories(root + "/in");
  weft::testing::ChildServer ftp(
      {weft::testing::SystemPython(), std::string(WEFT_TEST_SERVERS_DIR) + "/ftp_server.py", root});
  ASSERT_GT(ftp.port(), 0) << ftp.error();
  std::string conn = UniqueName("ftp");
  HttpResult c = api().Post(
      "/api/v1/connections",
      Json{{"name", conn},
           {"connector", "ftp"},
           {"settings", {{"host", "127.0.0.1"}, {"port", ftp.port()}}},
           {"auth", {{"type", "password"}, {"username", "ftpuser"}, {"password", "pw"}}}});
  ASSERT_EQ(c.status, 201) << c.body;
  Json flow = CreateFlow(api(), Json{{"name", UniqueName("ftp-poll")},
                                     {"trigger",
                                      {{"type", "poll"},
                                       {"poll",
                                        {{"every", "1s"},
                                         {"start", "all"},
                                         {"source",
                                          {{"uses", "ftp.new_files"},
                                           {"connection", conn},
                                           {"with", {{"folder", "/in"}, {"after", "delete"}}}}}}}}},
                                     {"steps", Json::array()}});
  ASSERT_EQ(api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/activate").status, 200);
  for (int i = 0; i < 5; ++i) WriteFile(root + "/in/f" + std::to_string(i) + ".txt", "x");
  ASSERT_TRUE(WaitFor([&] { return CountFiles(root + "/in") == 0; }, 30s))
      << CountFiles(root + "/in") << " left";
  std::this_thread::sleep_for(2s);
  HttpResult runs = api().Get("/api/v1/runs?flow_id=" + flow["id"].get<std::string>());
  ASSERT_EQ(runs.json["runs"].size(), 5u) << runs.body;
  std::set<std::string> names;
  for (const auto& r : runs.json["runs"]) names.insert(r["trigger"]["item"]["name"]);
  EXPECT_EQ(names.size(), 5u);
}

}  // namespace
}  // namespace weft::itest
