// `weft backup` and `weft restore`: a consistent copy of the SQLite store,
// taken while `weft serve` runs on it, and a new data dir made from one
// (docs/operations.md). Each returns the process exit code; results go to
// stdout, problems to stderr. Call from main only.
#pragma once

#include <string>

namespace weft::app {

struct BackupOptions {
  std::string data_dir = "./weft-data";
  std::string db;      // postgres://...: refused, with a pointer to pg_dump
  bool force = false;  // replace an existing FILE
};

// Copies <data_dir>/weft.db to `file` with SQLite's online backup API, from
// this process, without the data dir's LOCK (the running server holds it).
int RunBackup(const BackupOptions& options, const std::string& file);

// Makes `data_dir` (new or empty; anything else is refused) from a backup
// `file`: the copy is checked (quick_check, weft's schema) before it becomes
// weft.db. `secret_key`, when given, is copied in as secret.key.
int RunRestore(const std::string& file, const std::string& data_dir, const std::string& secret_key);

}  // namespace weft::app
