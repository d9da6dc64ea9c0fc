#include "connectors/testing/run_action.h"

#include <curl/curl.h>

namespace weft::testing {

ActionRun RunAction(const ActionCatalog& catalog, const std::string& uses, const Json& input,
                    const Connection* connection, Millis timeout,
                    const std::atomic<bool>* cancelled, FileStore* files) {
  static SystemClock clock;
  static std::atomic<bool> never{false};
  ActionRun run;
  auto action = catalog.FindAction(uses);
  if (!action) {
    run.outcome = ActionOutcome::Failed(ErrorCode::kInternal, "no action " + uses);
    return run;
  }
  std::string run_id = "run1", path = "step1";
  ActionContext ctx{input,
                    connection,
                    run_id,
                    path,
                    clock,
                    clock.Now() + timeout,
                    cancelled ? *cancelled : never,
                    [&](const std::string& level, const std::string& m) {
                      run.logs.push_back(level + ": " + m);
                    }};
  ctx.files = files;
  run.outcome = action->Execute(ctx);
  return run;
}

Connection MakeConnection(const std::string& connector, Json settings, Json auth) {
  Connection c;
  c.id = "c1";
  c.name = "test-" + connector;
  c.connector = connector;
  c.settings = std::move(settings);
  c.auth = std::move(auth);
  return c;
}

namespace {
size_t Append(char* d, size_t s, size_t n, void* p) {
  static_cast<std::string*>(p)->append(d, s * n);
  return s * n;
}
}  // namespace

Json GetJson(const std::string& url) {
  CURL* h = curl_easy_init();
  std::string body;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_cleanup(h);
  if (rc != CURLE_OK) return nullptr;
  auto j = ParseJson(body);
  return j ? *j : Json(nullptr);
}

}  // namespace weft::testing
