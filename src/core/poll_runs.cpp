// MakePollRuns (core/store.h): the runs of a poll's new items, shared by both stores.
#include <algorithm>

#include "common/time_format.h"
#include "core/store.h"

namespace weft {

std::vector<Run> MakePollRuns(const PollCommit& c, const std::vector<size_t>& new_items) {
  std::vector<Run> out;
  if (!c.create_runs || new_items.empty()) return out;
  const std::string polled_at = FormatIso(c.polled_at);
  auto base = [&] {
    Run r;
    r.flow_id = c.flow_id;
    r.flow_name = c.flow_name;
    r.flow_version = c.flow_version;
    r.trigger_type = "poll";
    r.status = RunStatus::kQueued;
    return r;
  };
  if (!c.batch) {
    out.reserve(new_items.size());
    for (size_t i : new_items) {
      Run r = base();
      r.trigger = Json{{"type", "poll"},
                       {"item", c.items[i].item},
                       {"key", c.items[i].key},
                       {"polled_at", polled_at}};
      out.push_back(std::move(r));
    }
    return out;
  }
  size_t per = static_cast<size_t>(std::max(1, c.batch_size));
  for (size_t start = 0; start < new_items.size(); start += per) {
    Json items = Json::array(), keys = Json::array();
    for (size_t j = start; j < std::min(new_items.size(), start + per); ++j) {
      items.push_back(c.items[new_items[j]].item);
      keys.push_back(c.items[new_items[j]].key);
    }
    Run r = base();
    r.trigger = Json{{"type", "poll"}, {"items", items}, {"keys", keys}, {"polled_at", polled_at}};
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace weft
