// Pruner: deletes old finished runs in the background (retention), by age
// and count globally (--retain-runs, --retain-failed-runs, --retain-runs-count) and per
// flow (settings.retention: {runs, keep, keep_failed}). It deletes in small
// batches (Store::PruneRuns, one short transaction each, with a pause
// between) so webhooks and runs never wait long behind it, and then gives
// freed pages back (Store::ReclaimSpace). Runs that have not finished are
// never deleted. Files that no run references any more go after each pass.
// Start() once, Stop() once; thread-safe.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "core/files.h"
#include "core/store.h"

namespace weft {

struct RetentionOptions {
  std::optional<Millis> runs;         // finished runs older than this go; nullopt: kept
  std::optional<Millis> failed_runs;  // failed ones: older than this (default: `runs`)
  int64_t keep = 0;                   // > 0: each flow keeps at most its newest `keep` finished
                                      // runs (failed ones within failed_runs are kept); a flow's
                                      // settings.retention.keep wins
  Millis every{60'000};               // a pass this often
  int batch = 500;                    // runs per transaction
  Millis pause{10};                   // between batches
  int vacuum_pages = 256;             // pages given back per step (SQLite; 1 MiB at 4 KiB pages)
  // The file sweep (core/files.h): after each pass, files no run references
  // go, once older than `files_grace` (a step's file is referenced when its
  // result commits, moments after the file does). Null: no sweep.
  FileStore* files = nullptr;
  Millis files_grace{3'600'000};
};

// Deletes the files of `files` created before `cutoff` that no run
// references (Store::UnreferencedFiles); returns how many went.
Result<int64_t> SweepFiles(Store& store, FileStore& files, TimePoint cutoff);

// A flow's settings.retention, as read from its document.
struct FlowRetention {
  std::optional<Millis> runs, keep_failed;
  int64_t keep = 0;
};
std::optional<FlowRetention> ParseFlowRetention(const Json& settings);

class Pruner {
 public:
  Pruner(Store& store, Clock& clock, RetentionOptions options);
  ~Pruner();
  void Start();
  void Stop();
  // One whole pass now, on the calling thread; returns the runs deleted.
  int64_t PruneOnce();

 private:
  // Calls PruneRuns until it finds no more; false when stopping.
  bool Drain(const RunPrune& p, int64_t* deleted);
  bool Sleep(Millis d);  // false when stopping

  Store& store_;
  Clock& clock_;
  RetentionOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace weft
