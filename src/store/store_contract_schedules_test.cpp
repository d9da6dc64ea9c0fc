#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "store/store_contract_test.h"
#include "store/store_contract_util.h"

namespace weft::contract {

// ---- schedule fires -------------------------------------------------------------

namespace {
weft::Run ScheduledRun(const std::string& flow_id, TimePoint at) {
  weft::Run r = NewRun(flow_id, at);
  r.trigger_type = "schedule";
  r.trigger = Json{{"type", "schedule"}};
  r.scheduled_for = at;
  return r;
}
}  // namespace

TEST_P(StoreContractTest, SetNextRunAtSetsAndClears) {
  Flow f = Must(store().CreateFlow(Write("timed", OneStep("a"), "schedule"), ""));
  ASSERT_OK(store().SetNextRunAt(f.id, At(60)));
  EXPECT_EQ(Must(store().GetFlow(f.id)).next_run_at, At(60));
  EXPECT_EQ(Must(store().ListFlows()).at(0).next_run_at, At(60));
  ASSERT_OK(store().SetNextRunAt(f.id, std::nullopt));
  EXPECT_FALSE(Must(store().GetFlow(f.id)).next_run_at.has_value());
  EXPECT_EQ(store().SetNextRunAt("nope", At(1)).error().code, ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, RecordScheduleFireRecordsEachTimeOnce) {
  Flow f = Must(store().CreateFlow(Write("fired", OneStep("a"), "schedule"), ""));
  weft::Run run = ScheduledRun(f.id, At(60));
  EXPECT_TRUE(Must(store().RecordScheduleFire(f.id, At(60), &run, At(120), 0)));
  Flow got = Must(store().GetFlow(f.id));
  EXPECT_EQ(got.next_run_at, At(120));
  EXPECT_EQ(got.missed_fires, 0);
  RunFilter filter;
  filter.flow_id = f.id;
  auto runs = Must(store().ListRuns(filter)).runs;
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].scheduled_for, At(60));
  EXPECT_EQ(runs[0].trigger_type, "schedule");

  // The same time again, or an earlier one, was fired already: nothing changes.
  weft::Run again = ScheduledRun(f.id, At(60));
  EXPECT_FALSE(Must(store().RecordScheduleFire(f.id, At(60), &again, At(999), 5)));
  EXPECT_FALSE(Must(store().RecordScheduleFire(f.id, At(30), nullptr, At(999), 5)));
  got = Must(store().GetFlow(f.id));
  EXPECT_EQ(got.next_run_at, At(120));
  EXPECT_EQ(got.missed_fires, 0);
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 1);

  // A fire without a run (misfire: skip) still moves on and counts what was missed.
  EXPECT_TRUE(Must(store().RecordScheduleFire(f.id, At(240), nullptr, At(300), 3)));
  got = Must(store().GetFlow(f.id));
  EXPECT_EQ(got.next_run_at, At(300));
  EXPECT_EQ(got.missed_fires, 3);
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 1);
  EXPECT_FALSE(Must(store().RecordScheduleFire(f.id, At(240), nullptr, std::nullopt, 0)));
  EXPECT_EQ(store().RecordScheduleFire("nope", At(1), nullptr, std::nullopt, 0).error().code,
            ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, RecordScheduleFiresRefusesRepeatedTimesAndInactiveFlows) {
  Flow on = Must(store().CreateFlow(Write("on", OneStep("a"), "schedule"), ""));
  Flow off = Must(store().CreateFlow(Write("off", OneStep("a"), "schedule"), ""));
  ASSERT_OK(store().SetFlowActive(on.id, true));
  std::vector<ScheduleFire> fires(4);
  fires[0] = {on.id, At(60), ScheduledRun(on.id, At(60)), At(120), 0};
  fires[1] = {off.id, At(60), ScheduledRun(off.id, At(60)), At(120), 0};
  fires[2] = {on.id, At(60), ScheduledRun(on.id, At(60)), At(120), 0};  // the same time twice
  fires[3] = {"gone", At(60), std::nullopt, At(120), 0};
  EXPECT_EQ(Must(store().RecordScheduleFires(fires)),
            (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 1);
  EXPECT_EQ(Must(store().GetFlow(on.id)).next_run_at, At(120));
  EXPECT_FALSE(Must(store().GetFlow(off.id)).next_run_at.has_value());

  ASSERT_OK(store().SetFlowActive(on.id, false));
  std::vector<ScheduleFire> later = {{on.id, At(120), ScheduledRun(on.id, At(120)), At(180), 0}};
  EXPECT_EQ(Must(store().RecordScheduleFires(later)), std::vector<bool>{false});
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 1);
}

TEST_P(StoreContractTest, ConcurrentSchedulersFireEachTimeOnce) {
  Flow f = Must(store().CreateFlow(Write("shared", OneStep("a"), "schedule"), ""));
  ASSERT_OK(store().SetFlowActive(f.id, true));
  constexpr int kTimes = 20;
  std::vector<std::atomic<int>> fired(kTimes);
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTimes; ++i) {
        TimePoint at = At(60 * (i + 1));
        weft::Run run = ScheduledRun(f.id, at);
        bool recorded = false;
        if (t % 2 == 0) {
          auto r = store().RecordScheduleFire(f.id, at, &run, at + Millis(60'000), 0);
          ASSERT_TRUE(r.has_value()) << r.error().message;
          recorded = *r;
        } else {
          auto r =
              store().RecordScheduleFires({ScheduleFire{f.id, at, run, at + Millis(60'000), 0}});
          ASSERT_TRUE(r.has_value()) << r.error().message;
          recorded = r->at(0);
        }
        if (recorded) fired[i]++;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kTimes; ++i) EXPECT_EQ(fired[i].load(), 1) << "time " << i;
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), kTimes);
  EXPECT_EQ(Must(store().GetFlow(f.id)).next_run_at, At(60 * (kTimes + 1)));
}

// The scheduler's batch, as large as one second of 100,000 per-minute
// schedules makes it in part: every kind of fire in one call, no flow twice.
TEST_P(StoreContractTest, RecordScheduleFiresBatchRecordsEachFireAsAlone) {
  constexpr int kFlows = 60;
  std::vector<Flow> flows;
  for (int i = 0; i < kFlows; ++i) {
    flows.push_back(Must(store().CreateFlow(
        Write("batch \"" + std::to_string(i) + "\" \\", OneStep("a"), "schedule"), "")));
    if (i % 6 != 5)
      ASSERT_OK(store().SetFlowActive(flows.back().id, true));  // every 6th stays inactive
  }
  // Every 4th flow fired a later time already (another scheduler).
  for (int i = 0; i < kFlows; i += 4)
    ASSERT_TRUE(Must(store().RecordScheduleFire(flows[i].id, At(120), nullptr, At(180), 0)));
  std::vector<ScheduleFire> fires;
  for (int i = 0; i < kFlows; ++i) {
    ScheduleFire f;
    f.flow_id = flows[i].id;
    f.scheduled_for = At(60);
    f.next_run_at = i % 10 == 9 ? std::nullopt : std::optional<TimePoint>(At(120));
    f.missed = i % 3 == 0 ? 2 : 0;
    if (i % 7 != 6) {  // every 7th without a run (misfire: skip)
      weft::Run r = ScheduledRun(flows[i].id, At(60));
      r.flow_name = flows[i].name;
      r.trigger = Json{{"type", "schedule"}, {"note", "a \"quoted\" \\ value, {braces}, ünïcode"}};
      if (i % 5 == 4) {
        r.status = RunStatus::kSkipped;
        r.finished_at = At(60);
        r.error = Json{{"code", "skipped"}};
      }
      f.run = std::move(r);
    }
    fires.push_back(std::move(f));
  }
  std::vector<bool> recorded = Must(store().RecordScheduleFires(fires));
  ASSERT_EQ(recorded.size(), fires.size());
  int64_t runs_expected = 0;
  for (int i = 0; i < kFlows; ++i) {
    bool active = i % 6 != 5, fired_later = i % 4 == 0;
    EXPECT_EQ(recorded[i], active && !fired_later) << "fire " << i;
    Flow got = Must(store().GetFlow(flows[i].id));
    if (recorded[i]) {
      EXPECT_EQ(got.next_run_at, fires[i].next_run_at) << i;
      EXPECT_EQ(got.missed_fires, fires[i].missed) << i;
      if (fires[i].run) ++runs_expected;
    } else {
      EXPECT_EQ(got.missed_fires, 0) << i;
      EXPECT_EQ(got.next_run_at, fired_later ? std::optional<TimePoint>(At(180)) : std::nullopt)
          << i;
    }
    RunFilter filter;
    filter.flow_id = flows[i].id;
    auto runs = Must(store().ListRuns(filter)).runs;
    ASSERT_EQ(runs.size(), recorded[i] && fires[i].run ? 1u : 0u) << i;
    if (runs.empty()) continue;
    weft::Run run = Must(store().GetRun(runs[0].id, false));
    EXPECT_EQ(run.flow_name, flows[i].name);
    EXPECT_EQ(run.trigger, fires[i].run->trigger);
    EXPECT_EQ(run.scheduled_for, At(60));
    EXPECT_EQ(run.input, (Json{{"n", 1}}));
    EXPECT_EQ(run.status, fires[i].run->status);
    EXPECT_EQ(run.error, fires[i].run->error);
    EXPECT_EQ(run.finished_at, fires[i].run->finished_at);
    EXPECT_FALSE(run.output.is_object());
  }
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), runs_expected);
  // The same batch again: every time was recorded, nothing changes.
  EXPECT_EQ(Must(store().RecordScheduleFires(fires)), std::vector<bool>(kFlows, false));
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), runs_expected);
  // A batch of inactive or unknown flows only.
  std::vector<ScheduleFire> none = {{flows[5].id, At(300), std::nullopt, At(360), 0},
                                    {"gone", At(300), std::nullopt, At(360), 0}};
  EXPECT_EQ(Must(store().RecordScheduleFires(none)), (std::vector<bool>{false, false}));
}

TEST_P(StoreContractTest, ForEachActiveScheduleAndSetNextRunAts) {
  Flow a = Must(store().CreateFlow(Write("a", OneStep("a"), "schedule"), ""));
  Flow b = Must(store().CreateFlow(Write("b", OneStep("a"), "schedule"), ""));
  Flow off = Must(store().CreateFlow(Write("off", OneStep("a"), "schedule"), ""));
  Flow manual = Must(store().CreateFlow(Write("manual", OneStep("a")), ""));
  for (const Flow* f : {&a, &b, &manual}) ASSERT_OK(store().SetFlowActive(f->id, true));
  ASSERT_OK(
      store().SetNextRunAts({{a.id, At(60)}, {b.id, At(90)}, {"gone", At(1)}, {off.id, At(30)}}));
  EXPECT_EQ(Must(store().GetFlow(a.id)).next_run_at, At(60));
  EXPECT_EQ(Must(store().GetFlow(b.id)).next_run_at, At(90));
  EXPECT_EQ(Must(store().GetFlow(off.id)).next_run_at, At(30));
  std::map<std::string, Flow> seen;
  ASSERT_OK(store().ForEachActiveSchedule([&](Flow&& f) { seen.emplace(f.name, std::move(f)); }));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen.at("a").next_run_at, At(60));
  EXPECT_EQ(seen.at("b").document["trigger"],
            b.document["trigger"]);  // the document may hold only that
  ASSERT_OK(store().SetNextRunAts({{a.id, std::nullopt}}));
  EXPECT_FALSE(Must(store().GetFlow(a.id)).next_run_at.has_value());
}

}  // namespace weft::contract
