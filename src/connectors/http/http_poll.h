// The http connector's poll source, http.new_items (docs/polling.md): an
// API's items, each version of each emitted once. RegisterHttp registers it.
#pragma once

#include <memory>

#include "core/action.h"
#include "core/poll.h"

namespace weft::connectors::http {

PollSpec NewItemsSpec();
std::shared_ptr<PollSource> MakeNewItemsSource(const ConnectorSpec& spec);

}  // namespace weft::connectors::http
