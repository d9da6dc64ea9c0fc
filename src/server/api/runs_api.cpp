// Handlers of /api/v1/runs...: the Process Log, run detail, live events,
// cancel and retry.
#include <charconv>
#include <chrono>
#include <map>
#include <memory>
#include <set>

#include "common/time_format.h"
#include "core/api_json.h"
#include "server/api/api.h"
#include "server/api/body.h"
#include "server/errors.h"

namespace weft::server {
namespace {

constexpr int kDefaultLimit = 50;
constexpr int kMaxLimit = 1000;
constexpr auto kPollInterval = std::chrono::milliseconds(250);
constexpr auto kPingInterval = std::chrono::seconds(15);

std::string SseEvent(std::string_view name, const Json& data) {
  std::string out;
  out.reserve(64);
  out += "event: ";
  out += name;
  out += "\ndata: ";
  out += data.dump(-1, ' ', false, Json::error_handler_t::replace);
  out += "\n\n";
  return out;
}

// At most this many runs in one bulk retry.
constexpr size_t kMaxBulkRetry = 1000;

// {"from": "failed_step"|"start", "version": "original"|"latest"}, each
// optional.
Result<RetryOptions> ParseRetryOptions(const Json& body) {
  RetryOptions options;
  for (const auto& [key, value] : body.items()) {
    if (key == "from") {
      if (value == "start") {
        options.from_start = true;
      } else if (value != "failed_step") {
        return Fail(FieldProblem("from", "must be \"failed_step\" or \"start\""));
      }
    } else if (key == "version") {
      if (value == "latest") {
        options.latest_version = true;
      } else if (value != "original") {
        return Fail(FieldProblem("version", "must be \"original\" or \"latest\""));
      }
    } else if (key != "ids") {
      return Fail(FieldProblem(key, "is not a retry option (from, version)"));
    }
  }
  return options;
}

bool HasStarted(const StepRun& step) {
  if (step.status == StepStatus::kPending || step.status == StepStatus::kSkipped) return false;
  return true;
}

// Streams a run's progress by re-reading it from the store each time it is
// asked: the HTTP layer asks when the hub says a run moved, or every
// kPollInterval, so runs executed by another node are followed too. Each
// step is announced once started and once finished. Holds no thread between
// calls; one call at a time.
class RunStream {
 public:
  RunStream(ApiServices& s, std::string run_id) : s_(s), run_id_(std::move(run_id)) {}

  // HttpResponse::stream: appends what is new to `out`; false once finished.
  bool Next(std::string& out, bool stopping) {
    auto now = std::chrono::steady_clock::now();
    if (!started_) {
      out += "retry: 1000\n\n";
      started_ = true;
      last_write_ = now;
    }
    auto run = s_.runs.Get(run_id_, true);
    if (!run) {
      out += SseEvent("error", ErrorToJson(run.error()));
      return false;
    }
    size_t before = out.size();
    for (const auto& step : run->steps) {
      Seen& st = seen_[step.path];
      if (!st.started && HasStarted(step)) {
        // A step's log lines go out as `log` events alone: a client that
        // appends them would show twice a line also carried here.
        Json data = StepRunToJson(step);
        data.erase("logs");
        data["run_id"] = run->id;
        data["status"] = "running";
        out += SseEvent("step_started", data);
        st.started = true;
      }
      if (step.logs.is_array() && step.logs.size() > st.logs) {
        for (size_t i = st.logs; i < step.logs.size(); ++i) {
          Json data = step.logs[i];
          if (!data.is_object()) data = Json{{"message", data}};
          data["run_id"] = run->id;
          data["step_id"] = step.step_id;
          data["path"] = step.path;
          out += SseEvent("log", data);
        }
        st.logs = step.logs.size();
      }
      if (!st.finished && IsTerminal(step.status)) {
        Json data = StepRunToJson(step);
        data.erase("logs");
        data["run_id"] = run->id;
        out += SseEvent("step_finished", data);
        st.finished = true;
      }
    }
    bool finished = IsTerminal(run->status);
    if (finished) {
      Run summary = *run;
      summary.steps.clear();
      out += SseEvent("run_finished", RunToJson(summary));
    }
    if (out.size() == before && now - last_write_ >= kPingInterval) out += ": ping\n\n";
    if (out.size() != before) last_write_ = now;
    return !finished && !stopping;
  }

 private:
  struct Seen {
    bool started = false;
    bool finished = false;
    size_t logs = 0;
  };
  ApiServices& s_;
  std::string run_id_;
  std::map<std::string, Seen> seen_;
  bool started_ = false;
  std::chrono::steady_clock::time_point last_write_;
};

}  // namespace

void AddRunHandlers(HandlerTable& t, ApiServices& s) {
  RunService& runs = s.runs;

  t.emplace_back("listRuns", [&runs](HttpRequest& req) {
    RunFilter filter;
    filter.limit = kDefaultLimit;
    if (auto v = req.Query("flow_id")) filter.flow_id = *v;
    if (auto v = req.Query("trigger")) filter.trigger_type = *v;
    if (auto v = req.Query("cursor")) filter.cursor = *v;
    if (auto v = req.Query("status"); v && !v->empty()) {
      filter.status = ParseRunStatus(*v);
      if (!filter.status) {
        return ErrorResponse(FieldProblem(
            "status", "must be one of queued, running, succeeded, failed, cancelled, skipped"));
      }
    }
    // since <= created_at < until, each an RFC 3339 instant with its offset.
    for (const char* name : {"since", "until"}) {
      auto v = req.Query(name);
      if (!v || v->empty()) continue;
      auto t = ParseIso(*v);
      if (!t) {
        return ErrorResponse(FieldProblem(
            name, "must be an RFC 3339 date and time with its offset, e.g. 2026-11-28T09:00:00Z"));
      }
      (std::string_view(name) == "since" ? filter.since : filter.until) = *t;
    }
    if (filter.since && filter.until && *filter.until < *filter.since)
      return ErrorResponse(FieldProblem("until", "must not be before since"));
    if (auto v = req.Query("limit"); v && !v->empty()) {
      int limit = 0;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), limit);
      if (ec != std::errc() || end != v->data() + v->size() || limit < 1) {
        return ErrorResponse(FieldProblem("limit", "must be a whole number from 1 to 1000"));
      }
      filter.limit = std::min(limit, kMaxLimit);
    }
    auto page = runs.List(filter);
    if (!page) return ErrorResponse(page.error());
    Json list = Json::array();
    for (const auto& run : page->runs) list.push_back(RunToJson(run));
    Json body{{"runs", std::move(list)}};
    body["next_cursor"] = page->next_cursor.empty() ? Json() : Json(page->next_cursor);
    return HttpResponse::FromJson(200, body);
  });

  t.emplace_back("getRun", [&runs](HttpRequest& req) {
    auto run = runs.Get(req.Param("id"), true);
    if (!run) return ErrorResponse(run.error());
    return HttpResponse::FromJson(200, RunToJson(*run));
  });

  t.emplace_back("streamRunEvents", [&s](HttpRequest& req) {
    std::string id = req.Param("id");
    auto run = s.runs.Get(id, false);
    if (!run) return ErrorResponse(run.error());
    HttpResponse r;
    r.content_type = "text/event-stream";
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("X-Accel-Buffering", "no");
    r.poll_every = kPollInterval;
    r.stream = [stream = std::make_shared<RunStream>(s, id)](std::string& out, bool stopping) {
      return stream->Next(out, stopping);
    };
    return r;
  });

  t.emplace_back("cancelRun", [&runs](HttpRequest& req) {
    auto run = runs.Cancel(req.Param("id"));
    if (!run) return ErrorResponse(run.error());
    return HttpResponse::FromJson(200, RunToJson(*run));
  });

  t.emplace_back("retryRun", [&runs](HttpRequest& req) {
    auto body = ParseJsonBody(req, false, Json::object());
    if (!body) return ErrorResponse(body.error());
    if (!body->is_object())
      return ErrorResponse(FieldProblem("body", "must be an object {from, version}"));
    if (body->contains("ids"))
      return ErrorResponse(FieldProblem("ids", "is not a retry option (from, version)"));
    auto options = ParseRetryOptions(*body);
    if (!options) return ErrorResponse(options.error());
    auto run = runs.Retry(req.Param("id"), *options);
    if (!run) return ErrorResponse(run.error());
    return HttpResponse::FromJson(202, RunToJson(*run));
  });

  // Many runs at once (the Process Log's bulk retry): one answer per id, in
  // order; one that cannot be retried does not stop the others.
  t.emplace_back("retryRuns", [&runs](HttpRequest& req) {
    auto body = ParseJsonBody(req, false);
    if (!body) return ErrorResponse(body.error());
    if (!body->is_object())
      return ErrorResponse(FieldProblem("body", "must be an object {ids, from, version}"));
    auto ids = body->find("ids");
    if (ids == body->end() || !ids->is_array() || ids->empty())
      return ErrorResponse(FieldProblem("ids", "must be a non-empty array of run ids"));
    if (ids->size() > kMaxBulkRetry)
      return ErrorResponse(
          FieldProblem("ids", "has " + std::to_string(ids->size()) + " ids; at most " +
                                  std::to_string(kMaxBulkRetry) + " runs are retried at once"));
    for (size_t i = 0; i < ids->size(); ++i) {
      if (!(*ids)[i].is_string() || (*ids)[i].get_ref<const std::string&>().empty())
        return ErrorResponse(
            FieldProblem("ids[" + std::to_string(i) + "]", "must be a run id (a string)"));
    }
    auto options = ParseRetryOptions(*body);
    if (!options) return ErrorResponse(options.error());
    Json results = Json::array();
    int retried = 0;
    std::set<std::string> seen;
    for (const auto& id : *ids) {
      // A run listed twice is retried once.
      if (!seen.insert(id.get<std::string>()).second) {
        results.push_back(
            {{"id", id},
             {"status", 409},
             {"error", {{"code", "conflict"}, {"message", "listed more than once in ids"}}}});
        continue;
      }
      auto run = runs.Retry(id.get<std::string>(), *options);
      if (run) {
        ++retried;
        results.push_back({{"id", id}, {"status", 202}, {"run", RunToJson(*run)}});
      } else {
        results.push_back({{"id", id},
                           {"status", HttpStatusFor(run.error().code)},
                           {"error", ErrorToJson(run.error())["error"]}});
      }
    }
    return HttpResponse::FromJson(200, Json{{"retried", retried}, {"results", results}});
  });
}

}  // namespace weft::server
