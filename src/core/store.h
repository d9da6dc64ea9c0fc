// Store: everything weft keeps, behind one interface with two implementations
// (store/sqlite, the embedded default, and store/postgres for several nodes).
// No SQL or database type crosses this interface. Every method is one atomic
// transaction and is safe to call from many threads at once.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "core/auth_model.h"
#include "core/model.h"
#include "core/rate_limit.h"

namespace weft {

// What a save writes: the new document and the names it carries.
struct FlowWrite {
  std::string name;
  std::string description;
  std::string trigger_type;
  Json document;      // canonical JSON of the whole FlowDocument
  std::string actor;  // who saves ("" when access control is off)
};

// One webhook request's writes, committed in one transaction (Store::RecordWebhook).
struct WebhookRecord {
  std::optional<Run> run;       // the run to start, if any
  std::string idempotency_key;  // with a run: recorded for (run->flow_id, key); "" for none
  TimePoint keys_since{};       // a key recorded before this is forgotten (24 h window)
  std::optional<Delivery>
      delivery;  // recorded too; its run_id becomes the run's (or the first run's)
};

// One schedule fire (Store::RecordScheduleFires): the run to create, if any
// (queued, or skipped by overlap: skip; none when misfire: skip drops it), the
// flow's next fire, and how many fire times this fire stands for as missed.
struct ScheduleFire {
  std::string flow_id;
  TimePoint scheduled_for{};
  std::optional<Run> run;
  std::optional<TimePoint> next_run_at;
  int64_t missed = 0;
};

// Which finished runs retention deletes (Store::PruneRuns). Runs that have
// not finished (queued, running) are never deleted. A zero TimePoint turns
// that rule off.
struct RunPrune {
  std::string flow_id;                    // one flow's runs; "" for every flow but `except_flows`
  std::vector<std::string> except_flows;  // with flow_id "": flows with a retention of their own
  TimePoint before{};         // runs that finished before this go (failed ones: failed_before)
  TimePoint failed_before{};  // failed runs that finished before this go
  // With a flow_id and keep > 0: finished runs beyond the flow's newest `keep`
  // (by created_at) go too, except failed ones that finished at or after
  // failed_before.
  int64_t keep = 0;
};

// A poll trigger's state (Store::GetPollState): the source's cursor and how
// the last poll went.
struct PollState {
  std::string flow_id;
  std::string source;  // the `uses` the cursor belongs to ("" before the first poll)
  Json cursor;         // null before the first poll
  // start: new has recorded what existed when the flow was (re)activated.
  bool primed = false;
  std::optional<TimePoint> last_poll_at;
  std::string last_error;  // "" when the last poll succeeded
  int64_t polls = 0;       // polls recorded (failed ones too)
  // The items (a JSON array) whose `after` (move, delete) may not have run
  // yet: the last successful poll's new items. Null when none.
  Json pending_after;
};

// One listed item of a poll (Store::RecordPoll).
struct PollCommitItem {
  std::string key;
  Json item;
};

// One poll's writes, committed in one transaction (Store::RecordPoll).
struct PollCommit {
  std::string flow_id;
  std::string source;  // the source's `uses`, kept with the cursor
  TimePoint polled_at{};
  std::optional<Json> cursor;  // the new cursor; nullopt keeps the committed one
  // The cursor the poll listed from (null: none): a commit whose flow's
  // cursor is another by now (another node committed a poll meanwhile) is
  // refused, so a source that keeps only a cursor is not emitted twice either.
  Json from_cursor;
  // The items the source listed as new. With `keyed`, each key is recorded
  // and only items whose key was not recorded yet start runs; without, each
  // item starts one (the cursor alone says what is new).
  std::vector<PollCommitItem> items;
  bool keyed = true;
  // False for the baseline of `start: new`: keys and cursor, no runs; the
  // state is marked primed.
  bool create_runs = true;
  bool primed = false;  // set primed (the baseline, or start: all's first poll)
  // The runs' flow, name and version; status queued. Their trigger is
  // {type: "poll", item, key, polled_at}, or with `batch` {type: "poll",
  // items, keys, polled_at} for up to `batch_size` items a run.
  std::string flow_name;
  int flow_version = 0;
  bool batch = false;
  int batch_size = 100;
  // Replaces the state's pending_after (JSON null: none).
  Json pending_after;
  // Keys listed again whose record is older than this get seen_at =
  // polled_at (a file kept in the folder is not forgotten after `remember`).
  std::vector<std::string> refresh_keys;
  // Keys of this flow recorded before this are forgotten (at most 1,000 a poll).
  TimePoint forget_before{};
  // A failed poll: the error is recorded in the state, the cursor and keys
  // stay; `failed_run`, when given, is stored as it is (a failed run of the
  // flow, for the Process Log).
  std::string error;
  std::optional<Run> failed_run;
};

struct PollCommitted {
  // False when the flow is no longer active (or gone), or its cursor moved
  // since the poll listed (`cursor_moved`): nothing was written.
  bool recorded = false;
  bool cursor_moved = false;
  std::vector<std::string> new_keys;  // of the items, the keys recorded by this poll
  std::vector<Run> runs;              // the runs created, as stored
};

// The runs a poll creates for its new items (both stores call it inside
// RecordPoll's transaction): ids and created_at are left to the store.
std::vector<Run> MakePollRuns(const PollCommit& commit, const std::vector<size_t>& new_items);

struct WebhookRecorded {
  std::optional<Run> run;    // the run committed; null when none was asked or on a duplicate
  std::string duplicate_of;  // the first request's run id when the key was seen since keys_since
  std::optional<Delivery> delivery;  // as stored
  // The run is durable but becomes claimable a moment later, and the store
  // says so itself (SqliteStore's webhook journal): the caller need not wake
  // the engine, which would look before the run is there.
  bool announced_later = false;
};

// Write priority of the calling thread. Engine workers mark theirs
// kBackground: while a store's writer is saturated, their writes (claims,
// step results) wait behind the writes that take in new work (webhooks,
// schedule fires, API calls), for a bounded time, so a burst is taken in
// first and run right after. A store may ignore it.
enum class WritePriority { kNormal, kBackground };
void SetThreadWritePriority(WritePriority priority);
WritePriority ThreadWritePriority();

// The answer of Store's access-control defaults (test doubles keep no users).
inline Unexpected NoAuth() { return Fail(ErrorCode::kUnavailable, "this store keeps no users"); }

class Store {
 public:
  virtual ~Store() = default;

  // ---- flows ----
  // Creates flow and its version 1. kConflict when the name is taken.
  virtual Result<Flow> CreateFlow(const FlowWrite& write, const std::string& webhook_token) = 0;
  virtual Result<Flow> GetFlow(const std::string& id) = 0;
  virtual Result<Flow> GetFlowByName(const std::string& name) = 0;
  virtual Result<Flow> GetFlowByWebhookToken(const std::string& token) = 0;
  virtual Result<std::vector<Flow>> ListFlows() = 0;  // by name
  // Appends a version unless `write.document` equals the latest one (then the
  // flow comes back unchanged). With `base_version`, kVersionConflict when the
  // flow's latest version is another. kConflict when the new name is taken.
  // A non-empty `webhook_token` is stored only when the flow has none yet.
  virtual Result<Flow> SaveFlow(const std::string& id, const FlowWrite& write,
                                std::optional<int> base_version,
                                const std::string& webhook_token) = 0;
  virtual Result<void> DeleteFlow(const std::string& id) = 0;  // with its versions
  virtual Result<Flow> SetFlowActive(const std::string& id, bool active) = 0;
  virtual Result<Flow> SetWebhookToken(const std::string& id, const std::string& token) = 0;
  virtual Result<FlowVersion> GetFlowVersion(const std::string& id, int version) = 0;
  // Newest first; kNotFound when the flow does not exist.
  virtual Result<std::vector<FlowVersion>> ListFlowVersions(const std::string& id) = 0;
  // Sets (or clears) the flow's next scheduled fire, shown on the Flow List.
  // kNotFound for an unknown flow.
  virtual Result<void> SetNextRunAt(const std::string& id,
                                    std::optional<TimePoint> next_run_at) = 0;
  // Records one schedule fire in one transaction: creates `run` when given
  // (queued or skipped), sets next_run_at and adds `missed` to missed_fires.
  // Each (flow, scheduled_for) is recorded once: when it already was (another
  // scheduler fired it, or a later time was fired), nothing changes and the
  // answer is false. kNotFound for an unknown flow.
  virtual Result<bool> RecordScheduleFire(const std::string& flow_id, TimePoint scheduled_for,
                                          const Run* run, std::optional<TimePoint> next_run_at,
                                          int64_t missed) = 0;
  // Many fires at once (the scheduler's batch of fires due at one instant),
  // each as RecordScheduleFire, except that a fire of a flow that is no longer
  // active (or gone) is refused too: deactivating stops a schedule at once.
  // Answers, per fire, whether it was recorded. The default records them one
  // by one; a store may write them all in one transaction.
  virtual Result<std::vector<bool>> RecordScheduleFires(const std::vector<ScheduleFire>& fires) {
    std::vector<bool> out;
    out.reserve(fires.size());
    for (const auto& f : fires) {
      auto flow = GetFlow(f.flow_id);
      if (!flow && flow.error().code != ErrorCode::kNotFound) return Fail(flow.error());
      if (!flow || !flow->active) {
        out.push_back(false);
        continue;
      }
      auto r = RecordScheduleFire(f.flow_id, f.scheduled_for, f.run ? &*f.run : nullptr,
                                  f.next_run_at, f.missed);
      if (!r) return Fail(r.error());
      out.push_back(*r);
    }
    return out;
  }
  // Calls fn for each active flow whose trigger type is "schedule", one at a
  // time, so that no list of every flow is held at once (the scheduler's load
  // of 100,000 schedules). The flow's document may hold only its trigger.
  // fn may call the store (the scheduler fires between chunks of its load);
  // a streaming store must keep a connection free for it. The default
  // filters ListFlows(); a store may stream the rows.
  virtual Result<void> ForEachActiveSchedule(const std::function<void(Flow&& flow)>& fn) {
    auto flows = ListFlows();
    if (!flows) return Fail(flows.error());
    for (auto& f : *flows)
      if (f.active && f.trigger_type == "schedule") fn(std::move(f));
    return Ok();
  }
  // Sets (or clears) many flows' next fire at once, as SetNextRunAt each,
  // except that an unknown flow is skipped. The default sets them one by one;
  // a store may write them all in one transaction.
  virtual Result<void> SetNextRunAts(
      const std::vector<std::pair<std::string, std::optional<TimePoint>>>& items) {
    for (const auto& [id, next] : items) {
      auto r = SetNextRunAt(id, next);
      if (!r && r.error().code != ErrorCode::kNotFound) return r;
    }
    return Ok();
  }
  // The latest run of each flow, keyed by flow id (Flow List).
  virtual Result<std::vector<std::pair<std::string, RunSummary>>> LastRuns() = 0;

  // ---- connections ----
  virtual Result<Connection> CreateConnection(const Connection& c) = 0;  // kConflict on name
  virtual Result<Connection> GetConnection(const std::string& id) = 0;
  virtual Result<Connection> GetConnectionByName(const std::string& name) = 0;
  virtual Result<std::vector<Connection>> ListConnections() = 0;
  virtual Result<Connection> UpdateConnection(const Connection& c) = 0;
  virtual Result<void> DeleteConnection(const std::string& id) = 0;

  // ---- connection rate limits (core/rate_limit.h; migration 0013) ----
  // Reserves the next request slot of a connection and returns its time: `now`
  // when the request may go at once, else when it may go (the caller waits,
  // then sends without asking again). One atomic write of the connection's
  // GCRA row (a theoretical arrival time): of `limit.burst` requests taken at
  // once all go now, then one per `limit.Interval()`. Every caller of every
  // node shares the row, so the limit holds across runs, workers and nodes.
  // With no limit (null) nothing is reserved: the answer is `now` or the end
  // of a pause (PauseConnection), whichever is later. Times are the callers'
  // clocks (nodes keep them in sync, as leases need). kNotFound for an
  // unknown connection.
  virtual Result<TimePoint> TakeRateSlot(const std::string& connection_id, const RateLimit* limit,
                                         TimePoint now) = 0;
  // The application asked to wait (429/503 with Retry-After): no slot of the
  // connection is handed out before `until` (a later pause already set stays).
  virtual Result<void> PauseConnection(const std::string& connection_id, TimePoint until) = 0;

  // ---- runs ----
  // Commits a new run (status queued, or skipped). When this returns the run is durable.
  // An empty id and a zero created_at are filled in; `run.steps`, if any (a
  // retry's reused steps), are stored in the same transaction. kConflict on a taken id.
  virtual Result<Run> CreateRun(const Run& run) = 0;
  // Takes up to `max` runs that may run now and that nobody holds: queued or
  // running runs whose claim is empty or whose lease has expired, and whose
  // not_before has passed; oldest first. Marks them claimed by `node` until
  // `lease_until`. Returned runs carry their steps, as GetRun(id, true) gives
  // them (none for a run that has not started, unless a retry's reused ones).
  virtual Result<std::vector<Run>> ClaimRuns(const std::string& node, int max, TimePoint now,
                                             TimePoint lease_until) = 0;
  // Extends the leases of runs this node holds (others in the list are left alone).
  virtual Result<void> RenewLeases(const std::string& node, const std::vector<std::string>& run_ids,
                                   TimePoint lease_until) = 0;
  virtual Result<Run> GetRun(const std::string& id, bool with_steps) = 0;
  // Newest first by (created_at, id); since <= created_at < until; limit <= 0
  // means 50. kBadRequest for a cursor this store did not make.
  virtual Result<RunPage> ListRuns(const RunFilter& filter) = 0;
  // Writes the run's status, times, output, error, claim and not_before
  // (every field of Run except id, flow, trigger, input and steps).
  // created_at and retry_of stay as created. cancel_requested is only ever
  // raised here, never cleared, so a RequestCancel racing this write is not
  // lost. kNotFound for an unknown run.
  virtual Result<void> UpdateRun(const Run& run) = 0;
  // Inserts or replaces the step run (run_id, path). A replaced row keeps its
  // seq; a new row with seq <= 0 is given the run's last seq + 1. kNotFound
  // when the run does not exist.
  virtual Result<void> SaveStepRun(const StepRun& step) = 0;
  // In one transaction: UpdateRun(*run) when `run` is given, then SaveStepRun
  // of each of `steps` in order. The executor writes the results of
  // side-effect-free steps this way, with the next write the run needs
  // anyway (its header before a step with effects, or its end). kNotFound
  // when the run does not exist (nothing is written). The default, for test
  // doubles, is not atomic; both real stores override it.
  virtual Result<void> SaveRun(const Run* run, const std::vector<StepRun>& steps) {
    if (run)
      if (auto r = UpdateRun(*run); !r) return r;
    for (const auto& st : steps)
      if (auto r = SaveStepRun(st); !r) return r;
    return Ok();
  }
  // Sets cancel_requested on a run that has not finished (false if it had),
  // and clears not_before when nobody holds the run, so a waiting run is
  // claimed (and ended) at once.
  virtual Result<bool> RequestCancel(const std::string& run_id) = 0;
  // Counts of runs by status (metrics, back-pressure).
  virtual Result<int64_t> CountRuns(std::optional<RunStatus> status) = 0;
  // The queue at a glance (GET /metrics, read at scrape time): how many runs
  // are queued, and when the oldest of them was created (none when empty).
  // The default counts and leaves the age unknown; both real stores override
  // it with one indexed query.
  struct QueueStats {
    int64_t queued = 0;
    std::optional<TimePoint> oldest_created_at;
  };
  virtual Result<QueueStats> GetQueueStats() {
    auto n = CountRuns(RunStatus::kQueued);
    if (!n) return Fail(n.error());
    return QueueStats{*n, std::nullopt};
  }
  // The schema as the database holds it now (GET /readyz; the read also
  // proves the database answers): the highest migration applied, and the
  // highest this build knows. The default, for test doubles, is kUnavailable.
  struct SchemaStatus {
    int applied = 0;
    int known = 0;
  };
  virtual Result<SchemaStatus> GetSchemaStatus() {
    return Fail(ErrorCode::kUnavailable, "this store does not report its schema");
  }
  // Why the store cannot take writes now (its disk is full, an I/O error),
  // or "" when it can as far as it knows (GET /readyz). The default, for
  // stores that find out only on the write itself, is "".
  virtual std::string WriteProblem() const { return {}; }
  // Makes an unfinished run that nobody holds claimable at once (clears
  // not_before): a flow.call parent whose called run has finished. Harmless
  // on a run that waits for other reasons (it looks and suspends again).
  // Answers whether a waiting run was woken. The default wakes nothing (the
  // parent then finds out at its next poll).
  virtual Result<bool> WakeRun(const std::string& run_id) {
    (void)run_id;
    return false;
  }

  // ---- deliveries ----
  virtual Result<Delivery> CreateDelivery(const Delivery& d) = 0;
  virtual Result<Delivery> GetDelivery(const std::string& id) = 0;
  // Newest first; flow_id "" lists every flow's; limit <= 0 means 50.
  virtual Result<std::vector<Delivery>> ListDeliveries(const std::string& flow_id, int limit) = 0;

  // ---- webhooks ----
  // In one transaction: when `r.idempotency_key` is set and was recorded for
  // the flow since `r.keys_since`, starts nothing and answers that run id in
  // `duplicate_of`; otherwise commits `r.run` (ids and times filled in as in
  // CreateRun) and records the key with it. The delivery, if any, is stored
  // in the same transaction with the run id. Of concurrent requests with one
  // key exactly one commits a run. A store may take a request without a key
  // into a journal of its own first (durable as its commits are) and import
  // it shortly after: every read of runs or deliveries then sees it. The default, for test doubles,
  // is not atomic and ignores keys; both real stores override it.
  virtual Result<WebhookRecorded> RecordWebhook(const WebhookRecord& r) {
    WebhookRecorded out;
    if (r.run) {
      auto run = CreateRun(*r.run);
      if (!run) return Fail(run.error());
      out.run = std::move(*run);
    }
    if (r.delivery) {
      Delivery d = *r.delivery;
      if (out.run) d.run_id = out.run->id;
      auto stored = CreateDelivery(d);
      if (!stored) return Fail(stored.error());
      out.delivery = std::move(*stored);
    }
    return out;
  }
  // Whether RecordWebhook of a request without an idempotency key returns
  // without waiting on other writes or on another machine (SQLite's journal:
  // an append to a local file). The HTTP layer then takes such webhooks on
  // its I/O threads rather than handing them to a worker. The default: no.
  virtual bool RecordsWebhooksAtOnce() const { return false; }
  // Read only: the run id recorded for `key` of the flow since `since`, or
  // nullopt. A hint ahead of RecordWebhook (the webhook receiver asks it only
  // when the run queue is full, to answer a repeat rather than 429); the key
  // may be taken or pruned in between, so RecordWebhook stays the authority.
  // The default, for test doubles, knows no keys; both real stores override it.
  virtual Result<std::optional<std::string>> FindWebhookKey(const std::string& flow_id,
                                                            const std::string& key,
                                                            TimePoint since) {
    (void)flow_id, (void)key, (void)since;
    return std::optional<std::string>{};
  }
  // Retention, in batches of at most `max_rows` rows each: deletes deliveries
  // of `flow_id` ("" for every flow) received before `before`, and, for one
  // flow with `keep` > 0, those beyond its newest `keep`; and idempotency keys
  // recorded before `keys_before`. Returns how many rows were deleted.
  virtual Result<int64_t> PruneWebhookData(const std::string& flow_id, TimePoint before,
                                           int64_t keep, TimePoint keys_before, int max_rows) {
    (void)flow_id, (void)before, (void)keep, (void)keys_before, (void)max_rows;
    return int64_t{0};
  }

  // ---- poll triggers (core/poll.h) ----
  // The flow's poll state; an empty state (flow_id set) when it has none yet.
  virtual Result<PollState> GetPollState(const std::string& flow_id) {
    PollState s;
    s.flow_id = flow_id;
    return s;
  }
  // For each of `keys`, when the flow recorded it (nullopt: never), with
  // one indexed lookup each.
  virtual Result<std::vector<std::optional<TimePoint>>> PollKeysSeen(
      const std::string& flow_id, const std::vector<std::string>& keys) {
    (void)flow_id;
    return std::vector<std::optional<TimePoint>>(keys.size());
  }
  // In one transaction, only while the flow is active: records the keys of
  // `c.items` not recorded yet, creates the runs of those items, stores the
  // cursor and the state, refreshes and forgets keys. A failed poll
  // (`c.error`) writes the state's error and `c.failed_run` only. Of
  // concurrent commits of one flow (two schedulers in a failover) each key
  // starts one run. The default, for test doubles, refuses.
  virtual Result<PollCommitted> RecordPoll(const PollCommit& c) {
    (void)c;
    return Fail(ErrorCode::kUnavailable, "this store keeps no poll state");
  }
  // Marks the flow's poll state not primed (activation of a `start: new`
  // flow: what exists then is recorded as seen, without runs). The cursor
  // and keys stay.
  virtual Result<void> ResetPollPrimed(const std::string& flow_id) {
    (void)flow_id;
    return Ok();
  }
  // Clears the state's pending_after once `after` has run for those items.
  virtual Result<void> ClearPollPending(const std::string& flow_id) {
    (void)flow_id;
    return Ok();
  }

  // ---- access control ----
  // Users, API tokens and sessions; secrets only as hashes. The defaults, for
  // test doubles, keep nothing; both real stores override every one.
  virtual Result<User> CreateUser(const User& u) {
    return (void)u, NoAuth();
  }  // kConflict: name taken
  virtual Result<User> GetUser(const std::string& id) { return (void)id, NoAuth(); }
  virtual Result<User> GetUserByName(const std::string& name) { return (void)name, NoAuth(); }
  virtual Result<std::vector<User>> ListUsers() { return std::vector<User>{}; }  // by username
  virtual Result<void> DeleteUser(const std::string& id) {
    return (void)id, NoAuth();
  }  // and its sessions
  virtual Result<ApiToken> CreateApiToken(const ApiToken& t) { return (void)t, NoAuth(); }
  virtual Result<ApiToken> GetApiTokenByHash(const std::string& hash) {
    return (void)hash, NoAuth();
  }
  virtual Result<std::vector<ApiToken>> ListApiTokens() {
    return std::vector<ApiToken>{};
  }  // newest first
  virtual Result<void> DeleteApiToken(const std::string& id) { return (void)id, NoAuth(); }
  virtual Result<void> TouchApiToken(const std::string& id, TimePoint at) {
    return (void)at, (void)id, NoAuth();
  }
  virtual Result<Session> CreateSession(const Session& s) { return (void)s, NoAuth(); }
  virtual Result<Session> GetSession(const std::string& id_hash) { return (void)id_hash, NoAuth(); }
  virtual Result<void> TouchSession(const std::string& id_hash, TimePoint at) {
    return (void)at, (void)id_hash, NoAuth();
  }
  virtual Result<void> DeleteSession(const std::string& id_hash) { return (void)id_hash, NoAuth(); }
  // Deletes sessions last seen before `idle_before` or ending before `now`; answers how many.
  virtual Result<int64_t> PruneSessions(TimePoint idle_before, TimePoint now) {
    (void)idle_before, (void)now;
    return int64_t{0};
  }

  // ---- retention ----
  // Deletes at most `max_rows` finished runs that `p` selects, oldest first,
  // with their step runs, in one transaction. Returns how many runs were
  // deleted; fewer than `max_rows` means none are left to delete.
  // Both real stores override it; the default, for test doubles, deletes nothing.
  virtual Result<int64_t> PruneRuns(const RunPrune& p, int max_rows) {
    (void)p, (void)max_rows;
    return int64_t{0};
  }
  // Gives up to `max_pages` free pages back to the file system (SQLite's
  // incremental vacuum); returns how many are still free. Stores that reuse
  // space on their own (PostgreSQL's autovacuum) answer 0.
  virtual Result<int64_t> ReclaimSpace(int max_pages) {
    (void)max_pages;
    return int64_t{0};
  }

  // ---- files (core/files.h) ----
  // A run references a file when its trigger or a step's output holds the
  // file's value; CreateRun, SaveStepRun, SaveRun and RecordWebhook record
  // that in the transaction that writes the value, and deleting the run
  // drops it. Of `ids`, the ones no run references (for the file sweep).
  // The default, for test doubles, answers that every file is referenced.
  virtual Result<std::vector<std::string>> UnreferencedFiles(const std::vector<std::string>& ids) {
    (void)ids;
    return std::vector<std::string>{};
  }
  // The ids of the files run `run_id` references.
  virtual Result<std::vector<std::string>> FilesOfRun(const std::string& run_id) {
    (void)run_id;
    return std::vector<std::string>{};
  }
};

}  // namespace weft
