#include "core/api_json.h"

#include "common/time_format.h"

namespace weft {

Json TimeOrNull(const std::optional<TimePoint>& t) {
  if (!t) return nullptr;
  return FormatIso(*t);
}

// trigger.webhook.auth secrets are shown as the mask (docs/webhooks.md).
static void MaskWebhookSecrets(Json& holder) {
  auto t = holder.find("trigger");
  if (t == holder.end() || !t->is_object()) return;
  auto w = t->find("webhook");
  if (w == t->end() || !w->is_object()) return;
  auto a = w->find("auth");
  if (a == w->end() || !a->is_object()) return;
  for (const char* key : {"secret", "value", "password"})
    if (a->contains(key) && !(*a)[key].is_null()) (*a)[key] = kSecretMask;
}

Json FlowToJson(const Flow& flow, const std::string& webhook_url) {
  Json j = Json::object();
  j["id"] = flow.id;
  j["name"] = flow.name;
  j["description"] = flow.description;
  j["version"] = flow.version;
  j["active"] = flow.active;
  j["trigger_type"] = flow.trigger_type;
  if (flow.document.is_object()) {
    for (const char* key : {"trigger", "steps", "settings", "sample"})
      if (auto it = flow.document.find(key); it != flow.document.end()) j[key] = *it;
  }
  if (!j.contains("settings")) j["settings"] = Json::object();
  MaskWebhookSecrets(j);
  if (!webhook_url.empty()) j["webhook_url"] = webhook_url;
  j["next_run_at"] = TimeOrNull(flow.next_run_at);
  j["missed_fires"] = flow.missed_fires;
  j["created_at"] = FormatIso(flow.created_at);
  j["updated_at"] = FormatIso(flow.updated_at);
  if (!flow.updated_by.empty()) j["updated_by"] = flow.updated_by;
  return j;
}

Json FlowRowToJson(const FlowRow& row, const std::string& webhook_url) {
  const Flow& f = row.flow;
  Json j = {{"id", f.id},
            {"name", f.name},
            {"description", f.description},
            {"version", f.version},
            {"active", f.active},
            {"trigger_type", f.trigger_type},
            {"connections", row.connections},
            {"schedule_summary",
             row.schedule_summary.empty() ? Json(nullptr) : Json(row.schedule_summary)},
            {"next_run_at", TimeOrNull(f.next_run_at)},
            {"missed_fires", f.missed_fires},
            {"webhook_url", webhook_url.empty() ? Json(nullptr) : Json(webhook_url)},
            {"updated_at", FormatIso(f.updated_at)}};
  if (row.last_run) {
    j["last_run"] = {{"id", row.last_run->id},
                     {"status", ToString(row.last_run->status)},
                     {"finished_at", TimeOrNull(row.last_run->finished_at)}};
  } else {
    j["last_run"] = nullptr;
  }
  return j;
}

Json FlowVersionToJson(const FlowVersion& v) {
  Json j = {{"flow_id", v.flow_id},
            {"version", v.version},
            {"created_at", FormatIso(v.created_at)},
            {"document", v.document}};
  MaskWebhookSecrets(j["document"]);
  if (!v.created_by.empty()) j["created_by"] = v.created_by;
  return j;
}

Json StepRunToJson(const StepRun& s) {
  Json j = {{"id", s.step_id},
            {"path", s.path},
            {"uses", s.uses},
            {"status", ToString(s.status)},
            {"attempts", s.attempts},
            {"started_at", TimeOrNull(s.started_at)},
            {"finished_at", TimeOrNull(s.finished_at)},
            {"duration_ms", (s.started_at && s.finished_at)
                                ? Json(ToUnixMs(*s.finished_at) - ToUnixMs(*s.started_at))
                                : Json(nullptr)},
            {"input", s.input},
            {"output", s.output},
            {"error", s.error},
            {"logs", s.logs.is_array() ? s.logs : Json::array()}};
  if (s.wake_at) j["wake_at"] = FormatIso(*s.wake_at);
  return j;
}

Json RunToJson(const Run& run) {
  Json j = {{"id", run.id},
            {"flow_id", run.flow_id},
            {"flow_name", run.flow_name},
            {"flow_version", run.flow_version},
            {"trigger_type", run.trigger_type},
            {"trigger", run.trigger},
            {"status", ToString(run.status)},
            {"scheduled_for", TimeOrNull(run.scheduled_for)},
            {"created_at", FormatIso(run.created_at)},
            {"started_at", TimeOrNull(run.started_at)},
            {"finished_at", TimeOrNull(run.finished_at)},
            {"duration_ms", (run.started_at && run.finished_at)
                                ? Json(ToUnixMs(*run.finished_at) - ToUnixMs(*run.started_at))
                                : Json(nullptr)},
            {"input", run.input},
            {"output", run.output},
            {"error", run.error}};
  if (!run.retry_of.empty()) j["retry_of"] = run.retry_of;
  if (run.cancel_requested && !IsTerminal(run.status)) j["cancel_requested"] = true;
  Json steps = Json::array();
  for (const auto& s : run.steps) steps.push_back(StepRunToJson(s));
  j["steps"] = steps;
  return j;
}

Json DeliveryToJson(const Delivery& d, bool with_body) {
  Json j = {{"id", d.id},
            {"flow_id", d.flow_id},
            {"received_at", FormatIso(d.received_at)},
            {"method", d.method},
            {"path", d.path},
            {"status_code", d.status_code},
            {"run_id", d.run_id.empty() ? Json(nullptr) : Json(d.run_id)},
            {"content_type", d.content_type},
            {"auth_passed", d.auth_passed},
            {"size", d.body.size()}};
  if (with_body) {
    j["headers"] = d.headers;
    j["query"] = d.query;
    j["body"] = d.body;
  }
  return j;
}

namespace {

void MaskFields(Json& obj, const std::vector<FieldSpec>& fields) {
  if (!obj.is_object()) return;
  for (const auto& f : fields)
    if (f.secret && obj.contains(f.name) && !obj[f.name].is_null()) obj[f.name] = kSecretMask;
}

}  // namespace

Json ConnectionToJson(const Connection& c, const ActionCatalog& catalog) {
  Json settings = c.settings;
  Json auth = c.auth;
  if (const ConnectorSpec* spec = catalog.FindConnector(c.connector)) {
    MaskFields(settings, spec->fields);
    std::string type = GetString(auth, "type");
    for (const auto& a : spec->auth_types)
      if (a.name == type) MaskFields(auth, a.fields);
  }
  Json j = {{"id", c.id},
            {"name", c.name},
            {"connector", c.connector},
            {"settings", settings},
            {"auth", auth},
            {"auth_type", GetString(c.auth, "type", "none")},
            {"active", c.active},
            {"created_at", FormatIso(c.created_at)},
            {"updated_at", FormatIso(c.updated_at)}};
  if (!c.updated_by.empty()) j["updated_by"] = c.updated_by;  // who changed it last
  return j;
}

Json ErrorToJson(const Error& e) {
  Json err = {{"code", ErrorCodeName(e.code)}, {"message", e.message}};
  if (!e.details.empty()) {
    Json details = Json::array();
    for (const auto& d : e.details) details.push_back({{"path", d.path}, {"message", d.message}});
    err["details"] = details;
  }
  return Json{{"error", err}};
}

}  // namespace weft
