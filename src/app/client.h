// ApiClient: the CLI's side of the HTTP API, over libcurl. One client per
// thread (a CURL handle is not shared).
#pragma once

#include <string>

#include "common/json.h"
#include "common/result.h"

namespace weft::app {

struct ApiResponse {
  long status = 0;
  std::string body;
  Json json;  // the body parsed, or null when it is not JSON
};

class ApiClient {
 public:
  // `base`: "http://127.0.0.1:8080"; `token`: sent as a Bearer token when set.
  ApiClient(std::string base, std::string token);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // kUnavailable when the server cannot be reached.
  Result<ApiResponse> Call(const std::string& method, const std::string& path,
                           const std::string& body = "",
                           const std::string& content_type = "application/json");

  const std::string& base() const { return base_; }

 private:
  std::string base_;
  std::string token_;
  void* curl_;
};

// "validation_failed: flow is invalid\n  steps[1].uses: unknown action" from an error body.
std::string DescribeError(const ApiResponse& r);

}  // namespace weft::app
