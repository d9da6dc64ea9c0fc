#include "core/connection_service.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <optional>

#include "common/base64.h"
#include "common/ids.h"
#include "common/time_format.h"
#include "common/url.h"
#include "core/api_json.h"
#include "core/document.h"
#include "core/rate_limit.h"

namespace weft {
namespace {

bool IsMask(const Json& v) {
  return v.is_string() && v.get_ref<const std::string&>() == kSecretMask;
}

bool Empty(const Json& v) {
  return v.is_null() || (v.is_string() && v.get_ref<const std::string&>().empty());
}

// Checks one value against its field's type; an empty string when fine.
std::string TypeProblem(const FieldSpec& f, const Json& v) {
  if (v.is_null()) return "";
  if (IsMask(v) && f.secret) return "";
  const std::string& t = f.type;
  if (t == "string" || t == "text" || t == "expression") {
    if (!v.is_string()) return "must be a string";
  } else if (t == "integer") {
    if (!v.is_number_integer()) return "must be an integer";
  } else if (t == "number") {
    if (!v.is_number()) return "must be a number";
  } else if (t == "boolean") {
    if (!v.is_boolean()) return "must be true or false";
  } else if (t == "object") {
    if (!v.is_object()) return "must be an object";
  } else if (t == "array") {
    if (!v.is_array()) return "must be an array";
  } else if (t == "duration") {
    if (!(v.is_number() || (v.is_string() && ParseDuration(v.get<std::string>()))))
      return "must be a duration such as 30s";
  } else if (t == "enum") {
    if (!v.is_string() || std::find(f.enum_values.begin(), f.enum_values.end(),
                                    v.get<std::string>()) == f.enum_values.end()) {
      std::string list;
      for (const auto& e : f.enum_values) list += (list.empty() ? "" : ", ") + e;
      return "must be one of " + list;
    }
  }
  return "";
}

void CheckFields(const Json& obj, const std::vector<FieldSpec>& fields, const std::string& prefix,
                 std::vector<FieldError>& problems) {
  for (const auto& f : fields) {
    auto it = obj.find(f.name);
    bool missing = it == obj.end() || Empty(*it);
    if (missing) {
      if (f.required && f.default_value.is_null())
        problems.push_back({prefix + "." + f.name, "is required"});
      continue;
    }
    std::string problem = TypeProblem(f, *it);
    if (!problem.empty()) problems.push_back({prefix + "." + f.name, problem});
  }
}

// Replaces every masked secret of `obj` by the stored value (or drops it).
void KeepMasked(Json& obj, const Json& stored, const std::vector<FieldSpec>& fields) {
  for (const auto& f : fields) {
    if (!f.secret) continue;
    auto it = obj.find(f.name);
    if (it == obj.end() || !IsMask(*it)) continue;
    if (stored.is_object() && stored.contains(f.name)) {
      *it = stored[f.name];
    } else {
      obj.erase(f.name);
    }
  }
}

// A mask with no stored value behind it (a new connection, another auth type) holds nothing.
void DropMasks(Json& obj, const std::vector<FieldSpec>& fields) {
  for (const auto& f : fields)
    if (f.secret && obj.contains(f.name) && IsMask(obj[f.name])) obj.erase(f.name);
}

const AuthTypeSpec* FindAuthType(const ConnectorSpec& spec, const std::string& name) {
  for (const auto& a : spec.auth_types)
    if (a.name == name) return &a;
  return nullptr;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

ConnectionService::ConnectionService(Store& store, const ActionCatalog& catalog,
                                     const SecretBox& box, Clock& clock)
    : store_(store), catalog_(catalog), box_(box), clock_(clock) {}

Result<Connection> ConnectionService::FromBody(const Json& body, const Connection* stored) {
  if (!body.is_object())
    return Fail(ErrorCode::kValidation, "the body must be an object", {{"", "must be an object"}});
  std::vector<FieldError> problems;
  Connection c;
  if (stored) c = *stored;

  auto name = body.find("name");
  if (name == body.end() || !name->is_string() || name->get<std::string>().empty()) {
    problems.push_back({"name", "is required"});
  } else if (name->get<std::string>().size() > 200) {
    problems.push_back({"name", "must be at most 200 characters"});
  } else {
    c.name = name->get<std::string>();
  }

  auto connector = body.find("connector");
  if (stored && (connector == body.end() || connector->is_null())) {
    // A PUT may leave the connector out.
  } else if (connector == body.end() || !connector->is_string() ||
             connector->get<std::string>().empty()) {
    problems.push_back({"connector", "is required"});
  } else {
    c.connector = connector->get<std::string>();
  }
  const ConnectorSpec* spec = c.connector.empty() ? nullptr : catalog_.FindConnector(c.connector);
  if (!c.connector.empty() && (!spec || !spec->needs_connection))
    problems.push_back({"connector", "unknown connector \"" + c.connector + "\""});

  Json settings = body.value("settings", Json::object());
  if (settings.is_null()) settings = Json::object();
  if (!settings.is_object()) {
    problems.push_back({"settings", "must be an object"});
    settings = Json::object();
  }
  Json auth = body.value("auth", Json::object());
  if (auth.is_null()) auth = Json::object();
  if (!auth.is_object()) {
    problems.push_back({"auth", "must be an object"});
    auth = Json::object();
  }
  auto active = body.find("active");
  if (active != body.end() && !active->is_null()) {
    if (!active->is_boolean()) {
      problems.push_back({"active", "must be true or false"});
    } else {
      c.active = active->get<bool>();
    }
  } else if (!stored) {
    c.active = true;
  }

  if (spec) {
    // Masked secrets keep what is stored (same connector and auth type only).
    bool same_connector = stored && stored->connector == c.connector;
    if (same_connector) KeepMasked(settings, stored->settings, spec->fields);
    DropMasks(settings, spec->fields);
    CheckFields(settings, spec->fields, "settings", problems);
    // Any connection may limit its own rate (core/rate_limit.h), over its connector's default.
    if (auto rl = settings.find("rate_limit"); rl != settings.end())
      (void)ParseRateLimit(*rl, "settings.rate_limit", problems);

    std::string type = GetString(auth, "type");
    if (type.empty() && auth.contains("type") && !auth["type"].is_string())
      problems.push_back({"auth.type", "must be a string"});
    if (type.empty() && !spec->auth_types.empty()) {
      bool has_none = std::any_of(spec->auth_types.begin(), spec->auth_types.end(),
                                  [](const auto& a) { return a.name == "none"; });
      type = has_none ? "none" : spec->auth_types.front().name;
      auth["type"] = type;
    }
    const AuthTypeSpec* auth_spec = nullptr;
    for (const auto& a : spec->auth_types)
      if (a.name == type) auth_spec = &a;
    if (!spec->auth_types.empty() && !auth_spec) {
      std::string names;
      for (const auto& a : spec->auth_types) names += (names.empty() ? "" : ", ") + a.name;
      problems.push_back({"auth.type", "must be one of " + names});
    } else if (auth_spec) {
      if (same_connector && GetString(stored->auth, "type") == type)
        KeepMasked(auth, stored->auth, auth_spec->fields);
      DropMasks(auth, auth_spec->fields);
      CheckFields(auth, auth_spec->fields, "auth", problems);
    }
  }
  if (!problems.empty()) {
    std::string message = problems.size() == 1
                              ? problems[0].path + " " + problems[0].message
                              : std::to_string(problems.size()) + " problems with the connection";
    return Fail(ErrorCode::kValidation, message, std::move(problems));
  }
  c.settings = std::move(settings);
  c.auth = std::move(auth);
  SealConnectionSecrets(c, *spec, box_);
  return c;
}

Result<Connection> ConnectionService::Create(const Json& body, const std::string& actor) {
  auto c = FromBody(body, nullptr);
  if (!c) return c;
  c->id.clear();
  c->created_at = c->updated_at = clock_.Now();
  c->updated_by = actor;
  return store_.CreateConnection(*c);
}

Result<Connection> ConnectionService::Update(const std::string& id, const Json& body,
                                             const std::string& actor) {
  auto stored = store_.GetConnection(id);
  if (!stored) return stored;
  auto c = FromBody(body, &*stored);
  if (!c) return c;
  if (c->name != stored->name) {
    auto users = FlowsUsing(stored->name);
    if (!users) return Fail(std::move(users).error());
    if (!users->empty())
      return Fail(ErrorCode::kConflict, "connection \"" + stored->name +
                                            "\" cannot be renamed: it is used by the flows " +
                                            JoinNames(*users));
  }
  c->id = stored->id;
  c->created_at = stored->created_at;
  c->updated_at = clock_.Now();
  c->updated_by = actor;
  return store_.UpdateConnection(*c);
}

Result<Connection> ConnectionService::Get(const std::string& id) {
  return store_.GetConnection(id);
}

Result<std::vector<Connection>> ConnectionService::List() { return store_.ListConnections(); }

Result<void> ConnectionService::Delete(const std::string& id) {
  auto stored = store_.GetConnection(id);
  if (!stored) return Fail(std::move(stored).error());
  auto users = FlowsUsing(stored->name);
  if (!users) return Fail(std::move(users).error());
  if (!users->empty())
    return Fail(ErrorCode::kConflict, "connection \"" + stored->name +
                                          "\" cannot be deleted: it is used by the flows " +
                                          JoinNames(*users));
  return store_.DeleteConnection(id);
}

Result<Connection> ConnectionService::Open(Connection c) const {
  const ConnectorSpec* spec = catalog_.FindConnector(c.connector);
  if (!spec) return c;
  auto opened = OpenConnectionSecrets(c, *spec, box_);
  if (!opened) return Fail(std::move(opened).error());
  return c;
}

Result<Connection> ConnectionService::Resolve(const std::string& name) {
  auto c = store_.GetConnectionByName(name);
  if (!c) return c;
  return Open(std::move(*c));
}

Result<ConnectionTestReport> ConnectionService::Test(const std::string& id) {
  auto stored = store_.GetConnection(id);
  if (!stored) return Fail(std::move(stored).error());
  auto c = Open(std::move(*stored));
  if (!c) return Fail(std::move(c).error());
  ConnectionTestReport report;
  const ConnectionTester* tester = catalog_.FindTester(c->connector);
  if (!tester) {
    report.ok = true;
    report.message = "the " + c->connector + " connector has no test";
    return report;
  }
  auto start = std::chrono::steady_clock::now();
  ConnectionTestResult r = (*tester)(*c, clock_);
  report.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  report.ok = r.ok;
  report.message = std::move(r.message);
  return report;
}

Result<std::vector<std::string>> ConnectionService::FlowsUsing(const std::string& name) {
  auto flows = store_.ListFlows();
  if (!flows) return Fail(std::move(flows).error());
  std::vector<std::string> users;
  for (const auto& f : *flows) {
    auto doc = ParseStoredDocument(f.document);
    if (!doc) continue;
    auto used = ConnectionsUsed(*doc);
    if (std::find(used.begin(), used.end(), name) != used.end()) users.push_back(f.name);
  }
  return users;
}

Result<ConnectionService::OAuthStart> ConnectionService::StartOAuth(const std::string& id) {
  auto stored = store_.GetConnection(id);
  if (!stored) return Fail(std::move(stored).error());
  std::string type = GetString(stored->auth, "type");
  if (!catalog_.FindOAuthExchanger(stored->connector, type))
    return Fail(
        ErrorCode::kValidation,
        "connection \"" + stored->name + "\" does not use an OAuth2 authorization code auth type",
        {{"auth.type", "must be oauth2_code to authorize in the browser"}});
  std::string authorize_url = GetString(stored->auth, "authorize_url");
  if (authorize_url.empty()) {
    // A manifest connector names its provider's URL as the field's default.
    if (const ConnectorSpec* spec = catalog_.FindConnector(stored->connector))
      for (const auto& a : spec->auth_types)
        if (a.name == type)
          for (const auto& f : a.fields)
            if (f.name == "authorize_url" && f.default_value.is_string())
              authorize_url = f.default_value.get<std::string>();
  }
  if (authorize_url.empty())
    return Fail(ErrorCode::kValidation, "auth.authorize_url is required",
                {{"auth.authorize_url", "is required"}});
  if (oauth_redirect_uri_.empty())
    return Fail(ErrorCode::kUnavailable, "OAuth callbacks are not set up in this server");

  OAuthStart out;
  out.browser_nonce = RandomToken(160);
  std::string verifier = RandomToken(256);  // PKCE: 43+ characters of [A-Za-z0-9]
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(verifier.data()),
                     verifier.size());
  TimePoint expires = clock_.Now() + kOAuthStateLifetime;
  Json payload = {{"c", stored->id},
                  {"n", out.browser_nonce},
                  {"e", ToUnixMs(expires)},
                  {"v", verifier},
                  {"r", oauth_redirect_uri_}};
  std::string sealed = box_.Encrypt(payload).substr(SecretBox::kPrefix.size());
  auto bytes = Base64Decode(sealed);
  if (!bytes) return Fail(ErrorCode::kInternal, "could not encode the OAuth state");
  const std::string state = Base64Encode(*bytes, Base64Alphabet::kUrlSafe);

  std::string url = authorize_url;
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += "response_type=code&client_id=" + UrlEncode(GetString(stored->auth, "client_id")) +
         "&redirect_uri=" + UrlEncode(oauth_redirect_uri_) + "&state=" + state +
         "&code_challenge=" +
         Base64Encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest),
                      Base64Alphabet::kUrlSafe) +
         "&code_challenge_method=S256";
  std::string scope = GetString(stored->auth, "scope");
  if (!scope.empty()) url += "&scope=" + UrlEncode(scope);
  std::string extra = GetString(stored->auth, "authorize_params");
  while (!extra.empty() && (extra.front() == '&' || extra.front() == '?')) extra.erase(0, 1);
  if (!extra.empty()) url += "&" + extra;
  out.authorize_url = std::move(url);
  return out;
}

Result<Connection> ConnectionService::FinishOAuth(const std::string& state, const std::string& code,
                                                  const std::string& browser_nonce) {
  auto invalid = [](const std::string& why) {
    return Fail(ErrorCode::kBadRequest, "this authorization cannot be completed: " + why +
                                            ". Start it again from the Connections page.");
  };
  if (state.empty()) return invalid("the provider sent no state");
  auto bytes = Base64Decode(state, Base64Alphabet::kUrlSafe);
  if (!bytes) return invalid("the state is not one this server made");
  auto payload = box_.Decrypt(std::string(SecretBox::kPrefix) + Base64Encode(*bytes));
  if (!payload || !payload->is_object()) return invalid("the state is not one this server made");
  std::string nonce = GetString(*payload, "n");
  TimePoint expires = FromUnixMs(payload->value("e", int64_t{0}));
  TimePoint now = clock_.Now();
  if (now >= expires) return invalid("it was started more than 10 minutes ago");
  if (browser_nonce.size() != nonce.size() ||
      sodium_memcmp(browser_nonce.data(), nonce.data(), nonce.size()) != 0)
    return invalid("it was started in another browser (or its cookie is gone)");
  {
    std::lock_guard<std::mutex> g(oauth_mu_);
    std::erase_if(oauth_used_, [&](const auto& kv) { return kv.second <= now; });
    if (!oauth_used_.emplace(nonce, expires).second)
      return invalid("it has been completed already");
  }
  if (code.empty()) return invalid("the provider sent no code");

  auto stored = store_.GetConnection(GetString(*payload, "c"));
  if (!stored) return Fail(std::move(stored).error());
  const ConnectorSpec* spec = catalog_.FindConnector(stored->connector);
  std::string type = GetString(stored->auth, "type");
  const OAuthExchanger* exchange = catalog_.FindOAuthExchanger(stored->connector, type);
  const AuthTypeSpec* auth_spec = spec ? FindAuthType(*spec, type) : nullptr;
  if (!spec || !exchange || !auth_spec)
    return Fail(ErrorCode::kConflict,
                "connection \"" + stored->name + "\" no longer uses OAuth2 authorization code");
  auto opened = Open(*stored);
  if (!opened) return Fail(std::move(opened).error());
  OAuthCodeGrant grant{code, GetString(*payload, "r"), GetString(*payload, "v")};
  auto tokens = (*exchange)(*opened, grant, clock_);
  if (!tokens) return Fail(std::move(tokens).error());

  // The tokens go into the stored (sealed) auth and are sealed in turn.
  Connection c = std::move(*stored);
  c.auth["access_token"] = (*tokens)["access_token"];
  if (tokens->contains("refresh_token") && (*tokens)["refresh_token"].is_string())
    c.auth["refresh_token"] =
        (*tokens)["refresh_token"];  // else a refresh token stored before stays
  c.auth.erase("expires_at");
  if (auto e = tokens->find("expires_in"); e != tokens->end() && e->is_number()) {
    int64_t seconds = e->get<int64_t>();
    int64_t margin = std::min<int64_t>(30, seconds / 10);  // stop using it a little early
    c.auth["expires_at"] = FormatIso(now + Millis((seconds - margin) * 1000));
  }
  SealConnectionSecrets(c, *spec, box_);
  c.updated_at = now;
  return store_.UpdateConnection(c);
}

Result<void> ConnectionService::SaveRefreshedTokens(const std::string& id,
                                                    const std::string& access_token,
                                                    const std::string& refresh_token,
                                                    std::optional<TimePoint> expires_at) {
  auto stored = store_.GetConnection(id);
  if (!stored) return Fail(std::move(stored).error());
  const ConnectorSpec* spec = catalog_.FindConnector(stored->connector);
  if (!spec)
    return Fail(ErrorCode::kConflict,
                "connection \"" + stored->name + "\" has an unknown connector");
  Connection c = std::move(*stored);
  c.auth["access_token"] = access_token;
  c.auth["refresh_token"] = refresh_token;
  if (expires_at)
    c.auth["expires_at"] = FormatIso(*expires_at);
  else
    c.auth.erase("expires_at");
  SealConnectionSecrets(c, *spec, box_);
  c.updated_at = clock_.Now();
  auto updated = store_.UpdateConnection(c);
  if (!updated) return Fail(std::move(updated).error());
  return Ok();
}

}  // namespace weft
