#include "core/rate_limit.h"

#include <algorithm>

#include "common/time_format.h"

namespace weft {

Millis RateLimit::Interval() const {
  // Rounded up: whole milliseconds never let more than `requests` through per `per`.
  int64_t n = std::max<int64_t>(1, requests);
  int64_t ms = (per.count() + n - 1) / n;
  return Millis(std::max<int64_t>(1, ms));
}

namespace {

std::optional<int64_t> Count(const Json& obj, const char* key, const std::string& path,
                             std::vector<FieldError>& problems) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() && !it->is_number_unsigned()) {
    problems.push_back({path + "." + key, "must be a whole number from 1 to 1000000"});
    return std::nullopt;
  }
  int64_t n = it->is_number_unsigned()
                  ? static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), uint64_t{1} << 62))
                  : it->get<int64_t>();
  if (n < 1 || n > 1'000'000) {
    problems.push_back({path + "." + key, "must be a whole number from 1 to 1000000"});
    return std::nullopt;
  }
  return n;
}

}  // namespace

std::optional<RateLimit> ParseRateLimit(const Json& v, const std::string& path,
                                        std::vector<FieldError>& problems) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_object()) {
    problems.push_back({path, "must be a map {requests, per, burst}"});
    return std::nullopt;
  }
  size_t before = problems.size();
  for (auto it = v.begin(); it != v.end(); ++it)
    if (it.key() != "requests" && it.key() != "per" && it.key() != "burst")
      problems.push_back({path + "." + it.key(), "is not a field of a rate limit"});
  RateLimit limit;
  if (auto n = Count(v, "requests", path, problems))
    limit.requests = *n;
  else if (!v.contains("requests") || v["requests"].is_null())
    problems.push_back({path + ".requests", "is required"});
  if (auto n = Count(v, "burst", path, problems)) limit.burst = *n;
  if (auto per = v.find("per"); per != v.end() && !per->is_null()) {
    std::optional<Millis> ms;
    if (per->is_string() && per->get_ref<const std::string&>().size() <= 32)
      ms = ParseDuration(per->get_ref<const std::string&>());
    if (!ms || ms->count() < 1 || ms->count() > 86'400'000LL * 31)
      problems.push_back({path + ".per", "must be a duration from 1ms to 31d, such as \"10s\""});
    else
      limit.per = *ms;
  }
  if (problems.size() != before) return std::nullopt;
  return limit;
}

std::optional<RateLimit> EffectiveRateLimit(const Json& settings, const Json& connector_default) {
  std::vector<FieldError> ignored;
  if (settings.is_object())
    if (auto it = settings.find("rate_limit"); it != settings.end() && !it->is_null())
      return ParseRateLimit(*it, "settings.rate_limit", ignored);
  return ParseRateLimit(connector_default, "rate_limit", ignored);
}

}  // namespace weft
