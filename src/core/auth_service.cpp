#include "core/auth_service.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>

#include "common/ids.h"
#include "common/log.h"

namespace weft {
namespace {

constexpr std::string_view kTokenPrefix = "wft_";
constexpr size_t kShownPrefix = 10;  // "wft_" and 6 characters
constexpr size_t kMaxCached = 10'000;

std::string Hex(const unsigned char* p, size_t n) {
  std::string out(n * 2, '\0');
  sodium_bin2hex(out.data(), out.size() + 1, p, n);
  return out;
}

// The CSRF token of a session: derived from its id, so nothing more is stored
// and a reloaded page gets the same one back from GET /me.
std::string CsrfFor(const std::string& session_id) {
  unsigned char out[32];
  static const char kMsg[] = "weft csrf v1";
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(kMsg), sizeof kMsg - 1,
                     reinterpret_cast<const unsigned char*>(session_id.data()),
                     std::min<size_t>(session_id.size(), crypto_generichash_KEYBYTES_MAX));
  return Hex(out, sizeof out);
}

Unexpected Unauthorized(std::string message) {
  return Fail(ErrorCode::kUnauthorized, std::move(message));
}

Unexpected BadLogin() { return Unauthorized("invalid username or password"); }

bool ValidUsername(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    unsigned char c = static_cast<unsigned char>(ch);
    return std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '@';
  });
}

// For logs: a name as typed, cut short and without control characters.
std::string Printable(const std::string& s) {
  std::string out;
  for (char ch : s.substr(0, 64))
    out.push_back(std::isprint(static_cast<unsigned char>(ch)) ? ch : '?');
  return out;
}

}  // namespace

std::string HashSecret(std::string_view secret) {
  unsigned char out[32];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), nullptr, 0);
  return Hex(out, sizeof out);
}

AuthService::AuthService(Store& store, Clock& clock, AuthOptions options)
    : store_(store), clock_(clock), options_(options) {
  if (sodium_init() < 0) log::Error("libsodium failed to initialise");
}

Result<bool> AuthService::UsersExist() {
  TimePoint now = clock_.Now();
  {
    std::lock_guard lock(mu_);
    if (users_exist_ && now - users_checked_ < options_.cache_ttl) return *users_exist_;
  }
  auto users = store_.ListUsers();
  if (!users) return Fail(users.error());
  std::lock_guard lock(mu_);
  users_exist_ = !users->empty();
  users_checked_ = now;
  return *users_exist_;
}

// ---- users ---------------------------------------------------------------------

void AuthService::AcquireHashSlot() {
  std::unique_lock lock(hash_mu_);
  hash_cv_.wait(lock, [&] { return hashing_ < std::max(1, options_.hashing_at_once); });
  ++hashing_;
}

void AuthService::ReleaseHashSlot() {
  {
    std::lock_guard lock(hash_mu_);
    --hashing_;
  }
  hash_cv_.notify_one();
}

Result<User> AuthService::AddUser(const std::string& username, const std::string& password,
                                  Role role) {
  std::vector<FieldError> problems;
  if (!ValidUsername(username)) {
    problems.push_back({"username", "must be 1 to 64 characters: letters, digits, . _ - @"});
  }
  if (password.size() < options_.password_min) {
    problems.push_back(
        {"password", "must be at least " + std::to_string(options_.password_min) + " characters"});
  } else if (password.size() > 1024) {
    problems.push_back({"password", "must be at most 1024 characters"});
  }
  if (!problems.empty())
    return Fail(ErrorCode::kValidation, "the user is invalid", std::move(problems));

  User u;
  u.username = username;
  u.role = role;
  char hash[crypto_pwhash_STRBYTES];
  AcquireHashSlot();
  int rc =
      crypto_pwhash_str(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE);
  ReleaseHashSlot();
  if (rc != 0) return Fail(ErrorCode::kInternal, "cannot hash the password (out of memory)");
  u.password_hash = hash;
  auto stored = store_.CreateUser(u);
  if (!stored) return stored;
  {
    std::lock_guard lock(mu_);
    users_exist_ = true;
    users_checked_ = clock_.Now();
  }
  log::Info("user added",
            {{"user", stored->username}, {"role", std::string(RoleName(stored->role))}});
  return stored;
}

Result<std::vector<User>> AuthService::ListUsers() { return store_.ListUsers(); }

Result<User> AuthService::RemoveUser(const std::string& id_or_name) {
  auto users = store_.ListUsers();
  if (!users) return Fail(users.error());
  auto it =
      std::find_if(users->begin(), users->end(), [&](const User& u) { return u.id == id_or_name; });
  if (it == users->end()) {
    it = std::find_if(users->begin(), users->end(),
                      [&](const User& u) { return u.username == id_or_name; });
  }
  if (it == users->end()) return Fail(ErrorCode::kNotFound, "user " + id_or_name + " not found");
  User gone = *it;
  if (gone.role == Role::kAdmin && users->size() > 1) {
    bool other_admin = std::any_of(users->begin(), users->end(), [&](const User& u) {
      return u.role == Role::kAdmin && u.id != gone.id;
    });
    if (!other_admin) {
      return Fail(ErrorCode::kConflict,
                  "\"" + gone.username +
                      "\" is the last admin; make another admin first, or remove the other "
                      "users first");
    }
  }
  auto done = store_.DeleteUser(gone.id);
  if (!done) return Fail(done.error());
  EvictUser(gone.id);
  {
    std::lock_guard lock(mu_);
    users_exist_ = users->size() > 1;
    users_checked_ = clock_.Now();
  }
  log::Info("user removed", {{"user", gone.username}});
  return gone;
}

void AuthService::EvictUser(const std::string& user_id) {
  std::lock_guard lock(mu_);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second.principal.user_id == user_id) {
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
}

// ---- sign-in -------------------------------------------------------------------

int64_t AuthService::LockedFor(const std::string& username, const std::string& address) {
  TimePoint now = clock_.Now();
  std::lock_guard lock(mu_);
  TimePoint until{};
  if (auto it = by_user_.find(username); it != by_user_.end())
    until = std::max(until, it->second.locked_until);
  if (auto it = by_address_.find(address); it != by_address_.end())
    until = std::max(until, it->second.locked_until);
  if (until <= now) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(until - now +
                                                          std::chrono::milliseconds(999))
      .count();
}

void AuthService::NoteFailure(std::unordered_map<std::string, Failures>& map,
                              const std::string& key, int threshold, TimePoint now) {
  if (map.size() > kMaxCached) {
    for (auto it = map.begin(); it != map.end();) {
      if (now - it->second.last > options_.max_lockout && it->second.locked_until <= now) {
        it = map.erase(it);
      } else {
        ++it;
      }
    }
  }
  Failures& f = map[key];
  // Failures long ago are forgiven.
  if (f.count > 0 && now - f.last > options_.max_lockout && f.locked_until <= now) f.count = 0;
  f.count++;
  f.last = now;
  if (f.count >= threshold) {
    int extra = std::min(f.count - threshold, 16);
    Millis lock = options_.lockout * (int64_t{1} << extra);
    f.locked_until = now + std::min(lock, options_.max_lockout);
  }
}

bool AuthService::VerifyHashOrDummy(const std::string* hash, const std::string& password) {
  std::string dummy;
  if (!hash) {
    // An unknown name costs as much as a known one: nothing tells them apart.
    {
      std::lock_guard lock(mu_);
      dummy = dummy_hash_;
    }
    if (dummy.empty()) {
      char out[crypto_pwhash_STRBYTES];
      std::string random = RandomToken(128);
      if (crypto_pwhash_str(out, random.data(), random.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0) {
        dummy = out;
        std::lock_guard lock(mu_);
        dummy_hash_ = dummy;
      }
    }
    hash = &dummy;
  }
  AcquireHashSlot();
  bool match = !hash->empty() &&
               crypto_pwhash_str_verify(hash->c_str(), password.data(), password.size()) == 0;
  ReleaseHashSlot();
  return match;
}

Result<LoginOk> AuthService::Login(const std::string& username, const std::string& password,
                                   const std::string& address) {
  TimePoint now = clock_.Now();
  if (int64_t wait = LockedFor(username, address); wait > 0) {
    log::Warn("login refused: throttled", {{"user", Printable(username)},
                                           {"address", address},
                                           {"retry_after_s", std::to_string(wait)}});
    return Fail(ErrorCode::kTooManyRequests,
                "too many failed sign-ins; try again in " + std::to_string(wait) + " s");
  }
  auto user = store_.GetUserByName(username);
  if (!user && user.error().code != ErrorCode::kNotFound) return Fail(user.error());
  bool ok = VerifyHashOrDummy(user ? &user->password_hash : nullptr, password) && user.has_value();
  if (!ok) {
    {
      std::lock_guard lock(mu_);
      NoteFailure(by_user_, username, options_.user_failures, now);
      NoteFailure(by_address_, address, options_.address_failures, now);
    }
    log::Warn("login failed", {{"user", Printable(username)}, {"address", address}});
    return BadLogin();
  }
  {
    std::lock_guard lock(mu_);
    by_user_.erase(username);
  }
  LoginOk out;
  out.session_id = RandomToken(256);
  Session s;
  s.id_hash = HashSecret(out.session_id);
  s.user_id = user->id;
  s.created_at = now;
  s.last_seen_at = now;
  s.expires_at = now + options_.session_max;
  auto stored = store_.CreateSession(s);
  if (!stored) return Fail(stored.error());
  (void)store_.PruneSessions(now - options_.session_idle, now);
  out.user = *user;
  out.expires_at = s.expires_at;
  Principal& p = out.principal;
  p.via = Principal::Via::kSession;
  p.role = user->role;
  p.user_id = user->id;
  p.username = user->username;
  p.session_hash = s.id_hash;
  p.csrf_token = CsrfFor(out.session_id);
  {
    std::lock_guard lock(mu_);
    Trim(sessions_, now);
    sessions_[s.id_hash] = Cached{p, now, now, s.expires_at};
  }
  log::Info("login", {{"user", user->username},
                      {"address", address},
                      {"role", std::string(RoleName(user->role))}});
  return out;
}

Result<void> AuthService::Logout(const Principal& p) {
  if (p.via != Principal::Via::kSession) return Ok();
  {
    std::lock_guard lock(mu_);
    sessions_.erase(p.session_hash);
  }
  auto done = store_.DeleteSession(p.session_hash);
  if (!done && done.error().code != ErrorCode::kNotFound) return done;
  log::Info("logout", {{"user", p.username}});
  return Ok();
}

void AuthService::Trim(std::unordered_map<std::string, Cached>& map, TimePoint now) {
  if (map.size() < kMaxCached) return;
  for (auto it = map.begin(); it != map.end();) {
    if (now - it->second.fetched >= options_.cache_ttl) {
      it = map.erase(it);
    } else {
      ++it;
    }
  }
  if (map.size() >= kMaxCached) map.clear();
}

Result<Principal> AuthService::AuthenticateSession(const std::string& session_id) {
  if (session_id.empty() || session_id.size() > 200) return Unauthorized("sign in first");
  std::string key = HashSecret(session_id);
  TimePoint now = clock_.Now();
  bool touch = false;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(key);
    if (it != sessions_.end() && now - it->second.fetched < options_.cache_ttl) {
      Cached& c = it->second;
      if ((c.ends && now >= *c.ends) || now - c.last_seen > options_.session_idle) {
        sessions_.erase(it);
        return Unauthorized("your session has ended; sign in again");
      }
      if (now - c.last_seen < options_.touch_every) return c.principal;
      c.last_seen = now;
      touch = true;
    }
  }
  if (touch) {
    (void)store_.TouchSession(key, now);
    std::lock_guard lock(mu_);
    if (auto it = sessions_.find(key); it != sessions_.end()) return it->second.principal;
  }
  auto s = store_.GetSession(key);
  if (!s) {
    if (s.error().code == ErrorCode::kNotFound) {
      std::lock_guard lock(mu_);
      sessions_.erase(key);
      return Unauthorized("your session has ended; sign in again");
    }
    return Fail(s.error());
  }
  if (now >= s->expires_at || now - s->last_seen_at > options_.session_idle) {
    (void)store_.DeleteSession(key);
    std::lock_guard lock(mu_);
    sessions_.erase(key);
    return Unauthorized("your session has ended; sign in again");
  }
  auto user = store_.GetUser(s->user_id);
  if (!user) {
    if (user.error().code == ErrorCode::kNotFound)
      return Unauthorized("your session has ended; sign in again");
    return Fail(user.error());
  }
  TimePoint last_seen = s->last_seen_at;
  if (now - last_seen >= options_.touch_every) {
    (void)store_.TouchSession(key, now);
    last_seen = now;
  }
  Principal p;
  p.via = Principal::Via::kSession;
  p.role = user->role;
  p.user_id = user->id;
  p.username = user->username;
  p.session_hash = key;
  p.csrf_token = CsrfFor(session_id);
  std::lock_guard lock(mu_);
  Trim(sessions_, now);
  sessions_[key] = Cached{p, now, last_seen, s->expires_at};
  return p;
}

bool AuthService::CsrfMatches(const Principal& p, std::string_view header) {
  if (p.csrf_token.empty() || header.size() != p.csrf_token.size()) return false;
  return sodium_memcmp(p.csrf_token.data(), header.data(), header.size()) == 0;
}

// ---- tokens --------------------------------------------------------------------

Result<Principal> AuthService::AuthenticateToken(const std::string& token) {
  if (!token.starts_with(kTokenPrefix) || token.size() > 200)
    return Unauthorized("invalid API token");
  std::string key = HashSecret(token);
  TimePoint now = clock_.Now();
  bool touch = false;
  std::string id;
  {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(key);
    if (it != tokens_.end() && now - it->second.fetched < options_.cache_ttl) {
      Cached& c = it->second;
      if (c.ends && now >= *c.ends) return Unauthorized("the API token has expired");
      if (now - c.last_seen < options_.touch_every) return c.principal;
      c.last_seen = now;
      touch = true;
      id = c.principal.token_id;
    }
  }
  if (touch) {
    (void)store_.TouchApiToken(id, now);
    std::lock_guard lock(mu_);
    if (auto it = tokens_.find(key); it != tokens_.end()) return it->second.principal;
  }
  auto t = store_.GetApiTokenByHash(key);
  if (!t) {
    std::lock_guard lock(mu_);
    tokens_.erase(key);
    if (t.error().code == ErrorCode::kNotFound) return Unauthorized("invalid API token");
    return Fail(t.error());
  }
  if (t->expires_at && now >= *t->expires_at) return Unauthorized("the API token has expired");
  TimePoint last_used = t->last_used_at.value_or(TimePoint{});
  if (now - last_used >= options_.touch_every) {
    (void)store_.TouchApiToken(t->id, now);
    last_used = now;
  }
  Principal p;
  p.via = Principal::Via::kToken;
  p.role = t->role;
  p.token_id = t->id;
  p.token_name = t->name;
  p.token_prefix = t->prefix;
  std::lock_guard lock(mu_);
  if (revoked_.count(t->id)) return Unauthorized("invalid API token");  // revoked while we read it
  Trim(tokens_, now);
  tokens_[key] = Cached{p, now, last_used, t->expires_at};
  return p;
}

Result<NewToken> AuthService::CreateToken(const std::string& name, Role role,
                                          std::optional<Millis> expires_in,
                                          const std::string& actor) {
  std::vector<FieldError> problems;
  if (name.empty() || name.size() > 100)
    problems.push_back({"name", "must be 1 to 100 characters"});
  if (expires_in &&
      (expires_in->count() <= 0 || *expires_in > Millis(10LL * 366 * 24 * 3600 * 1000))) {
    problems.push_back(
        {"expires_in", "must be a duration between 1s and 10 years, or null for never"});
  }
  if (!problems.empty())
    return Fail(ErrorCode::kValidation, "the token is invalid", std::move(problems));
  NewToken out;
  out.secret = std::string(kTokenPrefix) + RandomToken(256);
  ApiToken& t = out.token;
  t.name = name;
  t.role = role;
  t.prefix = out.secret.substr(0, kShownPrefix);
  t.hash = HashSecret(out.secret);
  t.created_at = clock_.Now();
  t.created_by = actor;
  if (expires_in) t.expires_at = t.created_at + *expires_in;
  auto stored = store_.CreateApiToken(t);
  if (!stored) return Fail(stored.error());
  t = *stored;
  log::Info("token created", {{"name", t.name},
                              {"prefix", t.prefix},
                              {"role", std::string(RoleName(t.role))},
                              {"by", actor}});
  return out;
}

Result<std::vector<ApiToken>> AuthService::ListTokens() { return store_.ListApiTokens(); }

Result<void> AuthService::RevokeToken(const std::string& id) {
  TimePoint now = clock_.Now();
  {
    std::lock_guard lock(mu_);
    // Remembered a little longer than a store read takes, so a request that
    // read the token just before the delete cannot cache it again.
    for (auto it = revoked_.begin(); it != revoked_.end();) {
      if (now - it->second > Millis(60'000)) {
        it = revoked_.erase(it);
      } else {
        ++it;
      }
    }
    revoked_[id] = now;
    for (auto it = tokens_.begin(); it != tokens_.end();) {
      if (it->second.principal.token_id == id) {
        it = tokens_.erase(it);
      } else {
        ++it;
      }
    }
  }
  auto done = store_.DeleteApiToken(id);
  if (!done) return done;
  log::Info("token revoked", {{"id", id}});
  return Ok();
}

}  // namespace weft
