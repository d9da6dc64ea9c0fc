#include "app/commands.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "app/catalog.h"
#include "app/client.h"
#include "common/clock.h"
#include "common/time_format.h"
#include "core/document.h"
#include "schedule/schedule.h"

namespace weft::app {
namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

int Problem(const std::string& message) {
  std::cerr << "weft: " << message << "\n";
  return 1;
}

// The id of the flow named `name`, or an error message.
Result<std::string> FindFlowId(ApiClient& api, const std::string& name) {
  auto r = api.Call("GET", "/api/v1/flows");
  if (!r) return Fail(std::move(r).error());
  if (r->status != 200) return Fail(ErrorCode::kInternal, DescribeError(*r));
  for (const auto& f : r->json["flows"]) {
    if (GetString(f, "name") == name) return GetString(f, "id");
  }
  return Fail(ErrorCode::kNotFound, "no flow named \"" + name + "\"");
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string Brief(const Json& v, size_t max = 80) {
  if (v.is_null()) return "";
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

void PrintRun(const Json& run) {
  std::cout << "run " << GetString(run, "id") << "  flow " << GetString(run, "flow_name") << " v"
            << run.value("flow_version", 0) << "  " << GetString(run, "status");
  if (run.contains("duration_ms") && run["duration_ms"].is_number())
    std::cout << "  " << run["duration_ms"] << "ms";
  std::cout << "\n";
  if (run.contains("steps")) {
    for (const auto& s : run["steps"]) {
      std::cout << "  " << Pad(GetString(s, "path"), 24) << Pad(GetString(s, "status"), 11)
                << Pad(GetString(s, "uses"), 16);
      if (s.contains("error") && !s["error"].is_null()) {
        std::cout << "error: "
                  << Brief(s["error"].contains("message") ? s["error"]["message"] : s["error"]);
      } else {
        std::cout << Brief(s.value("output", Json()));
      }
      std::cout << "\n";
    }
  }
  if (run.contains("error") && !run["error"].is_null())
    std::cout << "error: " << run["error"].dump() << "\n";
}

}  // namespace

int FlowApply(const ClientOptions& c, const std::string& file) {
  std::string text;
  if (!ReadFile(file, &text)) return Problem("cannot read " + file);
  auto doc = ParseDocumentText(text);
  if (!doc) return Problem(file + ": " + doc.error().message);
  std::string name = doc->is_object() ? GetString(*doc, "name") : "";
  if (name.empty()) return Problem(file + ": the flow has no name");
  ApiClient api(c.server, c.token);
  auto id = FindFlowId(api, name);
  if (!id && id.error().code != ErrorCode::kNotFound) return Problem(id.error().message);
  std::string body = doc->dump();
  auto r =
      id ? api.Call("PUT", "/api/v1/flows/" + *id, body) : api.Call("POST", "/api/v1/flows", body);
  if (!r) return Problem(r.error().message);
  if (r->status != 200 && r->status != 201) return Problem(file + ": " + DescribeError(*r));
  const Json& flow = r->json;
  std::cout << (r->status == 201 ? "created" : "saved") << " flow " << name << " (id "
            << GetString(flow, "id") << ", version " << flow.value("version", 0) << ")\n";
  if (flow.contains("webhook_url"))
    std::cout << "webhook URL: " << GetString(flow, "webhook_url") << "\n";
  if (flow.contains("warnings")) {
    for (const auto& w : flow["warnings"]) {
      std::cerr << "warning: " << GetString(w, "path") << ": " << GetString(w, "message") << "\n";
    }
  }
  return 0;
}

int FlowList(const ClientOptions& c, bool json) {
  ApiClient api(c.server, c.token);
  auto r = api.Call("GET", "/api/v1/flows");
  if (!r) return Problem(r.error().message);
  if (r->status != 200) return Problem(DescribeError(*r));
  if (json) {
    std::cout << r->json.dump(2) << "\n";
    return 0;
  }
  std::cout << Pad("NAME", 28) << Pad("ACTIVE", 8) << Pad("TRIGGER", 10) << Pad("VERSION", 9)
            << "LAST RUN\n";
  for (const auto& f : r->json["flows"]) {
    std::string last;
    if (f.contains("last_run") && f["last_run"].is_object()) {
      last = GetString(f["last_run"], "status") + " " + GetString(f["last_run"], "finished_at");
    }
    std::cout << Pad(GetString(f, "name"), 28) << Pad(f.value("active", false) ? "yes" : "no", 8)
              << Pad(GetString(f, "trigger_type"), 10)
              << Pad(std::to_string(f.value("version", 0)), 9) << last << "\n";
  }
  return 0;
}

int FlowRun(const ClientOptions& c, const std::string& name, const std::string& input, bool wait,
            bool json) {
  Json body = Json::object();
  if (!input.empty()) {
    std::string error;
    auto parsed = ParseJson(input, &error);
    if (!parsed) return Problem("--input is not JSON: " + error);
    body["input"] = *parsed;
  }
  ApiClient api(c.server, c.token);
  auto id = FindFlowId(api, name);
  if (!id) return Problem(id.error().message);
  auto r =
      api.Call("POST", "/api/v1/flows/" + *id + "/runs" + (wait ? "?wait=60s" : ""), body.dump());
  if (!r) return Problem(r.error().message);
  if (r->status != 200 && r->status != 202) return Problem(DescribeError(*r));
  Json run = r->json;
  // A long run outlives one ?wait: keep reading it until it finishes.
  bool more = wait && r->status == 202;
  while (more) {
    std::string run_id = GetString(run, "id");
    auto poll = api.Call("GET", "/api/v1/runs/" + run_id);
    if (!poll) return Problem(poll.error().message);
    run = poll->json;
    std::string status = GetString(run, "status");
    more = status == "queued" || status == "running";
    if (!more) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (json) {
    std::cout << run.dump(2) << "\n";
  } else {
    PrintRun(run);
  }
  std::string status = GetString(run, "status");
  return (!wait || status == "succeeded") ? 0 : 1;
}

int RunShow(const ClientOptions& c, const std::string& id, bool json) {
  ApiClient api(c.server, c.token);
  auto r = api.Call("GET", "/api/v1/runs/" + id);
  if (!r) return Problem(r.error().message);
  if (r->status != 200) return Problem(DescribeError(*r));
  if (json) {
    std::cout << r->json.dump(2) << "\n";
  } else {
    PrintRun(r->json);
  }
  return 0;
}

int Validate(const std::string& file, const std::string& timezone) {
  std::string text;
  if (!ReadFile(file, &text)) return Problem("cannot read " + file);
  auto doc = ParseDocumentText(text);
  if (!doc) return Problem(file + ": " + doc.error().message);
  ActionCatalog catalog;
  RegisterAllConnectors(catalog);
  SystemClock clock;
  // Connections live on the server: locally every name is taken as existing.
  ValidationContext ctx{catalog, [](const std::string&) { return true; }, timezone, clock.Now(),
                        nullptr};
  auto valid = ValidateFlowDocument(*doc, ctx);
  if (!valid) {
    std::cerr << file << ": " << valid.error().message << "\n";
    for (const auto& d : valid.error().details)
      std::cerr << "  " << d.path << ": " << d.message << "\n";
    return 1;
  }
  std::cout << file << ": valid flow \"" << valid->document.name << "\" ("
            << valid->document.steps.size() << " top-level steps)\n";
  for (const auto& w : valid->warnings)
    std::cerr << "warning: " << w.path << ": " << w.message << "\n";
  return 0;
}

int CronNext(const std::string& expr, const std::string& timezone, const std::string& after,
             int count, bool json) {
  if (count < 1 || count > 100) return Problem("--count must be between 1 and 100");
  SystemClock clock;
  TimePoint from = clock.Now();
  if (!after.empty()) {
    auto parsed = ParseIso(after);
    if (!parsed) return Problem("--after must be an ISO-8601 instant such as 2026-12-01T09:00:00Z");
    from = *parsed;
  }
  // The same document and answer as POST /api/v1/schedules/preview.
  auto schedule =
      ParseSchedule(Json{{"kind", "cron"}, {"cron", expr}, {"timezone", timezone}}, "UTC");
  if (!schedule) {
    std::cerr << "weft: " << schedule.error().message << "\n";
    for (const auto& d : schedule.error().details) {
      std::cerr << "  "
                << (d.path == "cron"       ? "EXPR"
                    : d.path == "timezone" ? "--tz"
                                           : d.path)
                << ": " << d.message << "\n";
    }
    return 1;
  }
  Json preview = SchedulePreview(*schedule, from, static_cast<size_t>(count));
  if (json) {
    std::cout << preview.dump(2) << "\n";
    return 0;
  }
  std::cout << GetString(preview, "description") << "\n";
  for (const auto& t : preview["next"]) std::cout << t.get<std::string>() << "\n";
  return 0;
}

}  // namespace weft::app
