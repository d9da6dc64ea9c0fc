// Polling sources: what a `type: poll` trigger ("New data") asks, on its
// schedule, for what is new (docs/polling.md). A source lists from its
// cursor; the engine's poller commits the new cursor, the new items' keys and
// their runs in one store transaction (Store::RecordPoll), so an item is
// emitted once whatever crashes in between. A connector registers its sources
// in its Register function (ActionCatalog::RegisterPollSource), as it
// registers actions. Sources are shared by every poll: Poll may run on
// several threads at once (for different flows), and must never throw.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/result.h"
#include "core/action.h"

namespace weft {

class FileStore;

// One listed item: its identity and what trigger.item holds.
struct PollItem {
  std::string key;  // the item's identity (a file's path + size + mtime, a row's id)
  Json item;
};

// What a source sees during one poll. Valid only during the call.
struct PollContext {
  const Json& with;              // the trigger's poll.source.with, defaults not filled in
  const Connection* connection;  // secrets decrypted; null for a source without one
  const Json& cursor;            // the committed cursor; null before the first poll
  Clock& clock;
  TimePoint deadline;  // the poll's time budget
  const std::atomic<bool>& cancelled;
  // Where a download writes (core/files.h); null: files are off, metadata only.
  FileStore* files = nullptr;
  // A dry run (POST /flows/{id}/poll/check, the baseline of `start: new`):
  // list only, download nothing and change nothing at the source.
  bool dry_run = false;
  // The baseline of `start: new` (the first poll after activation, a dry
  // run): what exists is recorded as seen without runs, so a cursor source
  // may answer just its current end instead of listing everything.
  bool baseline = false;
  // At most this many new items per call; the source says `more` when it
  // stopped short.
  size_t max_items = 1000;
  // Of `keys`, which were emitted before (remembered by the store, one
  // indexed lookup each): a source asks before it downloads anything. Null
  // for a source whose cursor alone says what is new.
  std::function<Result<std::vector<bool>>(const std::vector<std::string>& keys)> seen;
  std::function<void(const std::string& level, const std::string& message)> log;
};

struct PollResult {
  std::vector<PollItem> items;     // new items, in the order their runs start
  std::vector<std::string> known;  // listed keys emitted before (still at the source)
  // The new cursor; null leaves the committed one. Committed with the items.
  std::optional<Json> cursor;
  bool more = false;  // stopped at max_items: poll again at once
  // Whether the source keeps keys (files, HTTP items) or only a cursor
  // (rows ordered by a column): keyless items are not remembered.
  bool keyed = true;
};

class PollSource {
 public:
  virtual ~PollSource() = default;
  virtual Result<PollResult> Poll(PollContext& ctx) = 0;
  // After the poll's transaction committed: what the source's `after` asks
  // of the items (move, delete). Called with the new items and again with
  // `known` ones that are still there (a crash between the commit and this
  // call), so it must be idempotent: an item already moved is fine.
  virtual Result<void> AfterCommit(PollContext& ctx, const std::vector<PollItem>& items) {
    (void)ctx, (void)items;
    return Ok();
  }
  // Whether AfterCommit has anything to do for this `with` (after: keep: no).
  virtual bool HasAfter(const Json& with) const {
    (void)with;
    return false;
  }
};

// The trigger.poll document, parsed (validated on save: core/document.cpp).
struct PollTrigger {
  Json every;  // a duration string, or a schedule object
  std::string uses;
  std::string connection;
  Json with = Json::object();
  bool start_all = false;  // start: all
  bool batch = false;      // emit: batch
  int batch_size = 100;
  Millis remember{30LL * 24 * 3600 * 1000};
};

// Parses a stored (validated) trigger; kValidation when it is not a poll trigger.
Result<PollTrigger> ParsePollTrigger(const Json& trigger);

}  // namespace weft
