// Engine: the workers that claim queued runs from the store and execute them
// step by step, committing each step's result before the next starts. Start()
// once, Stop() once (graceful: running steps finish or are handed back).
// Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "core/action.h"
#include "core/events.h"
#include "core/files.h"
#include "core/store.h"

namespace weft {

struct EngineOptions {
  int workers = 4;                    // runs executed at once
  std::string node_id;                // claims are made in this name; random when empty
  Millis lease{30'000};               // a claim lasts this long unless renewed
  Millis poll_interval{1'000};        // look for work this often even without a wake-up
  size_t max_step_output = 4u << 20;  // bytes of JSON a step may output
  // settings.error_flow of flows that name none (--error-flow); "" for none.
  std::string default_error_flow;
  // The server's public URL: an error run's trigger.body.url links the failed run's page.
  std::string public_url;
  Millis stop_grace{10'000};  // Stop() waits this long for running steps
  int max_call_depth = 10;    // flow.call: runs nested deeper than this fail
  // Budgets of each expression evaluation (--expr-timeout, --expr-memory);
  // a flow's settings.expression_timeout / expression_memory replace them.
  Millis expr_timeout{1000};
  size_t expr_memory = size_t{64} << 20;
  // Looks a connection up by name with its secrets decrypted (app wires the
  // ConnectionService). Without it, connections are read from the store as is.
  std::function<Result<Connection>(const std::string& name)> resolve_connection;
  // Where steps write and read files (core/files.h); null: no file values.
  FileStore* files = nullptr;
};

class Engine {
 public:
  Engine(Store& store, const ActionCatalog& catalog, ChangeHub& hub, Clock& clock,
         EngineOptions options);
  ~Engine();
  void Start();
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft
