#include "server/router.h"

#include <cassert>

namespace weft::server {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string_view AccessName(Access a) {
  switch (a) {
    case Access::kAdmin:
      return "admin";
    case Access::kEditor:
      return "editor";
    case Access::kViewer:
      return "viewer";
    case Access::kPublic:
      return "public";
    case Access::kOwnAuth:
      return "own";
  }
  return "admin";
}

void Router::Add(std::string method, std::string path, std::string operation, HttpHandler handler,
                 Access access) {
  Route r;
  for (auto seg : SplitPath(path)) r.segments.emplace_back(seg);
  for (const auto& existing : routes_) {
    assert(!(existing.method == method && existing.path == path) && "duplicate route");
    (void)existing;
  }
  r.method = std::move(method);
  r.path = std::move(path);
  r.operation = std::move(operation);
  r.handler = std::move(handler);
  r.access = access;
  routes_.push_back(std::move(r));
}

namespace {

bool MatchSegments(const Route& route, const std::vector<std::string_view>& parts,
                   std::vector<std::pair<std::string, std::string>>* params,
                   std::string_view path) {
  params->clear();
  const auto& segs = route.segments;
  size_t n = segs.size();
  for (size_t i = 0; i < n; ++i) {
    const std::string& seg = segs[i];
    bool is_param = seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
    if (is_param && seg.size() > 5 && seg.compare(seg.size() - 4, 4, "...}") == 0) {
      // {rest...}: everything from here on, at least one segment, with its slashes.
      if (i >= parts.size()) return false;
      size_t offset = static_cast<size_t>(parts[i].data() - path.data());
      std::string rest(path.substr(offset));
      params->emplace_back(seg.substr(1, seg.size() - 5), std::move(rest));
      return true;
    }
    if (i >= parts.size()) return false;
    if (is_param) {
      params->emplace_back(seg.substr(1, seg.size() - 2), std::string(parts[i]));
    } else if (seg != parts[i]) {
      return false;
    }
  }
  return parts.size() == n;
}

}  // namespace

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match m;
  auto parts = SplitPath(path);
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& route : routes_) {
    if (!MatchSegments(route, parts, &params, path)) continue;
    if (route.method == method || route.method == "ANY" ||
        (method == "HEAD" && route.method == "GET")) {
      m.route = &route;
      m.params = std::move(params);
      m.allow.clear();
      return m;
    }
    if (m.allow.find(route.method) == std::string::npos) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += route.method;
    }
  }
  return m;
}

}  // namespace weft::server
