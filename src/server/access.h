// Access control at the door: decides, from the route's Access and
// the request, whether a request may reach its handler, and who calls
// (HttpRequest::caller). Generic over the route table: no route is named here.
// - No user exists: only loopback callers, with a loopback Host, and no
//   foreign Origin (no DNS rebinding, no cross-site forms); callers act as admin.
// - Users exist: a session cookie or `Authorization: Bearer wft_...`; a cookie
//   request that changes state must carry X-CSRF-Token; the role must reach
//   the route's. 401 without (valid) credentials, 403 for the role.
// Thread-safe (AuthService is).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/auth_service.h"
#include "server/http.h"
#include "server/router.h"

namespace weft::server {

inline constexpr std::string_view kSessionCookie = "weft_session";

class AccessControl {
 public:
  // `public_url`: an Origin equal to it is ours too (behind a proxy that rewrites Host).
  AccessControl(AuthService& auth, std::string public_url);

  // nullopt: go on (req.caller is set); otherwise the answer to send.
  std::optional<HttpResponse> Check(HttpRequest& req, Access access) const;

 private:
  AuthService& auth_;
  std::string public_origin_;  // "http://host:port" of public_url, lower-case
};

// Helpers shared with the auth handlers.
bool IsLoopbackAddress(std::string_view address);  // "127.0.0.1", "::1", "::ffff:127.0.0.1"
bool IsLoopbackHost(
    std::string_view host);  // a Host header: "localhost:8080", "[::1]:80", "127.0.0.1"
std::string CookieValue(const HttpRequest& req, std::string_view name);
// Secure when served over HTTPS: a public URL of https, or a proxy saying so.
bool IsHttps(const HttpRequest& req, std::string_view public_url);

}  // namespace weft::server
