// SqliteStore: the Store contract suite on temp dirs, and what is SQLite's
// own: the LOCK file, claims released on reopen, migrations, backup.
#include "store/sqlite/sqlite_store.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include "store/sqlite/webhook_journal.h"
#include "store/store_contract_test.h"

namespace weft {
namespace {

namespace fs = std::filesystem;

// A fresh directory under TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "weft-store-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class SqliteHarness : public StoreHarness {
 public:
  Result<std::unique_ptr<Store>> Open() override {
    SqliteOptions o;
    o.data_dir = dir_.path() + "/data";  // not there yet: Open creates it
    auto s = SqliteStore::Open(o);
    if (!s) return Fail(std::move(s).error());
    return std::unique_ptr<Store>(std::move(s).value());
  }

 private:
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContractTest,
                         ::testing::Values(StoreContractParam{
                             "sqlite", [] { return std::make_unique<SqliteHarness>(); }}),
                         StoreContractName);

const TimePoint kT0 = FromUnixMs(1'800'000'000'000);

SqliteOptions Options(const std::string& dir) {
  SqliteOptions o;
  o.data_dir = dir;
  return o;
}

std::unique_ptr<SqliteStore> MustOpen(const SqliteOptions& o) {
  auto s = SqliteStore::Open(o);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
  return s ? std::move(s).value() : nullptr;
}

weft::Run QueuedRun(TimePoint at) {
  weft::Run r;
  r.flow_id = "f";
  r.flow_name = "f";
  r.flow_version = 1;
  r.trigger_type = "manual";
  r.created_at = at;
  return r;
}

TEST(SqliteStoreTest, CreatesTheDataDirAndTheDatabase) {
  TempDir tmp;
  std::string dir = tmp.path() + "/a/b/data";
  auto store = MustOpen(Options(dir));
  ASSERT_TRUE(store);
  EXPECT_TRUE(fs::exists(dir + "/weft.db"));
  EXPECT_TRUE(fs::exists(dir + "/LOCK"));
  EXPECT_EQ(store->db_path(), dir + "/weft.db");
  EXPECT_GE(store->schema_version(), 1);
}

TEST(SqliteStoreTest, SecondOpenOfTheSameDataDirIsRefused) {
  TempDir tmp;
  auto first = MustOpen(Options(tmp.path()));
  ASSERT_TRUE(first);
  auto second = SqliteStore::Open(Options(tmp.path()));
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(second.error().message,
            "data dir " + tmp.path() + " is in use by another weft process");
  first.reset();  // closing frees the data dir
  EXPECT_TRUE(MustOpen(Options(tmp.path())));
}

TEST(SqliteStoreTest, ReopenReleasesClaimsOfTheDeadProcess) {
  TempDir tmp;
  std::string held, finished;
  {
    auto store = MustOpen(Options(tmp.path()));
    held = store->CreateRun(QueuedRun(kT0))->id;
    finished = store->CreateRun(QueuedRun(kT0 + Millis(1)))->id;
    auto claimed = store->ClaimRuns("old-node", 2, kT0, kT0 + std::chrono::hours(1));
    ASSERT_EQ(claimed->size(), 2u);
    weft::Run running = (*claimed)[0];
    running.status = RunStatus::kRunning;
    ASSERT_TRUE(store->UpdateRun(running));
    weft::Run done = (*claimed)[1];
    done.status = RunStatus::kSucceeded;
    ASSERT_TRUE(store->UpdateRun(done));
  }
  auto store = MustOpen(Options(tmp.path()));
  weft::Run r = *store->GetRun(held, false);
  EXPECT_TRUE(r.claimed_by.empty());
  EXPECT_FALSE(r.lease_until.has_value());
  EXPECT_EQ(r.status, RunStatus::kRunning);
  // Claimable at once, long before the old lease would have expired.
  auto again = store->ClaimRuns("new-node", 10, kT0 + Millis(2), kT0 + std::chrono::minutes(1));
  ASSERT_TRUE(again.has_value());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].id, held);
  EXPECT_EQ((*again)[0].status, RunStatus::kRunning);
}

TEST(SqliteStoreTest, SigkillLosesNothingCommittedAndFreesTheDataDir) {
  TempDir tmp;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // a weft process writing runs, acknowledging each once committed
    close(fds[0]);
    auto s = SqliteStore::Open(Options(tmp.path()));
    if (!s) _exit(2);
    for (int i = 0;; ++i) {
      auto r = (*s)->CreateRun(QueuedRun(kT0 + Millis(i)));
      if (!r) _exit(3);
      std::string line = r->id + "\n";
      if (write(fds[1], line.data(), line.size()) < 0) _exit(4);
    }
  }
  close(fds[1]);
  FILE* acks = fdopen(fds[0], "r");
  std::vector<std::string> acked;
  char* line = nullptr;
  size_t cap = 0;
  while (acked.size() < 300 && getline(&line, &cap, acks) > 0) acked.emplace_back(line);
  kill(pid, SIGKILL);
  while (getline(&line, &cap, acks) > 0) acked.emplace_back(line);  // acked before it died
  free(line);
  fclose(acks);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped on its own: " << status;
  ASSERT_GE(acked.size(), 300u);

  auto store = MustOpen(Options(tmp.path()));  // the dead process's LOCK is gone
  ASSERT_TRUE(store);
  for (auto& id : acked) {
    id.pop_back();  // the newline
    EXPECT_TRUE(store->GetRun(id, false).has_value()) << "acknowledged run " << id << " lost";
  }
}

TEST(SqliteStoreTest, MigrationsAreRecordedAndAppliedOnce) {
  TempDir tmp;
  int version = 0;
  {
    auto store = MustOpen(Options(tmp.path()));
    version = store->schema_version();
    ASSERT_TRUE(store->CreateRun(QueuedRun(kT0)));
  }
  auto store = MustOpen(Options(tmp.path()));
  EXPECT_EQ(store->schema_version(), version);
  EXPECT_EQ(*store->CountRuns(std::nullopt), 1);
  store.reset();

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((tmp.path() + "/weft.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT COUNT(*), MAX(version) FROM schema_migrations", -1, &st,
                               nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), version);
  EXPECT_EQ(sqlite3_column_int(st, 1), version);
  sqlite3_finalize(st);
  // A database from a newer weft is refused rather than misread.
  ASSERT_EQ(sqlite3_exec(db,
                         "INSERT INTO schema_migrations (version, name, applied_at) "
                         "VALUES (9999, 'future', 0)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto newer = SqliteStore::Open(Options(tmp.path()));
  ASSERT_FALSE(newer.has_value());
  EXPECT_NE(newer.error().message.find("newer"), std::string::npos) << newer.error().message;
}

TEST(SqliteStoreTest, UsesWalMode) {
  TempDir tmp;
  auto store = MustOpen(Options(tmp.path()));
  ASSERT_TRUE(store->CreateRun(QueuedRun(kT0)));
  EXPECT_TRUE(fs::exists(tmp.path() + "/weft.db-wal"));
}

TEST(SqliteStoreTest, NewDatabasesCanGivePagesBack) {
  TempDir tmp;
  MustOpen(Options(tmp.path())).reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((tmp.path() + "/weft.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA auto_vacuum", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 2) << "auto_vacuum = INCREMENTAL";
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(SqliteStoreTest, SynchronousFullWorks) {
  TempDir tmp;
  SqliteOptions o = Options(tmp.path());
  o.synchronous = SqliteOptions::Synchronous::kFull;
  auto store = MustOpen(o);
  auto run = store->CreateRun(QueuedRun(kT0));
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(store->GetRun(run->id, false)->id, run->id);
}

TEST(SqliteStoreTest, StampsFlowTimesWithTheGivenClock) {
  TempDir tmp;
  FakeClock clock(kT0);
  SqliteOptions o = Options(tmp.path());
  o.clock = &clock;
  auto store = MustOpen(o);
  FlowWrite w;
  w.name = "a";
  w.trigger_type = "manual";
  w.document = Json{{"name", "a"}};
  Flow f = *store->CreateFlow(w, "");
  EXPECT_EQ(f.created_at, kT0);
  clock.Advance(Millis(1500));
  w.document["steps"] = Json::array();
  Flow saved = *store->SaveFlow(f.id, w, std::nullopt, "");
  EXPECT_EQ(saved.created_at, kT0);
  EXPECT_EQ(saved.updated_at, kT0 + Millis(1500));
  EXPECT_EQ(store->GetFlowVersion(f.id, 2)->created_at, kT0 + Millis(1500));
}

TEST(SqliteStoreTest, BackupIsAConsistentCopyThatOpens) {
  TempDir tmp;
  std::string backup = tmp.path() + "/backup.db";
  std::vector<std::string> ids;
  {
    auto store = MustOpen(Options(tmp.path() + "/data"));
    for (int i = 0; i < 50; ++i) ids.push_back(store->CreateRun(QueuedRun(kT0 + Millis(i)))->id);
    // Writers keep going while the copy is taken.
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      for (int i = 0; !stop; ++i) (void)store->CreateRun(QueuedRun(kT0 + std::chrono::hours(1)));
    });
    auto r = store->Backup(backup);
    stop = true;
    writer.join();
    ASSERT_TRUE(r.has_value()) << r.error().message;
  }
  ASSERT_TRUE(fs::exists(backup));
  std::string restored = tmp.path() + "/restored";
  fs::create_directories(restored);
  fs::copy_file(backup, restored + "/weft.db");
  auto store = MustOpen(Options(restored));
  ASSERT_TRUE(store);
  EXPECT_GE(*store->CountRuns(std::nullopt), 50);
  for (const auto& id : ids) EXPECT_TRUE(store->GetRun(id, false).has_value()) << id;
}

TEST(SqliteStoreTest, BackupToAnUnwritablePlaceFails) {
  TempDir tmp;
  auto store = MustOpen(Options(tmp.path()));
  auto r = store->Backup(tmp.path() + "/no/such/dir/backup.db");
  ASSERT_FALSE(r.has_value());
}

// The engine's writes (claims, step results) are background writes: while
// the writer is saturated they wait behind the others, but never for long,
// and with nothing else to write they are not held at all.
TEST(SqliteStoreTest, BackgroundWritesMakeWayYetAlwaysLand) {
  TempDir tmp;
  auto store = MustOpen(Options(tmp.path()));
  auto background_writes = [&](int n) {
    std::vector<std::string> ids;
    auto longest = std::chrono::steady_clock::duration::zero();
    std::thread t([&] {
      SetThreadWritePriority(WritePriority::kBackground);
      for (int i = 0; i < n; ++i) {
        auto start = std::chrono::steady_clock::now();
        auto run = store->CreateRun(QueuedRun(kT0 + Millis(i)));
        longest = std::max(longest, std::chrono::steady_clock::now() - start);
        if (run) ids.push_back(run->id);
      }
    });
    t.join();
    return std::make_pair(ids, longest);
  };

  // Alone: every write lands. (That a lone background write is not deferred
  // is a matter of speed, measured by bench/webhook, not asserted here.)
  auto [alone, alone_longest] = background_writes(30);
  EXPECT_EQ(alone.size(), 30u);

  // Under 16 threads writing as fast as they can, each still lands.
  std::atomic<bool> stop{false};
  std::atomic<int> normal{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 16; ++w) {
    writers.emplace_back([&] {
      while (!stop) {
        if (store->CreateRun(QueuedRun(kT0 + std::chrono::hours(1)))) ++normal;
      }
    });
  }
  auto [busy, busy_longest] = background_writes(30);
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_EQ(busy.size(), 30u);
  // Not starved: a deferral lasts at most 100 ms, so even a loaded 2-core
  // machine lands each write far inside this generous bound.
  EXPECT_LT(busy_longest, std::chrono::seconds(20));
  EXPECT_GT(normal.load(), 0);
  for (const auto& id : busy) EXPECT_TRUE(store->GetRun(id, false).has_value()) << id;
  EXPECT_EQ(*store->CountRuns(std::nullopt), 60 + normal.load());
}

// RecordWebhook has no savepoint of its own inside a group commit. Should it
// fail after its run is inserted (here: its delivery's id is taken), the whole
// commit is rolled back: no run without its delivery, and every other write
// in that commit reports a failure rather than a success it did not get.
TEST(SqliteStoreTest, AWebhookWriteThatFailsHalfwayLeavesNothingAndNoFalseSuccess) {
  TempDir tmp;
  auto store = MustOpen(Options(tmp.path()));
  WebhookRecord first;
  first.run = QueuedRun(kT0);
  first.delivery = Delivery{};
  first.delivery->flow_id = "f";
  first.delivery->method = "POST";
  first.delivery->status_code = 202;
  // An id of the caller's: the write goes through the group commit, not the
  // webhook journal (which takes only deliveries whose id the store gives).
  first.delivery->id = "first-delivery";
  auto recorded = store->RecordWebhook(first);
  ASSERT_TRUE(recorded.has_value()) << recorded.error().message;
  const std::string taken = recorded->delivery->id;

  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::vector<std::thread> writers;
  for (int w = 0; w < 8; ++w) {
    writers.emplace_back([&] {
      while (!stop) {
        if (auto run = store->CreateRun(QueuedRun(kT0 + Millis(1)))) {
          std::lock_guard g(mu);
          acknowledged.push_back(run->id);
        }
      }
    });
  }
  std::vector<std::string> failed_runs;
  for (int i = 0; i < 200; ++i) {
    WebhookRecord bad = first;
    bad.run->id = "bad-run-" + std::to_string(i);
    bad.delivery->id = taken;  // the second insert of the write fails
    auto r = store->RecordWebhook(bad);
    EXPECT_FALSE(r.has_value());
    failed_runs.push_back(bad.run->id);
  }
  stop = true;
  for (auto& t : writers) t.join();

  for (const auto& id : failed_runs) EXPECT_FALSE(store->GetRun(id, false).has_value()) << id;
  for (const auto& id : acknowledged) ASSERT_TRUE(store->GetRun(id, false).has_value()) << id;
  EXPECT_EQ(*store->CountRuns(std::nullopt), static_cast<int64_t>(acknowledged.size()) + 1);
  EXPECT_GT(acknowledged.size(), 0u);
}

// ---- the webhook journal (store/sqlite/webhook_journal.h) ----

WebhookRecord AcceptedWebhook(TimePoint at, const std::string& body) {
  WebhookRecord r;
  r.run = QueuedRun(at);
  r.run->trigger_type = "webhook";
  r.run->trigger = Json{{"type", "webhook"}, {"body", Json{{"n", body}}}};
  r.delivery = Delivery{};
  r.delivery->flow_id = "f";
  r.delivery->method = "POST";
  r.delivery->status_code = 202;
  r.delivery->headers = Json{{"content-type", "application/json"}};
  r.delivery->query = Json::object();
  r.delivery->body = R"({"n":")" + body + R"("})";
  r.delivery->auth_passed = true;
  return r;
}

// A flow "f" for deliveries to belong to (they reference their flow).
void MakeFlowF(SqliteStore& store) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(store.db_path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(
          db,
          "INSERT INTO flows (id, name, description, version, document, active, trigger_type, "
          "webhook_token, created_at, updated_at, updated_by) VALUES ('f', 'f', '', 1, '{}', 1, "
          "'webhook', 'tok', 0, 0, '')",
          nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
}

TEST(SqliteStoreTest, AJournaledWebhookIsReadBackAtOnceWithItsDelivery) {
  TempDir tmp;
  auto store = MustOpen(Options(tmp.path()));
  MakeFlowF(*store);
  std::atomic<int> announced{0};
  store->SetRunsImportedListener([&] { ++announced; });
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    auto r = store->RecordWebhook(AcceptedWebhook(kT0 + Millis(i), std::to_string(i)));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_TRUE(r->announced_later);
    ASSERT_TRUE(r->delivery);
    EXPECT_EQ(r->delivery->run_id, r->run->id);
    ids.push_back(r->run->id);
    // Read right after the answer: the read waits for the import.
    auto run = store->GetRun(r->run->id, true);
    ASSERT_TRUE(run.has_value()) << i << ": " << run.error().message;
    EXPECT_EQ(run->status, RunStatus::kQueued);
    EXPECT_EQ(run->trigger["body"]["n"], std::to_string(i));
    auto d = store->GetDelivery(r->delivery->id);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->run_id, r->run->id);
    EXPECT_EQ(d->body, R"({"n":")" + std::to_string(i) + R"("})");
    EXPECT_EQ(d->headers["content-type"], "application/json");
  }
  EXPECT_EQ(*store->CountRuns(RunStatus::kQueued), 50);
  EXPECT_EQ(store->ListDeliveries("f", 100)->size(), 50u);
  EXPECT_GT(announced.load(), 0);
  // Claimable like any run.
  auto claimed =
      store->ClaimRuns("n", 100, kT0 + std::chrono::hours(1), kT0 + std::chrono::hours(2));
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->size(), 50u);
}

TEST(SqliteStoreTest, WithSynchronousFullEveryWebhookIsItsOwnCommit) {
  TempDir tmp;
  SqliteOptions o = Options(tmp.path());
  o.synchronous = SqliteOptions::Synchronous::kFull;
  auto store = MustOpen(o);
  MakeFlowF(*store);
  auto r = store->RecordWebhook(AcceptedWebhook(kT0, "x"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_FALSE(r->announced_later);
  EXPECT_EQ(fs::file_size(tmp.path() + "/webhooks.journal"), 16u);  // the header alone
  EXPECT_TRUE(store->GetRun(r->run->id, false).has_value());
}

// SIGKILL while webhooks pour in: every acknowledged one is there after the
// restart, once, with its delivery; a record cut short at the end of the
// journal (the write the kill interrupted) is dropped, not read as garbage.
TEST(SqliteStoreTest, SigkillLosesNoAcknowledgedWebhookAndImportsEachOnce) {
  TempDir tmp;
  {
    auto store = MustOpen(Options(tmp.path()));
    MakeFlowF(*store);
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    auto s = SqliteStore::Open(Options(tmp.path()));
    if (!s) _exit(2);
    for (int i = 0;; ++i) {
      auto r = (*s)->RecordWebhook(AcceptedWebhook(kT0 + Millis(i), std::to_string(i)));
      if (!r || !r->announced_later) _exit(3);
      std::string line = r->run->id + "\n";
      if (write(fds[1], line.data(), line.size()) < 0) _exit(4);
    }
  }
  close(fds[1]);
  FILE* acks = fdopen(fds[0], "r");
  std::vector<std::string> acked;
  char* line = nullptr;
  size_t cap = 0;
  while (acked.size() < 3000 && getline(&line, &cap, acks) > 0) acked.emplace_back(line);
  kill(pid, SIGKILL);
  while (getline(&line, &cap, acks) > 0) acked.emplace_back(line);
  free(line);
  fclose(acks);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped on its own: " << status;
  ASSERT_GE(acked.size(), 3000u);
  {
    FILE* j = fopen((tmp.path() + "/webhooks.journal").c_str(), "ab");
    ASSERT_TRUE(j);
    fwrite("\x40\x00\x00\x00torn", 1, 8, j);  // a length of 64, then 4 bytes of the payload
    fclose(j);
  }

  auto store = MustOpen(Options(tmp.path()));
  ASSERT_TRUE(store);
  for (auto& id : acked) {
    id.pop_back();
    EXPECT_TRUE(store->GetRun(id, false).has_value()) << "acknowledged run " << id << " lost";
  }
  auto runs = *store->CountRuns(std::nullopt);
  EXPECT_GE(runs, static_cast<int64_t>(acked.size()));
  EXPECT_LE(runs, static_cast<int64_t>(acked.size()) + 1);  // one written, not yet acknowledged
  EXPECT_EQ(static_cast<int64_t>(store->ListDeliveries("f", 100000)->size()), runs);
  // Imported and started over.
  EXPECT_EQ(fs::file_size(tmp.path() + "/webhooks.journal"), 16u);
  store.reset();
  store = MustOpen(Options(tmp.path()));  // and nothing is imported twice
  EXPECT_EQ(*store->CountRuns(std::nullopt), runs);
}

// A journal that is not this database's (it started over for a database
// that is gone: weft.db deleted or replaced beside it) is set aside, not
// read: its imported part may be holes, where a read would stop and cut.
TEST(SqliteStoreTest, AJournalOfAnotherDatabaseIsSetAsideUntouched) {
  TempDir tmp;
  const std::string path = tmp.path() + "/webhooks.journal";
  {
    auto j = sqlite::WebhookJournal::Open(path);
    ASSERT_TRUE(j.has_value());
    for (int i = 0; i < 6; ++i) ASSERT_TRUE((*j)->Restart((*j)->end()).value());
    ASSERT_TRUE((*j)->Append("a record of the database that is gone"));
  }
  const auto size = fs::file_size(path);
  auto store = MustOpen(Options(tmp.path()));
  ASSERT_TRUE(store);
  std::vector<fs::path> aside;
  for (const auto& e : fs::directory_iterator(tmp.path()))
    if (e.path().filename().string().starts_with("webhooks.journal.set-aside-"))
      aside.push_back(e.path());
  ASSERT_EQ(aside.size(), 1u);
  EXPECT_EQ(fs::file_size(aside[0]), size);
  EXPECT_EQ(fs::file_size(path), 16u);  // a new journal
  EXPECT_EQ(*store->CountRuns(std::nullopt), 0);
  MakeFlowF(*store);
  auto r = store->RecordWebhook(AcceptedWebhook(kT0, "after"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(store->GetRun(r->run->id, false).has_value());
}

}  // namespace
}  // namespace weft
