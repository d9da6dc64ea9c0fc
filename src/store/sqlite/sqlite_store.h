// SqliteStore: the embedded default Store, one SQLite database in WAL mode at
// <data_dir>/weft.db, used by this process alone (an flock on <data_dir>/LOCK).
// Thread-safe: writes go through one connection behind a mutex, one short
// transaction each; reads use a small pool of connections and run alongside.
// Only app/ names this class; everyone else sees a Store&.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "core/store.h"

namespace weft {

struct SqliteOptions {
  enum class Synchronous {
    kNormal,  // a commit survives a crash of the process (SIGKILL); the default
    kFull,    // a commit also survives power loss: one fsync per commit
  };

  std::string data_dir = "./weft-data";  // created when missing; the file is weft.db
  Synchronous synchronous = Synchronous::kNormal;
  int readers = 4;               // read connections in the pool
  Millis busy_timeout{5000};     // waits for another connection's lock
  const Clock* clock = nullptr;  // stamps flow/connection times; null: system clock
  // RecordWebhook appends accepted webhooks to <data_dir>/webhooks.journal
  // and imports them into the database in large batches, off the request's
  // path (store/sqlite/webhook_journal.h). Off with kFull, whose promise (a
  // commit survives power loss) the journal does not keep; off here, every
  // webhook is its own write. A journal left by an earlier process is
  // imported at Open either way.
  bool webhook_journal = true;
};

// Whether `payload` is a webhook journal record this build can read (what
// the import decodes). For the fuzzer and tests; thread-safe.
bool DecodesAsWebhookRecord(std::string_view payload);

class SqliteStore : public Store {
 public:
  // Opens the store: creates the data dir, takes the LOCK (kUnavailable with
  // "data dir ... is in use by another weft process" when another process
  // holds it), applies pending schema migrations and releases every run claim
  // a previous process left behind, so those runs are claimable at once.
  static Result<std::unique_ptr<SqliteStore>> Open(const SqliteOptions& options);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Writes a consistent copy of the database to `dest_path` (SQLite's online
  // backup API) while the store stays in use; the copy appears atomically
  // (written beside it, then renamed). A copy opens as the weft.db of a data dir.
  Result<void> Backup(const std::string& dest_path);

  // What a database file holds (weft backup / weft restore print it).
  struct FileInfo {
    int schema_version = 0;
    int64_t flows = 0;
    int64_t runs = 0;
    int64_t bytes = 0;
  };
  // `weft backup`: copies <data_dir>/weft.db to `dest_path` like Backup, from
  // another process than the one that holds the data dir: it takes no LOCK
  // (the running server owns it) and reads through a read-only connection, one
  // snapshot, while the server goes on writing (WAL). Works with no server
  // running too. kNotFound when there is no weft.db.
  static Result<FileInfo> BackupDataDir(const std::string& data_dir, const std::string& dest_path);
  // Checks a file (weft restore: its copy in the new data dir) before it is
  // used: a SQLite file that passes quick_check, with weft's tables and a
  // schema version this build knows.
  static Result<FileInfo> InspectFile(const std::string& path);

  // Called (on the store's import thread) each time webhooks taken in by the
  // journal have been imported: their runs are claimable from then on. Set
  // it before the first RecordWebhook; the engine's wake-up goes here.
  void SetRunsImportedListener(std::function<void()> listener);

  const std::string& db_path() const;
  // The highest schema migration applied.
  int schema_version() const;

  // ---- Store ----
  Result<Flow> CreateFlow(const FlowWrite& write, const std::string& webhook_token) override;
  Result<Flow> GetFlow(const std::string& id) override;
  Result<Flow> GetFlowByName(const std::string& name) override;
  Result<Flow> GetFlowByWebhookToken(const std::string& token) override;
  Result<std::vector<Flow>> ListFlows() override;
  Result<Flow> SaveFlow(const std::string& id, const FlowWrite& write,
                        std::optional<int> base_version, const std::string& webhook_token) override;
  Result<void> DeleteFlow(const std::string& id) override;
  Result<Flow> SetFlowActive(const std::string& id, bool active) override;
  Result<Flow> SetWebhookToken(const std::string& id, const std::string& token) override;
  Result<FlowVersion> GetFlowVersion(const std::string& id, int version) override;
  Result<std::vector<FlowVersion>> ListFlowVersions(const std::string& id) override;
  Result<std::vector<std::pair<std::string, RunSummary>>> LastRuns() override;

  Result<Connection> CreateConnection(const Connection& c) override;
  Result<Connection> GetConnection(const std::string& id) override;
  Result<Connection> GetConnectionByName(const std::string& name) override;
  Result<std::vector<Connection>> ListConnections() override;
  Result<Connection> UpdateConnection(const Connection& c) override;
  Result<void> DeleteConnection(const std::string& id) override;
  Result<TimePoint> TakeRateSlot(const std::string& connection_id, const RateLimit* limit,
                                 TimePoint now) override;
  Result<void> PauseConnection(const std::string& connection_id, TimePoint until) override;

  Result<Run> CreateRun(const Run& run) override;
  Result<std::vector<Run>> ClaimRuns(const std::string& node, int max, TimePoint now,
                                     TimePoint lease_until) override;
  Result<void> RenewLeases(const std::string& node, const std::vector<std::string>& run_ids,
                           TimePoint lease_until) override;
  Result<Run> GetRun(const std::string& id, bool with_steps) override;
  Result<RunPage> ListRuns(const RunFilter& filter) override;
  Result<void> UpdateRun(const Run& run) override;
  Result<void> SaveStepRun(const StepRun& step) override;
  Result<void> SaveRun(const Run* run, const std::vector<StepRun>& steps) override;
  Result<bool> RequestCancel(const std::string& run_id) override;
  Result<bool> WakeRun(const std::string& run_id) override;
  Result<int64_t> CountRuns(std::optional<RunStatus> status) override;
  Result<QueueStats> GetQueueStats() override;
  Result<SchemaStatus> GetSchemaStatus() override;
  std::string WriteProblem() const override;
  Result<void> SetNextRunAt(const std::string& id, std::optional<TimePoint> next_run_at) override;
  Result<bool> RecordScheduleFire(const std::string& flow_id, TimePoint scheduled_for,
                                  const Run* run, std::optional<TimePoint> next_run_at,
                                  int64_t missed) override;
  Result<std::vector<bool>> RecordScheduleFires(const std::vector<ScheduleFire>& fires) override;
  Result<void> ForEachActiveSchedule(const std::function<void(Flow&& flow)>& fn) override;
  Result<void> SetNextRunAts(
      const std::vector<std::pair<std::string, std::optional<TimePoint>>>& items) override;

  Result<PollState> GetPollState(const std::string& flow_id) override;
  Result<std::vector<std::optional<TimePoint>>> PollKeysSeen(
      const std::string& flow_id, const std::vector<std::string>& keys) override;
  Result<PollCommitted> RecordPoll(const PollCommit& c) override;
  Result<void> ResetPollPrimed(const std::string& flow_id) override;
  Result<void> ClearPollPending(const std::string& flow_id) override;

  Result<Delivery> CreateDelivery(const Delivery& d) override;
  Result<Delivery> GetDelivery(const std::string& id) override;
  Result<std::vector<Delivery>> ListDeliveries(const std::string& flow_id, int limit) override;
  Result<WebhookRecorded> RecordWebhook(const WebhookRecord& r) override;
  bool RecordsWebhooksAtOnce() const override;  // with the journal
  Result<std::optional<std::string>> FindWebhookKey(const std::string& flow_id,
                                                    const std::string& key,
                                                    TimePoint since) override;
  Result<int64_t> PruneWebhookData(const std::string& flow_id, TimePoint before, int64_t keep,
                                   TimePoint keys_before, int max_rows) override;
  Result<int64_t> PruneRuns(const RunPrune& p, int max_rows) override;
  Result<int64_t> ReclaimSpace(int max_pages) override;
  Result<std::vector<std::string>> UnreferencedFiles(const std::vector<std::string>& ids) override;
  Result<std::vector<std::string>> FilesOfRun(const std::string& run_id) override;
  // access control
  Result<User> CreateUser(const User& u) override;
  Result<User> GetUser(const std::string& id) override;
  Result<User> GetUserByName(const std::string& name) override;
  Result<std::vector<User>> ListUsers() override;
  Result<void> DeleteUser(const std::string& id) override;
  Result<ApiToken> CreateApiToken(const ApiToken& t) override;
  Result<ApiToken> GetApiTokenByHash(const std::string& hash) override;
  Result<std::vector<ApiToken>> ListApiTokens() override;
  Result<void> DeleteApiToken(const std::string& id) override;
  Result<void> TouchApiToken(const std::string& id, TimePoint at) override;
  Result<Session> CreateSession(const Session& s) override;
  Result<Session> GetSession(const std::string& id_hash) override;
  Result<void> TouchSession(const std::string& id_hash, TimePoint at) override;
  Result<void> DeleteSession(const std::string& id_hash) override;
  Result<int64_t> PruneSessions(TimePoint idle_before, TimePoint now) override;

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft
