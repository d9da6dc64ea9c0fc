// SqliteStore: opening (the data dir's LOCK, the connections, migrations,
// the journal left by a previous process), closing, the checkpoint thread,
// and the whole-file operations: Backup, BackupDataDir, InspectFile. The
// Store's methods are in sqlite_store_<aggregate>.cpp.
#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/ids.h"
#include "common/log.h"
#include "store/sqlite/sqlite_migrations.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace weft {

using sqlite::CodeFor;

// ---- the store's state --------------------------------------------------------

SqliteStore::Impl::~Impl() {
  StopImporter();  // imports what the journal still holds, through the writer
  StopCheckpointer();
  // Readers first: the writer closes last, checkpointing and removing the WAL.
  readers.clear();
  writer.Close();
  if (lock_fd >= 0) close(lock_fd);  // releases the flock
}

int SqliteStore::Impl::OnWalCommit(void* arg, sqlite3* db, const char* name, int pages) {
  auto* impl = static_cast<Impl*>(arg);
  if (pages < impl->checkpoint_asked_at) impl->checkpoint_asked_at = 0;  // the WAL started over
  if (pages >= kWriterCheckpointPages) {
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (pages - impl->checkpoint_asked_at >= kCheckpointPages) {
    impl->checkpoint_asked_at = pages;  // once per 1,000 new pages, not on every commit
    {
      std::lock_guard lock(impl->checkpoint_mu);
      impl->checkpoint_wanted = true;
    }
    impl->checkpoint_cv.notify_one();
  }
  return SQLITE_OK;
}

void SqliteStore::Impl::StartCheckpointer(std::unique_ptr<Conn> conn) {
  checkpoint_conn = std::move(conn);
  sqlite3_wal_hook(writer.conn().db(), &Impl::OnWalCommit,
                   this);  // replaces the automatic checkpoint
  checkpointer = std::thread([this] {
    std::unique_lock lock(checkpoint_mu);
    for (;;) {
      checkpoint_cv.wait(lock, [this] { return checkpoint_wanted || checkpoint_stop; });
      if (checkpoint_stop) return;
      checkpoint_wanted = false;
      lock.unlock();
      sqlite3_wal_checkpoint_v2(checkpoint_conn->db(), "main", SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                nullptr);
      lock.lock();
    }
  });
}

void SqliteStore::Impl::StopCheckpointer() {
  if (!checkpointer.joinable()) return;
  {
    std::lock_guard lock(checkpoint_mu);
    checkpoint_stop = true;
  }
  checkpoint_cv.notify_all();
  checkpointer.join();
  sqlite3_wal_hook(writer.conn().db(), nullptr, nullptr);
  sqlite3_wal_autocheckpoint(writer.conn().db(), kCheckpointPages);
  checkpoint_conn.reset();
}

namespace {

void Configure(Conn& c, const SqliteOptions& o, bool writer) {
  c.Exec("PRAGMA busy_timeout = " + std::to_string(o.busy_timeout.count()));
  c.Exec("PRAGMA foreign_keys = ON");
  c.Exec(std::string("PRAGMA synchronous = ") +
         (o.synchronous == SqliteOptions::Synchronous::kFull ? "FULL" : "NORMAL"));
  c.Exec("PRAGMA temp_store = MEMORY");
  if (writer) {
    // A larger lookaside (SQLite's per-connection small-allocation arena;
    // the default is 100 slots of 1,200 bytes): a run's insert with its
    // indexes otherwise goes to malloc for much of its working memory.
    sqlite3_db_config(c.db(), SQLITE_DBCONFIG_LOOKASIDE, nullptr, 1200, 1000);
    // Takes effect only in a new, empty database: lets retention give pages
    // back with PRAGMA incremental_vacuum instead of a full VACUUM.
    c.Exec("PRAGMA auto_vacuum = INCREMENTAL");
    // Cut the WAL back after a checkpoint, so a burst does not leave it large.
    c.Exec("PRAGMA journal_size_limit = 67108864");
    // A larger page cache for the one writer (SQLite's default is 2 MB): a
    // large write transaction (the scheduler's batch of ~1,700 fires due at
    // one second dirties ~8,000 pages) otherwise spills pages to the WAL
    // before its commit, and every statement re-reads its pages from the OS.
    // Grows only as pages are used.
    c.Exec("PRAGMA cache_size = -32768");
    Stmt s(c, "PRAGMA journal_mode = WAL");
    std::string mode = s.Step() ? s.ColText(0) : "";
    if (mode != "wal") {
      throw SqlError(SQLITE_CANTOPEN, "cannot put the database in WAL mode (got \"" + mode +
                                          "\"); is the data dir on a network file system?");
    }
  } else {
    c.Exec("PRAGMA query_only = ON");
  }
}

// Applies the migrations newer than the database's schema; returns the version.
Result<int> Migrate(Conn& c, const std::string& data_dir) {
  c.Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
      "name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  int current = 0;
  {
    Stmt s(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (s.Step()) current = static_cast<int>(s.ColInt(0));
  }
  auto migrations = sqlite::Migrations();
  int latest = migrations.empty() ? 0 : migrations.back().version;
  if (current > latest) {
    return Fail(ErrorCode::kUnavailable, "data dir " + data_dir + " has schema version " +
                                             std::to_string(current) +
                                             ", newer than this weft knows (" +
                                             std::to_string(latest) + "); run a newer weft");
  }
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    WriteTxn txn(c);
    c.Exec(m.sql);
    Stmt s(c,
           "INSERT INTO schema_migrations (version, name, applied_at) "
           "VALUES (:version, :name, :applied_at)");
    s.Int(":version", m.version).Text(":name", m.name).Time(":applied_at", SystemClock().Now());
    s.Run();
    txn.Commit();
    current = m.version;
  }
  return current;
}

// Locks <data_dir>/LOCK for this process; the kernel drops the lock when the
// process dies, so a crash never leaves the data dir locked.
Result<int> LockDataDir(const std::string& data_dir) {
  std::string path = data_dir + "/LOCK";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Fail(ErrorCode::kUnavailable, "cannot open " + path + ": " + std::strerror(errno));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) {
      return Fail(ErrorCode::kUnavailable,
                  "data dir " + data_dir + " is in use by another weft process");
    }
    return Fail(ErrorCode::kUnavailable, "cannot lock " + path + ": " + std::strerror(err));
  }
  // The holder's pid, for a person wondering who holds it.
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t n = pwrite(fd, pid.data(), pid.size(), 0);
  }
  return fd;
}

}  // namespace

// ---- opening and closing --------------------------------------------------------

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteOptions& options) {
  return Guard([&]() -> Result<std::unique_ptr<SqliteStore>> {
    auto impl = std::make_unique<Impl>(options);
    const std::string& dir = options.data_dir;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return Fail(ErrorCode::kUnavailable, "cannot create data dir " + dir + ": " + ec.message());
    }
    auto fd = LockDataDir(dir);
    if (!fd) return Fail(std::move(fd).error());
    impl->lock_fd = *fd;
    impl->db_path = dir + "/weft.db";

    impl->writer.Open(Conn::Open(impl->db_path, /*create=*/true));
    Configure(impl->writer.conn(), options, /*writer=*/true);
    auto version = Migrate(impl->writer.conn(), dir);
    if (!version) return Fail(std::move(version).error());
    impl->schema_version = *version;

    // This process alone uses the file, so every claim left is a dead process's.
    Stmt release(impl->writer.conn(),
                 std::string("UPDATE runs SET claimed_by = '', lease_until = NULL "
                             "WHERE ") +
                     kUnfinished + " AND claimed_by <> ''");
    release.Run();

    // Webhooks a previous process took into its journal and had not yet
    // imported go in now, before anything reads the store.
    const std::string journal_path = dir + "/webhooks.journal";
    auto journal = sqlite::WebhookJournal::Open(journal_path);
    if (!journal) return Fail(std::move(journal).error());
    impl->journal = std::move(*journal);
    if (!impl->LoadImportOffset()) {
      // Not this database's journal: set aside, untouched, for a person to
      // look at, and start a new one.
      std::string aside =
          journal_path + ".set-aside-" + std::to_string(ToUnixMs(SystemClock().Now()));
      impl->journal.reset();
      std::error_code ec;
      std::filesystem::rename(journal_path, aside, ec);
      if (ec)
        return Fail(ErrorCode::kUnavailable,
                    "cannot move " + journal_path + " aside: " + ec.message());
      log::Warn("webhook journal: " + journal_path + " does not belong to this database; set aside",
                {{"path", aside}});
      journal = sqlite::WebhookJournal::Open(journal_path);
      if (!journal) return Fail(std::move(journal).error());
      impl->journal = std::move(*journal);
      impl->import_offset = sqlite::WebhookJournal::kHeaderSize;
    }
    if (auto recovered = impl->journal->Recover(impl->import_offset); !recovered)
      return Fail(recovered.error());
    for (;;) {
      auto n = impl->ImportSome();
      if (!n)
        return Fail(ErrorCode::kUnavailable,
                    "cannot import " + impl->journal->path() + ": " + n.error().message);
      if (*n == 0) break;
    }
    if (impl->import_offset != sqlite::WebhookJournal::kHeaderSize) {
      if (auto restarted = impl->journal->Restart(impl->import_offset); !restarted)
        return Fail(restarted.error());
      impl->import_offset = sqlite::WebhookJournal::kHeaderSize;
    }
    impl->journal_appends =
        options.webhook_journal && options.synchronous != SqliteOptions::Synchronous::kFull;

    for (int i = 0; i < std::max(1, options.readers); ++i) {
      auto reader = Conn::Open(impl->db_path, /*create=*/false);
      Configure(*reader, options, /*writer=*/false);
      impl->idle.push_back(reader.get());
      impl->readers.push_back(std::move(reader));
    }
    auto checkpoint_conn = Conn::Open(impl->db_path, /*create=*/false);
    checkpoint_conn->Exec(
        std::string("PRAGMA synchronous = ") +
        (options.synchronous == SqliteOptions::Synchronous::kFull ? "FULL" : "NORMAL"));
    impl->StartCheckpointer(std::move(checkpoint_conn));
    if (impl->journal_appends) impl->StartImporter();
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
  });
}

void SqliteStore::SetRunsImportedListener(std::function<void()> listener) {
  std::lock_guard lock(impl_->listener_mu);
  impl_->on_imported = std::move(listener);
}

const std::string& SqliteStore::db_path() const { return impl_->db_path; }
int SqliteStore::schema_version() const { return impl_->schema_version; }

std::string SqliteStore::WriteProblem() const {
  // SQLite grows its WAL page by page and fails a commit that cannot: below
  // a few pages of room, writes are failing or about to.
  bool full = false;
  uint64_t free_bytes = 0;
  struct statvfs fs {};
  if (::statvfs(impl_->options.data_dir.c_str(), &fs) == 0) {
    free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    full = free_bytes < (1u << 20);
  }
  // A failed journal append is retried only by the next webhook: once there
  // is room again, it no longer says the store is unwritable.
  if (!full) impl_->ForgetAppendProblem();
  if (std::string journal = impl_->JournalProblem(); !journal.empty()) return journal;
  if (full)
    return "the data dir's file system is full (" + std::to_string(free_bytes) + " bytes free)";
  return {};
}

Result<void> SqliteStore::Backup(const std::string& dest_path) {
  // A webhook accepted before this is in the database, or this fails.
  if (auto caught_up = impl_->CatchUp(); !caught_up) return Fail(caught_up.error());
  return Guard([&]() -> Result<void> {
    std::string tmp = dest_path + ".tmp-" + NewId(ToUnixMs(SystemClock().Now()));
    auto source = Conn::Open(impl_->db_path, /*create=*/false);
    source->Exec("PRAGMA busy_timeout = " + std::to_string(impl_->options.busy_timeout.count()));
    int rc;
    {
      auto dest = Conn::Open(tmp, /*create=*/true);
      sqlite3_backup* backup = sqlite3_backup_init(dest->db(), "main", source->db(), "main");
      if (!backup) dest->Throw(sqlite3_errcode(dest->db()));
      // All pages in one step: one read snapshot, so writers never restart it
      // (in WAL mode they go on committing meanwhile).
      rc = sqlite3_backup_step(backup, -1);
      sqlite3_backup_finish(backup);
    }
    std::error_code ec;
    if (rc != SQLITE_DONE) {
      std::filesystem::remove(tmp, ec);
      return Fail(CodeFor(rc), std::string("backup failed: ") + sqlite3_errstr(rc));
    }
    std::filesystem::rename(tmp, dest_path, ec);
    if (ec) {
      std::filesystem::remove(tmp, ec);
      return Fail(ErrorCode::kUnavailable, "cannot write " + dest_path + ": " + ec.message());
    }
    return Ok();
  });
}

namespace {

// A raw read-only handle: Conn opens read-write, and a backup's source is
// only ever read (a read-only connection never checkpoints or rewrites it).
struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
std::unique_ptr<sqlite3, CloseDb> OpenReadOnly(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, CloseDb> out(db);
  if (rc != SQLITE_OK) {
    throw SqlError(rc,
                   "cannot open " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db, 5000);
  return out;
}

Result<SqliteStore::FileInfo> Inspect(Conn& c, const std::string& path) {
  {
    Stmt s(c, "PRAGMA quick_check");
    std::string verdict = s.Step() ? s.ColText(0) : "";
    if (verdict != "ok") return Fail(ErrorCode::kValidation, path + " is damaged: " + verdict);
  }
  {
    Stmt s(c,
           "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
           "('schema_migrations', 'flows', 'runs')");
    if (!s.Step() || s.ColInt(0) != 3)
      return Fail(ErrorCode::kValidation, path + " is not a weft database");
  }
  SqliteStore::FileInfo info;
  {
    Stmt s(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (s.Step()) info.schema_version = static_cast<int>(s.ColInt(0));
  }
  auto migrations = sqlite::Migrations();
  int latest = migrations.empty() ? 0 : migrations.back().version;
  if (info.schema_version > latest) {
    return Fail(ErrorCode::kValidation,
                path + " has schema version " + std::to_string(info.schema_version) +
                    ", newer than this weft knows (" + std::to_string(latest) + ")");
  }
  {
    Stmt s(c, "SELECT (SELECT COUNT(*) FROM flows), (SELECT COUNT(*) FROM runs)");
    if (s.Step()) {
      info.flows = s.ColInt(0);
      info.runs = s.ColInt(1);
    }
  }
  std::error_code ec;
  info.bytes = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  return info;
}

}  // namespace

Result<SqliteStore::FileInfo> SqliteStore::BackupDataDir(const std::string& data_dir,
                                                         const std::string& dest_path) {
  return Guard([&]() -> Result<FileInfo> {
    std::string db_path = data_dir + "/weft.db";
    std::error_code ec;
    if (!std::filesystem::is_regular_file(db_path, ec)) {
      return Fail(ErrorCode::kNotFound, "no weft database at " + db_path);
    }
    std::string tmp = dest_path + ".tmp-" + NewId(ToUnixMs(SystemClock().Now()));
    auto source = OpenReadOnly(db_path);
    int rc;
    {
      auto dest = Conn::Open(tmp, /*create=*/true);
      sqlite3_backup* backup = sqlite3_backup_init(dest->db(), "main", source.get(), "main");
      if (!backup) dest->Throw(sqlite3_errcode(dest->db()));
      // All pages in one step: one read snapshot of the committed state.
      rc = sqlite3_backup_step(backup, -1);
      sqlite3_backup_finish(backup);
    }
    if (rc != SQLITE_DONE) {
      std::filesystem::remove(tmp, ec);
      return Fail(CodeFor(rc), std::string("backup failed: ") + sqlite3_errstr(rc));
    }
    Result<FileInfo> info = [&]() -> Result<FileInfo> {
      auto copy = Conn::Open(tmp, /*create=*/false);
      return Inspect(*copy, tmp);
    }();
    if (!info) {
      std::filesystem::remove(tmp, ec);
      return Fail(info.error());
    }
    std::filesystem::rename(tmp, dest_path, ec);
    if (ec) {
      std::filesystem::remove(tmp, ec);
      return Fail(ErrorCode::kUnavailable, "cannot write " + dest_path + ": " + ec.message());
    }
    return info;
  });
}

Result<SqliteStore::FileInfo> SqliteStore::InspectFile(const std::string& path) {
  return Guard([&]() -> Result<FileInfo> {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      return Fail(ErrorCode::kNotFound, "no file at " + path);
    auto c = Conn::Open(path, /*create=*/false);
    c->Exec("PRAGMA query_only = ON");
    return Inspect(*c, path);
  });
}

}  // namespace weft
