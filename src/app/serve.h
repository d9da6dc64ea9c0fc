// `weft serve`: the composition root. Opens the store, builds the catalog,
// services and engine, starts the HTTP server, and waits for SIGTERM/SIGINT.
// Call once, from main, before any other thread exists.
#pragma once

#include <cstdint>
#include <string>

namespace weft::app {

struct ServeOptions {
  std::string data_dir = "./weft-data";
  std::string db;                       // postgres://... (another issue); empty: SQLite in data_dir
  std::string listen = "127.0.0.1:8080";
  std::string public_url;               // empty: http://<bound address>
  std::string timezone = "UTC";
  int workers = 4;
  std::string log_format = "text";      // text | json
  std::string log_level = "info";       // debug | info | warn | error
  std::string ui_dir;                   // empty: the installed or source-tree ui/dist
  std::string sqlite_sync = "normal";   // normal | full
  std::string retain_deliveries = "7d"; // webhook deliveries older than this are pruned
  int64_t retain_deliveries_count = 10000;  // and those beyond the newest N of a flow
};

// Returns the process exit code.
int RunServe(const ServeOptions& options, const std::string& argv0);

}  // namespace weft::app
