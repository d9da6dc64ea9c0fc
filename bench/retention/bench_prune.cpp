// Retention: how long pruning a million old finished runs takes in
// SQLite, and how long each batch holds the writer (the longest wait a
// webhook's or a step's write can meet behind the pruner).
//
//   bench_prune [--runs N] [--dir DIR] [--batch 500] [--seed-only]
//
// Seeds N succeeded runs of one flow, finished 60 days ago, each with two step
// runs (~0.5 KiB of JSON per run), straight into <DIR>/weft.db with one SQL
// statement (the store made the schema). Then deletes them the way the
// pruner does: Store::PruneRuns batches of --batch runs, each timed, then
// Store::ReclaimSpace steps until the file has no free pages. --seed-only
// stops after seeding (bench/retention/run.sh serves that data dir).
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/clock.h"
#include "store/sqlite/sqlite_store.h"

namespace {

using Steady = std::chrono::steady_clock;
double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

int64_t FileSize(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

void Die(const std::string& what) {
  std::fprintf(stderr, "bench_prune: %s\n", what.c_str());
  std::exit(1);
}

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK)
    Die(sql.substr(0, 60) + ": " + err);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t runs = 1'000'000;
  int batch = 500;
  bool seed_only = false;
  std::string dir = "bench-prune-data";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc)
      runs = std::atoll(argv[++i]);
    else if (a == "--dir" && i + 1 < argc)
      dir = argv[++i];
    else if (a == "--batch" && i + 1 < argc)
      batch = std::atoi(argv[++i]);
    else if (a == "--seed-only")
      seed_only = true;
    else
      Die("usage: bench_prune [--runs N] [--dir DIR] [--batch 500] [--seed-only]");
  }
  std::filesystem::remove_all(dir);
  {
    weft::SqliteOptions o;
    o.data_dir = dir;
    auto store = weft::SqliteStore::Open(o);  // creates the schema
    if (!store) Die(store.error().message);
  }
  const std::string db_path = dir + "/weft.db";
  const int64_t now_ms = weft::ToUnixMs(weft::SystemClock().Now());
  const int64_t old_ms = now_ms - 60LL * 24 * 3600 * 1000;

  auto t0 = Steady::now();
  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) Die("open " + db_path);
  Exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; BEGIN");
  Exec(db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < " +
               std::to_string(runs) +
               ") INSERT INTO runs (id, flow_id, flow_name, flow_version, trigger_type, trigger, "
               "status, created_at, "
               "started_at, finished_at, input, output) SELECT printf('r%019d', i), 'benchflow', "
               "'bench', 1, 'webhook', "
               "'{\"type\":\"webhook\",\"method\":\"POST\",\"body\":{\"event\":\"asset.created\","
               "\"asset_id\":12345}}', "
               "'succeeded', " +
               std::to_string(old_ms) + " + i, " + std::to_string(old_ms) + " + i, " +
               std::to_string(old_ms) + " + i + 5, NULL, '{\"asset\":12345}' FROM n");
  Exec(db,
       "INSERT INTO step_runs (run_id, path, step_id, uses, seq, status, attempts, started_at, "
       "finished_at, input, "
       "output, logs) SELECT id, s.p, s.p, 'data.set', s.q, 'succeeded', 1, started_at, "
       "finished_at, "
       "'{\"value\":\"{{ trigger.body.asset_id }}\"}', '{\"asset\":12345}', '[]' FROM runs, "
       "(SELECT 'pick' AS p, 1 AS q UNION ALL SELECT 'shape', 2) s WHERE flow_id = 'benchflow'");
  Exec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(db);
  std::printf("seeded %lld finished runs (2 steps each) in %.1f s; weft.db %.1f MiB\n",
              static_cast<long long>(runs), Seconds(Steady::now() - t0),
              FileSize(db_path) / 1048576.0);
  if (seed_only) return 0;

  weft::SqliteOptions o;
  o.data_dir = dir;
  auto opened = weft::SqliteStore::Open(o);
  if (!opened) Die(opened.error().message);
  weft::Store& store = **opened;
  weft::RunPrune p;
  p.before = weft::FromUnixMs(now_ms - 30LL * 24 * 3600 * 1000);  // --retain-runs 30d
  p.failed_before = p.before;

  std::vector<double> batch_ms;
  int64_t deleted = 0;
  auto t1 = Steady::now();
  for (;;) {
    auto b = Steady::now();
    auto n = store.PruneRuns(p, batch);
    if (!n) Die(n.error().message);
    batch_ms.push_back(Seconds(Steady::now() - b) * 1000);
    deleted += *n;
    if (*n < batch) break;
  }
  double prune_s = Seconds(Steady::now() - t1);
  int64_t size_after_delete = FileSize(db_path);
  auto t2 = Steady::now();
  std::vector<double> vacuum_ms;
  for (;;) {
    auto b = Steady::now();
    auto left = store.ReclaimSpace(256);
    if (!left) Die(left.error().message);
    vacuum_ms.push_back(Seconds(Steady::now() - b) * 1000);
    if (*left == 0) break;
  }
  double vacuum_s = Seconds(Steady::now() - t2);
  auto pct = [](std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
  };
  std::printf(
      "pruned %lld runs in %.1f s (%.0f runs/s), %zu batches of %d: p50 %.1f ms, p99 %.1f ms, max "
      "%.1f ms\n",
      static_cast<long long>(deleted), prune_s, deleted / prune_s, batch_ms.size(), batch,
      pct(batch_ms, 0.5), pct(batch_ms, 0.99), pct(batch_ms, 1.0));
  opened->reset();  // closing checkpoints the WAL: the file shrinks now
  std::printf(
      "incremental vacuum: %.1f s in %zu steps of 256 pages (p99 %.1f ms, max %.1f ms); weft.db "
      "%.1f MiB -> %.1f MiB\n",
      vacuum_s, vacuum_ms.size(), pct(vacuum_ms, 0.99), pct(vacuum_ms, 1.0),
      size_after_delete / 1048576.0, FileSize(db_path) / 1048576.0);
  std::printf(
      "the server's pruner also pauses 10 ms between batches and vacuum steps: %.1f s more\n",
      (batch_ms.size() + vacuum_ms.size()) * 0.010);
  return 0;
}
