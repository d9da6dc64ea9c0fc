#include "core/flow_service.h"

#include <algorithm>
#include <map>

#include "common/ids.h"
#include "core/api_json.h"
#include "core/flow_secrets.h"

namespace weft {
namespace {

const Json* FindSchedule(const Json& doc) {
  auto t = doc.find("trigger");
  if (t == doc.end() || !t->is_object()) return nullptr;
  auto s = t->find("schedule");
  return s == t->end() ? nullptr : &*s;
}

// Secrets a document may carry, replaced by the mask on export.
void MaskSecrets(Json& doc) {
  auto t = doc.find("trigger");
  if (t == doc.end() || !t->is_object()) return;
  auto w = t->find("webhook");
  if (w == t->end() || !w->is_object()) return;
  auto a = w->find("auth");
  if (a == w->end() || !a->is_object()) return;
  for (const char* key : {"secret", "value", "password"})
    if (a->contains(key)) (*a)[key] = kSecretMask;
}

// A save that sends the mask for a webhook secret keeps the stored value.
Json KeepMaskedSecrets(const Json& document, const Json& stored) {
  if (!document.is_object() || !stored.is_object()) return document;
  const Json* old_auth = nullptr;
  if (auto t = stored.find("trigger"); t != stored.end() && t->is_object())
    if (auto w = t->find("webhook"); w != t->end() && w->is_object())
      if (auto a = w->find("auth"); a != w->end() && a->is_object()) old_auth = &*a;
  auto t = document.find("trigger");
  if (t == document.end() || !t->is_object()) return document;
  auto w = t->find("webhook");
  if (w == t->end() || !w->is_object()) return document;
  auto a = w->find("auth");
  if (a == w->end() || !a->is_object()) return document;
  Json out = document;
  Json& auth = out["trigger"]["webhook"]["auth"];
  for (const char* key : {"secret", "value", "password"}) {
    auto f = auth.find(key);
    if (f == auth.end() || !f->is_string() || f->get<std::string>() != kSecretMask) continue;
    if (old_auth && old_auth->contains(key)) *f = (*old_auth)[key];
  }
  return out;
}

// The webhook secrets of a document that are the export mask: an exported
// flow carries no secret, so an import (or a create from one) has none to keep.
std::vector<FieldError> MaskedSecrets(const Json& doc, const std::string& message) {
  std::vector<FieldError> out;
  auto t = doc.find("trigger");
  if (t == doc.end() || !t->is_object()) return out;
  auto w = t->find("webhook");
  if (w == t->end() || !w->is_object()) return out;
  auto a = w->find("auth");
  if (a == w->end() || !a->is_object()) return out;
  for (const char* key : {"secret", "value", "password"})
    if (auto f = a->find(key);
        f != a->end() && f->is_string() && f->get_ref<const std::string&>() == kSecretMask)
      out.push_back({std::string("trigger.webhook.auth.") + key, message});
  return out;
}

}  // namespace

FlowService::FlowService(Store& store, const ActionCatalog& catalog, ChangeHub& hub, Clock& clock,
                         FlowServiceOptions options, const ScheduleInfo* schedules)
    : store_(store),
      catalog_(catalog),
      hub_(hub),
      clock_(clock),
      options_(std::move(options)),
      schedules_(schedules) {
  while (!options_.public_url.empty() && options_.public_url.back() == '/')
    options_.public_url.pop_back();
}

ValidationContext FlowService::MakeContext(const Json* previous) {
  ValidationContext ctx{catalog_};
  ctx.connection_exists = [this](const std::string& name) {
    return store_.GetConnectionByName(name).has_value();
  };
  ctx.connection_connector = [this](const std::string& name) -> std::optional<std::string> {
    auto c = store_.GetConnectionByName(name);
    if (!c) return std::nullopt;
    return c->connector;
  };
  ctx.default_timezone = options_.default_timezone;
  ctx.now = clock_.Now();
  ctx.previous = previous;
  return ctx;
}

Result<ValidatedFlow> FlowService::Validate(const Json& document, const Json* previous) {
  auto ctx = MakeContext(previous);
  auto validated = ValidateFlowDocument(document, ctx);
  std::vector<FieldError> schedule_errors;
  if (schedules_ && document.is_object()) {
    if (const Json* s = FindSchedule(document);
        s && s->is_object() && GetString(document["trigger"], "type") == "schedule") {
      const Json* prev = previous ? FindSchedule(*previous) : nullptr;
      schedule_errors = schedules_->Validate(*s, options_.default_timezone, prev, ctx.now);
    }
  }
  if (schedule_errors.empty()) return validated;
  std::vector<FieldError> all = validated ? std::vector<FieldError>{} : validated.error().details;
  all.insert(all.end(), schedule_errors.begin(), schedule_errors.end());
  size_t n = all.size();
  std::string message = "the flow has " + std::to_string(n) + (n == 1 ? " problem" : " problems");
  return Fail(ErrorCode::kValidation, std::move(message), std::move(all));
}

std::string FlowService::WebhookUrl(const Flow& flow) const {
  if (flow.trigger_type != "webhook" || flow.webhook_token.empty()) return "";
  return options_.public_url + "/hooks/" + flow.webhook_token;
}

Result<SavedFlow> FlowService::Create(const Json& document, const std::string& actor) {
  auto validated = Validate(document);
  if (!validated) return Fail(validated.error());
  for (auto& w : MaskedSecrets(
           validated->canonical,
           "is the mask \"********\" (an exported flow carries no secret): set the secret "
           "before activating"))
    validated->warnings.push_back(std::move(w));
  FlowWrite write{validated->document.name, validated->document.description,
                  validated->document.TriggerType(), validated->canonical, actor};
  if (options_.secrets) SealFlowSecrets(write.document, *options_.secrets, nullptr);
  std::string token = write.trigger_type == "webhook" ? RandomToken(160) : "";
  auto flow = store_.CreateFlow(write, token);
  if (!flow) return Fail(flow.error());
  hub_.FlowChanged(flow->id);
  return SavedFlow{std::move(*flow), std::move(validated->warnings)};
}

Result<SavedFlow> FlowService::Save(const std::string& id, const Json& document,
                                    const std::string& actor) {
  auto current = store_.GetFlow(id);
  if (!current) return Fail(current.error());
  std::optional<int> base_version;
  if (document.is_object()) {
    if (auto it = document.find("base_version"); it != document.end() && !it->is_null()) {
      if (!it->is_number_integer())
        return Fail(ErrorCode::kValidation, "base_version must be a version number",
                    {{"base_version", "must be a whole number"}});
      base_version = it->get<int>();
    }
  }
  // The mask keeps the stored secret: opened here, sealed again below (to the
  // same sealed string when unchanged, so an identical save stays identical).
  Json stored_open = current->document;
  if (options_.secrets) {
    if (auto opened = OpenFlowSecrets(stored_open, *options_.secrets); !opened)
      return Fail(opened.error());
  }
  auto validated = Validate(KeepMaskedSecrets(document, stored_open), &current->document);
  if (!validated) return Fail(validated.error());
  FlowWrite write{validated->document.name, validated->document.description,
                  validated->document.TriggerType(), validated->canonical, actor};
  if (options_.secrets) SealFlowSecrets(write.document, *options_.secrets, &current->document);
  std::string token =
      write.trigger_type == "webhook" && current->webhook_token.empty() ? RandomToken(160) : "";
  auto flow = store_.SaveFlow(id, write, base_version, token);
  if (!flow) return Fail(flow.error());
  UpdateNextRun(*flow, *current);
  hub_.FlowChanged(flow->id);
  return SavedFlow{std::move(*flow), std::move(validated->warnings)};
}

void FlowService::UpdateNextRun(Flow& flow, const Flow& before) {
  if (!schedules_) return;
  const Json* schedule = flow.active && flow.trigger_type == "schedule" && flow.document.is_object()
                             ? FindSchedule(flow.document)
                             : nullptr;
  if (schedule && !schedule->is_object()) schedule = nullptr;
  std::optional<TimePoint> next;
  if (schedule) {
    const Json* old =
        before.active && before.trigger_type == "schedule" && before.document.is_object()
            ? FindSchedule(before.document)
            : nullptr;
    // Still the same active schedule: its next fire stays (the scheduler's).
    if (old && *old == *schedule && flow.next_run_at) return;
    next = schedules_->NextFire(*schedule, options_.default_timezone, clock_.Now());
  }
  if (next == flow.next_run_at) return;
  if (store_.SetNextRunAt(flow.id, next)) flow.next_run_at = next;
}

Result<Flow> FlowService::Get(const std::string& id) { return store_.GetFlow(id); }
Result<Flow> FlowService::GetByName(const std::string& name) { return store_.GetFlowByName(name); }

Result<std::vector<FlowRow>> FlowService::List() {
  auto flows = store_.ListFlows();
  if (!flows) return Fail(flows.error());
  auto last = store_.LastRuns();
  if (!last) return Fail(last.error());
  std::map<std::string, RunSummary> last_by_flow(last->begin(), last->end());
  std::vector<FlowRow> rows;
  rows.reserve(flows->size());
  for (auto& f : *flows) {
    FlowRow row;
    if (auto doc = ParseStoredDocument(f.document)) {
      row.connections = ConnectionsUsed(*doc);
      if (schedules_ && f.trigger_type == "schedule")
        if (const Json* s = FindSchedule(f.document))
          row.schedule_summary = schedules_->Describe(*s, options_.default_timezone);
    }
    if (auto it = last_by_flow.find(f.id); it != last_by_flow.end()) row.last_run = it->second;
    row.flow = std::move(f);
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<void> FlowService::Delete(const std::string& id) {
  auto r = store_.DeleteFlow(id);
  if (!r) return r;
  hub_.FlowChanged(id);
  return Ok();
}

Result<Flow> FlowService::Activate(const std::string& id) {
  auto flow = store_.GetFlow(id);
  if (!flow) return flow;
  auto validated = Validate(flow->document, &flow->document);
  if (!validated) return Fail(validated.error());
  std::vector<FieldError> missing;
  for (const auto& w : validated->warnings)
    if (w.path.ends_with(".connection")) missing.push_back(w);
  if (!missing.empty())
    return Fail(ErrorCode::kValidation, "the flow uses connections that do not exist",
                std::move(missing));
  Json opened_doc = flow->document;
  if (options_.secrets) {
    if (auto opened = OpenFlowSecrets(opened_doc, *options_.secrets); !opened)
      return Fail(opened.error());
  }
  if (auto masked =
          MaskedSecrets(opened_doc, "is not set: the flow was imported without its secret");
      !masked.empty())
    return Fail(ErrorCode::kValidation, "set the webhook secret before activating the flow",
                std::move(masked));
  // A `start: new` poll records what exists at (re)activation as seen, with
  // no runs: the poller's first poll after this is a baseline.
  if (!flow->active && flow->trigger_type == "poll") {
    auto trigger = flow->document.value("trigger", Json::object());
    if (GetString(trigger.value("poll", Json::object()), "start", "new") == "new")
      if (auto reset = store_.ResetPollPrimed(id); !reset) return Fail(reset.error());
  }
  auto updated = store_.SetFlowActive(id, true);
  if (updated) {
    UpdateNextRun(*updated, *flow);
    hub_.FlowChanged(id);
  }
  return updated;
}

Result<Flow> FlowService::Deactivate(const std::string& id) {
  auto updated = store_.SetFlowActive(id, false);
  if (updated) {
    UpdateNextRun(*updated, *updated);
    hub_.FlowChanged(id);
  }
  return updated;
}

Result<SavedFlow> FlowService::Clone(const std::string& id, const std::string& actor) {
  auto flow = store_.GetFlow(id);
  if (!flow) return Fail(flow.error());
  Json doc = flow->document;
  if (options_.secrets) {
    if (auto opened = OpenFlowSecrets(doc, *options_.secrets); !opened) return Fail(opened.error());
  }
  for (int n = 1; n < 1000; ++n) {
    std::string name = flow->name + (n == 1 ? " (copy)" : " (copy " + std::to_string(n) + ")");
    if (store_.GetFlowByName(name)) continue;
    doc["name"] = name;
    return Create(doc, actor);
  }
  return Fail(ErrorCode::kConflict, "could not find a free name for the copy");
}

Result<Json> FlowService::Export(const std::string& id) {
  auto flow = store_.GetFlow(id);
  if (!flow) return Fail(flow.error());
  Json doc = flow->document;
  MaskSecrets(doc);
  return doc;
}

Result<SavedFlow> FlowService::Import(const Json& document, const std::string& actor) {
  return Create(document, actor);
}

Result<std::vector<FlowVersion>> FlowService::Versions(const std::string& id) {
  return store_.ListFlowVersions(id);
}

Result<FlowVersion> FlowService::Version(const std::string& id, int version) {
  return store_.GetFlowVersion(id, version);
}

Result<Flow> FlowService::RotateWebhook(const std::string& id) {
  auto flow = store_.GetFlow(id);
  if (!flow) return flow;
  if (flow->trigger_type != "webhook")
    return Fail(ErrorCode::kConflict, "flow \"" + flow->name + "\" has no webhook trigger");
  auto updated = store_.SetWebhookToken(id, RandomToken(160));
  if (updated) hub_.FlowChanged(id);
  return updated;
}

}  // namespace weft
