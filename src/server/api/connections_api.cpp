// Handlers of /api/v1/connections...: translate HTTP to ConnectionService.
// Secrets leave only as "********" (ConnectionToJson masks them).
#include "core/api_json.h"
#include "core/connection_service.h"
#include "server/api/api.h"
#include "server/api/body.h"
#include "server/errors.h"

namespace weft::server {
namespace {

// Who acts (updated_by in history): access control's caller; "" in open mode.
std::string Actor(const HttpRequest& req) { return req.caller.Actor(); }

constexpr const char* kOAuthCookie = "weft_oauth";

// The value of cookie `name` in the request's Cookie header(s), or "".
std::string CookieValue(const HttpRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (k != "cookie") continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view part = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      size_t eq = part.find('=');
      if (eq != std::string_view::npos && part.substr(0, eq) == name)
        return std::string(part.substr(eq + 1));
    }
  }
  return "";
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The small page the browser lands on after the provider sent it back.
HttpResponse OAuthPage(int status, const std::string& title, const std::string& message) {
  std::string body =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
      "content=\"width=device-width\"><title>" +
      HtmlEscape(title) +
      " · weft</title><style>"
      "body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 "
      "1rem;color:#1f2933}"
      "h1{font-size:1.4rem}a{color:#2458d6}</style></head><body><h1 data-testid=\"oauth-result\">" +
      HtmlEscape(title) + "</h1><p>" + HtmlEscape(message) +
      "</p><p><a href=\"/connections\">Back to Connections</a></p></body></html>";
  HttpResponse r = HttpResponse::Text(status, std::move(body), "text/html; charset=utf-8");
  r.headers.emplace_back("Cache-Control", "no-store");
  // The state cookie has done its work.
  r.headers.emplace_back(
      "Set-Cookie",
      std::string(kOAuthCookie) + "=; Path=/api/v1/oauth; Max-Age=0; HttpOnly; SameSite=Lax");
  return r;
}

HttpResponse NotConfigured() {
  return ErrorResponse(
      Error(ErrorCode::kUnavailable, "connections are not available in this server"));
}

}  // namespace

void AddConnectionHandlers(HandlerTable& t, ApiServices& s) {
  ConnectionService* service = s.connections;
  const ActionCatalog& catalog = s.catalog;

  t.emplace_back("listConnections", [service, &catalog](HttpRequest&) {
    if (!service) return NotConfigured();
    auto list = service->List();
    if (!list) return ErrorResponse(list.error());
    Json out = Json::array();
    for (const auto& c : *list) out.push_back(ConnectionToJson(c, catalog));
    return HttpResponse::FromJson(200, Json{{"connections", std::move(out)}});
  });

  t.emplace_back("createConnection", [service, &catalog](HttpRequest& req) {
    if (!service) return NotConfigured();
    auto body = ParseJsonBody(req, true);
    if (!body) return ErrorResponse(body.error());
    auto c = service->Create(*body, Actor(req));
    if (!c) return ErrorResponse(c.error());
    return HttpResponse::FromJson(201, ConnectionToJson(*c, catalog));
  });

  t.emplace_back("getConnection", [service, &catalog](HttpRequest& req) {
    if (!service) return NotConfigured();
    auto c = service->Get(req.Param("id"));
    if (!c) return ErrorResponse(c.error());
    return HttpResponse::FromJson(200, ConnectionToJson(*c, catalog));
  });

  t.emplace_back("saveConnection", [service, &catalog](HttpRequest& req) {
    if (!service) return NotConfigured();
    auto body = ParseJsonBody(req, true);
    if (!body) return ErrorResponse(body.error());
    auto c = service->Update(req.Param("id"), *body, Actor(req));
    if (!c) return ErrorResponse(c.error());
    return HttpResponse::FromJson(200, ConnectionToJson(*c, catalog));
  });

  t.emplace_back("deleteConnection", [service](HttpRequest& req) {
    if (!service) return NotConfigured();
    auto done = service->Delete(req.Param("id"));
    if (!done) return ErrorResponse(done.error());
    HttpResponse r;
    r.status = 204;
    r.content_type.clear();
    return r;
  });

  // Sends the browser to the provider. The state it carries is bound to this
  // browser by a cookie the callback checks (SameSite=Lax: it comes back on
  // the provider's top-level redirect). ?format=json answers the URL instead
  // (the cookie is set all the same).
  t.emplace_back("startConnectionOAuth", [service](HttpRequest& req) {
    if (!service) return NotConfigured();
    auto start = service->StartOAuth(req.Param("id"));
    if (!start) return ErrorResponse(start.error());
    std::string cookie = std::string(kOAuthCookie) + "=" + start->browser_nonce +
                         "; Path=/api/v1/oauth; Max-Age=" +
                         std::to_string(ConnectionService::kOAuthStateLifetime.count() / 1000) +
                         "; HttpOnly; SameSite=Lax";
    HttpResponse r;
    if (req.Query("format").value_or("") == "json") {
      r = HttpResponse::FromJson(200, Json{{"authorize_url", start->authorize_url},
                                           {"redirect_uri", service->oauth_redirect_uri()}});
    } else {
      r.status = 302;
      r.content_type.clear();
      r.headers.emplace_back("Location", start->authorize_url);
    }
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("Set-Cookie", std::move(cookie));
    return r;
  });

  // Where the provider sends the browser back: ?code=&state= (or ?error=).
  t.emplace_back("oauthCallback", [service](HttpRequest& req) {
    if (!service) return NotConfigured();
    if (auto error = req.Query("error"); error && !error->empty()) {
      std::string why = req.Query("error_description").value_or("");
      return OAuthPage(400, "Authorization refused",
                       "The provider answered " + *error + (why.empty() ? "" : ": " + why) +
                           ". Nothing was changed; you can try again from the Connections page.");
    }
    auto c = service->FinishOAuth(req.Query("state").value_or(""), req.Query("code").value_or(""),
                                  CookieValue(req, kOAuthCookie));
    if (!c) {
      int status = c.error().code == ErrorCode::kBadRequest ? 400
                   : c.error().code == ErrorCode::kNotFound ? 404
                   : c.error().code == ErrorCode::kConflict ? 409
                                                            : 502;
      return OAuthPage(status, "Authorization failed", c.error().message);
    }
    bool refresh = c->auth.contains("refresh_token") && !c->auth["refresh_token"].is_null();
    return OAuthPage(200, "Connection authorized",
                     "weft stored the tokens for connection \"" + c->name + "\" (encrypted)" +
                         (refresh ? " and refreshes the access token when it expires." : ".") +
                         " Steps that use it can run now.");
  });

  t.emplace_back("testConnection", [service](HttpRequest& req) {
    if (!service) return NotConfigured();
    auto report = service->Test(req.Param("id"));
    if (!report) return ErrorResponse(report.error());
    return HttpResponse::FromJson(200, Json{{"ok", report->ok},
                                            {"message", report->message},
                                            {"duration_ms", report->duration_ms}});
  });
}

}  // namespace weft::server
