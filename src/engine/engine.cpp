#include "engine/engine.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "common/log.h"
#include "engine/executor.h"

namespace weft {

class Engine::Impl {
 public:
  Impl(Store& store, const ActionCatalog& catalog, ChangeHub& hub, Clock& clock,
       EngineOptions options)
      : store_(store),
        hub_(hub),
        clock_(clock),
        options_(std::move(options)),
        executor_(store, catalog, hub, clock, options_) {
    if (options_.node_id.empty()) options_.node_id = "node-" + RandomToken(48);
    if (options_.workers < 1) options_.workers = 1;
  }

  void Start() {
    queue_sub_ = hub_.OnRunQueued([this] {
      {
        std::lock_guard<std::mutex> g(mu_);
        ++wake_seq_;
      }
      cv_.notify_one();
    });
    for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
    keeper_ = std::thread([this] { KeeperLoop(); });
    log::Info("engine started",
              {{"node", options_.node_id}, {"workers", std::to_string(options_.workers)}});
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (stopped_) return;
      stopped_ = true;
      stopping_ = true;
    }
    queue_sub_.Reset();  // from here on the hub no longer reaches this engine
    cv_.notify_all();
    keeper_cv_.notify_all();
    // Running steps finish, then their runs are handed back (unclaimed) for
    // the next start or another node. Past the grace period the steps still
    // running are interrupted through their cancel flag: with stopping_ set,
    // the executor hands such a run back instead of cancelling it, its step
    // runs again later (steps are at-least-once). Every worker is joined:
    // none outlives this engine.
    std::unique_lock<std::mutex> lock(mu_);
    bool drained = cv_.wait_for(lock, options_.stop_grace, [this] { return active_workers_ == 0; });
    if (!drained) {
      for (auto& [id, flag] : held_) flag->store(true);
      log::Warn("engine: steps still running after the stop grace period are interrupted",
                {{"node", options_.node_id}, {"runs", std::to_string(held_.size())}});
    }
    lock.unlock();
    for (auto& t : workers_) t.join();
    if (keeper_.joinable()) keeper_.join();
    workers_.clear();
    log::Info("engine stopped", {{"node", options_.node_id}, {"drained", drained ? "yes" : "no"}});
  }

 private:
  // A worker takes a run from the node's local queue of claimed runs, or,
  // when that is empty, claims one run for itself and one for each worker
  // then idle, in one ClaimRuns call (one write for several runs). The runs
  // it does not start wait in the local queue for those workers, woken here;
  // claiming no more than that keeps a busy node from holding runs that
  // another node could start.
  void WorkerLoop() {
    SetThreadWritePriority(WritePriority::kBackground);  // taking in work goes first (core/store.h)
    {
      std::lock_guard<std::mutex> g(mu_);
      ++active_workers_;
    }
    while (!stopping_.load()) {
      uint64_t seen;
      std::optional<Run> next;
      int want = 1;
      {
        std::lock_guard<std::mutex> g(mu_);
        seen = wake_seq_;
        if (!ready_.empty()) {
          next = std::move(ready_.front());
          ready_.pop_front();
        }
        want = std::min(options_.workers, 1 + idle_);
      }
      if (next) {
        RunOne(std::move(*next));
        continue;
      }
      TimePoint now = clock_.Now();
      auto claimed = store_.ClaimRuns(options_.node_id, want, now, now + options_.lease);
      if (claimed && !claimed->empty()) {
        if (claimed->size() > 1) {
          {
            std::lock_guard<std::mutex> g(mu_);
            for (size_t i = 1; i < claimed->size(); ++i) ready_.push_back(std::move((*claimed)[i]));
            ++wake_seq_;
          }
          cv_.notify_all();
        }
        RunOne(std::move(claimed->front()));
        continue;
      }
      if (!claimed) log::Warn("could not claim runs", {{"error", claimed.error().message}});
      std::unique_lock<std::mutex> lock(mu_);
      TimePoint deadline = clock_.Now() + options_.poll_interval;
      if (next_wake_ && *next_wake_ < deadline) deadline = std::max(*next_wake_, clock_.Now());
      ++idle_;
      clock_.WaitUntil(cv_, lock, deadline, [&] { return stopping_.load() || wake_seq_ != seen; });
      --idle_;
      if (next_wake_ && *next_wake_ <= clock_.Now()) next_wake_.reset();
    }
    // Runs claimed but not started go back, unclaimed, for the next start
    // or another node (each worker hands back what is left as it leaves).
    std::deque<Run> left;
    {
      std::lock_guard<std::mutex> g(mu_);
      left.swap(ready_);
    }
    for (auto& run : left) {
      run.claimed_by.clear();
      run.lease_until.reset();
      run.steps.clear();
      (void)store_.UpdateRun(run);
    }
    {
      std::lock_guard<std::mutex> g(mu_);
      --active_workers_;
    }
    cv_.notify_all();
  }

  void RunOne(Run run) {
    auto cancelled = std::make_shared<std::atomic<bool>>(run.cancel_requested);
    {
      std::lock_guard<std::mutex> g(mu_);
      held_[run.id] = cancelled;
    }
    std::string id = run.id;
    ExecuteResult result = executor_.Execute(std::move(run), *cancelled, stopping_);
    std::lock_guard<std::mutex> g(mu_);
    held_.erase(id);
    if (result.kind == ExecuteResult::kSuspended && result.resume_at) {
      // A wake time already past gives way: every run due by now is taken by
      // the next claim (this worker claims before it waits). Kept, it would
      // hide this later one, and an idle worker would then sleep a whole
      // poll_interval past it (for ever on a FakeClock).
      if (!next_wake_ || *next_wake_ <= clock_.Now() || *result.resume_at < *next_wake_)
        next_wake_ = *result.resume_at;
      ++wake_seq_;  // a sleeping worker re-computes its deadline
      cv_.notify_one();
    }
  }

  // Renews the leases of held runs and raises their cancel flags.
  void KeeperLoop() {
    Millis period = std::min(Millis(500), options_.lease / 3);
    while (!stopping_.load()) {
      std::map<std::string, std::shared_ptr<std::atomic<bool>>> held;
      std::vector<std::string> ids;
      {
        std::unique_lock<std::mutex> lock(mu_);
        clock_.WaitUntil(keeper_cv_, lock, clock_.Now() + period, [&] { return stopping_.load(); });
        held = held_;
        for (const auto& run : ready_) ids.push_back(run.id);  // claimed, waiting for a worker
      }
      if (held.empty() && ids.empty()) continue;
      for (const auto& [id, flag] : held) {
        ids.push_back(id);
        auto run = store_.GetRun(id, false);
        if (run && run->cancel_requested) flag->store(true);
      }
      TimePoint now = clock_.Now();
      if (auto r = store_.RenewLeases(options_.node_id, ids, now + options_.lease); !r)
        log::Warn("could not renew leases", {{"error", r.error().message}});
    }
  }

  Store& store_;
  ChangeHub& hub_;
  Clock& clock_;
  EngineOptions options_;
  Executor executor_;

  std::mutex mu_;
  std::condition_variable cv_;         // workers: a run was queued, or stop
  std::condition_variable keeper_cv_;  // the lease keeper: stop
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  uint64_t wake_seq_ = 0;
  int active_workers_ = 0;
  int idle_ = 0;  // workers waiting for work
  std::optional<TimePoint> next_wake_;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> held_;
  std::deque<Run> ready_;  // claimed by this node, not started yet (WorkerLoop)
  std::vector<std::thread> workers_;
  std::thread keeper_;
  ChangeHub::Subscription queue_sub_;
};

Engine::Engine(Store& store, const ActionCatalog& catalog, ChangeHub& hub, Clock& clock,
               EngineOptions options)
    : impl_(std::make_unique<Impl>(store, catalog, hub, clock, std::move(options))) {}
Engine::~Engine() { impl_->Stop(); }
void Engine::Start() { impl_->Start(); }
void Engine::Stop() { impl_->Stop(); }

}  // namespace weft
