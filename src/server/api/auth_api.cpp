// Handlers of access control: sign-in and sign-out, /me, users and
// API tokens. Who may call each is in the route table; these only translate
// HTTP to AuthService. Passwords and tokens are never logged or echoed back,
// apart from a new token's one answer.
#include <algorithm>

#include "common/time_format.h"
#include "server/access.h"
#include "server/api/api.h"
#include "server/api/body.h"
#include "server/errors.h"

namespace weft::server {
namespace {

Json UserToJson(const User& u) {
  return Json{{"id", u.id},
              {"username", u.username},
              {"role", std::string(RoleName(u.role))},
              {"created_at", FormatIso(u.created_at)}};
}

Json TokenToJson(const ApiToken& t) {
  return Json{{"id", t.id},
              {"name", t.name},
              {"role", std::string(RoleName(t.role))},
              {"prefix", t.prefix},
              {"created_at", FormatIso(t.created_at)},
              {"created_by", t.created_by},
              {"expires_at", t.expires_at ? Json(FormatIso(*t.expires_at)) : Json(nullptr)},
              {"last_used_at", t.last_used_at ? Json(FormatIso(*t.last_used_at)) : Json(nullptr)}};
}

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

HttpResponse NotSetUp() {
  return ErrorResponse(ErrorCode::kUnavailable, "access control is not set up on this server");
}

std::string SessionCookie(const std::string& value, Millis max_age, bool secure) {
  std::string c =
      std::string(kSessionCookie) + "=" + value +
      "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age.count() / 1000);
  if (secure) c += "; Secure";
  return c;
}

Result<Role> RoleField(const Json& body) {
  auto it = body.find("role");
  if (it == body.end() || !it->is_string())
    return Fail(FieldProblem("role", "is required: viewer, editor or admin"));
  auto role = ParseRole(it->get<std::string>());
  if (!role) return Fail(FieldProblem("role", "must be viewer, editor or admin"));
  return *role;
}

}  // namespace

void AddAuthHandlers(HandlerTable& t, ApiServices& s) {
  AuthService* auth = s.auth;
  std::string public_url = s.flows.options().public_url;

  t.emplace_back("login", [auth, public_url](HttpRequest& req) {
    if (!auth) return NotSetUp();
    auto body = ParseJsonBody(req, false);
    if (!body) return ErrorResponse(body.error());
    if (!body->is_object())
      return ErrorResponse(FieldProblem("body", "must be an object {username, password}"));
    std::string username = GetString(*body, "username");
    std::string password = GetString(*body, "password");
    if (username.empty() || password.empty()) {
      std::vector<FieldError> problems;
      if (username.empty()) problems.push_back({"username", "is required"});
      if (password.empty()) problems.push_back({"password", "is required"});
      return ErrorResponse(
          Error(ErrorCode::kValidation, "username and password are required", problems));
    }
    auto ok = auth->Login(username, password, req.remote_address);
    if (!ok) {
      HttpResponse r = ErrorResponse(ok.error());
      if (ok.error().code == ErrorCode::kTooManyRequests) {
        int64_t wait = auth->LockedFor(username, req.remote_address);
        r.headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(wait, 1)));
      }
      return r;
    }
    HttpResponse r =
        HttpResponse::FromJson(200, Json{{"user", UserToJson(ok->user)},
                                         {"role", std::string(RoleName(ok->user.role))},
                                         {"csrf_token", ok->principal.csrf_token},
                                         {"expires_at", FormatIso(ok->expires_at)}});
    r.headers.emplace_back("Set-Cookie", SessionCookie(ok->session_id, auth->options().session_max,
                                                       IsHttps(req, public_url)));
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  });

  t.emplace_back("logout", [auth, public_url](HttpRequest& req) {
    if (!auth) return NotSetUp();
    auto done = auth->Logout(req.caller);
    if (!done) return ErrorResponse(done.error());
    HttpResponse r = NoContent();
    r.headers.emplace_back("Set-Cookie", SessionCookie("", Millis(0), IsHttps(req, public_url)));
    return r;
  });

  t.emplace_back("getMe", [](HttpRequest& req) {
    const Principal& p = req.caller;
    Json me{{"role", std::string(RoleName(p.role))}, {"user", nullptr}};
    switch (p.via) {
      case Principal::Via::kAnonymous:  // a public route never reaches here
        me["open"] = false;
        me["via"] = "anonymous";
        break;
      case Principal::Via::kOpen:
        me["open"] = true;
        me["via"] = "open";
        break;
      case Principal::Via::kSession:
        me["open"] = false;
        me["via"] = "session";
        me["user"] = Json{
            {"id", p.user_id}, {"username", p.username}, {"role", std::string(RoleName(p.role))}};
        me["csrf_token"] = p.csrf_token;
        break;
      case Principal::Via::kToken:
        me["open"] = false;
        me["via"] = "token";
        me["token"] = Json{{"id", p.token_id}, {"name", p.token_name}, {"prefix", p.token_prefix}};
        break;
    }
    HttpResponse r = HttpResponse::FromJson(200, me);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  });

  t.emplace_back("listUsers", [auth](HttpRequest&) {
    if (!auth) return NotSetUp();
    auto users = auth->ListUsers();
    if (!users) return ErrorResponse(users.error());
    Json list = Json::array();
    for (const auto& u : *users) list.push_back(UserToJson(u));
    return HttpResponse::FromJson(200, Json{{"users", std::move(list)}});
  });

  t.emplace_back("createUser", [auth](HttpRequest& req) {
    if (!auth) return NotSetUp();
    auto body = ParseJsonBody(req, false);
    if (!body) return ErrorResponse(body.error());
    if (!body->is_object())
      return ErrorResponse(FieldProblem("body", "must be an object {username, password, role}"));
    auto role = RoleField(*body);
    if (!role) return ErrorResponse(role.error());
    auto user = auth->AddUser(GetString(*body, "username"), GetString(*body, "password"), *role);
    if (!user) return ErrorResponse(user.error());
    return HttpResponse::FromJson(201, UserToJson(*user));
  });

  t.emplace_back("deleteUser", [auth](HttpRequest& req) {
    if (!auth) return NotSetUp();
    auto gone = auth->RemoveUser(req.Param("id"));
    if (!gone) return ErrorResponse(gone.error());
    return NoContent();
  });

  t.emplace_back("listTokens", [auth](HttpRequest&) {
    if (!auth) return NotSetUp();
    auto tokens = auth->ListTokens();
    if (!tokens) return ErrorResponse(tokens.error());
    Json list = Json::array();
    for (const auto& tk : *tokens) list.push_back(TokenToJson(tk));
    return HttpResponse::FromJson(200, Json{{"tokens", std::move(list)}});
  });

  t.emplace_back("createToken", [auth](HttpRequest& req) {
    if (!auth) return NotSetUp();
    auto body = ParseJsonBody(req, false);
    if (!body) return ErrorResponse(body.error());
    if (!body->is_object())
      return ErrorResponse(FieldProblem("body", "must be an object {name, role, expires_in}"));
    auto role = RoleField(*body);
    if (!role) return ErrorResponse(role.error());
    std::optional<Millis> expires_in;
    if (auto e = body->find("expires_in"); e != body->end() && !e->is_null()) {
      if (e->is_number_integer()) {
        expires_in = Millis(e->get<int64_t>() * 1000);  // seconds
      } else if (e->is_string() && !e->get<std::string>().empty()) {
        expires_in = ParseDuration(e->get<std::string>());
        if (!expires_in)
          return ErrorResponse(
              FieldProblem("expires_in", "must be a duration such as 90d, or seconds"));
      }
    }
    auto made = auth->CreateToken(GetString(*body, "name"), *role, expires_in, req.caller.Actor());
    if (!made) return ErrorResponse(made.error());
    Json out = TokenToJson(made->token);
    out["token"] = made->secret;
    HttpResponse r = HttpResponse::FromJson(201, out);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  });

  t.emplace_back("revokeToken", [auth](HttpRequest& req) {
    if (!auth) return NotSetUp();
    auto done = auth->RevokeToken(req.Param("id"));
    if (!done) return ErrorResponse(done.error());
    return NoContent();
  });
}

}  // namespace weft::server
