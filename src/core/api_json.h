// The JSON shapes of docs/api.md for the domain objects, shared by the HTTP
// API and the CLI so both show the same thing. Pure functions; thread-safe.
#pragma once

#include <string>

#include "common/error.h"
#include "common/json.h"
#include "core/action.h"
#include "core/flow_service.h"
#include "core/model.h"

namespace weft {

constexpr const char* kSecretMask = "********";

// A flow: its document's fields plus id, version, active, trigger_type,
// webhook_url (webhook flows only), next_run_at, missed_fires, timestamps.
Json FlowToJson(const Flow& flow, const std::string& webhook_url);
Json FlowRowToJson(const FlowRow& row, const std::string& webhook_url);
Json FlowVersionToJson(const FlowVersion& v);
Json RunToJson(const Run& run);  // with steps when run.steps is filled
Json StepRunToJson(const StepRun& step);
Json DeliveryToJson(const Delivery& d, bool with_body);
// A connection with every secret field shown as kSecretMask.
Json ConnectionToJson(const Connection& c, const ActionCatalog& catalog);
// {"error": {"code", "message", "details"?}}
Json ErrorToJson(const Error& e);
// "2026-..Z" or null.
Json TimeOrNull(const std::optional<TimePoint>& t);

}  // namespace weft
