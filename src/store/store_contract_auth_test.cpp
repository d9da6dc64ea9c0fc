#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "store/store_contract_test.h"
#include "store/store_contract_util.h"

namespace weft::contract {

// ---- access control ----------------------------------------------------

TEST_P(StoreContractTest, UsersAreUniqueByNameAndListedByName) {
  User bob{"", "bob", "$argon2id$v=19$fake-bob", Role::kEditor, At(1)};
  User ann{"", "ann", "$argon2id$v=19$fake-ann", Role::kAdmin, At(2)};
  User b = Must(store().CreateUser(bob));
  ASSERT_FALSE(b.id.empty());
  ASSERT_OK(store().CreateUser(ann));
  auto dup = store().CreateUser(User{"", "bob", "x", Role::kViewer, At(3)});
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);

  auto users = Must(store().ListUsers());
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].username, "ann");
  EXPECT_EQ(users[1].username, "bob");
  User got = Must(store().GetUserByName("bob"));
  EXPECT_EQ(got.id, b.id);
  EXPECT_EQ(got.password_hash, bob.password_hash);
  EXPECT_EQ(got.role, Role::kEditor);
  EXPECT_EQ(got.created_at, At(1));
  EXPECT_EQ(Must(store().GetUser(b.id)).username, "bob");
  EXPECT_EQ(store().GetUserByName("carl").error().code, ErrorCode::kNotFound);

  Reopen();
  EXPECT_EQ(Must(store().ListUsers()).size(), 2u);
}

TEST_P(StoreContractTest, DeletingAUserEndsItsSessions) {
  User u = Must(store().CreateUser(User{"", "dora", "h", Role::kViewer, At(0)}));
  User other = Must(store().CreateUser(User{"", "emil", "h", Role::kViewer, At(0)}));
  ASSERT_OK(store().CreateSession(Session{"s1", u.id, At(0), At(0), At(3600)}));
  ASSERT_OK(store().CreateSession(Session{"s2", other.id, At(0), At(0), At(3600)}));
  EXPECT_EQ(store().CreateSession(Session{"s3", "nobody", At(0), At(0), At(3600)}).error().code,
            ErrorCode::kNotFound);
  ASSERT_OK(store().DeleteUser(u.id));
  EXPECT_EQ(store().GetSession("s1").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(Must(store().GetSession("s2")).user_id, other.id);
  EXPECT_EQ(store().DeleteUser(u.id).error().code, ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, SessionsAreTouchedDeletedAndPruned) {
  User u = Must(store().CreateUser(User{"", "fay", "h", Role::kAdmin, At(0)}));
  ASSERT_OK(store().CreateSession(Session{"old", u.id, At(0), At(0), At(100'000)}));
  ASSERT_OK(store().CreateSession(Session{"fresh", u.id, At(0), At(0), At(100'000)}));
  ASSERT_OK(store().CreateSession(Session{"ending", u.id, At(0), At(0), At(50)}));
  ASSERT_OK(store().TouchSession("fresh", At(500)));
  ASSERT_OK(store().TouchSession("fresh", At(400)));  // never moves back
  EXPECT_EQ(Must(store().GetSession("fresh")).last_seen_at, At(500));
  EXPECT_EQ(Must(store().GetSession("fresh")).expires_at, At(100'000));
  // Idle since before 300 s, or past its end at 100 s: old and ending go.
  EXPECT_EQ(Must(store().PruneSessions(At(300), At(100))), 2);
  EXPECT_EQ(store().GetSession("old").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store().GetSession("ending").error().code, ErrorCode::kNotFound);
  ASSERT_OK(store().DeleteSession("fresh"));
  EXPECT_EQ(store().GetSession("fresh").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store().DeleteSession("fresh").error().code, ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, ApiTokensAreFoundByHashAndRevoked) {
  ApiToken a;
  a.name = "ci";
  a.role = Role::kEditor;
  a.prefix = "wft_abc";
  a.hash = std::string(64, 'a');
  a.created_at = At(1);
  a.created_by = "ann";
  a.expires_at = At(86'400);
  ApiToken b = a;
  b.name = "metrics";
  b.role = Role::kViewer;
  b.hash = std::string(64, 'b');
  b.created_at = At(2);
  b.expires_at.reset();
  ApiToken sa = Must(store().CreateApiToken(a));
  ApiToken sb = Must(store().CreateApiToken(b));
  ASSERT_FALSE(sa.id.empty());
  ApiToken dup = a;
  dup.id.clear();
  EXPECT_EQ(store().CreateApiToken(dup).error().code, ErrorCode::kConflict);  // same hash

  ApiToken got = Must(store().GetApiTokenByHash(a.hash));
  EXPECT_EQ(got.id, sa.id);
  EXPECT_EQ(got.name, "ci");
  EXPECT_EQ(got.role, Role::kEditor);
  EXPECT_EQ(got.prefix, "wft_abc");
  EXPECT_EQ(got.created_by, "ann");
  EXPECT_EQ(got.expires_at, At(86'400));
  EXPECT_FALSE(got.last_used_at.has_value());
  EXPECT_FALSE(Must(store().GetApiTokenByHash(b.hash)).expires_at.has_value());

  ASSERT_OK(store().TouchApiToken(sa.id, At(60)));
  EXPECT_EQ(Must(store().GetApiTokenByHash(a.hash)).last_used_at, At(60));

  auto list = Must(store().ListApiTokens());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, sb.id);  // newest first
  EXPECT_EQ(list[1].id, sa.id);

  ASSERT_OK(store().DeleteApiToken(sa.id));
  EXPECT_EQ(store().GetApiTokenByHash(a.hash).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store().DeleteApiToken(sa.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(Must(store().ListApiTokens()).size(), 1u);
}

TEST_P(StoreContractTest, FlowVersionsAndConnectionsRecordWhoChangedThem) {
  Flow f = Must(store().CreateFlow(Write("by-whom"), ""));
  FlowWrite w = Write("by-whom", OneStep("x"));
  w.actor = "bob";
  ASSERT_OK(store().SaveFlow(f.id, w, std::nullopt, ""));
  auto versions = Must(store().ListFlowVersions(f.id));
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].created_by, "bob");
  EXPECT_EQ(versions[1].created_by, "ann");
  EXPECT_EQ(Must(store().GetFlow(f.id)).updated_by, "bob");
  Connection c;
  c.name = "by-whom";
  c.connector = "http";
  c.updated_by = "token:ci";
  Connection sc = Must(store().CreateConnection(c));
  EXPECT_EQ(Must(store().GetConnection(sc.id)).updated_by, "token:ci");
  sc.updated_by = "ann";
  ASSERT_OK(store().UpdateConnection(sc));
  EXPECT_EQ(Must(store().GetConnection(sc.id)).updated_by, "ann");
}

}  // namespace weft::contract
