// Test helpers: run one catalog action as the executor would, and fetch a URL
// with plain libcurl (to read what a test server recorded).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "common/clock.h"
#include "core/action.h"
#include "core/files.h"

namespace weft::testing {

struct ActionRun {
  ActionOutcome outcome;
  std::vector<std::string> logs;
  // The error message or "" (for EXPECT messages).
  std::string error() const { return outcome.error ? outcome.error->message : ""; }
  const Json& output() const { return outcome.output; }
};

ActionRun RunAction(const ActionCatalog& catalog, const std::string& uses, const Json& input,
                    const Connection* connection = nullptr, Millis timeout = Millis(10'000),
                    const std::atomic<bool>* cancelled = nullptr, FileStore* files = nullptr);

// A connection value for tests.
Connection MakeConnection(const std::string& connector, Json settings, Json auth = Json::object());

// GET url and parse the body as JSON (null on any failure).
Json GetJson(const std::string& url);

}  // namespace weft::testing
