#include "engine/scheduler.h"

#include <condition_variable>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <map>
#include <mutex>
#include <queue>
#include <set>
#include <thread>
#include <unordered_map>

#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/time_format.h"
#include "schedule/schedule.h"

namespace weft {

std::vector<FieldError> ScheduleFacts::Validate(const Json& schedule, const std::string& default_tz,
                                                const Json* previous_schedule,
                                                TimePoint now) const {
  std::vector<FieldError> out;
  auto parsed = ParseSchedule(schedule, default_tz);
  if (!parsed) {
    for (const auto& d : parsed.error().details)
      out.push_back({"trigger.schedule" + (d.path.empty() ? "" : "." + d.path), d.message});
    if (out.empty()) out.push_back({"trigger.schedule", parsed.error().message});
    return out;
  }
  if (parsed->kind == ScheduleKind::kOnce) {
    bool at_changed =
        !previous_schedule || !previous_schedule->is_object() ||
        previous_schedule->value("at", Json(nullptr)) != schedule.value("at", Json(nullptr)) ||
        previous_schedule->value("timezone", Json(nullptr)) !=
            schedule.value("timezone", Json(nullptr));
    if (at_changed)
      if (auto e = CheckOnceNotPast(*parsed, now))
        out.push_back({"trigger.schedule." + e->path, e->message});
  }
  return out;
}

std::string ScheduleFacts::Describe(const Json& schedule, const std::string& default_tz) const {
  auto parsed = ParseSchedule(schedule, default_tz);
  return parsed ? DescribeSchedule(*parsed) : "";
}

std::optional<TimePoint> ScheduleFacts::NextFire(const Json& schedule,
                                                 const std::string& default_tz,
                                                 TimePoint after) const {
  auto parsed = ParseSchedule(schedule, default_tz);
  return parsed ? NextFireTime(*parsed, after) : std::nullopt;
}

namespace {

// One active schedule. Kept small (about 150 bytes with its two strings), so
// 100,000 of them take about 15 MB: the parsed schedule is shared by every
// flow with the same schedule document, and the heap holds 16-byte items.
struct Entry {
  std::string flow_id;
  std::string flow_name;
  std::shared_ptr<const Schedule>
      schedule;  // interned; its document is what `next` was computed from
  TimePoint next{};
  int version = 0;
  uint32_t generation =
      0;              // the slot's, bumped on every change: heap items of an older one are stale
  uint32_t seen = 0;  // the last load that saw the flow (LoadAll drops the others)
  bool live = false;
  bool waiting = false;  // overlap: queue, due but the previous run is unfinished
};

struct HeapItem {
  int64_t at_ms;
  uint32_t slot;
  uint32_t generation;
  bool operator>(const HeapItem& o) const { return at_ms > o.at_ms; }
};

// A due entry taken out of the heap, and what firing it decided.
struct Due {
  uint32_t slot = 0;
  uint32_t generation = 0;
  TimePoint next{};  // the fire time it is due at
  bool waiting = false;
  int version = 0;
  std::string flow_id;
  std::string flow_name;
  std::shared_ptr<const Schedule> schedule;
  std::optional<ScheduleFire> fire;  // to record
  std::optional<TimePoint>
      next_after;  // the fire time after this one (none: a fired once, an end passed)
  std::optional<TimePoint> retry_at;  // not fired: look again then (overlap: queue, a failed write)
};

const Json* ScheduleDoc(const Flow& f) {
  if (f.trigger_type != "schedule" || !f.document.is_object()) return nullptr;
  auto t = f.document.find("trigger");
  if (t == f.document.end() || !t->is_object()) return nullptr;
  auto s = t->find("schedule");
  return s == t->end() || !s->is_object() ? nullptr : &*s;
}

// Fires recorded in one store transaction. A second's fires are committed in
// slices of this size, so most land well before the last (1,667 fires due at
// one second with 100,000 per-minute schedules).
constexpr size_t kMaxBatch = 200;
constexpr size_t kLoadChunk = 2000;      // flows loaded between two looks for due fires at startup
constexpr size_t kMaxNextWrites = 5000;  // next_run_at values written in one transaction at a load

using NextWrites = std::vector<std::pair<std::string, std::optional<TimePoint>>>;

}  // namespace

class Scheduler::Impl {
 public:
  Impl(Store& store, RunService& runs, ChangeHub& hub, Clock& clock, SchedulerOptions options)
      : store_(store), runs_(runs), hub_(hub), clock_(clock), options_(std::move(options)) {}

  void Start() {
    // Stop() resets the subscription: a stopped scheduler is never called.
    flow_sub_ = hub_.OnFlowChanged([this](const std::string& id) { FlowChanged(id); });
    thread_ = std::thread([this] { Loop(); });
    if (options_.poll_catalog) {
      PollerOptions po = options_.poll;
      po.default_timezone = options_.default_timezone;
      if (po.rescan_interval.count() == 0) po.rescan_interval = options_.rescan_interval;
      poller_ = std::make_unique<Poller>(store_, *options_.poll_catalog, hub_, clock_, po);
      poller_->Start();
    }
  }

  Poller* poller() { return poller_.get(); }

  void Stop() {
    if (poller_) poller_->Stop();
    flow_sub_.Reset();
    {
      std::lock_guard<std::mutex> g(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    idle_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  size_t Count() const {
    std::lock_guard<std::mutex> g(mu_);
    return index_.size();
  }

  bool WaitIdle(Millis timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    poke_ = true;
    uint64_t target = idle_passes_ + 1;
    cv_.notify_all();
    return idle_cv_.wait_for(lock, timeout, [&] { return idle_passes_ >= target || stopping_; }) &&
           !stopping_;
  }

  void Rescan() {
    {
      std::lock_guard<std::mutex> g(mu_);
      rescan_requested_ = true;
    }
    cv_.notify_all();
  }

 private:
  void FlowChanged(const std::string& id) {
    {
      std::lock_guard<std::mutex> g(mu_);
      changed_.insert(id);
    }
    cv_.notify_all();
  }

  // ---- entries (mu_ held) ----

  Entry* FindLocked(const std::string& id) {
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &slots_[it->second];
  }

  void EraseLocked(const std::string& id) {
    auto it = index_.find(id);
    if (it == index_.end()) return;
    uint32_t slot = it->second;
    index_.erase(it);
    Entry& e = slots_[slot];
    uint32_t generation = e.generation + 1;
    e = Entry{};  // frees its strings and its share of the schedule
    e.generation = generation;
    free_.push_back(slot);
  }

  // Puts `e` in the flow's slot (a new one when it has none) and in the heap.
  void PutLocked(Entry e) {
    uint32_t slot;
    if (auto it = index_.find(e.flow_id); it != index_.end()) {
      slot = it->second;
    } else {
      if (!free_.empty()) {
        slot = free_.back();
        free_.pop_back();
      } else {
        slot = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
      }
      index_.emplace(e.flow_id, slot);
    }
    e.live = true;
    e.generation = slots_[slot].generation + 1;
    heap_.push({ToUnixMs(e.next), slot, e.generation});
    slots_[slot] = std::move(e);
  }

  // The parsed schedule of a document, shared by every flow whose schedule
  // document is the same (loop thread only).
  Result<std::shared_ptr<const Schedule>> Intern(const Json& doc) {
    std::string key = doc.dump();
    if (auto it = interned_.find(key); it != interned_.end())
      if (auto shared = it->second.lock()) return shared;
    auto parsed = ParseSchedule(doc, options_.default_timezone);
    if (!parsed) return Fail(parsed.error());
    auto shared = std::make_shared<const Schedule>(std::move(*parsed));
    interned_[std::move(key)] = shared;
    return shared;
  }

  // Loads every active schedule from the store. At startup the stored
  // next_run_at values are kept, so fires missed while weft was down are found
  // (and handled) by the loop. Entries of flows not seen go.
  void LoadAll(bool startup) {
    uint32_t load;
    {
      std::lock_guard<std::mutex> g(mu_);
      load = ++load_;
    }
    NextWrites writes;
    // At startup nothing else fires yet: what falls due while a large load
    // goes on (100,000 schedules take about a second) fires between its
    // chunks, rather than all late at its end.
    size_t loaded = 0;
    auto listed = store_.ForEachActiveSchedule([&](Flow&& f) {
      Refresh(f, startup, load, &writes);
      if (startup && ++loaded % kLoadChunk == 0) {
        std::unique_lock<std::mutex> lock(mu_);
        while (!stopping_ && FireDueLocked(lock, clock_.Now())) {
        }
      }
    });
    if (!listed) {
      log::Warn("scheduler could not list flows", {{"error", listed.error().message}});
    } else {
      std::lock_guard<std::mutex> g(mu_);
      std::vector<std::string> gone;
      for (const auto& [id, slot] : index_)
        if (slots_[slot].seen != load) gone.push_back(id);
      for (const auto& id : gone) EraseLocked(id);
    }
    WriteNext(writes);
    for (auto it = interned_.begin(); it != interned_.end();) {
      if (it->second.expired())
        it = interned_.erase(it);
      else
        ++it;
    }
  }

  void WriteNext(const NextWrites& writes) {
    for (size_t i = 0; i < writes.size(); i += kMaxNextWrites) {
      NextWrites chunk(writes.begin() + i,
                       writes.begin() + std::min(writes.size(), i + kMaxNextWrites));
      if (auto r = store_.SetNextRunAts(chunk); !r)
        log::Warn("scheduler could not store next fire times", {{"error", r.error().message}});
    }
  }

  void RefreshById(const std::string& id) {
    auto f = store_.GetFlow(id);
    if (!f) {
      if (f.error().code != ErrorCode::kNotFound) {
        // Not an answer about the flow: the rescan will look again.
        log::Warn("scheduler could not read a changed flow",
                  {{"flow", id}, {"error", f.error().message}});
        return;
      }
      std::lock_guard<std::mutex> g(mu_);
      EraseLocked(id);
      return;
    }
    NextWrites writes;
    uint32_t load;
    {
      std::lock_guard<std::mutex> g(mu_);
      load = load_;
    }
    Refresh(*f, false, load, &writes);
    WriteNext(writes);
  }

  // Brings one flow's heap entry in line with the stored flow; next_run_at
  // values to store go to `writes` (Refresh never calls the store). `startup`
  // trusts the stored next_run_at (a restart); otherwise a flow that is new to
  // the heap was just activated (or became a schedule, or its schedule
  // changed): its first fire is strictly after the activation. The activation
  // (FlowService) stores that first fire, computed as here; it is kept when it
  // is a fire time of this schedule, not after the first one after now and
  // not older than the misfire threshold, so the API's answer and the
  // scheduler agree. Otherwise it is computed from now: the time a flow was
  // inactive is never "missed".
  void Refresh(const Flow& f, bool startup, uint32_t load, NextWrites* writes) {
    const Json* doc = f.active ? ScheduleDoc(f) : nullptr;
    if (!doc) {
      {
        std::lock_guard<std::mutex> g(mu_);
        EraseLocked(f.id);
      }
      if (f.next_run_at) writes->emplace_back(f.id, std::nullopt);
      return;
    }
    {
      std::lock_guard<std::mutex> g(mu_);
      if (Entry* e = FindLocked(f.id); e && e->schedule->document == *doc) {
        e->version = f.version;
        if (e->flow_name != f.name) e->flow_name = f.name;
        e->seen = load;
        return;  // unchanged schedule: keep its next fire
      }
    }
    auto schedule = Intern(*doc);
    if (!schedule) {
      log::Warn("flow has an invalid schedule; not scheduled",
                {{"flow", f.name}, {"error", schedule.error().message}});
      std::lock_guard<std::mutex> g(mu_);
      EraseLocked(f.id);
      return;
    }
    const Schedule& s = **schedule;
    std::optional<TimePoint> next;
    if (startup && f.next_run_at) {
      next = f.next_run_at;
    } else {
      TimePoint now = clock_.Now();
      next = NextFireTime(s, now);
      // The activation's: a fire time of this schedule, not after the first
      // one after now, not older than the misfire threshold.
      if (f.next_run_at && next && *f.next_run_at <= *next &&
          *f.next_run_at > now - options_.misfire_threshold &&
          NextFireTime(s, *f.next_run_at - Millis(1)) == f.next_run_at)
        next = f.next_run_at;
      if (next != f.next_run_at) writes->emplace_back(f.id, next);
    }
    std::lock_guard<std::mutex> g(mu_);
    if (!next) {
      EraseLocked(f.id);
      return;
    }
    Entry e;
    e.flow_id = f.id;
    e.flow_name = f.name;
    e.version = f.version;
    e.schedule = std::move(*schedule);
    e.next = *next;
    e.seen = load;
    PutLocked(std::move(e));
  }

  void Loop() {
    started_at_ = clock_.Now();
    LoadAll(true);
    // The load is the scheduler's one big transient allocation; what it freed
    // goes back to the system once nothing is due (trimming takes a while at
    // 100,000 schedules, and fires that fell due meanwhile would wait for it).
    bool trim_after_load = true;
    auto rescan_after = [this] {
      // Without rescans, wake once an hour anyway (a bounded wait is safe on every clock).
      return clock_.Now() +
             (options_.rescan_interval > Millis(0) ? options_.rescan_interval : Millis(3'600'000));
    };
    TimePoint next_rescan = rescan_after();
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      if (!changed_.empty()) {
        auto changed = std::move(changed_);
        changed_.clear();
        lock.unlock();
        for (const auto& id : changed) RefreshById(id);
        lock.lock();
        continue;
      }
      TimePoint now = clock_.Now();
      if (now >= next_rescan || rescan_requested_) {
        if (options_.rescan_interval > Millis(0) || rescan_requested_) {
          rescan_requested_ = false;
          lock.unlock();
          LoadAll(false);
          lock.lock();
        }
        next_rescan = rescan_after();
        continue;
      }
      if (FireDueLocked(lock, now)) continue;
#if defined(__GLIBC__)
      if (trim_after_load) {
        trim_after_load = false;
        lock.unlock();
        malloc_trim(0);
        lock.lock();
        continue;
      }
#endif
      if (poke_) {
        poke_ = false;
        ++idle_passes_;
        idle_cv_.notify_all();
      }
      TimePoint wake = next_rescan;
      if (!heap_.empty()) wake = std::min(wake, FromUnixMs(heap_.top().at_ms));
      clock_.WaitUntil(cv_, lock, wake, [this] {
        return stopping_ || poke_ || rescan_requested_ || !changed_.empty();
      });
    }
  }

  // Fires the entries due at `now`, at most kMaxBatch of them (one store
  // transaction, so the first fires of a large second commit early); false
  // when none was due. Called with mu_ held through `lock`, which it releases
  // while the store writes.
  bool FireDueLocked(std::unique_lock<std::mutex>& lock, TimePoint now) {
    std::vector<Due> due;
    const int64_t now_ms = ToUnixMs(now);
    while (!heap_.empty() && due.size() < kMaxBatch) {
      const HeapItem top = heap_.top();
      const Entry& e = slots_[top.slot];
      if (!e.live || e.generation != top.generation) {
        heap_.pop();  // stale: the entry changed or went away
        continue;
      }
      if (top.at_ms > now_ms) break;
      heap_.pop();
      Due d;
      d.slot = top.slot;
      d.generation = top.generation;
      d.next = e.next;
      d.waiting = e.waiting;
      d.version = e.version;
      d.flow_id = e.flow_id;
      d.flow_name = e.flow_name;
      d.schedule = e.schedule;
      due.push_back(std::move(d));
    }
    if (due.empty()) return false;
    lock.unlock();
    FireAll(due, now);
    lock.lock();
    for (auto& d : due) {
      Entry& e = slots_[d.slot];
      if (!e.live || e.generation != d.generation) continue;  // changed meanwhile
      ++e.generation;
      if (d.retry_at) {
        e.waiting = true;
        heap_.push({ToUnixMs(*d.retry_at), d.slot, e.generation});
      } else if (d.next_after) {
        e.waiting = false;
        e.next = *d.next_after;
        heap_.push({ToUnixMs(e.next), d.slot, e.generation});
      } else {
        EraseLocked(d.flow_id);  // no next fire (a fired once, an end passed)
      }
    }
    return true;
  }

  // Decides each due entry's fire, records them together, tells the workers.
  void FireAll(std::vector<Due>& due, TimePoint now) {
    std::vector<ScheduleFire> fires;
    std::vector<size_t> index;  // fires[i] belongs to due[index[i]]
    fires.reserve(due.size());
    index.reserve(due.size());
    for (size_t i = 0; i < due.size(); ++i) {
      Plan(due[i], now);
      if (due[i].fire) {
        fires.push_back(std::move(*due[i].fire));
        due[i].fire.reset();
        index.push_back(i);
      }
    }
    if (fires.empty()) return;
    auto recorded = store_.RecordScheduleFires(fires);
    if (!recorded) {
      log::Error("could not record schedule fires",
                 {{"fires", std::to_string(fires.size())}, {"error", recorded.error().message}});
      for (size_t i : index)
        due[i].retry_at = now + Millis(1000);  // nothing was written: try again shortly
      return;
    }
    bool queued = false;
    TimePoint committed = clock_.Now();
    for (size_t k = 0; k < fires.size(); ++k) {
      const ScheduleFire& f = fires[k];
      if (!(*recorded)[k])
        continue;  // fired already (another scheduler), or the flow is inactive now
      if (options_.on_fire) options_.on_fire(f, committed);
      if (metrics::Enabled()) {
        const auto& m = metrics::Weft();
        if (f.missed > 0) m.schedule_missed.Increment(static_cast<double>(f.missed));
        if (f.run) {
          m.schedule_fires.Increment();
          m.schedule_lag.ObserveDuration(
              std::max(Millis(0), std::chrono::duration_cast<Millis>(committed - f.scheduled_for)));
          // A skipped run ends here; queued ones are counted when they end.
          if (f.run->status == RunStatus::kSkipped)
            m.runs_total.With({"schedule", "skipped"}).Increment();
        }
      }
      if (f.missed > 0)
        log::Warn("schedule fires missed",
                  {{"flow", due[index[k]].flow_name},
                   {"missed", std::to_string(f.missed)},
                   {"misfire", std::string(MisfireName(due[index[k]].schedule->misfire))}});
      if (f.run) {
        if (f.run->status == RunStatus::kQueued) queued = true;
        hub_.RunProgressed(f.run->id);
      }
    }
    if (queued) hub_.RunQueued();
  }

  // What firing `d` (due at its `next`) means at `now`: misfire and overlap.
  void Plan(Due& d, TimePoint now) {
    const Schedule& schedule = *d.schedule;
    TimePoint due = d.next;
    int64_t missed = 0;
    TimePoint scheduled_for = due;
    std::optional<TimePoint> next;
    // Missed: reached more than the threshold late, or due while this
    // scheduler was not running (a restart). A queued fire that waited for
    // the previous run is not missed.
    std::optional<TimePoint> missed_until;
    if (!d.waiting) {
      if (now - due > options_.misfire_threshold)
        missed_until = now;
      else if (due <= started_at_)
        missed_until = started_at_;
    }
    if (missed_until) {
      // One fire stands for every fire time up to missed_until.
      TimePoint t = due;
      missed = 1;
      while (true) {
        auto n = NextFireTime(schedule, t);
        if (!n || *n > *missed_until) {
          next = n;
          break;
        }
        t = *n;
        if (++missed > 10'000'000) {  // a bound, not a count anyone reads
          next = NextFireTime(schedule, *missed_until);
          break;
        }
      }
      scheduled_for = t;
    } else {
      next = NextFireTime(schedule, due);
    }

    ScheduleFire fire;
    fire.flow_id = d.flow_id;
    fire.scheduled_for = scheduled_for;
    fire.next_run_at = next;
    fire.missed = missed;
    bool run_it = missed == 0 || schedule.misfire == Misfire::kRunOnce;
    if (run_it) {
      RunStatus status = RunStatus::kQueued;
      if (schedule.overlap != Overlap::kAllow) {
        auto busy = PreviousUnfinished(d.flow_id);
        if (!busy) {
          d.retry_at = now + Millis(1000);
          return;
        }
        if (*busy) {
          if (schedule.overlap == Overlap::kQueue) {
            // Fire when the previous run has finished: look again shortly.
            d.retry_at = now + options_.queue_poll;
            return;
          }
          status = RunStatus::kSkipped;
        }
      }
      Run r;
      TimePoint created = clock_.Now();
      r.id = NewId(ToUnixMs(created));
      r.flow_id = d.flow_id;
      r.flow_name = d.flow_name;
      r.flow_version = d.version;
      r.trigger_type = "schedule";
      r.trigger = Json::object();
      r.trigger["type"] = "schedule";
      r.trigger["scheduled_for"] = FormatIso(scheduled_for);
      r.trigger["fired_at"] = FormatIso(created);
      if (missed > 0) r.trigger["missed"] = missed;
      r.status = status;
      r.scheduled_for = scheduled_for;
      r.created_at = created;
      if (status == RunStatus::kSkipped) {
        r.finished_at = created;
        r.error = {{"code", "skipped"},
                   {"message", "the previous scheduled run had not finished (overlap: skip)"}};
      }
      fire.run = std::move(r);
    }
    d.next_after = next;
    d.fire = std::move(fire);
  }

  // Whether a scheduled run of the flow is queued or running.
  Result<bool> PreviousUnfinished(const std::string& flow_id) {
    for (RunStatus status : {RunStatus::kRunning, RunStatus::kQueued}) {
      RunFilter f;
      f.flow_id = flow_id;
      f.trigger_type = "schedule";
      f.status = status;
      f.limit = 1;
      auto page = store_.ListRuns(f);
      if (!page) return Fail(page.error());
      if (!page->runs.empty()) return true;
    }
    return false;
  }

  std::unique_ptr<Poller> poller_;
  Store& store_;
  RunService& runs_;
  ChangeHub& hub_;
  Clock& clock_;
  SchedulerOptions options_;
  ChangeHub::Subscription flow_sub_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  bool stopping_ = false;
  bool poke_ = false;              // WaitIdle asks for a pass
  bool rescan_requested_ = false;  // Rescan(): reload every schedule on the next pass
  uint64_t idle_passes_ = 0;       // times the loop went to sleep with nothing due after a poke
  TimePoint started_at_{};         // fire times at or before it were missed (weft was down)
  std::set<std::string> changed_;
  std::vector<Entry> slots_;  // entries; a dead one waits in free_
  std::vector<uint32_t> free_;
  std::unordered_map<std::string, uint32_t> index_;  // flow id -> slot of a live entry
  std::priority_queue<HeapItem, std::vector<HeapItem>, std::greater<HeapItem>> heap_;
  uint32_t load_ = 0;
  std::unordered_map<std::string, std::weak_ptr<const Schedule>> interned_;  // loop thread only
  std::thread thread_;
};

Scheduler::Scheduler(Store& store, RunService& runs, ChangeHub& hub, Clock& clock,
                     SchedulerOptions options)
    : impl_(std::make_unique<Impl>(store, runs, hub, clock, std::move(options))) {}
Scheduler::~Scheduler() { impl_->Stop(); }
void Scheduler::Start() { impl_->Start(); }
void Scheduler::Stop() { impl_->Stop(); }
size_t Scheduler::ActiveSchedules() const { return impl_->Count(); }
bool Scheduler::WaitIdle(Millis timeout) { return impl_->WaitIdle(timeout); }
void Scheduler::Rescan() { impl_->Rescan(); }
Poller* Scheduler::poller() { return impl_->poller(); }

}  // namespace weft
