// The HTTP client behind http.request, shared with the manifest connectors
// (connectors/manifest/): one exchange over libcurl (Client::Perform), the
// connection's auth applied to a call (basic, bearer, API key, OAuth2 with
// its process-wide token cache), and the helpers both build requests and read
// answers with. A Client is used by one thread; the token cache is
// thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/json.h"
#include "connectors/common/curl.h"
#include "connectors/common/redact.h"
#include "core/action.h"
#include "core/files.h"

namespace weft::connectors::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A connection's transport settings (base_url, default headers, TLS, keep-alive, timeout).
struct Settings {
  std::string base_url;
  Json headers = Json::object();
  bool verify_tls = true;
  bool keep_alive = true;
  std::optional<Millis> timeout;
};

struct Response {
  long status = 0;
  Headers headers;
  std::string body;
  std::string effective_url;
  std::optional<FileInfo> file;  // the body, when it went to a file
};

struct Call {
  std::string method = "GET";
  std::string url;  // full, with query
  Headers headers;
  std::string body;
  bool has_body = false;
  Json multipart;                       // an object when body_type is multipart
  std::optional<FileInfo> upload_file;  // the body, streamed from a file
  bool file_response = false;           // response_type: file
  bool auto_file = false;               // response_type: auto may choose a file
  std::optional<Millis> timeout;
  bool follow_redirects = true;
  std::string basic_user, basic_password;
  bool basic = false;
};

class Client {
 public:
  Client(const CallEnv& env, const Settings& settings, const Redactor& redact,
         FileStore* files = nullptr)
      : env_(env), settings_(settings), redact_(redact), files_(files) {}
  const CallEnv& env() const { return env_; }

  // Performs one HTTP exchange; a transport failure is the outcome's error.
  std::variant<Response, ActionOutcome> Perform(const Call& call);

 private:
  const CallEnv& env_;
  const Settings& settings_;
  const Redactor& redact_;
  FileStore* files_;
};

// Reads base_url, headers, verify_tls, keep_alive and timeout from a connection's settings.
Settings ReadSettings(const Connection* c);

// Applies `auth` ({type: none|basic|bearer|api_key|oauth2_client_credentials|
// oauth2_code, ...}) to a call; OAuth2 tokens are fetched (or taken from the
// cache) as needed, and every credential is added to `redact`.
std::optional<ActionOutcome> ApplyAuth(const Json& auth, const std::string& connection_id,
                                       Call& call, Client& client, Clock& clock, Redactor& redact,
                                       bool force_token);

// One request with `auth` applied; an OAuth2 token refused with 401 is fetched anew once.
std::variant<Response, ActionOutcome> Exchange(const Call& base, Client& client, const Json& auth,
                                               const std::string& connection_id, Clock& clock,
                                               Redactor& redact);

// The OAuth2 authorization code exchange (GET /connections/{id}/oauth/callback)
// with `auth` the connection's auth object.
Result<Json> ExchangeCode(const Connection& c, const Json& auth, const OAuthCodeGrant& grant,
                          Clock& clock, const ConnectorSpec& spec);

// The step failure for an answer whose status is not accepted: "HTTP 404 Not
// Found from GET <url>: <excerpt>", retryable for 408, 429 and 5xx, with
// Retry-After as retry_after.
ActionOutcome StatusFailure(const Call& call, const Response& r, const Redactor& redact);

// The body as JSON (response_type auto|json|text|base64); *base64 is set when
// the bytes were not text and came back base64-encoded.
Json ParseBody(const Response& r, const std::string& response_type, bool* base64);

// ok_statuses: [200, 404, "2xx", "3xx"]; 2xx when empty or null.
bool StatusOk(long status, const Json& ok_statuses);

bool IsAbsolute(const std::string& url);
// `url` resolved against `base` (joined with exactly one '/'); absolute URLs as they are.
std::string JoinUrl(const std::string& base, const std::string& url);
// A string as it is, any other value as JSON text.
std::string ScalarText(const Json& v);
// Appends ?k=v pairs, percent-encoded.
std::string WithQuery(std::string url,
                      const std::vector<std::pair<std::string, std::string>>& params);
// An object's members as parameters (arrays repeat the key, nulls are left out).
void AddParams(const Json& obj, std::vector<std::pair<std::string, std::string>>& out);
std::string FormEncode(const Json& obj);
std::optional<std::string> FindHeader(const Headers& h, const std::string& name);
void SetHeader(Headers& h, const std::string& name, const std::string& value);
Json HeadersToJson(const Headers& headers);
// Retry-After as seconds or an HTTP date.
std::optional<Millis> ParseRetryAfter(const std::string& v);
// The next page's URL from a Link header (rel="next"), or empty.
std::string NextLink(const Headers& headers, const std::string& current);

// http.request's `paginate` ({type: link|cursor|page, items, cursor,
// cursor_param, page_param, start, max_pages}), read and checked.
struct Paging {
  std::string mode;  // empty: one request
  int64_t max_pages = 100;
  std::string items_path, cursor_path = "next_cursor", cursor_param = "cursor", page_param = "page";
  int64_t start = 1;
};
Result<Paging> ParsePaging(const Json& paginate);

// The request every page repeats: `base` (method, headers, body) sent to
// `url` with `query` plus the page's parameter.
struct PageSource {
  Call base;
  std::string url;  // absolute, without the query
  std::vector<std::pair<std::string, std::string>> query;
  Paging paging;
  std::string response_type = "auto";
  Json ok_statuses;  // null: 2xx
};

// Called with each page: the call, its answer and its body as ParseBody read
// it. The handler may move from `r` and `body`; it sets `empty` when the page
// held no items (page mode stops there). A returned outcome stops the fetch:
// with an error it fails it, without one it ends it there.
using PageFn = std::function<std::optional<ActionOutcome>(const Call& call, Response& r, Json& body,
                                                          bool base64, bool& empty)>;
struct Fetched {
  bool ok = true;
  std::optional<ActionOutcome> failure;  // set when !ok
  int pages = 0;
};
// Requests each page in turn (http.request and the http.new_items poll
// source), with the connection's auth, until the pagination ends, max_pages
// is reached, the handler stops or a status is not accepted.
Fetched FetchPages(const PageSource& source, Client& client, const Connection* connection,
                   Clock& clock, const std::atomic<bool>& cancelled, Redactor& redact,
                   const PageFn& on_page);

}  // namespace weft::connectors::http
