// AuthService: access control's use cases, shared by the HTTP API
// and the CLI: users with Argon2id password hashes, sign-in with throttling
// per user name and per address, UI sessions that end after inactivity, and
// API tokens (`wft_...`) stored only as hashes. Verified sessions and tokens
// are cached for at most `cache_ttl` (so a change made by another node shows
// within it); a revocation or removal on this node takes effect at once.
// Argon2 runs only at sign-in and when a user is added, never per request.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "core/auth_model.h"
#include "core/store.h"

namespace weft {

struct AuthOptions {
  Millis session_idle{12LL * 3600 * 1000};     // a session unused this long ends
  Millis session_max{7LL * 24 * 3600 * 1000};  // and any session ends after this
  int user_failures = 5;                       // failed sign-ins of one name before it is locked
  int address_failures = 20;                   // from one address, whatever the names
  Millis lockout{30'000};                      // the first lock; each further failure doubles it
  Millis max_lockout{15LL * 60 * 1000};
  Millis cache_ttl{1000};      // how long a verified session or token is trusted
  Millis touch_every{60'000};  // last_seen / last_used are written at most this often
  size_t password_min = 8;
  int hashing_at_once = 2;  // Argon2 runs at once (64 MiB each)
};

struct LoginOk {
  std::string session_id;  // the cookie's value; shown once, stored hashed
  Principal principal;
  User user;
  TimePoint expires_at{};
};

struct NewToken {
  ApiToken token;
  std::string secret;  // "wft_..."; shown once, stored hashed
};

class AuthService {
 public:
  AuthService(Store& store, Clock& clock, AuthOptions options = {});

  // True once a user exists (then every API call needs credentials).
  Result<bool> UsersExist();

  // kValidation (username, password, role paths); kConflict when the name is taken.
  Result<User> AddUser(const std::string& username, const std::string& password, Role role);
  Result<std::vector<User>> ListUsers();
  // By id or user name. Ends the user's sessions at once. kConflict for the
  // last admin while other users remain.
  Result<User> RemoveUser(const std::string& id_or_name);

  // kUnauthorized "invalid username or password" whether or not the name
  // exists; kTooManyRequests (message says when to retry) while the name or
  // the address is locked after repeated failures, even with the right password.
  Result<LoginOk> Login(const std::string& username, const std::string& password,
                        const std::string& address);
  Result<void> Logout(const Principal& p);

  // kUnauthorized unless the value is a live session / a known, unexpired token.
  Result<Principal> AuthenticateSession(const std::string& session_id);
  Result<Principal> AuthenticateToken(const std::string& token);
  // Constant time.
  static bool CsrfMatches(const Principal& p, std::string_view header);

  // `expires_in` empty: never expires. kValidation for a bad name or duration.
  Result<NewToken> CreateToken(const std::string& name, Role role, std::optional<Millis> expires_in,
                               const std::string& actor);
  Result<std::vector<ApiToken>> ListTokens();
  // Refused at once on this node; on other nodes within cache_ttl.
  Result<void> RevokeToken(const std::string& id);

  // Seconds the throttle still holds for this name or address (0: free). For tests and logs.
  int64_t LockedFor(const std::string& username, const std::string& address);

  const AuthOptions& options() const { return options_; }

 private:
  struct Cached {
    Principal principal;
    TimePoint fetched{};            // when the store was last read
    TimePoint last_seen{};          // sessions: as stored; tokens: last_used_at
    std::optional<TimePoint> ends;  // token expiry / session absolute end
  };
  struct Failures {
    int count = 0;
    TimePoint last{};
    TimePoint locked_until{};
  };

  bool VerifyHashOrDummy(const std::string* hash, const std::string& password);
  void NoteFailure(std::unordered_map<std::string, Failures>& map, const std::string& key,
                   int threshold, TimePoint now);
  void EvictUser(const std::string& user_id);
  void Trim(std::unordered_map<std::string, Cached>& map, TimePoint now);
  void AcquireHashSlot();
  void ReleaseHashSlot();

  Store& store_;
  Clock& clock_;
  AuthOptions options_;

  std::mutex mu_;
  std::unordered_map<std::string, Cached> sessions_;  // by id hash
  std::unordered_map<std::string, Cached> tokens_;    // by token hash
  std::unordered_map<std::string, Failures> by_user_, by_address_;
  std::unordered_map<std::string, TimePoint> revoked_;  // token id -> when
  std::optional<bool> users_exist_;
  TimePoint users_checked_{};
  std::string dummy_hash_;

  std::mutex hash_mu_;
  std::condition_variable hash_cv_;
  int hashing_ = 0;
};

// The hex BLAKE2b-256 of a secret: how tokens and session ids are stored.
std::string HashSecret(std::string_view secret);

}  // namespace weft
