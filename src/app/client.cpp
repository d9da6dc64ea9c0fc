#include "app/client.h"

#include <curl/curl.h>

namespace weft::app {
namespace {

size_t Collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

}  // namespace

ApiClient::ApiClient(std::string base, std::string token)
    : base_(std::move(base)), token_(std::move(token)), curl_(curl_easy_init()) {
  while (base_.ends_with("/")) base_.pop_back();
}

ApiClient::~ApiClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

Result<ApiResponse> ApiClient::Call(const std::string& method, const std::string& path,
                                    const std::string& body, const std::string& content_type) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  std::string url = base_ + path;
  ApiResponse out;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/json");
  headers = curl_slist_append(headers, "Expect:");
  if (!token_.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + token_).c_str());
  if (method != "GET" && method != "DELETE") {
    headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return Fail(ErrorCode::kUnavailable,
                "cannot reach weft at " + base_ + ": " + curl_easy_strerror(rc) +
                    " (is `weft serve` running? set --server or WEFT_SERVER)");
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  if (auto j = ParseJson(out.body)) out.json = std::move(*j);
  return out;
}

std::string DescribeError(const ApiResponse& r) {
  const Json& e = r.json.is_object() && r.json.contains("error") ? r.json["error"] : Json();
  if (!e.is_object()) return "HTTP " + std::to_string(r.status) + ": " + r.body;
  std::string out = GetString(e, "code") + ": " + GetString(e, "message");
  if (e.contains("details") && e["details"].is_array()) {
    for (const auto& d : e["details"])
      out += "\n  " + GetString(d, "path") + ": " + GetString(d, "message");
  }
  return out;
}

}  // namespace weft::app
