// PostgresStore: the Store for more than one machine (docs/deploy.md). Several
// weft nodes share one PostgreSQL database; runs are claimed with
// FOR UPDATE SKIP LOCKED, so no run is handed to two nodes. Thread-safe: each
// operation takes a connection from a pool, runs as one transaction (or one
// statement) and gives it back. A connection the server dropped (a restart, a
// failover) is discarded and the operation retried once on a fresh one when
// that is safe. Only app/ names this class; everyone else sees a Store&.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "core/store.h"

namespace weft {

struct PostgresOptions {
  // A libpq connection URI, "postgres://user[:password]@host[:port]/db[?param=value]",
  // or a "key=value ..." string. Without a password in it, libpq reads
  // PGPASSWORD or ~/.pgpass as usual.
  std::string url;
  // The schema weft's tables live in; created when missing. Nodes of one
  // installation use the same schema; tests use one each.
  std::string schema = "public";
  int pool_size = 8;               // connections at most, opened on demand
  Millis connect_timeout{5000};    // per connection attempt
  Millis acquire_timeout{10'000};  // waiting for a free connection in the pool
  const Clock* clock = nullptr;    // stamps flow/connection times; null: system clock
};

class PostgresStore : public Store {
 public:
  // Connects, then applies pending schema migrations under a PostgreSQL
  // advisory lock, so nodes starting together migrate once and the others
  // wait for it. kUnavailable when the server cannot be reached (the message
  // names host and port, never the password) or the schema is newer than
  // this build knows. Unlike SQLite, claims are not released at open: other
  // nodes may hold them; a dead node's runs return when their leases expire.
  static Result<std::unique_ptr<PostgresStore>> Open(const PostgresOptions& options);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  // The highest schema migration applied.
  int schema_version() const;
  // Connections open now (idle or in use); for tests and metrics.
  int open_connections() const;

  // Sends NOTIFY on `channel` with `payload` (a wake-up for idle workers on
  // other nodes: "weft_runs" when a run is queued, "weft_flows" when a flow
  // changes). Outside any store transaction, so it never holds up commits.
  Result<void> Notify(const std::string& channel, const std::string& payload);

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
  Result<void> SetNextRunAt(const std::string& id, std::optional<TimePoint> next_run_at) override;
  Result<bool> RecordScheduleFire(const std::string& flow_id, TimePoint scheduled_for,
                                  const Run* run, std::optional<TimePoint> next_run_at,
                                  int64_t missed) override;
  Result<std::vector<bool>> RecordScheduleFires(const std::vector<ScheduleFire>& fires) override;
  Result<PollState> GetPollState(const std::string& flow_id) override;
  Result<std::vector<std::optional<TimePoint>>> PollKeysSeen(
      const std::string& flow_id, const std::vector<std::string>& keys) override;
  Result<PollCommitted> RecordPoll(const PollCommit& c) override;
  Result<void> ResetPollPrimed(const std::string& flow_id) override;
  Result<void> ClearPollPending(const std::string& flow_id) override;
  Result<void> ForEachActiveSchedule(const std::function<void(Flow&& flow)>& fn) override;
  Result<void> SetNextRunAts(
      const std::vector<std::pair<std::string, std::optional<TimePoint>>>& items) override;
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

  Result<Delivery> CreateDelivery(const Delivery& d) override;
  Result<Delivery> GetDelivery(const std::string& id) override;
  Result<std::vector<Delivery>> ListDeliveries(const std::string& flow_id, int limit) override;
  Result<WebhookRecorded> RecordWebhook(const WebhookRecord& r) override;
  Result<std::optional<std::string>> FindWebhookKey(const std::string& flow_id,
                                                    const std::string& key,
                                                    TimePoint since) override;
  Result<int64_t> PruneWebhookData(const std::string& flow_id, TimePoint before, int64_t keep,
                                   TimePoint keys_before, int max_rows) override;
  Result<int64_t> PruneRuns(const RunPrune& p, int max_rows) override;
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
  // ClaimRuns' second part: queued runs of flows with a max_concurrency.
  Result<std::vector<Run>> ClaimLimited(const std::string& node, int max, TimePoint now,
                                        TimePoint lease_until);
  struct Impl;
  explicit PostgresStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft
