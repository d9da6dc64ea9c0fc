// Router: the table of routes (method, path template, operation name,
// handler), kept as data so the OpenAPI test and access control can walk it.
// Templates use {name} for one path segment and {name...} (last only) for the
// rest of the path. Built once at start-up, then read-only: thread-safe to
// match from many connections.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/http.h"

namespace weft::server {

// Who may call a route (access control). Every route of the table
// carries one; a route left unmarked is for admins only.
enum class Access {
  kAdmin,    // manage users and tokens (and anything not classified)
  kEditor,   // change flows, connections, runs
  kViewer,   // read; any signed-in caller
  kPublic,   // no credentials: health, sign-in, the OpenAPI document
  kOwnAuth,  // checked by the handler itself (webhooks' per-flow auth), never user auth
};
std::string_view AccessName(Access a);  // "admin", "editor", "viewer", "public", "own"

struct Route {
  std::string method;     // "GET", "POST", ... or "ANY"
  std::string path;       // "/api/v1/flows/{id}"
  std::string operation;  // stable name, also the OpenAPI operationId
  HttpHandler handler;
  Access access = Access::kAdmin;
  std::vector<std::string> segments;  // `path` split at '/'
};

class Router {
 public:
  // Adds a route. Asserts that no route of the same method and path exists.
  void Add(std::string method, std::string path, std::string operation, HttpHandler handler,
           Access access = Access::kAdmin);

  struct Match {
    const Route* route = nullptr;  // null when nothing matched
    std::vector<std::pair<std::string, std::string>> params;
    std::string allow;  // methods of routes whose path matched, when none had this method
  };
  // Finds the route for `method` and decoded `path`.
  Match Find(std::string_view method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// Splits a path at '/', dropping empty segments ("/a//b/" -> {"a","b"}).
std::vector<std::string_view> SplitPath(std::string_view path);

}  // namespace weft::server
