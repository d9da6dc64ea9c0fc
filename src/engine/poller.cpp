#include "engine/poller.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/log.h"
#include "common/metrics.h"
#include "common/time_format.h"
#include "core/poll.h"
#include "schedule/schedule.h"

namespace weft {
namespace {

// One active poll flow.
struct Entry {
  std::string flow_id;
  std::string flow_name;
  int version = 0;
  Json trigger;  // the stored trigger, to see a change
  PollTrigger poll;
  std::shared_ptr<const Schedule> schedule;  // `every` as a schedule object
  Millis interval{60'000};                   // `every` as a duration
  TimePoint next{};
  bool in_flight = false;
  bool again = false;  // poll again as soon as the running poll ends
  uint64_t done = 0;   // polls ended (tests: PollAllNow)
};

const Json* TriggerOf(const Flow& f) {
  if (!f.document.is_object()) return nullptr;
  auto t = f.document.find("trigger");
  return t == f.document.end() || !t->is_object() ? nullptr : &*t;
}

std::optional<Entry> EntryOf(const Flow& f, const std::string& default_tz) {
  if (!f.active || f.trigger_type != "poll") return std::nullopt;
  const Json* trigger = TriggerOf(f);
  if (!trigger) return std::nullopt;
  auto poll = ParsePollTrigger(*trigger);
  if (!poll) return std::nullopt;
  Entry e;
  e.flow_id = f.id;
  e.flow_name = f.name;
  e.version = f.version;
  e.trigger = *trigger;
  e.poll = std::move(*poll);
  if (e.poll.every.is_object()) {
    auto s = ParseSchedule(e.poll.every, default_tz);
    if (!s) return std::nullopt;
    e.schedule = std::make_shared<const Schedule>(std::move(*s));
  } else if (auto d = ParseDuration(e.poll.every.is_string() ? e.poll.every.get<std::string>()
                                                             : std::string())) {
    e.interval = std::max(*d, Millis(1000));
  }
  return e;
}

TimePoint NextAfter(const Entry& e, TimePoint now) {
  if (e.schedule) {
    auto next = NextFireTime(*e.schedule, now);
    return next ? *next : now + Millis(24LL * 3600 * 1000);
  }
  return now + e.interval;
}

// The parts of one poll the check and the poller share: the source, the
// connection, the context.
struct Prepared {
  std::shared_ptr<PollSource> source;
  std::optional<Connection> connection;
};

Result<Prepared> Prepare(const ActionCatalog& catalog, const PollTrigger& poll,
                         const std::function<Result<Connection>(const std::string&)>& resolve,
                         Store& store) {
  Prepared p;
  p.source = catalog.FindPollSource(poll.uses);
  if (!p.source) return Fail(ErrorCode::kValidation, "unknown poll source \"" + poll.uses + "\"");
  if (!poll.connection.empty()) {
    auto c = resolve ? resolve(poll.connection) : store.GetConnectionByName(poll.connection);
    if (!c)
      return Fail(c.error().code, "connection \"" + poll.connection + "\": " + c.error().message);
    p.connection = std::move(*c);
  }
  return p;
}

}  // namespace

class Poller::Impl {
 public:
  Impl(Store& store, const ActionCatalog& catalog, ChangeHub& hub, Clock& clock,
       PollerOptions options)
      : store_(store), catalog_(catalog), hub_(hub), clock_(clock), options_(std::move(options)) {}

  void Start() {
    flow_sub_ = hub_.OnFlowChanged([this](const std::string& id) {
      {
        std::lock_guard<std::mutex> g(mu_);
        changed_.push_back(id);
      }
      cv_.notify_all();
    });
    loop_ = std::thread([this] { Loop(); });
    for (int i = 0; i < std::max(1, options_.threads); ++i)
      workers_.emplace_back([this] { Work(); });
  }

  void Stop() {
    flow_sub_.Reset();
    {
      std::lock_guard<std::mutex> g(mu_);
      stopping_ = true;
    }
    cancelled_ = true;
    cv_.notify_all();
    work_cv_.notify_all();
    done_cv_.notify_all();
    if (loop_.joinable()) loop_.join();
    for (auto& t : workers_)
      if (t.joinable()) t.join();
    workers_.clear();
  }

  size_t Count() const {
    std::lock_guard<std::mutex> g(mu_);
    return entries_.size();
  }

  bool PollAllNow(Millis timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait_for(lock, timeout, [&] { return loaded_ || stopping_; });
    std::map<std::string, uint64_t> target;
    TimePoint now = clock_.Now();
    for (auto& [id, e] : entries_) {
      // A running poll listed before this call: one more after it.
      target[id] = e.done + (e.in_flight ? 2 : 1);
      if (e.in_flight)
        e.again = true;
      else
        e.next = now;
    }
    poked_ = true;
    cv_.notify_all();
    return done_cv_.wait_for(lock, timeout, [&] {
      if (stopping_) return true;
      for (const auto& [id, n] : target) {
        auto it = entries_.find(id);
        if (it != entries_.end() && it->second.done < n) return false;
      }
      return true;
    }) && !stopping_;
  }

 private:
  void Put(Entry e, TimePoint now) {
    auto it = entries_.find(e.flow_id);
    if (it == entries_.end()) {
      e.next = now;  // a flow that became active polls at once
      entries_.emplace(e.flow_id, std::move(e));
      return;
    }
    Entry& cur = it->second;
    bool changed = cur.trigger != e.trigger;
    cur.flow_name = e.flow_name;
    cur.version = e.version;
    if (changed) {
      cur.trigger = std::move(e.trigger);
      cur.poll = std::move(e.poll);
      cur.schedule = std::move(e.schedule);
      cur.interval = e.interval;
      if (cur.in_flight)
        cur.again = true;
      else
        cur.next = now;
    }
  }

  void LoadAll() {
    auto flows = store_.ListFlows();
    if (!flows) {
      log::Warn("poller: could not list flows", {{"error", flows.error().message}});
      return;
    }
    std::lock_guard<std::mutex> g(mu_);
    TimePoint now = clock_.Now();
    std::map<std::string, bool> seen;
    for (const auto& f : *flows) {
      auto e = EntryOf(f, options_.default_timezone);
      if (!e) continue;
      seen[f.id] = true;
      Put(std::move(*e), now);
    }
    for (auto it = entries_.begin(); it != entries_.end();)
      it = seen.count(it->first) ? std::next(it) : entries_.erase(it);
    loaded_ = true;
    done_cv_.notify_all();
  }

  void Reload(const std::string& id) {
    auto flow = store_.GetFlow(id);
    std::optional<Entry> e;
    if (flow) e = EntryOf(*flow, options_.default_timezone);
    std::lock_guard<std::mutex> g(mu_);
    if (!flow && flow.error().code != ErrorCode::kNotFound) return;  // keep; rescan later
    if (!e) {
      entries_.erase(id);  // deactivated, deleted or no longer a poll: stops at once
      done_cv_.notify_all();
      return;
    }
    Put(std::move(*e), clock_.Now());
  }

  void Loop() {
    LoadAll();
    TimePoint last_scan = clock_.Now();
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      while (!changed_.empty()) {
        std::string id = std::move(changed_.front());
        changed_.pop_front();
        lock.unlock();
        Reload(id);
        lock.lock();
      }
      TimePoint now = clock_.Now();
      if (options_.rescan_interval.count() > 0 && now - last_scan >= options_.rescan_interval) {
        lock.unlock();
        LoadAll();
        lock.lock();
        last_scan = now;
      }
      TimePoint wake = now + Millis(1000);
      for (auto& [id, e] : entries_) {
        if (e.in_flight) continue;
        if (e.next <= now) {
          e.in_flight = true;
          work_.push_back(id);
          work_cv_.notify_one();
        } else {
          wake = std::min(wake, e.next);
        }
      }
      if (options_.rescan_interval.count() > 0)
        wake = std::min(wake, last_scan + options_.rescan_interval);
      clock_.WaitUntil(cv_, lock, wake, [&] {
        bool poked = poked_;
        poked_ = false;
        return stopping_ || !changed_.empty() || poked;
      });
    }
  }

  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      work_cv_.wait(lock, [&] { return stopping_ || !work_.empty(); });
      if (stopping_) return;
      std::string id = std::move(work_.front());
      work_.pop_front();
      auto it = entries_.find(id);
      if (it == entries_.end()) continue;
      Entry snapshot = it->second;
      lock.unlock();
      bool more = PollOnce(snapshot);
      lock.lock();
      it = entries_.find(id);
      if (it == entries_.end()) {
        done_cv_.notify_all();
        continue;
      }
      Entry& e = it->second;
      e.in_flight = false;
      ++e.done;
      TimePoint now = clock_.Now();
      e.next = more || e.again ? now : NextAfter(e, now);
      e.again = false;
      poked_ = true;
      cv_.notify_all();
      done_cv_.notify_all();
    }
  }

  // One poll of one flow. True when the source has more right now.
  bool PollOnce(const Entry& e) {
    TimePoint polled_at = clock_.Now();
    auto state = store_.GetPollState(e.flow_id);
    if (!state) {
      log::Warn("poll: could not read the poll state",
                {{"flow", e.flow_name}, {"error", state.error().message}});
      return false;
    }
    auto prepared = Prepare(catalog_, e.poll, options_.resolve_connection, store_);
    if (!prepared) {
      RecordFailure(e, *state, polled_at, prepared.error());
      return false;
    }
    PollSource& source = *prepared->source;
    const Connection* connection = prepared->connection ? &*prepared->connection : nullptr;
    // The cursor belongs to the source it came from: another source starts afresh.
    const Json source_cursor = state->source == e.poll.uses ? state->cursor : Json();
    const bool baseline = !e.poll.start_all && !state->primed;
    const Millis half = e.poll.remember / 2;
    std::vector<std::string> refresh;
    auto log_fn = [&](const std::string& level, const std::string& message) {
      if (level == "error" || level == "warn")
        log::Warn("poll: " + message, {{"flow", e.flow_name}});
      else
        log::Debug("poll: " + message, {{"flow", e.flow_name}});
    };
    PollContext ctx{
        e.poll.with, connection, source_cursor, clock_, polled_at + options_.poll_timeout,
        cancelled_};
    ctx.files = baseline ? nullptr : options_.files;
    ctx.dry_run = baseline;
    ctx.baseline = baseline;
    ctx.max_items = baseline ? SIZE_MAX : options_.max_items;
    ctx.log = log_fn;
    ctx.seen = [&](const std::vector<std::string>& keys) -> Result<std::vector<bool>> {
      auto seen = store_.PollKeysSeen(e.flow_id, keys);
      if (!seen) return Fail(seen.error());
      std::vector<bool> out(keys.size());
      for (size_t i = 0; i < keys.size(); ++i) {
        out[i] = (*seen)[i].has_value();
        if (out[i] && *(*seen)[i] < polled_at - half) refresh.push_back(keys[i]);
      }
      return out;
    };

    const bool has_after = source.HasAfter(e.poll.with);
    auto listed = source.Poll(ctx);
    if (!listed) {
      RecordFailure(e, *state, polled_at, listed.error());
      return false;
    }
    // What the last poll committed but may not have moved yet (weft died
    // right after the commit, or the move failed): done again, for the
    // items still listed under the same key (a file replaced since has
    // another key and is a new item; one already moved is not listed).
    Json pending = Json::array();
    if (has_after && state->pending_after.is_array() && !state->pending_after.empty()) {
      std::set<std::string> still(listed->known.begin(), listed->known.end());
      std::vector<PollItem> items;
      for (const auto& it : state->pending_after)
        if (still.count(GetString(it, "key")))
          items.push_back({GetString(it, "key"), it.value("item", Json())});
      if (!items.empty()) {
        ctx.dry_run = false;
        if (auto done = source.AfterCommit(ctx, items); !done) {
          log_fn("warn", "after: " + done.error().message);
          for (const auto& item : items)
            pending.push_back(Json{{"key", item.key}, {"item", item.item}});
        }
        ctx.dry_run = baseline;
      }
    }
    PollCommit commit;
    commit.flow_id = e.flow_id;
    commit.source = e.poll.uses;
    commit.polled_at = polled_at;
    commit.cursor = listed->cursor;
    commit.from_cursor = state->cursor;
    if (state->source != e.poll.uses && !commit.cursor) commit.cursor = Json();
    commit.keyed = listed->keyed;
    commit.create_runs = !baseline;
    commit.primed = true;
    commit.flow_name = e.flow_name;
    commit.flow_version = e.version;
    commit.batch = e.poll.batch;
    commit.batch_size = e.poll.batch_size;
    commit.refresh_keys = std::move(refresh);
    commit.forget_before = polled_at - e.poll.remember;
    commit.items.reserve(listed->items.size());
    for (auto& item : listed->items) commit.items.push_back({item.key, item.item});
    if (has_after && !baseline)
      for (const auto& item : listed->items)
        pending.push_back(Json{{"key", item.key}, {"item", item.item}});
    commit.pending_after = pending.empty() ? Json() : pending;
    auto committed = store_.RecordPoll(commit);
    if (!committed) {
      log::Warn("poll: could not commit",
                {{"flow", e.flow_name}, {"error", committed.error().message}});
      metrics::Weft().poll_failures.Increment();
      return false;
    }
    if (!committed->recorded) {
      log::Info("poll: not committed",
                {{"flow", e.flow_name},
                 {"why", committed->cursor_moved ? "the cursor moved (another node polled)"
                                                 : "the flow is no longer active"}});
      return false;
    }
    metrics::Weft().polls.Increment();
    metrics::Weft().poll_items.Increment(
        static_cast<double>(listed->keyed ? committed->new_keys.size() : listed->items.size()));
    if (!committed->runs.empty()) hub_.RunQueued();
    if (baseline && !listed->items.empty())
      log::Info("poll: start: new recorded what exists as seen",
                {{"flow", e.flow_name}, {"items", std::to_string(listed->items.size())}});
    if (has_after && !baseline && !listed->items.empty()) {
      ctx.dry_run = false;
      if (auto done = source.AfterCommit(ctx, listed->items); !done)
        log_fn("warn", "after: " + done.error().message);
      else if (pending.size() == listed->items.size())  // nothing left over from before
        (void)store_.ClearPollPending(e.flow_id);
    }
    return listed->more;
  }

  void RecordFailure(const Entry& e, const PollState& state, TimePoint at, const Error& error) {
    metrics::Weft().poll_failures.Increment();
    std::string message =
        error.message.empty() ? std::string(ErrorCodeName(error.code)) : error.message;
    log::Warn("poll failed", {{"flow", e.flow_name}, {"error", message}});
    PollCommit c;
    c.flow_id = e.flow_id;
    c.polled_at = at;
    c.error = message;
    // A streak of one error is one failed run; the state keeps the latest.
    if (state.last_error != message) {
      Run run;
      run.flow_id = e.flow_id;
      run.flow_name = e.flow_name;
      run.flow_version = e.version;
      run.trigger_type = "poll";
      run.trigger = Json{{"type", "poll"}, {"polled_at", FormatIso(at)}, {"error", message}};
      run.status = RunStatus::kFailed;
      run.started_at = at;
      run.finished_at = clock_.Now();
      run.error = Json{{"code", std::string(ErrorCodeName(error.code))},
                       {"message", "the poll failed: " + message}};
      c.failed_run = std::move(run);
      metrics::Weft().runs_total.With({"poll", "failed"}).Increment();
    }
    if (auto r = store_.RecordPoll(c); !r)
      log::Warn("poll: could not record the failure",
                {{"flow", e.flow_name}, {"error", r.error().message}});
  }

  Store& store_;
  const ActionCatalog& catalog_;
  ChangeHub& hub_;
  Clock& clock_;
  PollerOptions options_;
  ChangeHub::Subscription flow_sub_;

  mutable std::mutex mu_;
  std::condition_variable cv_, work_cv_, done_cv_;
  std::map<std::string, Entry> entries_;
  std::deque<std::string> changed_;
  std::deque<std::string> work_;
  bool stopping_ = false;
  bool loaded_ = false;
  bool poked_ = false;  // a next poll time moved earlier: the loop looks again
  std::atomic<bool> cancelled_{false};
  std::thread loop_;
  std::vector<std::thread> workers_;
};

Poller::Poller(Store& store, const ActionCatalog& catalog, ChangeHub& hub, Clock& clock,
               PollerOptions options)
    : impl_(std::make_unique<Impl>(store, catalog, hub, clock, std::move(options))) {}
Poller::~Poller() { impl_->Stop(); }
void Poller::Start() { impl_->Start(); }
void Poller::Stop() { impl_->Stop(); }
size_t Poller::ActiveFlows() const { return impl_->Count(); }
bool Poller::PollAllNow(Millis timeout) { return impl_->PollAllNow(timeout); }

Result<Json> CheckPoll(Store& store, const ActionCatalog& catalog, Clock& clock, const Flow& flow,
                       const std::function<Result<Connection>(const std::string&)>& resolve) {
  const Json* trigger = TriggerOf(flow);
  if (flow.trigger_type != "poll" || !trigger)
    return Fail(ErrorCode::kConflict, "flow \"" + flow.name + "\" has no poll trigger");
  auto poll = ParsePollTrigger(*trigger);
  if (!poll) return Fail(poll.error());
  auto state = store.GetPollState(flow.id);
  if (!state) return Fail(state.error());
  auto prepared = Prepare(catalog, *poll, resolve, store);
  if (!prepared) return Fail(prepared.error());
  const Json cursor = state->source == poll->uses ? state->cursor : Json();
  std::atomic<bool> cancelled{false};
  PollContext ctx{poll->with,
                  prepared->connection ? &*prepared->connection : nullptr,
                  cursor,
                  clock,
                  clock.Now() + Millis(60'000),
                  cancelled};
  ctx.dry_run = true;
  ctx.baseline = !poll->start_all && !state->primed;  // what the next poll does
  ctx.files = nullptr;
  ctx.max_items = 1000;
  ctx.seen = [&](const std::vector<std::string>& keys) -> Result<std::vector<bool>> {
    auto seen = store.PollKeysSeen(flow.id, keys);
    if (!seen) return Fail(seen.error());
    std::vector<bool> out(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) out[i] = (*seen)[i].has_value();
    return out;
  };
  auto listed = prepared->source->Poll(ctx);
  if (!listed) return Fail(listed.error());
  Json items = Json::array();
  for (const auto& item : listed->items) items.push_back({{"key", item.key}, {"item", item.item}});
  Json out = {{"source", poll->uses},
              {"items", items},
              {"known", listed->known.size()},
              {"more", listed->more},
              {"cursor", cursor},
              // start: new and not primed yet: the next poll records these as seen, no runs.
              {"baseline", !poll->start_all && !state->primed}};
  if (listed->cursor) out["next_cursor"] = *listed->cursor;
  if (state->last_poll_at) out["last_poll_at"] = FormatIso(*state->last_poll_at);
  if (!state->last_error.empty()) out["last_error"] = state->last_error;
  return out;
}

}  // namespace weft
