// Plain-English pieces of schedule descriptions. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schedule/cron.h"

namespace weft {

// "a", "a and b", "a, b and c".
std::string JoinEnglish(const std::vector<std::string>& items);

// "minute", "30 minutes", "2 hours", "90 seconds" (for "Every ...").
std::string DescribeInterval(int64_t seconds);

// The day part of a cron expression: "" when every day, else "on Monday and
// Friday", "on the last weekday of the month", "on day 13 of the month or on
// Friday", "in January and July", ...
std::string DescribeDays(const CronExpr& cron);

}  // namespace weft
