#include "server/router.h"

#include <gtest/gtest.h>

namespace weft::server {
namespace {

HttpHandler Named(std::string name) {
  return [name](HttpRequest&) { return HttpResponse::Text(200, name); };
}

Router MakeRouter() {
  Router r;
  r.Add("GET", "/api/v1/flows", "listFlows", Named("list"));
  r.Add("POST", "/api/v1/flows/import", "importFlow", Named("import"));
  r.Add("GET", "/api/v1/flows/{id}", "getFlow", Named("get"));
  r.Add("PUT", "/api/v1/flows/{id}", "saveFlow", Named("save"));
  r.Add("GET", "/api/v1/flows/{id}/versions/{version}", "getFlowVersion", Named("version"));
  r.Add("ANY", "/hooks/{token}", "hook", Named("hook"));
  r.Add("ANY", "/hooks/{token}/{rest...}", "hookPath", Named("hookPath"));
  return r;
}

TEST(RouterTest, MatchesTemplatesAndCapturesParameters) {
  Router r = MakeRouter();
  auto m = r.Find("GET", "/api/v1/flows/abc/versions/3");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->operation, "getFlowVersion");
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"id", "abc"}));
  EXPECT_EQ(m.params[1], (std::pair<std::string, std::string>{"version", "3"}));
}

TEST(RouterTest, LiteralSegmentWinsOverParameterForItsMethod) {
  Router r = MakeRouter();
  auto m = r.Find("POST", "/api/v1/flows/import");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->operation, "importFlow");
}

TEST(RouterTest, WrongMethodListsTheAllowedOnes) {
  Router r = MakeRouter();
  auto m = r.Find("DELETE", "/api/v1/flows/abc");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allow, "GET, PUT");
}

TEST(RouterTest, UnknownPathMatchesNothing) {
  Router r = MakeRouter();
  auto m = r.Find("GET", "/api/v1/nothing");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.allow.empty());
  EXPECT_EQ(r.Find("GET", "/api/v1/flows/a/b").route, nullptr);
}

TEST(RouterTest, RestParameterTakesTheRestOfThePath) {
  Router r = MakeRouter();
  auto m = r.Find("PATCH", "/hooks/tok123/orders/7/items");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->operation, "hookPath");
  EXPECT_EQ(m.params[0].second, "tok123");
  EXPECT_EQ(m.params[1].second, "orders/7/items");
  auto bare = r.Find("POST", "/hooks/tok123");
  ASSERT_NE(bare.route, nullptr);
  EXPECT_EQ(bare.route->operation, "hook");
}

TEST(HttpTest, QueryParametersAreDecoded) {
  HttpRequest req;
  req.query_string = "a=1&name=hello+world%21&empty&x=%zz";
  EXPECT_EQ(req.Query("a"), "1");
  EXPECT_EQ(req.Query("name"), "hello world!");
  EXPECT_EQ(req.Query("empty"), "");
  EXPECT_EQ(req.Query("x"), "%zz");
  EXPECT_EQ(req.Query("missing"), std::nullopt);
}

}  // namespace
}  // namespace weft::server
