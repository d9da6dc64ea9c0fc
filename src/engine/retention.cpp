#include "engine/retention.h"

#include "common/log.h"
#include "common/time_format.h"

namespace weft {

std::optional<FlowRetention> ParseFlowRetention(const Json& settings) {
  if (!settings.is_object()) return std::nullopt;
  auto it = settings.find("retention");
  if (it == settings.end() || !it->is_object()) return std::nullopt;
  FlowRetention r;
  auto duration = [&](const char* key) -> std::optional<Millis> {
    auto v = it->find(key);
    if (v == it->end() || !v->is_string()) return std::nullopt;
    return ParseDuration(v->get<std::string>());
  };
  r.runs = duration("runs");
  r.keep_failed = duration("keep_failed");
  if (auto k = it->find("keep"); k != it->end() && k->is_number_integer())
    r.keep = std::max<int64_t>(0, k->get<int64_t>());
  return r;
}

Result<int64_t> SweepFiles(Store& store, FileStore& files, TimePoint cutoff) {
  // In batches, so a store of 100,000 files costs one listing and a few
  // hundred indexed lookups, never all ids in one statement.
  constexpr size_t kBatch = 500;
  std::vector<std::string> batch;
  int64_t removed = 0;
  std::optional<Error> failed;
  auto flush = [&] {
    if (batch.empty() || failed) return;
    auto gone = store.UnreferencedFiles(batch);
    batch.clear();
    if (!gone) {
      failed = gone.error();
      return;
    }
    for (const auto& id : *gone) {
      if (auto r = files.Remove(id); r) {
        ++removed;
      } else {
        failed = r.error();
        return;
      }
    }
  };
  auto listed = files.ForEach([&](const FileInfo& f) {
    if (f.created_at >= cutoff) return;
    batch.push_back(f.id);
    if (batch.size() >= kBatch) flush();
  });
  if (!listed) return Fail(listed.error());
  flush();
  if (failed) return Fail(*failed);
  if (removed > 0)
    log::Info("files: removed unreferenced files", {{"count", std::to_string(removed)}});
  return removed;
}

Pruner::Pruner(Store& store, Clock& clock, RetentionOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  if (options_.batch < 1) options_.batch = 500;
}

Pruner::~Pruner() { Stop(); }

void Pruner::Start() {
  thread_ = std::thread([this] {
    SetThreadWritePriority(
        WritePriority::kBackground);  // pruning makes way for new work (core/store.h)
    while (Sleep(Millis(0))) {
      PruneOnce();
      if (!Sleep(options_.every)) return;
    }
  });
}

void Pruner::Stop() {
  {
    std::lock_guard g(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Pruner::Sleep(Millis d) {
  std::unique_lock lock(mu_);
  if (d.count() > 0) cv_.wait_for(lock, d, [this] { return stopping_; });
  return !stopping_;
}

bool Pruner::Drain(const RunPrune& p, int64_t* deleted) {
  for (;;) {
    auto n = store_.PruneRuns(p, options_.batch);
    if (!n) {
      log::Warn("retention: could not prune runs",
                {{"flow_id", p.flow_id}, {"error", n.error().message}});
      return Sleep(Millis(0));
    }
    *deleted += *n;
    if (*n < options_.batch) return Sleep(Millis(0));
    // A short pause between batches lets waiting writes (webhooks, steps) in.
    if (!Sleep(options_.pause)) return false;
  }
}

int64_t Pruner::PruneOnce() {
  TimePoint now = clock_.Now();
  auto flows = store_.ListFlows();
  if (!flows) {
    log::Warn("retention: could not list flows", {{"error", flows.error().message}});
    return 0;
  }
  int64_t deleted = 0;
  std::optional<Millis> failed_runs = options_.failed_runs ? options_.failed_runs : options_.runs;
  RunPrune global;
  for (const auto& f : *flows) {
    auto own = ParseFlowRetention(
        f.document.is_object() ? f.document.value("settings", Json::object()) : Json());
    // --retain-runs-count gives every flow a count cap, so each is pruned on its own.
    if (!own && options_.keep > 0) own = FlowRetention{};
    if (!own) continue;
    if (own->keep == 0) own->keep = options_.keep;
    global.except_flows.push_back(f.id);
    // A flow's own setting wins; what it leaves out comes from the server's.
    RunPrune p;
    p.flow_id = f.id;
    std::optional<Millis> runs = own->runs ? own->runs : options_.runs;
    std::optional<Millis> failed =
        own->keep_failed ? own->keep_failed : (own->runs ? own->runs : failed_runs);
    if (runs) p.before = now - *runs;
    if (failed) p.failed_before = now - *failed;
    p.keep = own->keep;
    if (!Drain(p, &deleted)) return deleted;
  }
  if (options_.runs || options_.failed_runs) {
    if (options_.runs) global.before = now - *options_.runs;
    if (failed_runs) global.failed_before = now - *failed_runs;
    if (!Drain(global, &deleted)) return deleted;
  }
  if (deleted > 0) log::Info("retention: pruned runs", {{"runs", std::to_string(deleted)}});
  if (options_.files) {
    auto swept = SweepFiles(store_, *options_.files, now - options_.files_grace);
    if (!swept) log::Warn("retention: could not sweep files", {{"error", swept.error().message}});
  }
  // Give free pages (ours, and those of pruned deliveries) back a step at a
  // time (SQLite; a no-op elsewhere); stop when a step frees nothing more.
  int64_t last = -1;
  for (;;) {
    auto left = store_.ReclaimSpace(options_.vacuum_pages);
    if (!left || *left == 0 || *left == last) break;
    last = *left;
    if (!Sleep(options_.pause)) break;
  }
  return deleted;
}

}  // namespace weft
