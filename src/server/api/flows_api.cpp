// Handlers of /api/v1/flows...: translate HTTP to FlowService and RunService.
#include <charconv>
#include <chrono>
#include <optional>

#include "common/time_format.h"
#include "core/api_json.h"
#include "core/document.h"
#include "server/api/api.h"
#include "server/api/body.h"
#include "server/errors.h"

namespace weft::server {
namespace {

// Who acts (updated_by in history): access control's caller; "" in open mode.
std::string Actor(const HttpRequest& req) { return req.caller.Actor(); }

Json WarningsJson(const std::vector<FieldError>& warnings) {
  Json out = Json::array();
  for (const auto& w : warnings) out.push_back(Json{{"path", w.path}, {"message", w.message}});
  return out;
}

HttpResponse SavedFlowResponse(int status, const SavedFlow& saved, FlowService& flows) {
  Json body = FlowToJson(saved.flow, flows.WebhookUrl(saved.flow));
  if (!saved.warnings.empty()) body["warnings"] = WarningsJson(saved.warnings);
  return HttpResponse::FromJson(status, body);
}

HttpResponse FlowResponse(const Result<Flow>& flow, FlowService& flows) {
  if (!flow) return ErrorResponse(flow.error());
  return HttpResponse::FromJson(200, FlowToJson(*flow, flows.WebhookUrl(*flow)));
}

}  // namespace

void AddFlowHandlers(HandlerTable& t, ApiServices& s) {
  FlowService& flows = s.flows;
  RunService& runs = s.runs;

  t.emplace_back("listFlows", [&flows](HttpRequest&) {
    auto rows = flows.List();
    if (!rows) return ErrorResponse(rows.error());
    Json list = Json::array();
    for (const auto& row : *rows) list.push_back(FlowRowToJson(row, flows.WebhookUrl(row.flow)));
    return HttpResponse::FromJson(200, Json{{"flows", std::move(list)}});
  });

  t.emplace_back("createFlow", [&flows](HttpRequest& req) {
    auto doc = ParseJsonBody(req, true);
    if (!doc) return ErrorResponse(doc.error());
    auto saved = flows.Create(*doc, Actor(req));
    if (!saved) return ErrorResponse(saved.error());
    return SavedFlowResponse(201, *saved, flows);
  });

  t.emplace_back("importFlow", [&flows](HttpRequest& req) {
    auto doc = ParseJsonBody(req, true);
    if (!doc) return ErrorResponse(doc.error());
    auto saved = flows.Import(*doc, Actor(req));
    if (!saved) return ErrorResponse(saved.error());
    return SavedFlowResponse(201, *saved, flows);
  });

  t.emplace_back("getFlow", [&flows](HttpRequest& req) {
    return FlowResponse(flows.Get(req.Param("id")), flows);
  });

  t.emplace_back("saveFlow", [&flows](HttpRequest& req) {
    auto doc = ParseJsonBody(req, true);
    if (!doc) return ErrorResponse(doc.error());
    auto saved = flows.Save(req.Param("id"), *doc, Actor(req));
    if (!saved) return ErrorResponse(saved.error());
    return SavedFlowResponse(200, *saved, flows);
  });

  t.emplace_back("deleteFlow", [&flows](HttpRequest& req) {
    auto done = flows.Delete(req.Param("id"));
    if (!done) return ErrorResponse(done.error());
    HttpResponse r;
    r.status = 204;
    r.content_type.clear();
    return r;
  });

  t.emplace_back("activateFlow", [&flows](HttpRequest& req) {
    return FlowResponse(flows.Activate(req.Param("id")), flows);
  });
  t.emplace_back("deactivateFlow", [&flows](HttpRequest& req) {
    return FlowResponse(flows.Deactivate(req.Param("id")), flows);
  });
  t.emplace_back("rotateWebhook", [&flows](HttpRequest& req) {
    return FlowResponse(flows.RotateWebhook(req.Param("id")), flows);
  });
  // A dry run of the flow's next poll: no run, no key, no cursor change.
  t.emplace_back("checkPoll", [&flows, &s](HttpRequest& req) {
    auto flow = flows.Get(req.Param("id"));
    if (!flow) return ErrorResponse(flow.error());
    if (!s.check_poll)
      return ErrorResponse(Error(ErrorCode::kUnavailable, "polls cannot be checked on this node"));
    auto checked = s.check_poll(*flow);
    // The source failing (server down, folder missing, login refused) is the
    // other system's answer, not weft's fault: 502, with the source's message.
    if (!checked && checked.error().code == ErrorCode::kStepFailed)
      return HttpResponse::FromJson(502, ErrorToJson(checked.error()));
    if (!checked) return ErrorResponse(checked.error());
    return HttpResponse::FromJson(200, *checked);
  });

  // Runs one step alone against sample data (the editor's "Test step"): no run
  // is created. The draft in `flow` (the saved latest when absent) and the
  // sample {trigger, steps} or {run_id} (the flow's pinned `sample` when absent).
  t.emplace_back("testStep", [&flows, &runs, &s](HttpRequest& req) {
    auto flow = flows.Get(req.Param("id"));
    if (!flow) return ErrorResponse(flow.error());
    if (!s.test_step)
      return ErrorResponse(Error(ErrorCode::kUnavailable, "steps cannot be tested on this node"));
    auto body = ParseJsonBody(req, false, Json::object());
    if (!body) return ErrorResponse(body.error());
    if (!body->is_object())
      return ErrorResponse(FieldProblem("body", "must be an object {flow, sample}"));

    FlowDocument doc;
    if (auto f = body->find("flow"); f != body->end() && !f->is_null()) {
      if (!f->is_object()) return ErrorResponse(FieldProblem("flow", "must be a flow document"));
      auto validated = flows.Validate(*f, &flow->document);
      if (!validated) {
        Error e = validated.error();
        for (auto& d : e.details) d.path = d.path.empty() ? "flow" : "flow." + d.path;
        return ErrorResponse(e);
      }
      doc = std::move(validated->document);
    } else {
      auto stored = ParseStoredDocument(flow->document);
      if (!stored) return ErrorResponse(stored.error());
      doc = std::move(*stored);
    }

    Json scope = {{"trigger", Json::object()},
                  {"steps", Json::object()},
                  {"run",
                   {{"id", "test"},
                    {"flow_id", flow->id},
                    {"flow_version", flow->version},
                    {"started_at", FormatIso(s.clock.Now())}}}};
    Json sample = doc.sample.is_object() ? doc.sample : Json::object();
    if (auto sm = body->find("sample"); sm != body->end() && !sm->is_null()) {
      if (!sm->is_object())
        return ErrorResponse(
            FieldProblem("sample", "must be an object {trigger, steps} or {run_id}"));
      sample = *sm;
    }
    if (auto rid = sample.find("run_id"); rid != sample.end()) {
      if (!rid->is_string())
        return ErrorResponse(FieldProblem("sample.run_id", "must be a run id"));
      auto run = runs.Get(rid->get<std::string>(), true);
      if (!run && run.error().code == ErrorCode::kNotFound)
        return ErrorResponse(
            FieldProblem("sample.run_id", "no run \"" + rid->get<std::string>() + "\""));
      if (!run) return ErrorResponse(run.error());
      if (run->flow_id != flow->id)
        return ErrorResponse(
            FieldProblem("sample.run_id", "run \"" + run->id + "\" is not a run of this flow"));
      if (run->trigger.is_object()) scope["trigger"] = run->trigger;
      // A step in a loop ran once per item: the first result stands for it, as in the editor.
      for (const auto& st : run->steps) {
        if (scope["steps"].contains(st.step_id)) continue;
        scope["steps"][st.step_id] = {{"output", st.output}, {"status", ToString(st.status)}};
      }
    } else {
      for (auto it = sample.begin(); it != sample.end(); ++it) {
        if (it.key() != "trigger" && it.key() != "steps")
          return ErrorResponse(
              FieldProblem("sample." + it.key(), "is not a sample field (trigger, steps, run_id)"));
      }
      if (auto tr = sample.find("trigger"); tr != sample.end() && !tr->is_null()) {
        if (!tr->is_object())
          return ErrorResponse(FieldProblem("sample.trigger", "must be an object"));
        scope["trigger"] = *tr;
      }
      if (auto st = sample.find("steps"); st != sample.end() && !st->is_null()) {
        if (!st->is_object())
          return ErrorResponse(
              FieldProblem("sample.steps", "must be an object of step id to {output}"));
        for (auto it = st->begin(); it != st->end(); ++it) {
          if (!it->is_object())
            return ErrorResponse(
                FieldProblem("sample.steps." + it.key(), "must be an object {output}"));
          Json entry = {{"output", it->value("output", Json())}, {"status", "succeeded"}};
          scope["steps"][it.key()] = std::move(entry);
        }
      }
    }
    auto result = s.test_step(doc, req.Param("step_id"), scope);
    if (!result) return ErrorResponse(result.error());
    return HttpResponse::FromJson(200, *result);
  });

  t.emplace_back("cloneFlow", [&flows](HttpRequest& req) {
    auto saved = flows.Clone(req.Param("id"), Actor(req));
    if (!saved) return ErrorResponse(saved.error());
    return SavedFlowResponse(201, *saved, flows);
  });

  t.emplace_back("exportFlow", [&flows](HttpRequest& req) {
    auto doc = flows.Export(req.Param("id"));
    if (!doc) return ErrorResponse(doc.error());
    std::string format = req.Query("format").value_or("json");
    if (format == "yaml" || format == "yml") {
      return HttpResponse::Text(200, ToYaml(*doc), "application/yaml; charset=utf-8");
    }
    if (format != "json") {
      return ErrorResponse(FieldProblem("format", "must be json or yaml"));
    }
    return HttpResponse::FromJson(200, *doc);
  });

  t.emplace_back("listFlowVersions", [&flows](HttpRequest& req) {
    auto versions = flows.Versions(req.Param("id"));
    if (!versions) return ErrorResponse(versions.error());
    Json list = Json::array();
    for (const auto& v : *versions) list.push_back(FlowVersionToJson(v));
    return HttpResponse::FromJson(200, Json{{"versions", std::move(list)}});
  });

  t.emplace_back("getFlowVersion", [&flows](HttpRequest& req) {
    const std::string& text = req.Param("version");
    int version = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
    if (ec != std::errc() || end != text.data() + text.size() || version < 1) {
      return ErrorResponse(FieldProblem("version", "must be a version number (1, 2, ...)"));
    }
    auto v = flows.Version(req.Param("id"), version);
    if (!v) return ErrorResponse(v.error());
    return HttpResponse::FromJson(200, FlowVersionToJson(*v));
  });

  t.emplace_back("startRun", [&runs](HttpRequest& req) {
    auto body = ParseJsonBody(req, false, Json::object());
    if (!body) return ErrorResponse(body.error());
    if (!body->is_object())
      return ErrorResponse(FieldProblem("body", "must be an object {\"input\": ...}"));
    std::optional<Millis> wait;
    if (auto text = req.Query("wait")) {
      wait = ParseDuration(*text);
      if (!wait) return ErrorResponse(FieldProblem("wait", "must be a duration such as 30s"));
      if (*wait > Millis(10 * 60 * 1000)) *wait = Millis(10 * 60 * 1000);
    }
    bool has_input = body->contains("input");
    Json input = has_input ? (*body)["input"] : Json();
    std::string until_step;
    if (auto until = body->find("until_step"); until != body->end() && !until->is_null()) {
      if (!until->is_string() || until->get_ref<const std::string&>().empty() ||
          until->get_ref<const std::string&>().size() > 200)
        return ErrorResponse(FieldProblem("until_step", "must be a step id"));
      until_step = until->get<std::string>();
    }
    auto run = runs.StartManual(req.Param("id"), input, has_input, Actor(req), until_step);
    if (!run) {
      HttpResponse res = ErrorResponse(run.error());
      if (run.error().code == ErrorCode::kTooManyRequests)  // --max-queued
        res.headers.emplace_back("Retry-After", std::to_string(RunService::kRetryAfterSeconds));
      return res;
    }
    if (!wait) return HttpResponse::FromJson(202, RunToJson(*run));
    // The answer comes once the run finishes or the wait is over; the HTTP
    // layer asks again when a run progresses (or every 250 ms: another node
    // may be running it), holding no thread in between.
    HttpResponse pending;
    pending.deadline = std::chrono::steady_clock::now() + *wait;
    pending.later = [&runs, id = run->id](bool last) -> std::optional<HttpResponse> {
      // Every step of every run wakes every waiter: look at the run's row
      // alone and read its steps only for the answer.
      auto row = runs.Get(id, false);
      if (!row) return ErrorResponse(row.error());
      if (!IsTerminal(row->status) && !last) return std::nullopt;
      auto done = runs.Get(id, true);
      if (!done) return ErrorResponse(done.error());
      return HttpResponse::FromJson(IsTerminal(done->status) ? 200 : 202, RunToJson(*done));
    };
    return pending;
  });
}

}  // namespace weft::server
