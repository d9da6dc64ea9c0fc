// The http connector's poll source, http.new_items (docs/polling.md): an
// API's items, each version of each emitted once. RegisterHttp registers it.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/action.h"
#include "core/poll.h"
#include "expr/expr.h"

namespace weft::connectors::http {

// A listing holds at most this many items (hostile or runaway APIs).
inline constexpr size_t kMaxListed = 100'000;

// What makes a listed item new (http.new_items and the manifests' triggers):
// `items` finds the list in a page's body (null: the body), `key` names each
// item's identity, `cursor` (optional) gives the value sent back next time.
struct ItemRules {
  expr::ExpressionPtr items, key, cursor;
  bool ordered = false;        // the API lists oldest first (in the cursor's order)
  std::string path = "with.";  // where an error points: "with.key", "triggers.x.key"
};

// One poll's listing, page by page: the items' keys, the store's "seen
// before" asked once (or page by page when ordered), the new cursor.
class ItemCollector {
 public:
  ItemCollector(ItemRules rules, PollContext& ctx);
  // The committed cursor's value (null before the first poll).
  const Json& since() const { return since_; }
  // One page's body (moved from). `empty`: it held no items. True: stop
  // reading pages (ordered, max_items new items reached).
  Result<bool> Page(Json& body, bool& empty);
  // How many items the last page held.
  size_t last_page_size() const { return last_page_size_; }
  // The new items, the known ones and the cursor, once the pages are read.
  Result<PollResult> Finish();

 private:
  Error ExprFailure(const std::string& field, const expr::ExprError& e) const;
  ItemRules rules_;
  PollContext& ctx_;
  expr::EvalLimits limits_;
  Json since_, last_body_;
  std::vector<PollItem> listed_;
  std::vector<bool> seen_;  // of listed_, asked page by page when ordered
  size_t fresh_ = 0;        // unseen items so far (ordered)
  bool stopped_ = false;    // ordered: stopped at max_items new items
  size_t last_page_size_ = 0;
  std::set<std::string> keys_seen_;
};

PollSpec NewItemsSpec();
std::shared_ptr<PollSource> MakeNewItemsSource(const ConnectorSpec& spec);

}  // namespace weft::connectors::http
