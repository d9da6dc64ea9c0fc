// libFuzzer harness: cron expressions (a line of text) and schedule
// documents (a JSON object): parse, describe, and compute a few fire times.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "schedule/cron.h"
#include "schedule/schedule.h"

namespace {

void Exercise(const weft::Schedule& schedule) {
  const weft::TimePoint after = weft::FromUnixMs(1'780'000'000'000);  // 2026
  (void)weft::NextFireTimes(schedule, after, 3);
  (void)weft::DescribeSchedule(schedule);
  (void)weft::SchedulePreview(schedule, after, 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 2048) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{') {
    auto doc = weft::ParseJson(text);
    if (!doc) return 0;
    if (auto s = weft::ParseSchedule(*doc, "UTC")) Exercise(*s);
    return 0;
  }
  (void)weft::CronExpr::Parse(text);
  // A cron line may name its zone after a tab: "0 9 * * 1-5\tEurope/Berlin".
  size_t tab = text.find('\t');
  std::string_view zone = tab == std::string_view::npos ? "UTC" : text.substr(tab + 1);
  if (auto s = weft::MakeCronSchedule(text.substr(0, tab), zone)) Exercise(*s);
  return 0;
}
