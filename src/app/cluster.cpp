#include "app/cluster.h"

#include "common/log.h"

namespace weft::app {

namespace {

// Set while the listener thread replays a remote event on the local hub, so
// the bridge's own hub listeners do not send it out again.
thread_local bool t_replaying = false;

constexpr size_t kMaxPayload = 7000;  // NOTIFY payloads must stay under 8000 bytes

std::string Channel(const std::string& base, const std::string& schema) {
  return schema == "public" ? base : base + "_" + schema;
}

}  // namespace

std::string RunsChannel(const std::string& schema) { return Channel("weft_runs", schema); }
std::string FlowsChannel(const std::string& schema) { return Channel("weft_flows", schema); }

// ---- NotifyBridge -----------------------------------------------------------------

NotifyBridge::NotifyBridge(PostgresStore& store, const PostgresOptions& options, ChangeHub& hub,
                           std::string node_id)
    : store_(store),
      options_(options),
      hub_(hub),
      node_id_(std::move(node_id)),
      runs_channel_(RunsChannel(options.schema)),
      flows_channel_(FlowsChannel(options.schema)) {}

NotifyBridge::~NotifyBridge() { Stop(); }

Result<void> NotifyBridge::Start() {
  auto listener = PostgresListener::Open(options_, {runs_channel_, flows_channel_});
  if (!listener) return Fail(std::move(listener).error());
  listener_ = std::move(*listener);
  runs_sub_ = hub_.OnRunQueued([p = pending_] {
    if (t_replaying) return;
    {
      std::lock_guard<std::mutex> g(p->mu);
      if (p->stopping || p->runs) return;
      p->runs = true;
    }
    p->cv.notify_one();
  });
  flows_sub_ = hub_.OnFlowChanged([p = pending_](const std::string& id) {
    if (t_replaying) return;
    {
      std::lock_guard<std::mutex> g(p->mu);
      if (p->stopping) return;
      p->flows.insert(id);
    }
    p->cv.notify_one();
  });
  sender_ = std::thread([this] { SendLoop(); });
  receiver_ = std::thread([this] { ListenLoop(); });
  return Ok();
}

void NotifyBridge::Stop() {
  runs_sub_.Reset();
  flows_sub_.Reset();
  {
    std::lock_guard<std::mutex> g(pending_->mu);
    pending_->stopping = true;
  }
  pending_->cv.notify_all();
  stop_listen_ = true;
  if (sender_.joinable()) sender_.join();
  if (receiver_.joinable()) receiver_.join();
}

void NotifyBridge::SendLoop() {
  Pending& p = *pending_;
  std::unique_lock<std::mutex> lock(p.mu);
  while (true) {
    p.cv.wait(lock, [&p] { return p.stopping || p.runs || !p.flows.empty(); });
    if (p.stopping) return;
    bool runs = std::exchange(p.runs, false);
    auto flows = std::exchange(p.flows, {});
    lock.unlock();
    // Whatever the hub reports while these NOTIFYs are on their way waits
    // for the next round and goes out together: that is the batching.
    if (!flows.empty()) {
      std::string payload = node_id_ + "\n";
      size_t header = payload.size();
      for (const auto& id : flows) {
        if (payload.size() > header && payload.size() + id.size() + 1 > kMaxPayload) {
          (void)store_.Notify(flows_channel_, payload);
          payload.resize(header);
        }
        if (payload.size() > header) payload += ',';
        payload += id;
      }
      if (auto r = store_.Notify(flows_channel_, payload); !r)
        log::Warn("cannot notify other nodes of a flow change", {{"error", r.error().message}});
    }
    if (runs) {
      if (auto r = store_.Notify(runs_channel_, node_id_); !r)
        log::Debug("cannot notify other nodes of a queued run", {{"error", r.error().message}});
    }
    lock.lock();
  }
}

void NotifyBridge::ListenLoop() {
  t_replaying = true;
  bool was_down = false;
  while (!stop_listen_) {
    auto events = listener_->WaitEvents(Millis(250));
    if (!events) {
      if (!was_down)
        log::Warn("lost the LISTEN connection; polling until it is back",
                  {{"error", events.error().message}});
      was_down = true;
      for (int i = 0; i < 10 && !stop_listen_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    bool runs = false;
    std::set<std::string> flows;
    for (const auto& e : *events) {
      if (e.channel == "*") {
        // Reconnected: whatever was sent meanwhile is lost. Workers look
        // for runs; the scheduler re-reads the schedule flows (webhook
        // routes expire from their cache within a second anyway).
        if (was_down) log::Info("LISTEN connection is back");
        was_down = false;
        runs = true;
        if (auto all = store_.ListFlows()) {
          for (const auto& f : *all)
            if (f.trigger_type == "schedule") flows.insert(f.id);
        }
        continue;
      }
      size_t nl = e.payload.find('\n');
      std::string sender = e.payload.substr(0, nl);
      if (sender == node_id_) continue;
      if (e.channel == runs_channel_) {
        runs = true;
      } else if (e.channel == flows_channel_ && nl != std::string::npos) {
        size_t pos = nl + 1;
        while (pos <= e.payload.size()) {
          size_t comma = e.payload.find(',', pos);
          if (comma == std::string::npos) comma = e.payload.size();
          if (comma > pos) flows.insert(e.payload.substr(pos, comma - pos));
          pos = comma + 1;
        }
      }
    }
    for (const auto& id : flows) hub_.FlowChanged(id);
    if (runs) hub_.RunQueued();
  }
}

// ---- SchedulerRole ----------------------------------------------------------------

SchedulerRole::SchedulerRole(const PostgresOptions& options, Factory make, Millis poll)
    : lock_(options, "scheduler"), make_(std::move(make)), poll_(poll) {}

SchedulerRole::~SchedulerRole() { Stop(); }

void SchedulerRole::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void SchedulerRole::Stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SchedulerRole::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  std::string last_error;
  while (!stopping_) {
    lock.unlock();
    bool held = lock_.Poll();
    if (held && !scheduler_) {
      log::Info("this node took the scheduler role");
      scheduler_ = make_();
      scheduler_->Start();
      holds_ = true;
    } else if (!held && scheduler_) {
      log::Warn("this node lost the scheduler role (its database session ended); scheduler stopped",
                {{"error", lock_.last_error()}});
      holds_ = false;
      scheduler_->Stop();
      scheduler_.reset();
    }
    if (!lock_.last_error().empty() && lock_.last_error() != last_error)
      log::Warn("scheduler role: cannot reach the database", {{"error", lock_.last_error()}});
    last_error = lock_.last_error();
    lock.lock();
    cv_.wait_for(lock, poll_, [this] { return stopping_; });
  }
  lock.unlock();
  holds_ = false;
  if (scheduler_) {
    scheduler_->Stop();
    scheduler_.reset();
  }
  lock_.Release();
}

}  // namespace weft::app
