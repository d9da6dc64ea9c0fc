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

#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/time_format.h"
#include "schedule/schedule.h"

namespace weft {

std::vector<FieldError> ScheduleFacts::Validate(const Json& schedule, const std::string& default_tz,
                                                const Json* previous_schedule, TimePoint now) const {
  std::vector<FieldError> out;
  auto parsed = ParseSchedule(schedule, default_tz);
  if (!parsed) {
    for (const auto& d : parsed.error().details)
      out.push_back({"trigger.schedule" + (d.path.empty() ? "" : "." + d.path), d.message});
    if (out.empty()) out.push_back({"trigger.schedule", parsed.error().message});
    return out;
  }
  if (parsed->kind == ScheduleKind::kOnce) {
    bool at_changed = !previous_schedule || !previous_schedule->is_object() ||
                      previous_schedule->value("at", Json(nullptr)) != schedule.value("at", Json(nullptr)) ||
                      previous_schedule->value("timezone", Json(nullptr)) != schedule.value("timezone", Json(nullptr));
    if (at_changed)
      if (auto e = CheckOnceNotPast(*parsed, now)) out.push_back({"trigger.schedule." + e->path, e->message});
  }
  return out;
}

std::string ScheduleFacts::Describe(const Json& schedule, const std::string& default_tz) const {
  auto parsed = ParseSchedule(schedule, default_tz);
  return parsed ? DescribeSchedule(*parsed) : "";
}

namespace {

// One active schedule in the heap.
struct Entry {
  std::string flow_id;
  std::string flow_name;
  int version = 0;
  std::shared_ptr<const Schedule> schedule;  // its document is what the entry was computed from
  TimePoint next{};
  bool waiting = false;  // overlap: queue, due but the previous run is unfinished
  uint64_t generation = 0;
};

struct HeapItem {
  TimePoint at;
  std::string flow_id;
  uint64_t generation;
  bool operator>(const HeapItem& o) const { return at > o.at; }
};

// A due entry taken out of the heap, and what firing it decided.
struct Due {
  Entry entry;
  std::optional<ScheduleFire> fire;   // to record
  std::optional<TimePoint> retry_at;  // not fired: look again then (overlap: queue, a failed write)
};

const Json* ScheduleDoc(const Flow& f) {
  if (f.trigger_type != "schedule" || !f.document.is_object()) return nullptr;
  auto t = f.document.find("trigger");
  if (t == f.document.end() || !t->is_object()) return nullptr;
  auto s = t->find("schedule");
  return s == t->end() || !s->is_object() ? nullptr : &*s;
}

constexpr size_t kMaxBatch = 5000;  // fires recorded in one store transaction

}  // namespace

class Scheduler::Impl {
 public:
  Impl(Store& store, RunService& runs, ChangeHub& hub, Clock& clock, SchedulerOptions options)
      : store_(store), runs_(runs), hub_(hub), clock_(clock), options_(std::move(options)) {}

  void Start() {
    // The hub keeps its listeners for ever: they reach this scheduler through
    // `link_`, which Stop() cuts, so a stopped scheduler is never called.
    link_ = std::make_shared<Link>();
    link_->impl = this;
    hub_.OnFlowChanged([link = link_](const std::string& id) {
      std::lock_guard<std::mutex> g(link->mu);
      if (link->impl) link->impl->FlowChanged(id);
    });
    thread_ = std::thread([this] { Loop(); });
  }

  void Stop() {
    if (link_) {
      std::lock_guard<std::mutex> g(link_->mu);
      link_->impl = nullptr;
    }
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
    return entries_.size();
  }

  bool WaitIdle(Millis timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    poke_ = true;
    uint64_t target = idle_passes_ + 1;
    cv_.notify_all();
    return idle_cv_.wait_for(lock, timeout, [&] { return idle_passes_ >= target || stopping_; }) &&
           !stopping_;
  }

 private:
  struct Link {
    std::mutex mu;
    Impl* impl = nullptr;
  };

  void FlowChanged(const std::string& id) {
    {
      std::lock_guard<std::mutex> g(mu_);
      changed_.insert(id);
    }
    cv_.notify_all();
  }

  // Loads every active schedule. At startup the stored next_run_at values are
  // kept, so fires missed while weft was down are found (and handled) by the loop.
  void LoadAll(bool startup) {
    auto flows = store_.ListFlows();
    if (!flows) {
      log::Warn("scheduler could not list flows", {{"error", flows.error().message}});
      return;
    }
    std::set<std::string> seen;
    for (const auto& f : *flows) {
      seen.insert(f.id);
      Refresh(f, startup);
    }
    std::lock_guard<std::mutex> g(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (!seen.count(it->first)) it = entries_.erase(it);
      else ++it;
    }
  }

  void RefreshById(const std::string& id) {
    auto f = store_.GetFlow(id);
    if (!f) {
      if (f.error().code != ErrorCode::kNotFound) {
        // Not an answer about the flow: the rescan will look again.
        log::Warn("scheduler could not read a changed flow", {{"flow", id}, {"error", f.error().message}});
        return;
      }
      std::lock_guard<std::mutex> g(mu_);
      entries_.erase(id);
      return;
    }
    Refresh(*f, false);
  }

  // Brings one flow's heap entry in line with the stored flow. `startup`
  // trusts the stored next_run_at (a restart); otherwise a flow that is new to
  // the heap was just activated (or became a schedule, or its schedule
  // changed): its first fire is strictly after now, and the time it was
  // inactive is never "missed".
  void Refresh(const Flow& f, bool startup) {
    const Json* doc = f.active ? ScheduleDoc(f) : nullptr;
    if (!doc) {
      {
        std::lock_guard<std::mutex> g(mu_);
        entries_.erase(f.id);
      }
      if (f.next_run_at) (void)store_.SetNextRunAt(f.id, std::nullopt);
      return;
    }
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = entries_.find(f.id);
      if (it != entries_.end() && it->second.schedule->document == *doc) {
        it->second.version = f.version;
        it->second.flow_name = f.name;
        return;  // unchanged schedule: keep its next fire
      }
    }
    auto parsed = ParseSchedule(*doc, options_.default_timezone);
    if (!parsed) {
      log::Warn("flow has an invalid schedule; not scheduled", {{"flow", f.name}, {"error", parsed.error().message}});
      std::lock_guard<std::mutex> g(mu_);
      entries_.erase(f.id);
      return;
    }
    Entry e;
    e.flow_id = f.id;
    e.flow_name = f.name;
    e.version = f.version;
    e.schedule = std::make_shared<const Schedule>(std::move(*parsed));
    std::optional<TimePoint> next;
    if (startup && f.next_run_at) {
      next = f.next_run_at;
    } else {
      next = NextFireTime(*e.schedule, clock_.Now());
      if (next != f.next_run_at) (void)store_.SetNextRunAt(f.id, next);
    }
    std::lock_guard<std::mutex> g(mu_);
    if (!next) {
      entries_.erase(f.id);
      return;
    }
    e.next = *next;
    e.generation = ++generation_;
    heap_.push({e.next, e.flow_id, e.generation});
    entries_[f.id] = std::move(e);
  }

  void Loop() {
    started_at_ = clock_.Now();
    LoadAll(true);
#if defined(__GLIBC__)
    // Loading every flow's document is the scheduler's one big allocation;
    // give what it freed back to the system rather than keep it resident.
    malloc_trim(0);
#endif
    auto rescan_after = [this] {
      // Without rescans, wake once an hour anyway (a bounded wait is safe on every clock).
      return clock_.Now() + (options_.rescan_interval > Millis(0) ? options_.rescan_interval : Millis(3'600'000));
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
      if (now >= next_rescan) {
        if (options_.rescan_interval > Millis(0)) {
          lock.unlock();
          LoadAll(false);
          lock.lock();
        }
        next_rescan = rescan_after();
        continue;
      }
      // Every entry due now, in one batch (one store transaction).
      std::vector<Due> due;
      while (!heap_.empty() && due.size() < kMaxBatch) {
        const HeapItem& top = heap_.top();
        auto it = entries_.find(top.flow_id);
        if (it == entries_.end() || it->second.generation != top.generation) {
          heap_.pop();  // stale: the entry changed or went away
          continue;
        }
        if (top.at > now) break;
        due.push_back({it->second, std::nullopt, std::nullopt});
        heap_.pop();
      }
      if (!due.empty()) {
        lock.unlock();
        FireAll(due, now);
        lock.lock();
        for (auto& d : due) {
          auto it = entries_.find(d.entry.flow_id);
          if (it == entries_.end() || it->second.generation != d.entry.generation) continue;  // changed meanwhile
          Entry& e = it->second;
          e.generation = ++generation_;
          if (d.retry_at) {
            e.waiting = true;
            heap_.push({*d.retry_at, e.flow_id, e.generation});
          } else if (d.fire && d.fire->next_run_at) {
            e.waiting = false;
            e.next = *d.fire->next_run_at;
            heap_.push({e.next, e.flow_id, e.generation});
          } else {
            entries_.erase(it);  // no next fire (a fired once, an end passed)
          }
        }
        continue;
      }
      if (poke_) {
        poke_ = false;
        ++idle_passes_;
        idle_cv_.notify_all();
      }
      TimePoint wake = next_rescan;
      if (!heap_.empty()) wake = std::min(wake, heap_.top().at);
      clock_.WaitUntil(cv_, lock, wake, [this] { return stopping_ || poke_ || !changed_.empty(); });
    }
  }

  // Decides each due entry's fire, records them together, tells the workers.
  void FireAll(std::vector<Due>& due, TimePoint now) {
    std::vector<ScheduleFire> fires;
    std::vector<size_t> index;  // fires[i] belongs to due[index[i]]
    for (size_t i = 0; i < due.size(); ++i) {
      Plan(due[i], now);
      if (due[i].fire) {
        fires.push_back(*due[i].fire);
        index.push_back(i);
      }
    }
    if (fires.empty()) return;
    auto recorded = store_.RecordScheduleFires(fires);
    if (!recorded) {
      log::Error("could not record schedule fires",
                 {{"fires", std::to_string(fires.size())}, {"error", recorded.error().message}});
      for (size_t i : index) {
        due[i].fire.reset();
        due[i].retry_at = now + Millis(1000);  // nothing was written: try again shortly
      }
      return;
    }
    bool queued = false;
    TimePoint committed = clock_.Now();
    for (size_t k = 0; k < fires.size(); ++k) {
      const ScheduleFire& f = fires[k];
      if (!(*recorded)[k]) continue;  // fired already (another scheduler), or the flow is inactive now
      if (options_.on_fire) options_.on_fire(f, committed);
      if (metrics::Enabled()) {
        const auto& m = metrics::Weft();
        if (f.missed > 0) m.schedule_missed.Increment(static_cast<double>(f.missed));
        if (f.run) {
          m.schedule_fires.Increment();
          m.schedule_lag.ObserveDuration(std::max(Millis(0), std::chrono::duration_cast<Millis>(committed - f.scheduled_for)));
          // A skipped run ends here; queued ones are counted when they end.
          if (f.run->status == RunStatus::kSkipped) m.runs_total.With({"schedule", "skipped"}).Increment();
        }
      }
      if (f.missed > 0)
        log::Warn("schedule fires missed",
                  {{"flow", due[index[k]].entry.flow_name}, {"missed", std::to_string(f.missed)},
                   {"misfire", std::string(MisfireName(due[index[k]].entry.schedule->misfire))}});
      if (f.run) {
        if (f.run->status == RunStatus::kQueued) queued = true;
        hub_.RunProgressed(f.run->id);
      }
    }
    if (queued) hub_.RunQueued();
  }

  // What firing `d.entry` (due at its `next`) means at `now`: misfire and overlap.
  void Plan(Due& d, TimePoint now) {
    const Entry& e = d.entry;
    const Schedule& schedule = *e.schedule;
    TimePoint due = e.next;
    int64_t missed = 0;
    TimePoint scheduled_for = due;
    std::optional<TimePoint> next;
    // Missed: reached more than the threshold late, or due while this
    // scheduler was not running (a restart). A queued fire that waited for
    // the previous run is not missed.
    std::optional<TimePoint> missed_until;
    if (!e.waiting) {
      if (now - due > options_.misfire_threshold) missed_until = now;
      else if (due <= started_at_) missed_until = started_at_;
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
    fire.flow_id = e.flow_id;
    fire.scheduled_for = scheduled_for;
    fire.next_run_at = next;
    fire.missed = missed;
    bool run_it = missed == 0 || schedule.misfire == Misfire::kRunOnce;
    if (run_it) {
      RunStatus status = RunStatus::kQueued;
      if (schedule.overlap != Overlap::kAllow) {
        auto busy = PreviousUnfinished(e.flow_id);
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
      r.flow_id = e.flow_id;
      r.flow_name = e.flow_name;
      r.flow_version = e.version;
      r.trigger_type = "schedule";
      r.trigger = {{"type", "schedule"}, {"scheduled_for", FormatIso(scheduled_for)}, {"fired_at", FormatIso(created)}};
      if (missed > 0) r.trigger["missed"] = missed;
      r.status = status;
      r.scheduled_for = scheduled_for;
      r.created_at = created;
      if (status == RunStatus::kSkipped) {
        r.finished_at = created;
        r.error = {{"code", "skipped"}, {"message", "the previous scheduled run had not finished (overlap: skip)"}};
      }
      fire.run = std::move(r);
    }
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

  Store& store_;
  RunService& runs_;
  ChangeHub& hub_;
  Clock& clock_;
  SchedulerOptions options_;
  std::shared_ptr<Link> link_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  bool stopping_ = false;
  bool poke_ = false;          // WaitIdle asks for a pass
  uint64_t idle_passes_ = 0;   // times the loop went to sleep with nothing due after a poke
  TimePoint started_at_{};     // fire times at or before it were missed (weft was down)
  std::set<std::string> changed_;
  std::map<std::string, Entry> entries_;
  std::priority_queue<HeapItem, std::vector<HeapItem>, std::greater<HeapItem>> heap_;
  uint64_t generation_ = 0;
  std::thread thread_;
};

Scheduler::Scheduler(Store& store, RunService& runs, ChangeHub& hub, Clock& clock, SchedulerOptions options)
    : impl_(std::make_unique<Impl>(store, runs, hub, clock, std::move(options))) {}
Scheduler::~Scheduler() { impl_->Stop(); }
void Scheduler::Start() { impl_->Start(); }
void Scheduler::Stop() { impl_->Stop(); }
size_t Scheduler::ActiveSchedules() const { return impl_->Count(); }
bool Scheduler::WaitIdle(Millis timeout) { return impl_->WaitIdle(timeout); }

}  // namespace weft
