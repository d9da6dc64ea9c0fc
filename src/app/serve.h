// `weft serve`: the composition root. Opens the store, builds the catalog,
// services and engine, starts the HTTP server, and waits for SIGTERM/SIGINT.
// Call once, from main, before any other thread exists.
#pragma once

#include <cstdint>
#include <string>

namespace weft::app {

struct ServeOptions {
  std::string data_dir = "./weft-data";
  std::string db;  // postgres://...; empty: SQLite in data_dir
  std::string roles = "api,webhooks,scheduler,workers";  // what this node does (--roles)
  std::string lease = "30s";  // a claimed run outlives its node's death this long
  std::string listen = "127.0.0.1:8080";
  std::string public_url;  // empty: http://<bound address>
  std::string timezone = "UTC";
  int workers = 4;
  std::string log_format = "text";          // text | json
  std::string log_level = "info";           // debug | info | warn | error
  std::string ui_dir;                       // empty: the installed or source-tree ui/dist
  std::string sqlite_sync = "normal";       // normal | full
  std::string retain_deliveries = "7d";     // webhook deliveries older than this are pruned
  int64_t retain_deliveries_count = 10000;  // and those beyond the newest N of a flow
  // Operations: failure alerts, limits, retention.
  std::string error_flow;  // settings.error_flow of flows that name none
  int64_t max_queued = 0;  // above this many queued runs new ones get 429; 0: no limit
  std::string max_step_output = "4MiB";  // a step's output over this fails the step
  // Files (core/files.h): where their bytes live ("": <data>/files; a folder;
  // or s3://bucket/prefix, the store several nodes share; with --db postgres
  // only a bucket will do, and files are off without one).
  std::string files;
  std::string files_connection;           // an s3 connection with the bucket's credentials
  std::string max_file_size = "5GiB";     // a file over this fails the step writing it
  std::string retain_runs = "30d";        // finished runs older than this are pruned ("off": never)
  int64_t retain_runs_count = 0;          // > 0: each flow keeps at most this many finished runs
  std::string retain_failed_runs;         // failed runs: this long instead ("" : as retain_runs)
  std::string retention_interval = "1m";  // how often the pruner looks
  // The HTTP layer.
  int64_t max_connections = 10000;     // beyond, a new connection is closed at once
  std::string header_timeout = "10s";  // a request head must arrive within this
  std::string idle_timeout = "60s";    // an idle keep-alive connection is closed after this
  int64_t min_body_rate = 1024;        // bytes/s a body must average after header_timeout; 0: none
  int http_threads = 4;                // network I/O threads (an event loop each)
  int http_workers = 8;                // threads that may be in handlers at once
  bool metrics = true;                 // --metrics=false: no instrumentation, /metrics answers 404
  // Budgets of each expression evaluation (flows' settings.expression_* replace them).
  std::string expr_timeout = "1s";
  std::string expr_memory = "64MiB";
};

// Returns the process exit code.
int RunServe(const ServeOptions& options, const std::string& argv0);

}  // namespace weft::app
