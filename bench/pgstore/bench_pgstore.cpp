// Store (PostgreSQL) throughput: the writes on the hot path of a run, each its
// own committed transaction, with synchronous_commit on and off (per session;
// fsync is the server's and is printed in the context), from one thread and
// from several (as several workers or nodes would).
//
//   scripts/test-postgres --run build/bench/pgstore/bench_pgstore [--db URL] [benchmark flags]
//   WEFT_PG_DURABLE=1 scripts/test-postgres --run ...   (fsync=on: the durable figures)
//
// The URL defaults to WEFT_TEST_DB. Each benchmark works in a schema of its
// own, dropped at the end.
#include <benchmark/benchmark.h>
#include <libpq-fe.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "store/postgres/postgres_store.h"

namespace weft {
namespace {

std::string g_url;
std::mutex g_mu;
std::vector<std::string> g_schemas;  // dropped at exit

std::string Sql(const std::string& sql) {
  PGconn* c = PQconnectdb(g_url.c_str());
  std::string out;
  if (PQstatus(c) == CONNECTION_OK) {
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
    PQclear(r);
  } else {
    std::fprintf(stderr, "bench_pgstore: %s", PQerrorMessage(c));
    std::exit(1);
  }
  PQfinish(c);
  return out;
}

const char* CommitName(bool sync) {
  return sync ? "synchronous_commit=on" : "synchronous_commit=off";
}

std::unique_ptr<PostgresStore> OpenStore(const std::string& name, bool sync) {
  PostgresOptions o;
  std::string setting = std::string("options=-csynchronous_commit%3D") + (sync ? "on" : "off");
  o.url = g_url + (g_url.find('?') == std::string::npos ? "?" : "&") + setting;
  o.schema = "bench_" + name + "_" + (sync ? "sync" : "async") + "_" +
             NewId(ToUnixMs(SystemClock().Now())).substr(12);
  o.pool_size = 16;
  {
    std::lock_guard lock(g_mu);
    g_schemas.push_back(o.schema);
  }
  auto s = PostgresStore::Open(o);
  if (!s) {
    std::fprintf(stderr, "open: %s\n", s.error().message.c_str());
    std::abort();
  }
  return std::move(s).value();
}

// One store per (benchmark, setting), shared by the threads of a multi-threaded run.
PostgresStore& SharedStore(const std::string& name, bool sync) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<PostgresStore>> stores;
  std::lock_guard lock(mu);
  auto& s = stores[name + CommitName(sync)];
  if (!s) s = OpenStore(name, sync);
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
  bool sync = state.range(0) != 0;
  PostgresStore& store = SharedStore("create", sync);
  int64_t i = state.thread_index() * int64_t{1'000'000'000};
  for (auto _ : state) Check(store.CreateRun(NewRun(i++)).has_value(), state, "CreateRun");
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(CommitName(sync));
}
BENCHMARK(BM_CreateRun)->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(BM_CreateRun)->Arg(0)->Arg(1)->Threads(4)->UseRealTime();

// Workers taking queued runs, `batch` per ClaimRuns; items = runs claimed.
// Claimed runs stay queued under their lease (as runs being executed do), so
// later claims pass over them, as in bench/store for SQLite. With several
// threads they contend for the same queue head (SKIP LOCKED).
void BM_ClaimRuns(benchmark::State& state) {
  bool sync = state.range(0) != 0;
  int batch = static_cast<int>(state.range(1));
  std::string name = "claim" + std::to_string(batch) + "_" + std::to_string(state.threads());
  PostgresStore& store = SharedStore(name, sync);
  constexpr int kFill = 5'000;
  // The queue's bookkeeping, one per store, shared by its threads.
  struct Queue {
    std::atomic<int64_t> next{0}, left{0};
    std::mutex fill_mu;
  };
  static std::mutex queues_mu;
  static std::map<std::string, std::unique_ptr<Queue>> queues;
  Queue* q;
  {
    std::lock_guard lock(queues_mu);
    auto& slot = queues[name + CommitName(sync)];
    if (!slot) slot = std::make_unique<Queue>();
    q = slot.get();
  }
  auto& next = q->next;
  auto& left = q->left;
  auto& fill_mu = q->fill_mu;
  TimePoint now = FromUnixMs(1'900'000'000'000);
  std::string node = "node" + std::to_string(state.thread_index());
  int64_t claimed = 0;
  for (auto _ : state) {
    if (left.load() < batch * state.threads()) {
      state.PauseTiming();
      std::lock_guard lock(fill_mu);
      if (left.load() < batch * state.threads()) {
        for (int i = 0; i < kFill; ++i) (void)store.CreateRun(NewRun(next++));
        left += kFill;
      }
      state.ResumeTiming();
    }
    auto got = store.ClaimRuns(node, batch, now, now + std::chrono::seconds(30));
    Check(got.has_value(), state, "ClaimRuns");
    if (!got) break;
    left -= static_cast<int64_t>(got->size());
    claimed += static_cast<int64_t>(got->size());
  }
  state.SetItemsProcessed(claimed);
  state.SetLabel(CommitName(sync));
}
BENCHMARK(BM_ClaimRuns)->Args({0, 1})->Args({0, 16})->Args({1, 1})->Args({1, 16})->UseRealTime();
BENCHMARK(BM_ClaimRuns)->Args({1, 16})->Threads(4)->UseRealTime();

// An executor committing a step result.
void BM_SaveStepRun(benchmark::State& state) {
  bool sync = state.range(0) != 0;
  PostgresStore& store = SharedStore("step", sync);
  auto run = store.CreateRun(NewRun(state.thread_index()));
  int seq = 0;
  for (auto _ : state) {
    Check(store.SaveStepRun(NewStep(run->id, ++seq, StepStatus::kSucceeded)).has_value(), state,
          "SaveStepRun");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(CommitName(sync));
}
BENCHMARK(BM_SaveStepRun)->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(BM_SaveStepRun)->Arg(0)->Arg(1)->Threads(4)->UseRealTime();

// The store's share of one 3-step run, as the engine writes it: create, claim,
// running, each step running then succeeded, succeeded. 9 commits; items =
// runs completed. With several threads a claim may take another thread's run
// (then this thread's run is done by another): each thread completes what it claims.
void BM_RunOf3Steps(benchmark::State& state) {
  bool sync = state.range(0) != 0;
  PostgresStore& store = SharedStore("lifecycle" + std::to_string(state.threads()), sync);
  int64_t i = state.thread_index() * int64_t{1'000'000'000};
  std::string node = "node" + std::to_string(state.thread_index());
  TimePoint now = FromUnixMs(1'900'000'000'000);
  int64_t done = 0;
  for (auto _ : state) {
    Check(store.CreateRun(NewRun(i++)).has_value(), state, "CreateRun");
    auto claimed = store.ClaimRuns(node, 1, now, now + std::chrono::seconds(30));
    Check(claimed.has_value(), state, "ClaimRuns");
    if (!claimed || claimed->empty()) continue;
    Run run = (*claimed)[0];
    run.status = RunStatus::kRunning;
    run.started_at = now;
    (void)store.UpdateRun(run);
    for (int s = 1; s <= 3; ++s) {
      (void)store.SaveStepRun(NewStep(run.id, s, StepStatus::kRunning));
      (void)store.SaveStepRun(NewStep(run.id, s, StepStatus::kSucceeded));
    }
    run.status = RunStatus::kSucceeded;
    run.finished_at = now;
    run.claimed_by.clear();
    run.lease_until.reset();
    Check(store.UpdateRun(run).has_value(), state, "UpdateRun");
    ++done;
  }
  state.SetItemsProcessed(done);
  state.SetLabel(CommitName(sync));
}
BENCHMARK(BM_RunOf3Steps)->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(BM_RunOf3Steps)->Arg(0)->Arg(1)->Threads(4)->UseRealTime();

// Reads beside the writes: the run window polling a run with its steps.
void BM_GetRunWithSteps(benchmark::State& state) {
  PostgresStore& store = SharedStore("read", false);
  static std::once_flag once;
  static std::string id;
  std::call_once(once, [&] {
    Run run = *store.CreateRun(NewRun(0));
    for (int s = 1; s <= 3; ++s)
      (void)store.SaveStepRun(NewStep(run.id, s, StepStatus::kSucceeded));
    id = run.id;
  });
  for (auto _ : state) Check(store.GetRun(id, true).has_value(), state, "GetRun");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetRunWithSteps)->UseRealTime();
BENCHMARK(BM_GetRunWithSteps)->Threads(4)->UseRealTime();

}  // namespace
}  // namespace weft

int main(int argc, char** argv) {
  std::vector<char*> args;
  if (const char* env = std::getenv("WEFT_TEST_DB")) weft::g_url = env;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--db" && i + 1 < argc) {
      weft::g_url = argv[++i];
    } else if (a.rfind("--db=", 0) == 0) {
      weft::g_url = a.substr(5);
    } else {
      args.push_back(argv[i]);
    }
  }
  if (weft::g_url.empty()) {
    std::fprintf(stderr,
                 "bench_pgstore: no database: give --db postgres://... or run it under\n"
                 "  scripts/test-postgres --run %s\n",
                 argv[0]);
    return 2;
  }
  benchmark::AddCustomContext("postgresql", weft::Sql("SHOW server_version"));
  benchmark::AddCustomContext("fsync", weft::Sql("SHOW fsync"));
  benchmark::AddCustomContext("full_page_writes", weft::Sql("SHOW full_page_writes"));
  benchmark::AddCustomContext("server synchronous_commit", weft::Sql("SHOW synchronous_commit"));
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (const auto& s : weft::g_schemas) weft::Sql("DROP SCHEMA IF EXISTS \"" + s + "\" CASCADE");
  return 0;
}
