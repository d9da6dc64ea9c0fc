#include "server/access.h"

#include <arpa/inet.h>

#include <cctype>

#include "common/log.h"
#include "server/errors.h"

namespace weft::server {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "http://Host:8080/path" -> "http://host:8080"; "" when it is not a URL.
std::string OriginOf(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  size_t end = url.find_first_of("/?#", scheme + 3);
  std::string out = Lower(url.substr(0, end == std::string_view::npos ? url.size() : end));
  // The default port is the same origin without it.
  if (out.starts_with("http://") && out.ends_with(":80")) out.resize(out.size() - 3);
  if (out.starts_with("https://") && out.ends_with(":443")) out.resize(out.size() - 4);
  return out;
}

// The host of a Host header or an origin's authority, without the port.
std::string_view HostPart(std::string_view authority) {
  if (authority.starts_with("[")) {
    size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(1, close - 1);
  }
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(':') == colon)
    return authority.substr(0, colon);
  return authority;
}

bool ChangesState(const std::string& method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

HttpResponse Unauthorized(std::string message) {
  HttpResponse r = ErrorResponse(ErrorCode::kUnauthorized, std::move(message));
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"weft\"");
  return r;
}

Role RoleFor(Access a) {
  switch (a) {
    case Access::kAdmin:
      return Role::kAdmin;
    case Access::kEditor:
      return Role::kEditor;
    default:
      return Role::kViewer;
  }
}

}  // namespace

bool IsLoopbackAddress(std::string_view address) {
  std::string a(address);
  if (a.starts_with("::ffff:")) a = a.substr(7);
  in_addr v4{};
  if (inet_pton(AF_INET, a.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, a.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

bool IsLoopbackHost(std::string_view host_header) {
  std::string host = Lower(HostPart(host_header));
  while (host.ends_with(".")) host.pop_back();
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  return IsLoopbackAddress(host);
}

std::string CookieValue(const HttpRequest& req, std::string_view name) {
  for (const auto& [key, value] : req.headers) {
    if (key != "cookie") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view part = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (part.starts_with(" ")) part.remove_prefix(1);
      if (part.size() > name.size() && part.starts_with(name) && part[name.size()] == '=') {
        return std::string(part.substr(name.size() + 1));
      }
    }
  }
  return "";
}

bool IsHttps(const HttpRequest& req, std::string_view public_url) {
  if (const std::string* proto = req.Header("x-forwarded-proto"); proto && Lower(*proto) == "https")
    return true;
  return Lower(public_url.substr(0, 8)) == "https://";
}

AccessControl::AccessControl(AuthService& auth, std::string public_url)
    : auth_(auth), public_origin_(OriginOf(public_url)) {}

std::optional<HttpResponse> AccessControl::Check(HttpRequest& req, Access access) const {
  req.caller = Principal{};
  req.caller.via = Principal::Via::kAnonymous;
  req.caller.role = Role::kViewer;
  if (access == Access::kOwnAuth) return std::nullopt;  // webhooks: their own per-flow auth

  const std::string* host = req.Header("host");
  // A browser names the page that sent the request: it must be one of ours.
  if (const std::string* origin = req.Header("origin")) {
    std::string o = OriginOf(*origin);
    bool ours =
        !o.empty() &&
        ((host && (o == OriginOf("http://" + *host) || o == OriginOf("https://" + *host))) ||
         (!public_origin_.empty() && o == public_origin_));
    if (!ours) {
      return ErrorResponse(ErrorCode::kForbidden, "requests from another site (Origin " +
                                                      origin->substr(0, 100) + ") are refused");
    }
  }

  auto users = auth_.UsersExist();
  if (!users) return ErrorResponse(users.error());
  if (!*users) {
    // Open mode: this machine only, and no page of another site through DNS rebinding.
    if (!IsLoopbackAddress(req.remote_address)) {
      return ErrorResponse(
          ErrorCode::kForbidden,
          "no user exists, so weft answers only on this machine; add one with `weft user add NAME "
          "--role admin`");
    }
    if (!host || !IsLoopbackHost(*host)) {
      return ErrorResponse(
          ErrorCode::kForbidden,
          "no user exists, so weft answers only to a loopback Host (localhost, 127.0.0.1, [::1]); "
          "add a user to serve other names");
    }
    req.caller = Principal{};  // open mode: an anonymous admin
    return std::nullopt;
  }
  if (access == Access::kPublic) return std::nullopt;

  Result<Principal> who = Fail(ErrorCode::kUnauthorized, "");
  bool by_cookie = false;
  if (const std::string* authz = req.Header("authorization")) {
    std::string_view v = *authz;
    if (v.size() < 7 || Lower(v.substr(0, 7)) != "bearer ") {
      return Unauthorized("use Authorization: Bearer wft_... (an API token)");
    }
    v.remove_prefix(7);
    while (v.starts_with(" ")) v.remove_prefix(1);
    who = auth_.AuthenticateToken(std::string(v));
  } else if (std::string cookie = CookieValue(req, kSessionCookie); !cookie.empty()) {
    by_cookie = true;
    who = auth_.AuthenticateSession(cookie);
  } else {
    return Unauthorized("sign in, or send an API token (Authorization: Bearer wft_...)");
  }
  if (!who) {
    if (who.error().code == ErrorCode::kUnauthorized) return Unauthorized(who.error().message);
    return ErrorResponse(who.error());
  }
  if (by_cookie && ChangesState(req.method)) {
    const std::string* csrf = req.Header("x-csrf-token");
    if (!csrf || !AuthService::CsrfMatches(*who, *csrf)) {
      return ErrorResponse(
          ErrorCode::kForbidden,
          "missing or wrong X-CSRF-Token (the csrf_token that sign-in and GET /api/v1/me answer)");
    }
  }
  Role need = RoleFor(access);
  if (static_cast<int>(who->role) < static_cast<int>(need)) {
    return ErrorResponse(ErrorCode::kForbidden, "the role " + std::string(RoleName(who->role)) +
                                                    " may not do this; it needs " +
                                                    std::string(RoleName(need)));
  }
  req.caller = std::move(*who);
  return std::nullopt;
}

}  // namespace weft::server
