// Access control's values: roles, users, API tokens and sessions as
// the store keeps them. Only hashes of secrets live here: a user's Argon2id
// password hash, a token's and a session id's BLAKE2b hash. Plain values.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace weft {

// Ordered: each role may do what the ones below it may.
enum class Role { kViewer = 1, kEditor = 2, kAdmin = 3 };

inline std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kViewer:
      return "viewer";
    case Role::kEditor:
      return "editor";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

inline std::optional<Role> ParseRole(std::string_view s) {
  if (s == "viewer") return Role::kViewer;
  if (s == "editor") return Role::kEditor;
  if (s == "admin") return Role::kAdmin;
  return std::nullopt;
}

struct User {
  std::string id;
  std::string username;
  std::string password_hash;  // crypto_pwhash_str (Argon2id); never the password
  Role role = Role::kViewer;
  TimePoint created_at{};
};

struct ApiToken {
  std::string id;
  std::string name;
  Role role = Role::kViewer;
  std::string prefix;  // the first characters of the token ("wft_AbC12x"), to tell tokens apart
  std::string hash;    // hex BLAKE2b-256 of the whole token; the token itself is never stored
  TimePoint created_at{};
  std::string created_by;
  std::optional<TimePoint> expires_at;
  std::optional<TimePoint> last_used_at;
};

struct Session {
  std::string id_hash;  // hex BLAKE2b-256 of the cookie's value
  std::string user_id;
  TimePoint created_at{};
  TimePoint last_seen_at{};
  TimePoint expires_at{};  // absolute end, whatever the activity
};

// Who is calling, as access control established it.
struct Principal {
  // kAnonymous: nobody in particular (a public route once users exist).
  enum class Via { kOpen, kSession, kToken, kAnonymous };
  Via via = Via::kOpen;
  Role role = Role::kAdmin;  // open mode: callers act as admin
  std::string user_id;       // a session's user
  std::string username;
  std::string token_id;  // a token's
  std::string token_name;
  std::string token_prefix;
  std::string session_hash;  // a session's id hash (to sign out)
  std::string csrf_token;    // a session's: X-CSRF-Token must carry it on changes

  // What history records as `updated_by`: the user name, "token:NAME", or "" in open mode.
  std::string Actor() const {
    if (via == Via::kSession) return username;
    if (via == Via::kToken) return "token:" + token_name;
    return "";
  }
};

}  // namespace weft
