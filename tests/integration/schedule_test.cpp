// Scheduled flows end to end, as a user sees them: fires on the schedule's
// times with a `schedule` trigger, stops at once when deactivated, handles the
// fire times missed while the server was down (misfire run_once / skip),
// records skipped runs for `overlap: skip`, refuses bad schedules at save time
// with the field path, and previews fire times (API and `weft cron next`).
#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "common/time_format.h"
#include "harness.h"

namespace weft::itest {
namespace {

using SysClock = std::chrono::system_clock;

Json ScheduleFlow(const std::string& name, const Json& schedule, const Json& steps = nullptr) {
  Json doc = {{"name", name}, {"trigger", {{"type", "schedule"}, {"schedule", schedule}}}};
  doc["steps"] = steps.is_null() ? Json::parse(R"([{"id": "note", "uses": "data.set",
      "with": {"value": "{{ trigger.scheduled_for }}"}}])")
                                 : steps;
  return doc;
}

std::string CreateActive(const Client& api, const Json& doc) {
  Json flow = CreateFlow(api, doc);
  std::string id = GetString(flow, "id");
  auto r = api.Post("/api/v1/flows/" + id + "/activate");
  EXPECT_EQ(r.status, 200) << r.body;
  return id;
}

// The flow's runs, oldest first.
std::vector<Json> Runs(const Client& api, const std::string& flow_id) {
  auto r = api.Get("/api/v1/runs?limit=1000&flow_id=" + flow_id);
  EXPECT_EQ(r.status, 200) << r.body;
  std::vector<Json> out;
  for (const auto& run : r.json["runs"]) out.push_back(run);
  std::reverse(out.begin(), out.end());
  return out;
}

TimePoint Time(const Json& j, const char* key) {
  auto t = ParseIso(GetString(j, key));
  EXPECT_TRUE(t) << key << " in " << j.dump();
  return t.value_or(TimePoint{});
}

int64_t Ms(TimePoint t) { return ToUnixMs(t); }

void SleepUntil(TimePoint t) {
  std::this_thread::sleep_until(SysClock::time_point(t.time_since_epoch()));
}

// The fire times of `every` seconds in (after, until].
int FiresBetween(TimePoint after, TimePoint until, int every) {
  int n = 0;
  for (int64_t s = Ms(after) / 1000 + 1; s * 1000 <= Ms(until); ++s) n += s % every == 0;
  return n;
}

TEST_F(WeftTest, ScheduleFiresOnEvenSecondsAndStopsAtOnceWhenDeactivated) {
  std::string id = CreateActive(
      api(), ScheduleFlow(UniqueName("even"), {{"kind", "cron"}, {"cron", "*/2 * * * * *"}}));

  // The Flow List shows the schedule and its next fire.
  ASSERT_TRUE(
      WaitFor([&] { return !api().Get("/api/v1/flows/" + id).json["next_run_at"].is_null(); }, 5s));
  Json row;
  auto list = api().Get("/api/v1/flows");
  for (const auto& f : list.json["flows"])
    if (GetString(f, "id") == id) row = f;
  EXPECT_EQ(GetString(row, "schedule_summary").empty(), false) << row.dump();
  EXPECT_EQ(Ms(Time(row, "next_run_at")) % 2000, 0) << row.dump();
  EXPECT_EQ(row["missed_fires"], 0);

  ASSERT_TRUE(WaitFor([&] { return Runs(api(), id).size() >= 3; }, 15s)) << server().Logs();
  auto runs = Runs(api(), id);
  std::set<int64_t> times;
  for (size_t i = 0; i < runs.size(); ++i) {
    int64_t t = Ms(Time(runs[i], "scheduled_for"));
    EXPECT_EQ(t % 2000, 0) << "not an even second: " << runs[i].dump();
    EXPECT_TRUE(times.insert(t).second) << "fired twice: " << runs[i].dump();
    if (i > 0) {
      EXPECT_EQ(t - Ms(Time(runs[i - 1], "scheduled_for")), 2000) << "a fire time was skipped";
    }
    EXPECT_EQ(runs[i]["trigger"]["type"], "schedule") << runs[i].dump();
    EXPECT_EQ(Ms(Time(runs[i]["trigger"], "scheduled_for")), t) << runs[i].dump();
  }
  Json done = WaitRunFinished(api(), GetString(runs[0], "id"));
  EXPECT_EQ(done["status"], "succeeded") << done.dump(2);
  EXPECT_EQ(Ms(*ParseIso(StepOf(done, "note")["output"].get<std::string>())),
            Ms(Time(runs[0], "scheduled_for")));

  auto off = api().Post("/api/v1/flows/" + id + "/deactivate");
  ASSERT_EQ(off.status, 200) << off.body;
  size_t fired = Runs(api(), id).size();
  EXPECT_TRUE(api().Get("/api/v1/flows/" + id).json["next_run_at"].is_null());
  // Two more fire times pass: nothing fires. (A wait for something that must
  // not happen has no condition to wait on.)
  std::this_thread::sleep_for(4500ms);
  EXPECT_EQ(Runs(api(), id).size(), fired) << "fired after deactivation";
}

// The activate and save responses carry the next fire already (the Flow
// List and the detail panel show it at once), and the scheduler fires at
// exactly that time.
TEST_F(WeftTest, ActivateAndSaveAnswerWithTheNextFire) {
  Json doc = ScheduleFlow(UniqueName("next"), {{"kind", "cron"}, {"cron", "*/3 * * * * *"}});
  Json flow = CreateFlow(api(), doc);
  std::string id = GetString(flow, "id");
  EXPECT_TRUE(flow["next_run_at"].is_null()) << flow.dump();

  TimePoint before =
      TimePoint(std::chrono::duration_cast<Millis>(SysClock::now().time_since_epoch()));
  auto on = api().Post("/api/v1/flows/" + id + "/activate");
  ASSERT_EQ(on.status, 200) << on.body;
  ASSERT_FALSE(on.json["next_run_at"].is_null()) << on.body;
  TimePoint next = Time(on.json, "next_run_at");
  EXPECT_EQ(Ms(next) % 3000, 0) << on.body;
  EXPECT_GT(next, before) << on.body;
  EXPECT_LE(next, before + 3s + 1s)
      << on.body;  // the first fire after the activation (1 s of slack for the request)
  // The scheduler keeps it and fires at it.
  EXPECT_EQ(Time(api().Get("/api/v1/flows/" + id).json, "next_run_at"), next);
  ASSERT_TRUE(WaitFor([&] { return !Runs(api(), id).empty(); }, 10s)) << server().Logs();
  EXPECT_EQ(Time(Runs(api(), id).front(), "scheduled_for"), next);

  // A save that changes the schedule answers with the new schedule's next fire.
  doc["trigger"]["schedule"]["cron"] = "0 0 0 1 1 *";
  auto saved = api().Put("/api/v1/flows/" + id, doc);
  ASSERT_EQ(saved.status, 200) << saved.body;
  ASSERT_FALSE(saved.json["next_run_at"].is_null()) << saved.body;
  TimePoint new_year = Time(saved.json, "next_run_at");
  EXPECT_EQ(FormatIso(new_year).substr(4), "-01-01T00:00:00Z") << saved.body;
  EXPECT_GT(new_year, before);
  EXPECT_LE(new_year, before + std::chrono::hours(24 * 366));
  // A save that leaves the schedule alone keeps it.
  doc["description"] = "new words";
  saved = api().Put("/api/v1/flows/" + id, doc);
  ASSERT_EQ(saved.status, 200) << saved.body;
  EXPECT_EQ(Time(saved.json, "next_run_at"), new_year) << saved.body;
  EXPECT_TRUE(WaitFor(
      [&] { return Time(api().Get("/api/v1/flows/" + id).json, "next_run_at") == new_year; }, 2s));

  // Deactivating answers with none.
  auto off = api().Post("/api/v1/flows/" + id + "/deactivate");
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_TRUE(off.json["next_run_at"].is_null()) << off.body;
}

TEST(ScheduleRestartTest, ThreeMissedFiresRunOnceOrSkip) {
  WeftServer server;
  ASSERT_TRUE(server.running());
  constexpr int kEvery = 2;
  Json schedule = {{"kind", "cron"}, {"cron", "*/2 * * * * *"}};
  schedule["misfire"] = "run_once";
  std::string once = CreateActive(server.api(), ScheduleFlow(UniqueName("run-once"), schedule));
  schedule["misfire"] = "skip";
  std::string skip = CreateActive(server.api(), ScheduleFlow(UniqueName("skip"), schedule));

  // Both fire at the same instants; take the first fire both have, then stop
  // the server at once.
  TimePoint last{};
  ASSERT_TRUE(WaitFor(
      [&] {
        auto a = Runs(server.api(), once);
        auto b = Runs(server.api(), skip);
        if (a.empty() || b.empty()) return false;
        last = std::max(Time(a.back(), "scheduled_for"), Time(b.back(), "scheduled_for"));
        return Time(a.back(), "scheduled_for") == Time(b.back(), "scheduled_for");
      },
      15s))
      << server.Logs();
  server.Kill9();

  // Down over three fire times (last+2, +4, +6), up again before the fourth.
  SleepUntil(last + Millis(3 * kEvery * 1000 + 200));
  TimePoint spawned =
      FromUnixMs(std::chrono::duration_cast<Millis>(SysClock::now().time_since_epoch()).count());
  server.Start();
  TimePoint up =
      FromUnixMs(std::chrono::duration_cast<Millis>(SysClock::now().time_since_epoch()).count());
  ASSERT_TRUE(server.running());
  // The scheduler started between `spawned` and `up`; the fire times up to
  // then were missed. Normally that is three; a slow start may make it four.
  int low = FiresBetween(last, spawned, kEvery), high = FiresBetween(last, up, kEvery);
  ASSERT_EQ(low, 3);

  auto missed = [&](const std::string& id) {
    return server.api().Get("/api/v1/flows/" + id).json["missed_fires"];
  };
  ASSERT_TRUE(
      WaitFor([&] { return missed(once).get<int>() >= 3 && missed(skip).get<int>() >= 3; }, 10s))
      << server.Logs();
  EXPECT_GE(missed(once).get<int>(), low);
  EXPECT_LE(missed(once).get<int>(), high);

  // run_once: one run for the missed times, for the latest of them.
  std::vector<Json> after_once;
  for (const auto& r : Runs(server.api(), once))
    if (Time(r, "scheduled_for") > last) after_once.push_back(r);
  ASSERT_FALSE(after_once.empty());
  int missed_once = missed(once).get<int>();
  EXPECT_EQ(after_once[0]["trigger"]["missed"], missed_once) << after_once[0].dump();
  EXPECT_EQ(Ms(Time(after_once[0], "scheduled_for")), Ms(last) + missed_once * kEvery * 1000);
  if (after_once.size() > 1) {  // later ones are ordinary fires
    EXPECT_EQ(Ms(Time(after_once[1], "scheduled_for")) - Ms(Time(after_once[0], "scheduled_for")),
              kEvery * 1000);
  }

  // skip: none for them; the next ordinary fire comes after.
  int missed_skip = missed(skip).get<int>();
  for (const auto& r : Runs(server.api(), skip)) {
    TimePoint t = Time(r, "scheduled_for");
    EXPECT_TRUE(t <= last || Ms(t) > Ms(last) + missed_skip * kEvery * 1000)
        << "a missed time ran: " << r.dump();
    EXPECT_FALSE(r["trigger"].contains("missed")) << r.dump();
  }
  for (const auto& id : {once, skip}) server.api().Post("/api/v1/flows/" + id + "/deactivate");
}

TEST_F(WeftTest, OverlapSkipRecordsSkippedRunsWhileTheSlowRunRuns) {
  Json steps = Json::parse(R"([{"id": "slow", "uses": "flow.delay", "with": {"duration": "4s"}}])");
  std::string id = CreateActive(
      api(), ScheduleFlow(UniqueName("slow"),
                          {{"kind", "cron"}, {"cron", "* * * * * *"}, {"overlap", "skip"}}, steps));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto runs = Runs(api(), id);
        return std::count_if(runs.begin(), runs.end(),
                             [](const Json& r) { return r["status"] == "skipped"; }) >= 2;
      },
      15s))
      << server().Logs();
  api().Post("/api/v1/flows/" + id + "/deactivate");
  auto runs = Runs(api(), id);
  ASSERT_GE(runs.size(), 3u);
  EXPECT_NE(runs[0]["status"], "skipped") << runs[0].dump();
  int unfinished = 0;
  for (const auto& r : runs) {
    EXPECT_EQ(r["trigger"]["type"], "schedule");
    if (r["status"] == "skipped") {
      EXPECT_FALSE(r["finished_at"].is_null()) << r.dump();
    }
    if (r["status"] == "queued" || r["status"] == "running") ++unfinished;
  }
  EXPECT_LE(unfinished, 1) << "two scheduled runs at once despite overlap: skip";
}

TEST_F(WeftTest, BadSchedulesAreRefusedAtSaveWithTheFieldPath) {
  std::set<std::string> tried;  // names of the refused flows (the database may be shared)
  auto problems = [&](const Json& schedule) {
    std::string name = UniqueName("bad");
    tried.insert(name);
    auto r = api().Post("/api/v1/flows", ScheduleFlow(name, schedule));
    EXPECT_EQ(r.status, 400) << r.body;
    std::map<std::string, std::string> out;
    for (const auto& d : r.json["error"]["details"])
      out[GetString(d, "path")] = GetString(d, "message");
    return out;
  };
  auto p = problems({{"kind", "cron"}, {"cron", "0 60 * * *"}});
  ASSERT_TRUE(p.count("trigger.schedule.cron")) << Json(p).dump();
  EXPECT_NE(p["trigger.schedule.cron"].find("out of range"), std::string::npos)
      << p["trigger.schedule.cron"];
  EXPECT_NE(p["trigger.schedule.cron"].find("60"), std::string::npos) << p["trigger.schedule.cron"];

  p = problems({{"kind", "cron"}, {"cron", "0 9 * * *"}, {"timezone", "Europe/Atlantis"}});
  EXPECT_TRUE(p.count("trigger.schedule.timezone")) << Json(p).dump();

  p = problems({{"kind", "predefined"},
                {"every", "1h"},
                {"start", "2027-02-01T00:00:00"},
                {"end", "2027-01-01T00:00:00"}});
  EXPECT_TRUE(p.count("trigger.schedule.end")) << Json(p).dump();

  p = problems({{"kind", "once"}, {"at", "2020-01-01T09:00:00"}});
  EXPECT_TRUE(p.count("trigger.schedule.at")) << Json(p).dump();

  // Nothing was half-written.
  auto list = api().Get("/api/v1/flows");
  ASSERT_EQ(list.status, 200);
  for (const auto& f : list.json["flows"])
    EXPECT_FALSE(tried.count(GetString(f, "name"))) << f.dump();
}

TEST_F(WeftTest, SchedulePreviewAndCronNextAgree) {
  auto r = api().Post("/api/v1/schedules/preview", Json::parse(R"({
      "schedule": {"kind": "cron", "cron": "30 2 * * *", "timezone": "America/New_York"},
      "count": 3, "after": "2027-03-13T06:00:00Z"})"));
  ASSERT_EQ(r.status, 200) << r.body;
  // The daylight-saving gap: 02:30 does not exist on 2027-03-14, the fire is at 03:00 EDT.
  EXPECT_EQ(r.json["next"],
            Json::parse(R"(["2027-03-13T02:30:00-05:00", "2027-03-14T03:00:00-04:00",
                                             "2027-03-15T02:30:00-04:00"])"));
  auto cli = RunWeft({"cron", "next", "30 2 * * *", "--tz", "America/New_York", "--after",
                      "2027-03-13T06:00:00Z", "--count", "3", "--json"});
  ASSERT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_EQ(Json::parse(cli.output), r.json);

  // Defaults: five fire times after now.
  r = api().Post("/api/v1/schedules/preview",
                 Json::parse(R"({"schedule": {"kind": "predefined", "every": "15m"}})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["next"].size(), 5u);
  EXPECT_EQ(GetString(r.json, "description").rfind("Every 15 minutes", 0), 0u) << r.body;

  r = api().Post(
      "/api/v1/schedules/preview",
      Json::parse(R"({"schedule": {"kind": "cron", "cron": "0 9 * * MON"}, "count": 101})"));
  EXPECT_EQ(r.status, 400) << r.body;
  auto bad = RunWeft({"cron", "next", "61 * * * *"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("out of range"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace weft::itest
