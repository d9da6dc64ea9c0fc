// openapi.json is written by hand; this keeps it true to the route table:
// every route documented, nothing documented that is not routed.
#include <gtest/gtest.h>

#include <set>

#include "common/json.h"
#include "server/api/api.h"

namespace weft::server {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "/hooks/{token}/{rest...}" is written "/hooks/{token}/{rest}" in OpenAPI.
std::string OpenApiPath(std::string path) {
  size_t p;
  while ((p = path.find("...}")) != std::string::npos) path.replace(p, 4, "}");
  return path;
}

std::set<std::string> RoutedOperations() {
  std::set<std::string> out;
  for (const auto& spec : ApiRouteSpecs()) {
    std::string path = OpenApiPath(spec.path);
    if (std::string(spec.method) == "ANY") {
      for (const char* m : {"get", "post", "put", "patch", "delete"})
        out.insert(std::string(m) + " " + path);
    } else {
      out.insert(Lower(spec.method) + " " + path);
    }
  }
  return out;
}

TEST(OpenApiTest, IsOpenApi31) {
  std::string error;
  auto doc = ParseJson(OpenApiText(), &error);
  ASSERT_TRUE(doc) << error;
  EXPECT_EQ((*doc)["openapi"], "3.1.0");
  EXPECT_TRUE((*doc)["info"].contains("title"));
}

TEST(OpenApiTest, DocumentsExactlyTheRoutedOperations) {
  auto doc = ParseJson(OpenApiText());
  ASSERT_TRUE(doc);
  std::set<std::string> documented;
  std::set<std::string> operation_ids;
  for (auto& [path, item] : (*doc)["paths"].items()) {
    for (auto& [method, op] : item.items()) {
      documented.insert(method + " " + path);
      ASSERT_TRUE(op.contains("operationId")) << method << " " << path;
      EXPECT_TRUE(operation_ids.insert(op["operationId"].get<std::string>()).second)
          << "duplicate operationId " << op["operationId"];
      EXPECT_TRUE(op.contains("responses")) << method << " " << path;
    }
  }
  std::set<std::string> routed = RoutedOperations();
  for (const auto& r : routed)
    EXPECT_TRUE(documented.count(r)) << "routed but not documented: " << r;
  for (const auto& d : documented)
    EXPECT_TRUE(routed.count(d)) << "documented but not routed: " << d;
}

TEST(OpenApiTest, OperationIdsNameTheRoutes) {
  auto doc = ParseJson(OpenApiText());
  ASSERT_TRUE(doc);
  for (const auto& spec : ApiRouteSpecs()) {
    std::string path = OpenApiPath(spec.path);
    std::string method = std::string(spec.method) == "ANY" ? "post" : Lower(spec.method);
    ASSERT_TRUE((*doc)["paths"].contains(path)) << path;
    std::string id = (*doc)["paths"][path][method]["operationId"];
    EXPECT_TRUE(id.starts_with(spec.operation)) << path << ": " << id << " vs " << spec.operation;
  }
}

}  // namespace
}  // namespace weft::server

namespace weft::server {
namespace {

// Access control: each operation documents the least role it needs,
// the same as the route table's (which the server enforces).
TEST(OpenApiTest, DocumentsEachRoutesAccess) {
  auto doc = ParseJson(OpenApiText());
  ASSERT_TRUE(doc);
  for (const auto& spec : ApiRouteSpecs()) {
    std::string path = spec.path;
    size_t p;
    while ((p = path.find("...}")) != std::string::npos) path.replace(p, 4, "}");
    std::string method = spec.method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (method == "any") method = "post";
    const Json& op = (*doc)["paths"][path][method];
    ASSERT_TRUE(op.contains("x-weft-access")) << method << " " << path << " has no x-weft-access";
    EXPECT_EQ(op["x-weft-access"], std::string(AccessName(spec.access))) << method << " " << path;
  }
}

// Every route that changes something needs at least an editor, apart from
// signing in and out: a viewer only reads.
TEST(OpenApiTest, OnlyReadsAreOpenToViewers) {
  for (const auto& spec : ApiRouteSpecs()) {
    std::string method = spec.method;
    std::string path = spec.path;
    if (method == "GET" || spec.access == Access::kOwnAuth || path.starts_with("/api/v1/auth/"))
      continue;
    EXPECT_TRUE(spec.access == Access::kEditor || spec.access == Access::kAdmin)
        << method << " " << path;
  }
}

}  // namespace
}  // namespace weft::server
