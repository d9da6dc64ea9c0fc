// ConnectionService: the use cases of connections (docs/api.md
// /connections), shared by the HTTP API and the CLI. It validates a
// connection against its connector's spec before writing, seals every secret
// field with the SecretBox before the store sees it, keeps a stored secret
// when a PUT sends the mask "********", refuses to delete or rename a
// connection a flow uses, and runs the connector's own test. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "core/action.h"
#include "core/secrets.h"
#include "core/store.h"

namespace weft {

struct ConnectionTestReport {
  bool ok = false;
  std::string message;
  int64_t duration_ms = 0;
};

class ConnectionService {
 public:
  ConnectionService(Store& store, const ActionCatalog& catalog, const SecretBox& box, Clock& clock);

  // `body` is {name, connector, settings, auth, active}. kValidation with
  // paths (`name`, `connector`, `settings.base_url`, `auth.token`, `auth.type`);
  // kConflict when the name is taken. Answers the stored connection, its
  // secrets sealed (show it with ConnectionToJson, which masks them).
  Result<Connection> Create(const Json& body, const std::string& actor);
  // Replaces the connection's name, settings, auth and active flag. A secret
  // sent as "********" keeps its stored value. Renaming a connection that a
  // flow uses is kConflict naming the flows.
  Result<Connection> Update(const std::string& id, const Json& body, const std::string& actor);
  Result<Connection> Get(const std::string& id);
  Result<std::vector<Connection>> List();
  // kConflict naming the flows that use it.
  Result<void> Delete(const std::string& id);
  // Runs the connector's test on the stored (decrypted) connection.
  Result<ConnectionTestReport> Test(const std::string& id);

  // For the engine: the connection of that name with its secrets opened.
  // kNotFound when none; the caller checks `active`.
  Result<Connection> Resolve(const std::string& name);
  // The same for a connection already read from the store.
  Result<Connection> Open(Connection c) const;

  // Names of flows whose latest version uses the connection `name`.
  Result<std::vector<std::string>> FlowsUsing(const std::string& name);

  // ---- OAuth2 authorization code (auth types with an OAuthExchanger) ----
  // The callback URL providers send the browser back to (public URL +
  // /api/v1/oauth/callback); app/ sets it once at start-up.
  void SetOAuthRedirectUri(std::string uri) { oauth_redirect_uri_ = std::move(uri); }
  const std::string& oauth_redirect_uri() const { return oauth_redirect_uri_; }
  struct OAuthStart {
    std::string authorize_url;  // where to send the browser
    std::string browser_nonce;  // to set as a cookie in that browser; the callback wants it back
  };
  // The provider's authorization URL for connection `id` with client_id,
  // redirect_uri, scope, a PKCE challenge and `state`: the connection id, a
  // nonce, the expiry and the PKCE verifier, sealed with the SecretBox
  // (unguessable, unforgeable, bound to the connection, valid kOAuthStateLifetime).
  Result<OAuthStart> StartOAuth(const std::string& id);
  // The callback: opens `state`, checks it is unexpired, unused and matches
  // `browser_nonce` (so only the browser that started can finish), exchanges
  // `code` through the connector and stores the tokens sealed in the
  // connection (access_token, refresh_token, expires_at). Answers it.
  Result<Connection> FinishOAuth(const std::string& state, const std::string& code,
                                 const std::string& browser_nonce);
  static constexpr Millis kOAuthStateLifetime{600'000};
  // Stores the tokens of a refresh whose provider rotated the refresh token
  // (the old one no longer works) in connection `id`, sealed like the rest,
  // so the next run and a restart use them.
  Result<void> SaveRefreshedTokens(const std::string& id, const std::string& access_token,
                                   const std::string& refresh_token,
                                   std::optional<TimePoint> expires_at);

 private:
  Result<Connection> FromBody(const Json& body, const Connection* stored);

  Store& store_;
  const ActionCatalog& catalog_;
  const SecretBox& box_;
  Clock& clock_;
  std::string oauth_redirect_uri_;
  std::mutex oauth_mu_;
  std::map<std::string, TimePoint> oauth_used_;  // nonces of states already used, until they expire
};

}  // namespace weft
