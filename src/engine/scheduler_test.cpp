// Scheduler tests: the real scheduler loop over a real SQLite store in a temp
// dir, with a FakeClock, so fire times are exact and nothing sleeps. No
// workers run: a fired run stays queued unless a test finishes it.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "common/time_format.h"
#include "core/document.h"
#include "core/flow_service.h"
#include "core/run_service.h"
#include "store/sqlite/sqlite_store.h"

namespace weft {
namespace {

// 2027-01-15T08:00:00Z, a whole minute.
const TimePoint kT0 = FromUnixMs(1'800'000'000'000);

TimePoint At(int64_t seconds) { return kT0 + Millis(seconds * 1000); }

// The flows' one step; no worker runs it here.
class NoopAction : public Action {
 public:
  ActionOutcome Execute(ActionContext&) override { return ActionOutcome::Ok(Json::object()); }
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("weft-scheduler-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    SqliteOptions options;
    options.data_dir = dir_.string();
    options.clock = &clock_;
    auto store = SqliteStore::Open(options);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    ConnectorSpec test;
    test.name = "test";
    test.title = "Test";
    ActionSpec noop{"noop", "No-op", "", {}, "", {}};
    test.actions = {noop};
    catalog_.Register(test, {{"noop", std::make_shared<NoopAction>()}});
    flows_ = std::make_unique<FlowService>(*store_, catalog_, hub_, clock_, FlowServiceOptions{},
                                           &facts_);
    runs_ = std::make_unique<RunService>(*store_, hub_, clock_);
    // Half a second past kT0, so fire times are never the current instant.
    clock_.Set(kT0 + Millis(500));
  }

  void TearDown() override {
    schedulers_.clear();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Scheduler& StartScheduler() {
    schedulers_.push_back(
        std::make_unique<Scheduler>(*store_, *runs_, hub_, clock_, SchedulerOptions{}));
    schedulers_.back()->Start();
    EXPECT_TRUE(schedulers_.back()->WaitIdle(Millis(10'000)));
    return *schedulers_.back();
  }

  void StopSchedulers() {
    for (auto& s : schedulers_) s->Stop();
    schedulers_.clear();
  }

  // Moves the clock and lets every scheduler handle what is due.
  void AdvanceTo(TimePoint t) {
    clock_.Set(t);
    Settle();
  }
  void Settle() {
    for (auto& s : schedulers_) ASSERT_TRUE(s->WaitIdle(Millis(10'000)));
  }

  // A flow on `schedule` (YAML flow mapping), active unless told otherwise.
  std::string CreateScheduled(const std::string& name, const std::string& schedule,
                              bool active = true) {
    auto doc = ParseDocumentText("name: " + name + "\ntrigger:\n  type: schedule\n  schedule: " +
                                 schedule + "\nsteps:\n  - id: work\n    uses: test.noop\n");
    EXPECT_TRUE(doc) << doc.error().message;
    auto saved = flows_->Create(*doc, "");
    EXPECT_TRUE(saved) << Describe(saved);
    if (!saved) return "";
    if (active) {
      auto on = flows_->Activate(saved->flow.id);
      EXPECT_TRUE(on) << Describe(on);
    }
    Settle();
    return saved->flow.id;
  }

  template <typename T>
  static std::string Describe(const Result<T>& r) {
    if (r) return "";
    std::string out = r.error().message;
    for (const auto& d : r.error().details) out += "; " + d.path + ": " + d.message;
    return out;
  }

  // The flow's scheduled runs, oldest first.
  std::vector<weft::Run> Runs(const std::string& flow_id) {
    RunFilter f;
    f.flow_id = flow_id;
    f.limit = 1000;
    auto page = store_->ListRuns(f);
    EXPECT_TRUE(page);
    std::vector<weft::Run> out(page->runs.rbegin(), page->runs.rend());
    return out;
  }

  std::vector<TimePoint> FiredTimes(const std::string& flow_id) {
    std::vector<TimePoint> out;
    for (const auto& r : Runs(flow_id)) out.push_back(r.scheduled_for.value_or(TimePoint{}));
    return out;
  }

  Flow GetFlow(const std::string& id) {
    auto f = store_->GetFlow(id);
    EXPECT_TRUE(f);
    return f ? *f : Flow{};
  }

  void Finish(const weft::Run& run) {
    weft::Run r = run;
    r.status = RunStatus::kSucceeded;
    r.finished_at = clock_.Now();
    ASSERT_TRUE(store_->UpdateRun(r));
    hub_.RunProgressed(r.id);
  }

  std::filesystem::path dir_;
  FakeClock clock_{kT0};
  std::unique_ptr<SqliteStore> store_;
  ActionCatalog catalog_;
  ChangeHub hub_;
  ScheduleFacts facts_;
  std::unique_ptr<FlowService> flows_;
  std::unique_ptr<RunService> runs_;
  std::vector<std::unique_ptr<Scheduler>> schedulers_;
};

TEST_F(SchedulerTest, FiresAtItsTimesWithTheScheduleTrigger) {
  StartScheduler();
  std::string id = CreateScheduled("every-10s", "{ kind: cron, cron: '*/10 * * * * *' }");
  EXPECT_EQ(GetFlow(id).next_run_at, At(10));
  AdvanceTo(At(9) + Millis(999));
  EXPECT_TRUE(Runs(id).empty());
  AdvanceTo(At(10));
  ASSERT_EQ(FiredTimes(id), std::vector<TimePoint>{At(10)});
  AdvanceTo(At(25));  // 20 only: 30 is not due yet
  AdvanceTo(At(30));
  EXPECT_EQ(FiredTimes(id), (std::vector<TimePoint>{At(10), At(20), At(30)}));
  auto runs = Runs(id);
  EXPECT_EQ(runs[0].trigger_type, "schedule");
  EXPECT_EQ(runs[0].trigger["type"], "schedule");
  EXPECT_EQ(runs[0].trigger["scheduled_for"], FormatIso(At(10)));
  EXPECT_EQ(runs[0].status, RunStatus::kQueued);
  EXPECT_EQ(runs[0].flow_version, 1);
  EXPECT_EQ(GetFlow(id).next_run_at, At(40));
  EXPECT_EQ(GetFlow(id).missed_fires, 0);
}

TEST_F(SchedulerTest, ActivationNeverCountsInactiveTimeAsMissed) {
  StartScheduler();
  std::string id = CreateScheduled("later", "{ kind: cron, cron: '*/10 * * * * *' }", false);
  AdvanceTo(At(300));
  EXPECT_FALSE(GetFlow(id).next_run_at.has_value());
  ASSERT_TRUE(flows_->Activate(id));
  Settle();
  EXPECT_EQ(GetFlow(id).next_run_at, At(310));
  EXPECT_TRUE(Runs(id).empty());
  AdvanceTo(At(310));
  EXPECT_EQ(FiredTimes(id), std::vector<TimePoint>{At(310)});
  EXPECT_EQ(GetFlow(id).missed_fires, 0);

  // Off for a while, then on again: still nothing missed.
  ASSERT_TRUE(flows_->Deactivate(id));
  Settle();
  AdvanceTo(At(500) + Millis(500));
  ASSERT_TRUE(flows_->Activate(id));
  Settle();
  EXPECT_EQ(GetFlow(id).next_run_at, At(510));
  AdvanceTo(At(510));
  EXPECT_EQ(FiredTimes(id), (std::vector<TimePoint>{At(310), At(510)}));
  EXPECT_EQ(GetFlow(id).missed_fires, 0);
}

TEST_F(SchedulerTest, DeactivateAndDeleteStopAtOnce) {
  Scheduler& s = StartScheduler();
  std::string a = CreateScheduled("a", "{ kind: cron, cron: '*/10 * * * * *' }");
  std::string b = CreateScheduled("b", "{ kind: cron, cron: '*/10 * * * * *' }");
  EXPECT_EQ(s.ActiveSchedules(), 2u);
  AdvanceTo(At(10));
  ASSERT_TRUE(flows_->Deactivate(a));
  ASSERT_TRUE(flows_->Delete(b));
  Settle();
  EXPECT_EQ(s.ActiveSchedules(), 0u);
  EXPECT_FALSE(GetFlow(a).next_run_at.has_value());
  AdvanceTo(At(60));
  EXPECT_EQ(FiredTimes(a), std::vector<TimePoint>{At(10)});
}

TEST_F(SchedulerTest, ADeactivatedFlowIsNeverFiredEvenIfTheSchedulerHasNotHeard) {
  // The store refuses a fire of an inactive flow, so a deactivation that the
  // scheduler has not handled yet still stops the schedule.
  StartScheduler();
  std::string id = CreateScheduled("quiet", "{ kind: cron, cron: '*/10 * * * * *' }");
  ASSERT_TRUE(store_->SetFlowActive(id, false));  // behind the hub's back
  AdvanceTo(At(10));
  EXPECT_TRUE(Runs(id).empty());
}

TEST_F(SchedulerTest, ASaveThatChangesTheScheduleRecomputes) {
  StartScheduler();
  std::string id = CreateScheduled("change", "{ kind: cron, cron: '0 * * * * *' }");
  EXPECT_EQ(GetFlow(id).next_run_at, At(60));
  Flow f = GetFlow(id);
  Json doc = f.document;
  doc["trigger"]["schedule"]["cron"] = "*/5 * * * * *";
  auto saved = flows_->Save(id, doc, "");
  ASSERT_TRUE(saved) << Describe(saved);
  Settle();
  EXPECT_EQ(GetFlow(id).next_run_at, At(5));
  AdvanceTo(At(5));
  auto runs = Runs(id);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].scheduled_for, At(5));
  EXPECT_EQ(runs[0].flow_version, 2);

  // A save that leaves the schedule alone keeps the next fire (and uses the new version).
  doc["description"] = "new words";
  ASSERT_TRUE(flows_->Save(id, doc, ""));
  Settle();
  EXPECT_EQ(GetFlow(id).next_run_at, At(10));
  AdvanceTo(At(10));
  runs = Runs(id);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].flow_version, 3);
}

// Fires at 10, stops, and restarts at 45: 20, 30 and 40 were missed.
class RestartTest : public SchedulerTest {
 protected:
  std::string FireThenMissThree(const std::string& misfire) {
    StartScheduler();
    std::string id = CreateScheduled(
        "restart-" + misfire, "{ kind: cron, cron: '*/10 * * * * *', misfire: " + misfire + " }");
    AdvanceTo(At(10));
    EXPECT_EQ(Runs(id).size(), 1u);
    StopSchedulers();
    clock_.Set(At(45));
    StartScheduler();
    Settle();
    return id;
  }
};

TEST_F(RestartTest, RunOnceFiresOneRunForThreeMissedTimes) {
  std::string id = FireThenMissThree("run_once");
  auto runs = Runs(id);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].scheduled_for, At(40));
  EXPECT_EQ(runs[1].trigger["missed"], 3);
  EXPECT_EQ(GetFlow(id).missed_fires, 3);
  EXPECT_EQ(GetFlow(id).next_run_at, At(50));
  AdvanceTo(At(50));
  EXPECT_EQ(FiredTimes(id), (std::vector<TimePoint>{At(10), At(40), At(50)}));
  EXPECT_EQ(GetFlow(id).missed_fires, 3);
}

TEST_F(RestartTest, SkipFiresNothingForMissedTimes) {
  std::string id = FireThenMissThree("skip");
  EXPECT_EQ(FiredTimes(id), std::vector<TimePoint>{At(10)});
  EXPECT_EQ(GetFlow(id).missed_fires, 3);
  EXPECT_EQ(GetFlow(id).next_run_at, At(50));
  AdvanceTo(At(50));
  EXPECT_EQ(FiredTimes(id), (std::vector<TimePoint>{At(10), At(50)}));
}

TEST_F(SchedulerTest, ARestartWithNothingMissedFiresNormally) {
  StartScheduler();
  std::string id = CreateScheduled("short", "{ kind: cron, cron: '*/10 * * * * *' }");
  StopSchedulers();
  clock_.Set(At(5));
  StartScheduler();
  AdvanceTo(At(10));
  EXPECT_EQ(FiredTimes(id), std::vector<TimePoint>{At(10)});
  EXPECT_EQ(GetFlow(id).missed_fires, 0);
}

TEST_F(SchedulerTest, MoreThanAMinuteLateCountsAsMissed) {
  StartScheduler();
  std::string id = CreateScheduled("late", "{ kind: cron, cron: '*/10 * * * * *' }");
  AdvanceTo(At(95));  // 10 is 85 s late: 10 ... 90 are missed, one run for them
  auto runs = Runs(id);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].scheduled_for, At(90));
  EXPECT_EQ(GetFlow(id).missed_fires, 9);
  EXPECT_EQ(GetFlow(id).next_run_at, At(100));
}

TEST_F(SchedulerTest, OverlapSkipRecordsSkippedRuns) {
  StartScheduler();
  std::string id =
      CreateScheduled("skipper", "{ kind: cron, cron: '*/10 * * * * *', overlap: skip }");
  AdvanceTo(At(10));
  AdvanceTo(At(20));
  AdvanceTo(At(30));
  auto runs = Runs(id);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].status, RunStatus::kQueued);
  EXPECT_EQ(runs[1].status, RunStatus::kSkipped);
  EXPECT_EQ(runs[2].status, RunStatus::kSkipped);
  EXPECT_EQ(runs[1].scheduled_for, At(20));
  EXPECT_TRUE(runs[1].finished_at.has_value());
  Finish(runs[0]);
  AdvanceTo(At(40));
  runs = Runs(id);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[3].status, RunStatus::kQueued);
}

TEST_F(SchedulerTest, OverlapQueueWaitsForThePreviousRun) {
  StartScheduler();
  std::string id =
      CreateScheduled("queuer", "{ kind: cron, cron: '*/10 * * * * *', overlap: queue }");
  AdvanceTo(At(10));
  AdvanceTo(At(20));
  AdvanceTo(At(25));
  auto runs = Runs(id);
  ASSERT_EQ(runs.size(), 1u);  // 20 waits for 10's run
  Finish(runs[0]);
  AdvanceTo(At(25) + Millis(200));
  runs = Runs(id);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].scheduled_for, At(20));
  EXPECT_EQ(runs[1].status, RunStatus::kQueued);
  EXPECT_EQ(GetFlow(id).missed_fires, 0);
}

TEST_F(SchedulerTest, OnceFiresOnceAndTheFlowStaysActive) {
  StartScheduler();
  std::string id =
      CreateScheduled("one-time", "{ kind: once, at: '2027-01-15T08:01:00', timezone: UTC }");
  EXPECT_EQ(GetFlow(id).next_run_at, At(60));
  AdvanceTo(At(60));
  AdvanceTo(At(3600));
  EXPECT_EQ(FiredTimes(id), std::vector<TimePoint>{At(60)});
  Flow f = GetFlow(id);
  EXPECT_TRUE(f.active);
  EXPECT_FALSE(f.next_run_at.has_value());
  // And a restart does not fire it again.
  StopSchedulers();
  StartScheduler();
  AdvanceTo(At(7200));
  EXPECT_EQ(FiredTimes(id), std::vector<TimePoint>{At(60)});
}

TEST_F(SchedulerTest, TwoSchedulersOnOneStoreNeverDoubleAFire) {
  StartScheduler();
  StartScheduler();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(
        CreateScheduled("pair-" + std::to_string(i), "{ kind: cron, cron: '* * * * * *' }"));
  for (int s = 1; s <= 30; ++s) AdvanceTo(At(s));
  for (const auto& id : ids) {
    std::vector<TimePoint> want;
    for (int s = 1; s <= 30; ++s) want.push_back(At(s));
    EXPECT_EQ(FiredTimes(id), want);
  }
}

TEST_F(SchedulerTest, SaveTimeValidationNamesTheField) {
  auto doc = ParseDocumentText(
      "name: bad\ntrigger:\n  type: schedule\n  schedule: { kind: cron, cron: '0 60 * * *', "
      "timezone: Mars/Base }\n"
      "steps:\n  - id: work\n    uses: test.noop\n");
  ASSERT_TRUE(doc);
  auto saved = flows_->Create(*doc, "");
  ASSERT_FALSE(saved);
  std::map<std::string, std::string> problems;
  for (const auto& d : saved.error().details) problems[d.path] = d.message;
  ASSERT_TRUE(problems.count("trigger.schedule.cron")) << Describe(saved);
  EXPECT_NE(problems["trigger.schedule.cron"].find("out of range"), std::string::npos);
  EXPECT_TRUE(problems.count("trigger.schedule.timezone")) << Describe(saved);

  // A once time in the past is refused when `at` changes, not on a later save.
  std::string id = CreateScheduled(
      "once-later", "{ kind: once, at: '2027-01-15T09:00:00', timezone: UTC }", false);
  clock_.Set(At(7200));
  Json d = GetFlow(id).document;
  d["description"] = "still fine";
  EXPECT_TRUE(flows_->Save(id, d, "")) << "at did not change";
  d["trigger"]["schedule"]["at"] = "2027-01-15T08:30:00";
  auto past = flows_->Save(id, d, "");
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().details.at(0).path, "trigger.schedule.at");
}

}  // namespace
}  // namespace weft
