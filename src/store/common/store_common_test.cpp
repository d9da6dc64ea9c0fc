#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "store/common/cursor.h"
#include "store/common/defaults.h"
#include "store/common/row_readers.h"

namespace weft::store {
namespace {

// A row held as text, NULL as nullopt: the shape both databases hand back.
class FakeRow {
 public:
  explicit FakeRow(std::vector<std::optional<std::string>> cols) : cols_(std::move(cols)) {}
  bool IsNull(int col) const { return !cols_.at(col); }
  std::string Text(int col) const { return cols_.at(col).value_or(""); }
  int64_t Int(int col) const { return IsNull(col) ? 0 : std::stoll(*cols_.at(col)); }
  bool Bool(int col) const { return Text(col) == "1"; }
  weft::Json Json(int col) const {
    return IsNull(col) ? weft::Json() : weft::Json::parse(*cols_.at(col));
  }
  std::string Bytes(int col) const { return Text(col); }

 private:
  std::vector<std::optional<std::string>> cols_;
};
static_assert(RowAccessor<FakeRow>);

std::vector<std::optional<std::string>> RunRow(const std::string& status) {
  return {"r1",         "f1",         "flow", "3",      "webhook",    R"({"a":1})",
          status,       std::nullopt, "1000", "1500",   std::nullopt, R"({"in":true})",
          std::nullopt, std::nullopt, "",     "node-1", "9000",       std::nullopt,
          "1"};
}

TEST(StoreRowReaders, ARunRowBecomesTheRunItStores) {
  weft::Run r = ReadRun(FakeRow(RunRow("running")));
  EXPECT_EQ(r.id, "r1");
  EXPECT_EQ(r.flow_version, 3);
  EXPECT_EQ(r.trigger, (Json{{"a", 1}}));
  EXPECT_EQ(r.status, RunStatus::kRunning);
  EXPECT_FALSE(r.scheduled_for);
  EXPECT_EQ(r.created_at, FromUnixMs(1000));
  EXPECT_EQ(r.started_at, FromUnixMs(1500));
  EXPECT_EQ(r.input, (Json{{"in", true}}));
  EXPECT_TRUE(r.output.is_null());
  EXPECT_EQ(r.claimed_by, "node-1");
  EXPECT_EQ(r.lease_until, FromUnixMs(9000));
  EXPECT_TRUE(r.cancel_requested);
}

TEST(StoreRowReaders, WithoutJsonLeavesTheJsonColumnsNull) {
  weft::Run r = ReadRunWithoutJson(FakeRow(RunRow("queued")));
  EXPECT_EQ(r.id, "r1");
  EXPECT_TRUE(r.trigger.is_null());
  EXPECT_TRUE(r.input.is_null());
  EXPECT_EQ(r.status, RunStatus::kQueued);
}

TEST(StoreRowReaders, AnUnknownStoredStatusIsReportedNotGuessed) {
  EXPECT_THROW(ReadRun(FakeRow(RunRow("exploded"))), CorruptValue);
}

TEST(StoreRowReaders, AStepWithoutLogsHasAnEmptyList) {
  StepRun st = ReadStep(
      FakeRow({"r1", "a/b", "b", "http.request", "2", "succeeded", "1", "10", "20", std::nullopt,
               R"([1])", std::nullopt, std::nullopt, std::nullopt, std::nullopt}));
  EXPECT_EQ(st.path, "a/b");
  EXPECT_EQ(st.status, StepStatus::kSucceeded);
  EXPECT_EQ(st.logs, Json::array());
  EXPECT_EQ(st.output, Json::array({1}));
}

TEST(StoreRunCursor, RoundTrips) {
  weft::Run r;
  r.id = "01HZX_with_underscore";
  r.created_at = FromUnixMs(1733500000123);
  auto parsed = ParseRunCursor(MakeRunCursor(r));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->first, 1733500000123);
  EXPECT_EQ(parsed->second, r.id);
}

TEST(StoreRunCursor, RejectsWhatItDidNotMake) {
  for (const char* bad : {"", "_", "123", "123_", "_abc", "12a_x", "99999999999999999999_x"}) {
    EXPECT_FALSE(ParseRunCursor(bad)) << bad;
  }
}

TEST(StoreDefaults, FillsOnlyWhatIsBlank) {
  std::string id;
  TimePoint at{};
  StampNew(id, at, FromUnixMs(5000));
  EXPECT_EQ(at, FromUnixMs(5000));
  EXPECT_FALSE(id.empty());

  std::string given = "mine";
  TimePoint when = FromUnixMs(7);
  StampNew(given, when, FromUnixMs(5000));
  EXPECT_EQ(given, "mine");
  EXPECT_EQ(when, FromUnixMs(7));
}

}  // namespace
}  // namespace weft::store
