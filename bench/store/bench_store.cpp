// Store (SQLite) throughput: the writes on the hot path of a run, each its own
// committed transaction, with synchronous NORMAL and FULL.
//
//   bench_store [--dir DIR] [google benchmark flags]
//
// DIR (default: a new dir under the current one) must be on the disk the
// server would use: on tmpfs FULL costs nothing and the figures mean little.
#include <benchmark/benchmark.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "common/ids.h"
#include "store/sqlite/sqlite_store.h"

namespace weft {
namespace {

namespace fs = std::filesystem;

std::string g_root;  // parent of every data dir the benchmarks open

const char* SyncName(int64_t full) { return full ? "FULL" : "NORMAL"; }

std::unique_ptr<SqliteStore> OpenStore(const std::string& name, bool full) {
  SqliteOptions o;
  o.data_dir = g_root + "/" + name + "-" + SyncName(full);
  std::error_code ec;
  fs::remove_all(o.data_dir, ec);
  o.synchronous = full ? SqliteOptions::Synchronous::kFull : SqliteOptions::Synchronous::kNormal;
  auto s = SqliteStore::Open(o);
  if (!s) {
    std::fprintf(stderr, "open %s: %s\n", o.data_dir.c_str(), s.error().message.c_str());
    std::abort();
  }
  return std::move(s).value();
}

// One store per (benchmark, sync) shared by the threads of a multi-threaded run.
SqliteStore& SharedStore(const std::string& name, bool full) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<SqliteStore>> stores;
  std::lock_guard lock(mu);
  auto& s = stores[name + SyncName(full)];
  if (!s) s = OpenStore(name, full);
  return *s;
}

Run NewRun(int64_t i) {
  Run r;
  r.flow_id = "00000000000000000001";
  r.flow_name = "orders";
  r.flow_version = 3;
  r.trigger_type = "webhook";
  r.trigger = Json{{"type", "webhook"},
                   {"body", {{"order_id", i}, {"customer", "ACME Ltd"}, {"total", 129.5}}},
                   {"headers", {{"content-type", "application/json"}}}};
  r.created_at = FromUnixMs(1'800'000'000'000 + i);
  return r;
}

StepRun NewStep(const std::string& run_id, int seq, StepStatus status) {
  StepRun s;
  s.run_id = run_id;
  s.path = "step" + std::to_string(seq);
  s.step_id = s.path;
  s.uses = "data.set";
  s.seq = seq;
  s.status = status;
  s.attempts = 1;
  s.started_at = FromUnixMs(1'800'000'000'000);
  s.input = Json{{"value", {{"order_id", seq}, {"note", "a small step input"}}}};
  if (status == StepStatus::kSucceeded) {
    s.finished_at = FromUnixMs(1'800'000'000'003);
    s.output = s.input["value"];
  }
  return s;
}

void Check(bool ok, benchmark::State& state, const char* what) {
  if (!ok) state.SkipWithError(what);
}

// A webhook or Run button acknowledging a run: one committed INSERT.
void BM_CreateRun(benchmark::State& state) {
  bool full = state.range(0) != 0;
  SqliteStore& store = SharedStore("create", full);
  int64_t i = state.thread_index() * int64_t{1'000'000'000};
  for (auto _ : state) Check(store.CreateRun(NewRun(i++)).has_value(), state, "CreateRun");
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(SyncName(full));
}
BENCHMARK(BM_CreateRun)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CreateRun)->Arg(0)->Arg(1)->Threads(4)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Workers taking queued runs, `batch` per ClaimRuns; items = runs claimed.
// The queue is filled first with synchronous NORMAL (filling it with FULL
// would take minutes), then reopened with the setting measured.
void BM_ClaimRuns(benchmark::State& state) {
  bool full = state.range(0) != 0;
  int batch = static_cast<int>(state.range(1));
  int64_t runs = state.max_iterations * batch;
  std::string dir;
  {
    auto fill = OpenStore("claim", false);
    dir = fs::path(fill->db_path()).parent_path().string();
    for (int64_t i = 0; i < runs; ++i) (void)fill->CreateRun(NewRun(i));
  }
  SqliteOptions o;
  o.data_dir = dir;
  o.synchronous = full ? SqliteOptions::Synchronous::kFull : SqliteOptions::Synchronous::kNormal;
  auto store = std::move(SqliteStore::Open(o)).value();
  int64_t claimed = 0;
  TimePoint now = FromUnixMs(1'900'000'000'000);
  for (auto _ : state) {
    auto got = store->ClaimRuns("node", batch, now, now + std::chrono::seconds(30));
    Check(got.has_value() && static_cast<int>(got->size()) == batch, state, "ClaimRuns");
    claimed += batch;
  }
  state.SetItemsProcessed(claimed);
  state.SetLabel(SyncName(full));
}
BENCHMARK(BM_ClaimRuns)
    ->Args({0, 1})
    ->Args({0, 16})
    ->Iterations(4000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ClaimRuns)
    ->Args({1, 1})
    ->Args({1, 16})
    ->Iterations(300)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// An executor committing a step result.
void BM_SaveStepRun(benchmark::State& state) {
  bool full = state.range(0) != 0;
  auto store = OpenStore("step", full);
  auto run = store->CreateRun(NewRun(0));
  int seq = 0;
  for (auto _ : state) {
    Check(store->SaveStepRun(NewStep(run->id, ++seq, StepStatus::kSucceeded)).has_value(), state,
          "SaveStepRun");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(SyncName(full));
}
BENCHMARK(BM_SaveStepRun)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The run record moving on (status, claim, output).
void BM_UpdateRun(benchmark::State& state) {
  bool full = state.range(0) != 0;
  auto store = OpenStore("update", full);
  Run run = *store->CreateRun(NewRun(0));
  int64_t i = 0;
  for (auto _ : state) {
    run.status = (i++ % 2) ? RunStatus::kRunning : RunStatus::kQueued;
    run.output = Json{{"n", i}};
    Check(store->UpdateRun(run).has_value(), state, "UpdateRun");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(SyncName(full));
}
BENCHMARK(BM_UpdateRun)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The store's share of one 3-step run, as the engine writes it: create, claim,
// running, each step running then succeeded, succeeded. 9 commits; items = runs.
void BM_RunOf3Steps(benchmark::State& state) {
  bool full = state.range(0) != 0;
  auto store = OpenStore("lifecycle", full);
  int64_t i = 0;
  TimePoint now = FromUnixMs(1'900'000'000'000);
  for (auto _ : state) {
    Run run = *store->CreateRun(NewRun(i++));
    auto claimed = store->ClaimRuns("node", 1, now, now + std::chrono::seconds(30));
    Check(claimed.has_value() && claimed->size() == 1, state, "ClaimRuns");
    run = (*claimed)[0];
    run.status = RunStatus::kRunning;
    run.started_at = now;
    (void)store->UpdateRun(run);
    for (int s = 1; s <= 3; ++s) {
      (void)store->SaveStepRun(NewStep(run.id, s, StepStatus::kRunning));
      (void)store->SaveStepRun(NewStep(run.id, s, StepStatus::kSucceeded));
    }
    run.status = RunStatus::kSucceeded;
    run.finished_at = now;
    run.claimed_by.clear();
    run.lease_until.reset();
    Check(store->UpdateRun(run).has_value(), state, "UpdateRun");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(SyncName(full));
}
BENCHMARK(BM_RunOf3Steps)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Reads beside the writes: the run window polling a run with its steps.
void BM_GetRunWithSteps(benchmark::State& state) {
  auto store = OpenStore("read", false);
  Run run = *store->CreateRun(NewRun(0));
  for (int s = 1; s <= 3; ++s) (void)store->SaveStepRun(NewStep(run.id, s, StepStatus::kSucceeded));
  for (auto _ : state) Check(store->GetRun(run.id, true).has_value(), state, "GetRun");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetRunWithSteps)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace weft

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::string dir;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a.rfind("--dir=", 0) == 0) {
      dir = a.substr(6);
    } else {
      args.push_back(argv[i]);
    }
  }
  bool made = dir.empty();
  if (made) dir = "bench-store-" + weft::NewId(weft::ToUnixMs(weft::SystemClock().Now()));
  fs::create_directories(dir);
  weft::g_root = fs::absolute(dir).string();
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  if (made) fs::remove_all(dir, ec);
  return 0;
}
