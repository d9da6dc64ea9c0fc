#include "engine/scheduler.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <queue>
#include <set>
#include <thread>

#include "common/ids.h"
#include "common/log.h"
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

struct Entry {
  std::string flow_id;
  int version = 0;
  Json schedule_doc;  // what the entry was computed from
  Schedule schedule;
  TimePoint next{};
  bool waiting = false;  // overlap: queue, due but the previous run is unfinished
  uint64_t generation = 0;
};

struct FireResult {
  std::optional<TimePoint> next;      // the following fire time (none: done)
  std::optional<TimePoint> retry_at;  // still due: look again then (overlap: queue)
};

struct HeapItem {
  TimePoint at;
  std::string flow_id;
  uint64_t generation;
  bool operator>(const HeapItem& o) const { return at > o.at; }
};

const Json* ScheduleDoc(const Flow& f) {
  if (f.trigger_type != "schedule" || !f.document.is_object()) return nullptr;
  auto t = f.document.find("trigger");
  if (t == f.document.end() || !t->is_object()) return nullptr;
  auto s = t->find("schedule");
  return s == t->end() || !s->is_object() ? nullptr : &*s;
}

}  // namespace

class Scheduler::Impl {
 public:
  Impl(Store& store, RunService& runs, ChangeHub& hub, Clock& clock, SchedulerOptions options)
      : store_(store), runs_(runs), hub_(hub), clock_(clock), options_(std::move(options)) {}

  void Start() {
    hub_.OnFlowChanged([this](const std::string& id) {
      {
        std::lock_guard<std::mutex> g(mu_);
        changed_.insert(id);
      }
      cv_.notify_all();
    });
    // A queued fire waits for the previous run: progress may free it.
    thread_ = std::thread([this] { Loop(); });
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  size_t Count() const {
    std::lock_guard<std::mutex> g(mu_);
    return entries_.size();
  }

 private:
  // Loads every active schedule; stored next_run_at values are kept, so fires
  // missed while weft was down are found (and handled) by the loop.
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
      std::lock_guard<std::mutex> g(mu_);
      entries_.erase(id);
      return;
    }
    Refresh(*f, false);
  }

  // Brings one flow's heap entry in line with the stored flow. `startup`
  // trusts the stored next_run_at (a restart); otherwise a flow that is new to
  // the heap was just activated (or became a schedule): its first fire is
  // strictly after now, and the time it was inactive is never "missed".
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
      if (it != entries_.end() && it->second.schedule_doc == *doc) {
        it->second.version = f.version;
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
    e.version = f.version;
    e.schedule_doc = *doc;
    e.schedule = std::move(*parsed);
    std::optional<TimePoint> next;
    if (startup && f.next_run_at) {
      next = f.next_run_at;
    } else {
      next = NextFireTime(e.schedule, clock_.Now());
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
    LoadAll(true);
    TimePoint next_rescan = clock_.Now() + options_.rescan_interval;
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
        lock.unlock();
        LoadAll(false);
        lock.lock();
        next_rescan = clock_.Now() + options_.rescan_interval;
        continue;
      }
      // Drop stale heap items (the entry changed or went away).
      while (!heap_.empty()) {
        const HeapItem& top = heap_.top();
        auto it = entries_.find(top.flow_id);
        if (it != entries_.end() && it->second.generation == top.generation) break;
        heap_.pop();
      }
      if (!heap_.empty() && heap_.top().at <= now) {
        HeapItem item = heap_.top();
        heap_.pop();
        Entry entry = entries_[item.flow_id];
        lock.unlock();
        FireResult result = Fire(entry, now);
        lock.lock();
        auto it = entries_.find(item.flow_id);
        if (it != entries_.end() && it->second.generation == item.generation) {
          Entry& e = it->second;
          e.generation = ++generation_;
          if (result.retry_at) {
            e.waiting = true;
            heap_.push({*result.retry_at, item.flow_id, e.generation});
          } else if (result.next) {
            e.waiting = false;
            e.next = *result.next;
            heap_.push({e.next, item.flow_id, e.generation});
          } else {
            entries_.erase(it);
          }
        }
        continue;
      }
      TimePoint wake = next_rescan;
      if (!heap_.empty()) wake = std::min(wake, heap_.top().at);
      clock_.WaitUntil(cv_, lock, wake, [this] { return stopping_ || !changed_.empty(); });
    }
  }

  // Fires `e` (due at e.next) and says when to look at it next.
  FireResult Fire(const Entry& e, TimePoint now) {
    TimePoint due = e.next;
    int64_t missed = 0;
    TimePoint scheduled_for = due;
    std::optional<TimePoint> next;
    if (!e.waiting && now - due > options_.misfire_threshold) {
      // Every fire time up to now was missed.
      TimePoint t = due;
      missed = 1;
      while (true) {
        auto n = NextFireTime(e.schedule, t);
        if (!n || *n > now) {
          next = n;
          break;
        }
        t = *n;
        if (++missed > 1'000'000) {  // a bound, not a count anyone reads
          next = NextFireTime(e.schedule, now);
          break;
        }
      }
      scheduled_for = t;
    } else {
      next = NextFireTime(e.schedule, due);
    }

    auto flow = store_.GetFlow(e.flow_id);
    if (!flow || !flow->active) return {};

    bool run_it = missed == 0 || e.schedule.misfire == Misfire::kRunOnce;
    std::optional<Run> run;
    if (run_it) {
      RunStatus status = RunStatus::kQueued;
      if (e.schedule.overlap != Overlap::kAllow && PreviousUnfinished(e.flow_id)) {
        if (e.schedule.overlap == Overlap::kSkip) {
          status = RunStatus::kSkipped;
        } else {
          // queue: fire when the previous run has finished (looked at again shortly).
          return {std::nullopt, now + Millis(200)};
        }
      }
      Run r;
      TimePoint created = clock_.Now();
      r.id = NewRunId(created);
      r.flow_id = flow->id;
      r.flow_name = flow->name;
      r.flow_version = flow->version;
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
      run = std::move(r);
    }
    auto recorded = store_.RecordScheduleFire(e.flow_id, scheduled_for, run ? &*run : nullptr, next, missed);
    if (!recorded) {
      log::Error("could not record a schedule fire", {{"flow", flow->name}, {"error", recorded.error().message}});
      return {std::nullopt, now + Millis(1000)};  // nothing was written: try again shortly
    }
    if (missed > 0)
      log::Warn("schedule fires missed", {{"flow", flow->name}, {"missed", std::to_string(missed)},
                                          {"misfire", std::string(MisfireName(e.schedule.misfire))}});
    if (*recorded && run && run->status == RunStatus::kQueued) hub_.RunQueued();
    if (*recorded && run) hub_.RunProgressed(run->id);
    return {next, std::nullopt};
  }

  bool PreviousUnfinished(const std::string& flow_id) {
    RunFilter f;
    f.flow_id = flow_id;
    f.trigger_type = "schedule";
    f.limit = 5;
    auto page = store_.ListRuns(f);
    if (!page) return false;
    for (const auto& r : page->runs)
      if (r.status == RunStatus::kQueued || r.status == RunStatus::kRunning) return true;
    return false;
  }

  static std::string NewRunId(TimePoint t);

  Store& store_;
  RunService& runs_;
  ChangeHub& hub_;
  Clock& clock_;
  SchedulerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::set<std::string> changed_;
  std::map<std::string, Entry> entries_;
  std::priority_queue<HeapItem, std::vector<HeapItem>, std::greater<HeapItem>> heap_;
  uint64_t generation_ = 0;
  std::thread thread_;
};

std::string Scheduler::Impl::NewRunId(TimePoint t) { return NewId(ToUnixMs(t)); }

Scheduler::Scheduler(Store& store, RunService& runs, ChangeHub& hub, Clock& clock, SchedulerOptions options)
    : impl_(std::make_unique<Impl>(store, runs, hub, clock, std::move(options))) {}
Scheduler::~Scheduler() { impl_->Stop(); }
void Scheduler::Start() { impl_->Start(); }
void Scheduler::Stop() { impl_->Stop(); }
size_t Scheduler::ActiveSchedules() const { return impl_->Count(); }

}  // namespace weft
