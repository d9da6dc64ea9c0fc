#include "connectors/http/http.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <mutex>

#include "common/base64.h"
#include "common/time_format.h"
#include "common/utf8.h"
#include "connectors/common/curl.h"
#include "connectors/common/redact.h"
#include "connectors/common/spec.h"
#include "connectors/http/http_client.h"
#include "connectors/http/http_files.h"
#include "connectors/http/http_poll.h"

namespace weft::connectors::http {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

bool IsAbsolute(const std::string& url) {
  std::string l = Lower(url.substr(0, 8));
  return l.rfind("http://", 0) == 0 || l.rfind("https://", 0) == 0;
}

std::string JoinUrl(const std::string& base, const std::string& url) {
  if (IsAbsolute(url) || base.empty()) return url;
  if (url.empty()) return base;
  bool base_slash = base.back() == '/';
  bool url_slash = url.front() == '/';
  if (base_slash && url_slash) return base + url.substr(1);
  if (!base_slash && !url_slash && url.front() != '?') return base + "/" + url;
  return base + url;
}

std::string ScalarText(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// Appends ?k=v pairs (arrays repeat the key).
std::string WithQuery(std::string url,
                      const std::vector<std::pair<std::string, std::string>>& params) {
  for (const auto& [k, v] : params) {
    url += url.find('?') == std::string::npos ? '?' : '&';
    url += UrlEncode(k) + "=" + UrlEncode(v);
  }
  return url;
}

void AddParams(const Json& obj, std::vector<std::pair<std::string, std::string>>& out) {
  if (!obj.is_object()) return;
  for (auto& [k, v] : obj.items()) {
    if (v.is_null()) continue;
    if (v.is_array()) {
      for (const auto& e : v) out.emplace_back(k, ScalarText(e));
    } else {
      out.emplace_back(k, ScalarText(v));
    }
  }
}

std::string FormEncode(const Json& obj) {
  std::vector<std::pair<std::string, std::string>> params;
  AddParams(obj, params);
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += UrlEncode(k) + "=" + UrlEncode(v);
  }
  return out;
}

std::optional<std::string> FindHeader(const Headers& h, const std::string& name) {
  std::string l = Lower(name);
  for (const auto& [k, v] : h)
    if (Lower(k) == l) return v;
  return std::nullopt;
}

void SetHeader(Headers& h, const std::string& name, const std::string& value) {
  std::string l = Lower(name);
  std::erase_if(h, [&](const auto& kv) { return Lower(kv.first) == l; });
  h.emplace_back(name, value);
}

Json HeadersToJson(const Headers& headers) {
  Json out = Json::object();
  for (const auto& [k, v] : headers) {
    auto it = out.find(k);
    if (it == out.end()) {
      out[k] = v;
    } else if (it->is_array()) {
      it->push_back(v);
    } else {
      *it = Json::array({*it, v});
    }
  }
  return out;
}

std::optional<Millis> ParseRetryAfter(const std::string& v) {
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (v.size() > 9) return Millis(int64_t{999'999'999} * 1000);  // years: no overflow
    return Millis(std::stoll(v) * 1000);
  }
  time_t t = curl_getdate(v.c_str(), nullptr);
  if (t < 0) return std::nullopt;
  int64_t delta = static_cast<int64_t>(t) - static_cast<int64_t>(std::time(nullptr));
  return Millis(std::max<int64_t>(0, delta) * 1000);
}

namespace {}  // namespace

// ---- statuses -------------------------------------------------------------

// ok_statuses: [200, 404, "2xx", "3xx"]; default 2xx.
bool StatusOk(long status, const Json& ok_statuses) {
  if (!ok_statuses.is_array() || ok_statuses.empty()) return status >= 200 && status < 300;
  for (const auto& s : ok_statuses) {
    if (s.is_number_integer() && s.get<long>() == status) return true;
    if (s.is_string()) {
      std::string v = Lower(s.get<std::string>());
      if (v.size() == 3 && v[1] == 'x' && v[2] == 'x' && v[0] - '0' == status / 100) return true;
      if (v == std::to_string(status)) return true;
    }
  }
  return false;
}

// ---- OAuth2 tokens ------------------------------------------------------------

namespace {

struct CachedToken {
  std::string access_token;
  TimePoint expires_at;
};

// Access tokens by (token_url, client_id, secret hash, scope, refresh token hash),
// shared by every step that uses the same credentials.
class TokenCache {
 public:
  std::optional<std::string> Get(const std::string& key, TimePoint now) {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(key);
    if (it == tokens_.end() || now >= it->second.expires_at) return std::nullopt;
    return it->second.access_token;
  }
  void Put(const std::string& key, CachedToken t) {
    std::lock_guard lock(mu_);
    tokens_[key] = std::move(t);
  }
  void Drop(const std::string& key) {
    std::lock_guard lock(mu_);
    tokens_.erase(key);
  }
  // A provider that rotates refresh tokens answers a refresh with a new one
  // and refuses the old one from then on: later refreshes (in this process)
  // use the newest, found from the stored one.
  std::string CurrentRefresh(const std::string& stored) {
    std::lock_guard lock(mu_);
    auto it = rotated_.find(stored);
    return it == rotated_.end() ? stored : it->second;
  }
  void Rotate(const std::string& stored, const std::string& latest) {
    std::lock_guard lock(mu_);
    rotated_[stored] = latest;
  }

 private:
  std::mutex mu_;
  std::map<std::string, CachedToken> tokens_;
  std::map<std::string, std::string> rotated_;  // stored refresh token -> the newest
};

TokenCache& Tokens() {
  static TokenCache* cache = new TokenCache();
  return *cache;
}

// SetRotatedTokenSink's function (app/ sets it once, before any run).
std::mutex sink_mu;
std::function<void(const RotatedTokens&)>& RotatedSink() {
  static auto* sink = new std::function<void(const RotatedTokens&)>();
  return *sink;
}

std::string Hash(const std::string& s) {
  unsigned char out[crypto_generichash_BYTES];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(s.data()), s.size(),
                     nullptr, 0);
  return Base64Encode(std::string(reinterpret_cast<char*>(out), sizeof out));
}

std::string TokenKey(const Json& auth) {
  return GetString(auth, "type") + "\n" + GetString(auth, "token_url") + "\n" +
         GetString(auth, "client_id") + "\n" +
         Hash(GetString(auth, "client_secret") + "\n" + GetString(auth, "refresh_token")) + "\n" +
         GetString(auth, "scope") + "\n" + GetString(auth, "audience");
}

// ---- the request ----------------------------------------------------------------

}  // namespace

// Performs one HTTP exchange; a transport failure is the outcome's error.
std::variant<Response, ActionOutcome> Client::Perform(const Call& call) {
  Transfer t(env_, settings_.keep_alive, call.timeout ? call.timeout : settings_.timeout);
  CURL* h = t.handle();
  Response r;
  curl_easy_setopt(h, CURLOPT_URL, call.url.c_str());
  if (call.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (call.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (call.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  }
  curl_mime* mime = nullptr;
  std::vector<std::unique_ptr<FileReader>> part_files;
  if (call.multipart.is_object()) {
    mime = curl_mime_init(h);
    for (auto& [name, v] : call.multipart.items()) {
      curl_mimepart* part = curl_mime_addpart(mime);
      curl_mime_name(part, name.c_str());
      auto file = http::FileInput(files_, v, "body." + name);
      if (!file) {
        curl_mime_free(mime);
        return ActionOutcome::Failed(file.error().code, file.error().message);
      }
      if (*file) {
        // Streamed from the store, never read whole.
        part_files.push_back(std::make_unique<FileReader>(files_, **file));
        curl_mime_data_cb(part, static_cast<curl_off_t>((*file)->size), &FileReader::Read,
                          &FileReader::Seek, nullptr, part_files.back().get());
        std::string filename = GetString(v, "filename", (*file)->name);
        curl_mime_filename(part, filename.c_str());
        std::string type = GetString(v, "content_type", (*file)->content_type);
        curl_mime_type(part, type.c_str());
      } else if (v.is_object() && (v.contains("content") || v.contains("content_base64"))) {
        std::string data = GetString(v, "content");
        if (v.contains("content_base64"))
          data = Base64Decode(GetString(v, "content_base64")).value_or("");
        curl_mime_data(part, data.data(), data.size());
        std::string filename = GetString(v, "filename", name);
        curl_mime_filename(part, filename.c_str());
        std::string type = GetString(v, "content_type", "application/octet-stream");
        curl_mime_type(part, type.c_str());
      } else {
        std::string data = ScalarText(v);
        curl_mime_data(part, data.data(), data.size());
      }
    }
    curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
  } else if (call.upload_file) {
    t.UploadFile(files_, *call.upload_file);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  } else if (call.has_body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, call.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
  }
  HeaderList headers;
  for (const auto& [k, v] : call.headers) headers.Add(k + ": " + v);
  if (!FindHeader(call.headers, "Expect")) headers.Add("Expect:");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, call.follow_redirects ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(h, CURLOPT_USERAGENT, "weft");
  if (!settings_.verify_tls) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (call.basic) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, call.basic_user.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, call.basic_password.c_str());
  }
  t.CaptureHeaders(&r.headers);
  http::BodyReceiver receiver(call.file_response || call.auto_file ? files_ : nullptr,
                              call.file_response, call.url, &r.body, &r.headers);
  receiver.Attach(h);
  CURLcode rc = t.Perform();
  if (mime) curl_mime_free(mime);
  for (const auto& pf : part_files)
    if (pf->error() && rc != CURLE_OK) {
      return ActionOutcome::Failed(ErrorCode::kStepFailed, call.method + " " + redact_(call.url) +
                                                               ": " + pf->error()->message);
    }
  if (rc != CURLE_OK) {
    if (const auto& e = receiver.error()) {
      return ActionOutcome::Failed(e->code,
                                   call.method + " " + redact_(call.url) + ": " + e->message,
                                   e->code == ErrorCode::kUnavailable);
    }
    ActionOutcome o = t.Failure(rc, call.method + " " + call.url);
    o.error->message = redact_(o.error->message);
    return o;
  }
  r.status = t.Status();
  auto file = receiver.Finish(r.status);
  if (!file)
    return ActionOutcome::Failed(
        file.error().code, call.method + " " + redact_(call.url) + ": " + file.error().message,
        file.error().code == ErrorCode::kUnavailable);
  r.file = std::move(*file);
  char* eff = nullptr;
  curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff);
  if (eff) r.effective_url = eff;
  return r;
}

namespace {

// The POST of an OAuth2 token request (RFC 6749 §4.1.3, §4.4, §6) carrying
// `form`: the client authenticates with HTTP Basic, or in the body when
// auth.client_auth is "body" (a public client sends no secret).
Call TokenRequest(const Json& auth, Json form) {
  Call call;
  call.method = "POST";
  call.url = GetString(auth, "token_url");
  if (GetString(auth, "client_auth", "basic") == "body") {
    form["client_id"] = GetString(auth, "client_id");
    if (!GetString(auth, "client_secret").empty())
      form["client_secret"] = GetString(auth, "client_secret");
  } else {
    call.basic = true;
    call.basic_user = GetString(auth, "client_id");
    call.basic_password = GetString(auth, "client_secret");
  }
  call.body = FormEncode(form);
  call.has_body = true;
  call.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                  {"Accept", "application/json"}};
  return call;
}

std::variant<std::string, ActionOutcome> OAuthToken(const Json& auth,
                                                    const std::string& connection_id,
                                                    Client& client, Clock& clock, Redactor& redact,
                                                    bool force) {
  std::string type = GetString(auth, "type");
  std::string key = TokenKey(auth);
  if (!force) {
    if (auto t = Tokens().Get(key, clock.Now())) {
      redact.Add(*t);
      return *t;
    }
  }
  if (type == "oauth2_code") {
    // The access token the authorization (or a person) stored is used until
    // its expires_at (set a little before the provider's expiry), then the
    // refresh token is exchanged for new ones.
    std::string access = GetString(auth, "access_token");
    std::string refresh = GetString(auth, "refresh_token");
    auto expires_at = ParseIso(GetString(auth, "expires_at"));
    bool fresh = !access.empty() && (!expires_at || clock.Now() < *expires_at);
    if (!force && fresh && (refresh.empty() || expires_at)) {
      redact.Add(access);
      return access;
    }
    if (refresh.empty()) {
      if (access.empty())
        return ActionOutcome::Failed(
            ErrorCode::kStepFailed,
            "the connection is not authorized yet: no access or refresh token "
            "(authorize it on the Connections page)");
      if (!fresh)
        return ActionOutcome::Failed(
            ErrorCode::kStepFailed,
            "the connection's access token expired and there is no refresh token: "
            "authorize the connection again");
      redact.Add(access);
      return access;  // refused once already (force), but nothing else to try
    }
  }
  Json form = Json::object();
  const std::string stored_refresh = GetString(auth, "refresh_token");
  const std::string refresh_token = Tokens().CurrentRefresh(stored_refresh);
  if (type == "oauth2_code") {
    redact.Add(refresh_token);
    form["grant_type"] = "refresh_token";
    form["refresh_token"] = refresh_token;
  } else {
    form["grant_type"] = "client_credentials";
  }
  if (!GetString(auth, "scope").empty()) form["scope"] = GetString(auth, "scope");
  if (!GetString(auth, "audience").empty()) form["audience"] = GetString(auth, "audience");
  Call call = TokenRequest(auth, std::move(form));
  if (call.url.empty())
    return ActionOutcome::Failed(ErrorCode::kValidation, "auth.token_url is required");
  auto got = client.Perform(call);
  if (auto* o = std::get_if<ActionOutcome>(&got)) {
    o->error->message = "getting an OAuth2 token: " + o->error->message;
    return std::move(*o);
  }
  auto& r = std::get<Response>(got);
  auto parsed = ParseJson(r.body);
  if (r.status < 200 || r.status >= 300 || !parsed || !parsed->is_object() ||
      !(*parsed)["access_token"].is_string()) {
    return ActionOutcome::Failed(ErrorCode::kStepFailed,
                                 redact("the token endpoint " + call.url + " answered HTTP " +
                                        std::to_string(r.status) + ": " + Excerpt(r.body)),
                                 r.status >= 500 || r.status == 429);
  }
  std::string token = (*parsed)["access_token"].get<std::string>();
  int64_t expires_in = 3600;
  if ((*parsed)["expires_in"].is_number()) expires_in = (*parsed)["expires_in"].get<int64_t>();
  // Refresh a little early so a token never expires mid-request.
  int64_t margin = std::min<int64_t>(30, expires_in / 10);
  TimePoint expires_at = clock.Now() + Millis((expires_in - margin) * 1000);
  if (type == "oauth2_code" && (*parsed)["refresh_token"].is_string() &&
      (*parsed)["refresh_token"].get<std::string>() != refresh_token) {
    // The provider rotated the refresh token (the old one is dead now): used
    // from memory at once, and stored with the new access token, so the next
    // run (and a restart) starts from them.
    const std::string rotated = (*parsed)["refresh_token"].get<std::string>();
    Tokens().Rotate(stored_refresh, rotated);
    redact.Add(rotated);
    std::function<void(const RotatedTokens&)> sink;
    {
      std::lock_guard<std::mutex> g(sink_mu);
      sink = RotatedSink();
    }
    if (sink && !connection_id.empty())
      sink(RotatedTokens{connection_id, token, rotated, expires_at});
  }
  Tokens().Put(key, {token, expires_at});
  redact.Add(token);
  return token;
}

}  // namespace

// Applies the connection's auth to a call (OAuth tokens fetched as needed).
std::optional<ActionOutcome> ApplyAuth(const Json& auth, const std::string& connection_id,
                                       Call& call, Client& client, Clock& clock, Redactor& redact,
                                       bool force_token) {
  std::string type = GetString(auth, "type", "none");
  if (type == "none" || type.empty()) return std::nullopt;
  if (type == "basic") {
    call.basic = true;
    call.basic_user = GetString(auth, "username");
    call.basic_password = GetString(auth, "password");
    redact.Add(Base64Encode(call.basic_user + ":" + call.basic_password));
  } else if (type == "bearer") {
    SetHeader(call.headers, "Authorization", "Bearer " + GetString(auth, "token"));
  } else if (type == "api_key") {
    std::string name = GetString(auth, "name", "X-API-Key");
    if (GetString(auth, "in", "header") == "query") {
      call.url = WithQuery(call.url, {{name, GetString(auth, "value")}});
      redact.Add(UrlEncode(GetString(auth, "value")));
    } else {
      SetHeader(call.headers, name, GetString(auth, "value"));
    }
  } else if (type == "oauth2_client_credentials" || type == "oauth2_code") {
    auto token = OAuthToken(auth, connection_id, client, clock, redact, force_token);
    if (auto* o = std::get_if<ActionOutcome>(&token)) return std::move(*o);
    SetHeader(call.headers, "Authorization", "Bearer " + std::get<std::string>(token));
  } else {
    return ActionOutcome::Failed(ErrorCode::kValidation, "unknown auth type \"" + type + "\"");
  }
  return std::nullopt;
}

Settings ReadSettings(const Connection* c) {
  Settings s;
  if (!c) return s;
  s.base_url = GetString(c->settings, "base_url");
  if (c->settings.contains("headers") && c->settings["headers"].is_object())
    s.headers = c->settings["headers"];
  if (auto v = OptBool(c->settings, "verify_tls"); v && v->has_value()) s.verify_tls = **v;
  if (auto v = OptBool(c->settings, "keep_alive"); v && v->has_value()) s.keep_alive = **v;
  if (auto v = OptDuration(c->settings, "timeout"); v && v->has_value()) s.timeout = **v;
  return s;
}

Json ParseBody(const Response& r, const std::string& response_type, bool* base64) {
  *base64 = false;
  std::string ct = Lower(FindHeader(r.headers, "content-type").value_or(""));
  if (response_type == "json" ||
      (response_type == "auto" && ct.find("json") != std::string::npos)) {
    if (r.body.empty()) return nullptr;
    if (auto j = ParseJson(r.body)) return *j;
  }
  if (response_type == "base64" || (response_type != "text" && !ValidUtf8(r.body))) {
    *base64 = true;
    return Base64Encode(r.body);
  }
  return r.body;
}

const char* ReasonPhrase(long status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

// The next page's URL from a Link header (rel="next"), or empty.
std::string NextLink(const Headers& headers, const std::string& current) {
  for (const auto& [k, v] : headers) {
    if (k != "link") continue;
    size_t pos = 0;
    while (pos < v.size()) {
      size_t lt = v.find('<', pos);
      if (lt == std::string::npos) break;
      size_t gt = v.find('>', lt);
      if (gt == std::string::npos) break;
      size_t end = v.find(",", gt);
      // A comma may sit inside a later <url>: the entry ends at the next '<'.
      size_t next_lt = v.find('<', gt);
      if (next_lt != std::string::npos && (end == std::string::npos || end > next_lt))
        end = next_lt;
      std::string params =
          v.substr(gt + 1, end == std::string::npos ? std::string::npos : end - gt - 1);
      std::string lparams = Lower(params);
      if (lparams.find("rel=\"next\"") != std::string::npos ||
          lparams.find("rel=next") != std::string::npos) {
        std::string target = v.substr(lt + 1, gt - lt - 1);
        if (IsAbsolute(target)) return target;
        // Relative to the current URL's origin.
        size_t scheme = current.find("://");
        size_t path =
            scheme == std::string::npos ? std::string::npos : current.find('/', scheme + 3);
        std::string origin = path == std::string::npos ? current : current.substr(0, path);
        return target.starts_with("/") ? origin + target
                                       : JoinUrl(current.substr(0, current.rfind('/') + 1), target);
      }
      if (end == std::string::npos) break;
      pos = end;
    }
  }
  return "";
}

std::variant<Response, ActionOutcome> Exchange(const Call& base, Client& client, const Json& auth,
                                               const std::string& connection_id, Clock& clock,
                                               Redactor& redact) {
  std::string type = GetString(auth, "type");
  bool oauth = type == "oauth2_client_credentials" || type == "oauth2_code";
  for (int attempt = 0;; ++attempt) {
    Call call = base;
    if (auto failed = ApplyAuth(auth, connection_id, call, client, clock, redact, attempt > 0))
      return std::move(*failed);
    // The connection's rate slot, taken as late as possible (ActionContext::before_request).
    if (const auto* before = client.env().before_request; before && *before)
      if (auto go = (*before)(); !go)
        return ActionOutcome::Failed(go.error().code, go.error().message);
    auto got = client.Perform(call);
    if (oauth && attempt == 0 && std::holds_alternative<Response>(got) &&
        std::get<Response>(got).status == 401) {
      Tokens().Drop(TokenKey(auth));
      continue;
    }
    return got;
  }
}

ActionOutcome StatusFailure(const Call& call, const Response& r, const Redactor& redact) {
  std::string reason = ReasonPhrase(r.status);
  std::string message = "HTTP " + std::to_string(r.status) + (reason.empty() ? "" : " " + reason) +
                        " from " + call.method + " " + call.url;
  if (!r.body.empty()) message += ": " + Excerpt(r.body);
  bool retryable = r.status >= 500 || r.status == 429 || r.status == 408;
  ActionOutcome o = ActionOutcome::Failed(ErrorCode::kStepFailed, redact(message), retryable);
  if (auto ra = FindHeader(r.headers, "retry-after")) o.retry_after = ParseRetryAfter(*ra);
  o.http_status = static_cast<int>(r.status);
  return o;
}

namespace {

std::vector<std::pair<std::string, std::string>> Concat(
    std::vector<std::pair<std::string, std::string>> a,
    std::vector<std::pair<std::string, std::string>> b) {
  std::erase_if(a, [&](const auto& kv) { return kv.first == b.front().first; });
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

Result<Paging> ParsePaging(const Json& paginate) {
  Paging p;
  if (paginate.is_null()) return p;
  if (!paginate.is_object())
    return Fail(ErrorCode::kValidation, "paginate must be an object {type, ...}",
                {{"with.paginate", "must be an object {type, ...}"}});
  p.mode = GetString(paginate, "type");
  if (!p.mode.empty() && p.mode != "link" && p.mode != "cursor" && p.mode != "page")
    return Fail(ErrorCode::kValidation, "paginate.type must be link, cursor or page",
                {{"with.paginate.type", "must be link, cursor or page"}});
  if (paginate.contains("max_pages") && !paginate["max_pages"].is_null()) {
    if (!paginate["max_pages"].is_number_integer() || paginate["max_pages"].get<int64_t>() < 1)
      return Fail(ErrorCode::kValidation, "paginate.max_pages must be a positive integer",
                  {{"with.paginate.max_pages", "must be a positive integer"}});
    p.max_pages = paginate["max_pages"].get<int64_t>();
  }
  p.items_path = GetString(paginate, "items");
  p.cursor_path = GetString(paginate, "cursor", "next_cursor");
  p.cursor_param = GetString(paginate, "cursor_param", "cursor");
  p.page_param = GetString(paginate, "page_param", "page");
  // find, not [], on a const object: [] with an absent key is undefined
  // (an assert in the sanitizer build).
  if (auto start = paginate.find("start"); start != paginate.end() && start->is_number_integer())
    p.start = start->get<int64_t>();
  return p;
}

Fetched FetchPages(const PageSource& source, Client& client, const Connection* connection,
                   Clock& clock, const std::atomic<bool>& cancelled, Redactor& redact,
                   const PageFn& on_page) {
  const Paging& paging = source.paging;
  const Json auth = connection ? connection->auth : Json::object();
  const std::string connection_id = connection ? connection->id : std::string();
  Fetched out;
  int64_t page = paging.start;
  std::string next_url = WithQuery(source.url, source.query);
  if (paging.mode == "page")
    next_url =
        WithQuery(source.url, Concat(source.query, {{paging.page_param, std::to_string(page)}}));
  while (true) {
    if (cancelled.load()) {
      out.ok = false;
      out.failure = ActionOutcome::Failed(ErrorCode::kCancelled, "cancelled");
      return out;
    }
    Call call = source.base;
    call.url = next_url;
    auto got = Exchange(call, client, auth, connection_id, clock, redact);
    if (auto* o = std::get_if<ActionOutcome>(&got)) {
      out.ok = false;
      out.failure = std::move(*o);
      return out;
    }
    Response r = std::move(std::get<Response>(got));
    ++out.pages;
    if (!StatusOk(r.status, source.ok_statuses)) {
      out.ok = false;
      out.failure = StatusFailure(call, r, redact);
      return out;
    }
    bool base64 = false;
    Json body = r.file ? r.file->ToJson() : ParseBody(r, source.response_type, &base64);
    // What the next page needs, read before the handler takes the response.
    std::string link;
    if (paging.mode == "link")
      link = NextLink(r.headers, r.effective_url.empty() ? call.url : r.effective_url);
    Json cursor = paging.mode == "cursor" ? AtPath(body, paging.cursor_path) : Json();
    bool empty = false;
    if (auto stop = on_page(call, r, body, base64, empty)) {
      if (!stop->error) break;  // the handler has what it needs
      out.ok = false;
      out.failure = std::move(*stop);
      return out;
    }
    if (paging.mode.empty() || out.pages >= paging.max_pages) break;
    if (paging.mode == "link") {
      next_url = link;
    } else if (paging.mode == "cursor") {
      next_url = cursor.is_null() || cursor == "" || cursor == false
                     ? ""
                     : WithQuery(source.url,
                                 Concat(source.query, {{paging.cursor_param, ScalarText(cursor)}}));
    } else {
      next_url =
          empty ? ""
                : WithQuery(source.url,
                            Concat(source.query, {{paging.page_param, std::to_string(++page)}}));
    }
    if (next_url.empty()) break;
  }
  return out;
}

namespace {

class RequestAction : public Action {
 public:
  explicit RequestAction(ConnectorSpec spec) : spec_(std::move(spec)) {}

  ActionOutcome Execute(ActionContext& ctx) override {
    const Json& in = ctx.input;
    Settings settings = ReadSettings(ctx.connection);
    Redactor redact = ctx.connection ? Redactor(*ctx.connection, spec_) : Redactor();
    CallEnv env = EnvOf(ctx);
    Client client(env, settings, redact, ctx.files);

    auto url = ReqString(in, "url");
    if (!url) return InputError(url.error());
    auto method = OptString(in, "method");
    if (!method) return InputError(method.error());
    auto timeout = OptDuration(in, "timeout");
    if (!timeout) return InputError(timeout.error());
    auto follow = OptBool(in, "follow_redirects");
    if (!follow) return InputError(follow.error());
    auto body_type = OptString(in, "body_type");
    if (!body_type) return InputError(body_type.error());
    std::string response_type = GetString(in, "response_type", "auto");
    if (response_type != "auto" && response_type != "json" && response_type != "text" &&
        response_type != "base64" && response_type != "file")
      return ActionOutcome::Failed(ErrorCode::kValidation,
                                   "with.response_type must be auto, json, text, base64 or file");
    if (response_type == "file" && !ctx.files)
      return ActionOutcome::Failed(ErrorCode::kValidation,
                                   "with.response_type: files are not enabled on this server");

    Call base;
    base.method = method->value_or("GET");
    std::transform(base.method.begin(), base.method.end(), base.method.begin(), ::toupper);
    base.timeout = *timeout;
    base.follow_redirects = follow->value_or(true);
    for (auto& [k, v] : settings.headers.items()) SetHeader(base.headers, k, ScalarText(v));
    if (in.contains("headers") && !in["headers"].is_null()) {
      if (!in["headers"].is_object())
        return ActionOutcome::Failed(ErrorCode::kValidation, "headers must be an object");
      for (auto& [k, v] : in["headers"].items())
        if (!v.is_null()) SetHeader(base.headers, k, ScalarText(v));
    }
    std::vector<std::pair<std::string, std::string>> query;
    if (in.contains("query") && !in["query"].is_null()) {
      if (!in["query"].is_object())
        return ActionOutcome::Failed(ErrorCode::kValidation, "query must be an object");
      AddParams(in["query"], query);
    }
    std::string base_url = JoinUrl(settings.base_url, *url);
    if (!IsAbsolute(base_url))
      return ActionOutcome::Failed(
          ErrorCode::kValidation,
          "url \"" + redact(base_url) + "\" is not absolute and the connection has no base_url");

    // The body.
    if (in.contains("body") && !in["body"].is_null() && base.method != "GET" &&
        base.method != "HEAD") {
      const Json& body = in["body"];
      auto body_file = IsFileValue(body) ? http::FileInput(ctx.files, body, "with.body")
                                         : Result<std::optional<FileInfo>>(std::nullopt);
      if (!body_file)
        return ActionOutcome::Failed(body_file.error().code, body_file.error().message);
      std::string type = body_type->value_or(*body_file         ? "file"
                                             : body.is_string() ? "text"
                                                                : "json");
      if (type == "file") {
        if (!*body_file)
          return ActionOutcome::Failed(ErrorCode::kValidation,
                                       "with.body must be a file value when body_type is file");
        base.upload_file = **body_file;
        if (!FindHeader(base.headers, "Content-Type"))
          SetHeader(base.headers, "Content-Type", (*body_file)->content_type);
      } else if (type == "json") {
        base.body = body.dump();
        if (!FindHeader(base.headers, "Content-Type"))
          SetHeader(base.headers, "Content-Type", "application/json");
      } else if (type == "form") {
        if (!body.is_object())
          return ActionOutcome::Failed(ErrorCode::kValidation, "a form body must be an object");
        base.body = FormEncode(body);
        if (!FindHeader(base.headers, "Content-Type"))
          SetHeader(base.headers, "Content-Type", "application/x-www-form-urlencoded");
      } else if (type == "text") {
        base.body = ScalarText(body);
        if (!FindHeader(base.headers, "Content-Type"))
          SetHeader(base.headers, "Content-Type", "text/plain; charset=utf-8");
      } else if (type == "multipart") {
        if (!body.is_object())
          return ActionOutcome::Failed(ErrorCode::kValidation,
                                       "a multipart body must be an object of parts");
        base.multipart = body;
      } else {
        return ActionOutcome::Failed(ErrorCode::kValidation,
                                     "body_type must be json, form, text, multipart or file");
      }
      base.has_body = true;
    }

    auto paging = ParsePaging(in.value("paginate", Json(nullptr)));
    if (!paging) return ActionOutcome::Failed(paging.error().code, paging.error().message);
    if (!paging->mode.empty() && response_type == "file")
      return ActionOutcome::Failed(ErrorCode::kValidation,
                                   "with.response_type: file cannot be combined with paginate");
    base.file_response = response_type == "file";
    base.auto_file = response_type == "auto" && paging->mode.empty() && ctx.files;

    Json items = Json::array();
    Response last;
    Json last_body;
    bool last_base64 = false;
    PageSource source{base,    base_url,      query,
                      *paging, response_type, in.value("ok_statuses", Json(nullptr))};
    auto fetched = FetchPages(
        source, client, ctx.connection, ctx.clock, ctx.cancelled, redact,
        [&](const Call& call, Response& r, Json& body, bool base64, bool& empty) {
          ctx.log("info", redact(call.method + " " + call.url + " -> " + std::to_string(r.status)));
          if (!paging->mode.empty()) {
            Json page_items = AtPath(body, paging->items_path);
            empty = !page_items.is_array() || page_items.empty();
            if (page_items.is_array()) {
              for (auto& e : page_items) items.push_back(std::move(e));
            } else if (!page_items.is_null()) {
              items.push_back(std::move(page_items));
            }
          }
          last = std::move(r);
          last_body = std::move(body);
          last_base64 = base64;
          return std::optional<ActionOutcome>();
        });
    if (!fetched.ok) return std::move(*fetched.failure);

    Json out = {{"status", last.status}, {"headers", HeadersToJson(last.headers)}};
    if (paging->mode.empty()) {
      out["body"] = std::move(last_body);
      if (last_base64) out["body_encoding"] = "base64";
    } else {
      out["body"] = std::move(items);
      out["pages"] = fetched.pages;
    }
    return ActionOutcome::Ok(std::move(out));
  }

 private:
  ConnectorSpec spec_;
};

}  // namespace

// The authorization code grant: exchanges `grant.code` at the token URL.
Result<Json> ExchangeCode(const Connection& c, const Json& auth, const OAuthCodeGrant& grant,
                          Clock& clock, const ConnectorSpec& spec) {
  std::atomic<bool> cancelled{false};
  CallEnv env{clock, clock.Now() + Millis(30'000), cancelled};
  Settings settings = ReadSettings(&c);
  Redactor redact(c, spec);
  redact.Add(grant.code);
  Client client(env, settings, redact);
  Json form = {{"grant_type", "authorization_code"},
               {"code", grant.code},
               {"redirect_uri", grant.redirect_uri}};
  if (!grant.code_verifier.empty()) form["code_verifier"] = grant.code_verifier;
  Call call = TokenRequest(auth, std::move(form));
  if (call.url.empty())
    return Fail(ErrorCode::kValidation, "auth.token_url is required",
                {{"auth.token_url", "is required"}});
  auto got = client.Perform(call);
  if (auto* o = std::get_if<ActionOutcome>(&got))
    return Fail(ErrorCode::kUnavailable,
                "the token endpoint could not be reached: " + o->error->message);
  auto& r = std::get<Response>(got);
  auto parsed = ParseJson(r.body);
  if (r.status < 200 || r.status >= 300 || !parsed || !parsed->is_object() ||
      !(*parsed)["access_token"].is_string())
    return Fail(ErrorCode::kUnavailable,
                redact("the token endpoint " + call.url + " answered HTTP " +
                       std::to_string(r.status) + ": " + Excerpt(r.body)));
  return std::move(*parsed);
}

namespace {

ConnectionTestResult TestHttp(const Connection& c, Clock& clock, const ConnectorSpec& spec) {
  std::atomic<bool> cancelled{false};
  CallEnv env{clock, clock.Now() + Millis(15'000), cancelled};
  Settings settings = ReadSettings(&c);
  Redactor redact(c, spec);
  Client client(env, settings, redact);
  Call call;
  call.url = settings.base_url;
  if (call.url.empty()) {
    std::string type = GetString(c.auth, "type");
    if (type != "oauth2_client_credentials" &&
        (type != "oauth2_code" || GetString(c.auth, "refresh_token").empty()))
      return {true, "nothing to check: the connection has no base_url"};
    auto token = OAuthToken(c.auth, c.id, client, clock, redact, true);
    if (auto* o = std::get_if<ActionOutcome>(&token)) return {false, o->error->message};
    return {true, "got an access token from " + GetString(c.auth, "token_url")};
  }
  for (auto& [k, v] : settings.headers.items()) SetHeader(call.headers, k, ScalarText(v));
  if (auto failed = ApplyAuth(c.auth, c.id, call, client, clock, redact, true))
    return {false, failed->error->message};
  auto got = client.Perform(call);
  if (auto* o = std::get_if<ActionOutcome>(&got)) return {false, o->error->message};
  auto& r = std::get<Response>(got);
  std::string what = "GET " + redact(call.url) + " answered HTTP " + std::to_string(r.status);
  if (r.status == 401 || r.status == 403 || r.status >= 500)
    return {false, what + ": " + redact(Excerpt(r.body, 200))};
  return {true, what};
}

}  // namespace
}  // namespace weft::connectors::http

namespace weft::connectors {

ConnectorSpec HttpConnectorSpec() {
  ConnectorSpec s;
  s.name = "http";
  s.title = "HTTP";
  s.description = "Call any HTTP API: REST, webhooks, file downloads.";
  s.icon = "globe";
  s.needs_connection = true;
  s.fields = {
      Field("base_url", "Base URL", "string", false,
            "Relative step URLs are resolved against it, e.g. https://api.example.com/v1"),
      Field("headers", "Default headers", "object", false,
            "Sent with every request; a step's headers win."),
      Field("timeout", "Timeout", "duration", false,
            "Per request, e.g. 30s (the step's timeout also applies).", "30s"),
      Field("verify_tls", "Verify TLS certificates", "boolean", false,
            "Turn off only for self-signed test servers.", true),
      Field("keep_alive", "Reuse connections", "boolean", false,
            "Keep connections open between requests.", true),
  };
  s.auth_types = {
      {"none", "No authentication", {}},
      {"basic",
       "Basic",
       {Field("username", "Username", "string", true, ""),
        SecretField("password", "Password", true, "")}},
      {"bearer",
       "Bearer token",
       {SecretField("token", "Token", true, "Sent as Authorization: Bearer <token>.")}},
      {"api_key",
       "API key",
       {Field("in", "Send in", "enum", true, "", "header", {"header", "query"}),
        Field("name", "Header or parameter name", "string", true, "e.g. X-API-Key or api_key",
              "X-API-Key"),
        SecretField("value", "Key", true, "")}},
      {"oauth2_client_credentials",
       "OAuth2 client credentials",
       {Field("token_url", "Token URL", "string", true, ""),
        Field("client_id", "Client ID", "string", true, ""),
        SecretField("client_secret", "Client secret", true, ""),
        Field("scope", "Scope", "string", false, ""),
        Field("audience", "Audience", "string", false, "Sent when the provider asks for one."),
        Field("client_auth", "Send client credentials", "enum", false,
              "As HTTP Basic auth or in the form body.", "basic", {"basic", "body"})}},
      {"oauth2_code",
       "OAuth2 authorization code",
       {Field("authorize_url", "Authorization URL", "string", true, ""),
        Field("token_url", "Token URL", "string", true, ""),
        Field("client_id", "Client ID", "string", true, ""),
        SecretField("client_secret", "Client secret", true, ""),
        Field("scope", "Scope", "string", false, ""),
        Field("client_auth", "Send client credentials", "enum", false, "", "basic",
              {"basic", "body"}),
        Field("authorize_params", "Extra authorization parameters", "string", false,
              "Added to the authorization URL, e.g. access_type=offline&prompt=consent."),
        SecretField("refresh_token", "Refresh token", false,
                    "Filled in by Authorize (GET /connections/{id}/oauth/start); exchanged for "
                    "access tokens."),
        SecretField("access_token", "Access token", false,
                    "Filled in by Authorize; used until expires_at, or as is when there is no "
                    "refresh token."),
        Field("expires_at", "Access token expires at", "string", false,
              "Filled in by Authorize: when weft stops using the access token (shortly before the "
              "provider's expiry).")}},
  };
  s.actions = {
      {"request",
       "HTTP request",
       "Sends one HTTP request (or one per page) and outputs the response.",
       {Field("method", "Method", "enum", false, "", "GET",
              {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}),
        Field("url", "URL", "string", true, "Absolute, or relative to the connection's base URL."),
        Field("headers", "Headers", "object", false, "Added to the connection's default headers."),
        Field("query", "Query parameters", "object", false,
              "An array value repeats the parameter."),
        Field("body", "Body", "any", false,
              "Any JSON value; sent as the body type says. A file value is streamed as the body."),
        Field("body_type", "Body type", "enum", false,
              "json (default for objects), form, text (default for strings), file (default for a "
              "file value), or multipart: an object of parts, each a value, a file value, or "
              "{filename, content | content_base64 | file, content_type}.",
              nullptr, {"json", "form", "text", "multipart", "file"}),
        Field("timeout", "Timeout", "duration", false,
              "For this request; defaults to the connection's."),
        Field("follow_redirects", "Follow redirects", "boolean", false, "", true),
        Field("ok_statuses", "Accepted statuses", "array", false,
              "Statuses that do not fail the step, e.g. [200, 404, \"3xx\"]. Default: 2xx."),
        Field("response_type", "Response type", "enum", false,
              "auto parses JSON bodies, returns other text as is and writes anything else to a "
              "file (body is then a file value); file always writes a file; base64 keeps bytes "
              "in the run as base64 text.",
              "auto", {"auto", "json", "text", "base64", "file"}),
        Field("paginate", "Pagination", "object", false,
              "Collect every page: {type: link} follows Link rel=next; {type: cursor, cursor: "
              "\"meta.next\", "
              "cursor_param: \"cursor\"}; {type: page, page_param: \"page\", start: 1}. Each "
              "page's items are "
              "at `items` (a dotted path; the whole body when empty); max_pages (default 100).")},
       "{status, headers, body}: body parsed when JSON, a file value for files (base64 text with "
       "body_encoding: base64 when files are off). "
       "With pagination, body is every page's items in order and pages the number of requests.",
       {}}};
  return s;
}

void SetRotatedTokenSink(std::function<void(const RotatedTokens&)> sink) {
  std::lock_guard<std::mutex> g(http::sink_mu);
  http::RotatedSink() = std::move(sink);
}

void RegisterHttp(ActionCatalog& catalog) {
  ConnectorSpec spec = HttpConnectorSpec();
  // An absolute URL needs no connection (a relative one does: the step fails
  // naming the missing base_url).
  for (auto& a : spec.actions)
    if (a.name == "request") a.connection_optional = true;
  auto action = std::make_shared<http::RequestAction>(spec);
  ConnectorSpec tester_spec = spec;
  catalog.Register(std::move(spec), {{"request", action}},
                   [tester_spec](const Connection& c, Clock& clock) {
                     return http::TestHttp(c, clock, tester_spec);
                   });
  catalog.RegisterPollSource("http", http::NewItemsSpec(), http::MakeNewItemsSource(tester_spec));
  catalog.SetOAuthExchanger(
      "http", "oauth2_code",
      [tester_spec](const Connection& c, const OAuthCodeGrant& grant, Clock& clock) {
        return http::ExchangeCode(c, c.auth, grant, clock, tester_spec);
      });
}

}  // namespace weft::connectors
