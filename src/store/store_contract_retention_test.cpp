#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "store/store_contract_test.h"
#include "store/store_contract_util.h"

namespace weft::contract {

// ---- limits and retention ------------------------------------------------------

namespace {

FlowWrite LimitedWrite(const std::string& name, int max_concurrency) {
  FlowWrite w = Write(name);
  w.document["settings"] = Json{{"max_concurrency", max_concurrency}};
  return w;
}

weft::Run FinishedRun(const std::string& flow_id, TimePoint created, TimePoint finished,
                      RunStatus status = RunStatus::kSucceeded) {
  weft::Run r = NewRun(flow_id, created, status);
  r.started_at = created;
  r.finished_at = finished;
  return r;
}

}  // namespace

TEST_P(StoreContractTest, ClaimRunsHoldsAFlowToItsMaxConcurrency) {
  Flow limited = Must(store().CreateFlow(LimitedWrite("limited", 1), ""));
  Flow open = Must(store().CreateFlow(Write("open"), ""));
  weft::Run a1 = Must(store().CreateRun(NewRun(limited.id, At(1))));
  weft::Run a2 = Must(store().CreateRun(NewRun(limited.id, At(2))));
  weft::Run b1 = Must(store().CreateRun(NewRun(open.id, At(3))));
  weft::Run b2 = Must(store().CreateRun(NewRun(open.id, At(4))));

  // One claim of many takes one run of the limited flow, and every open one.
  auto got = Must(store().ClaimRuns("n", 10, At(10), At(100)));
  EXPECT_EQ(Ids(got), (std::vector<std::string>{a1.id, b1.id, b2.id}));
  EXPECT_TRUE(Must(store().ClaimRuns("n", 10, At(10), At(100))).empty());

  // Running, and also while waiting unclaimed (a delay), a1 holds the place.
  weft::Run running = Must(store().GetRun(a1.id, false));
  running.status = RunStatus::kRunning;
  running.started_at = At(10);
  running.claimed_by.clear();
  running.lease_until.reset();
  running.not_before = At(50);
  ASSERT_OK(store().UpdateRun(running));
  EXPECT_TRUE(Must(store().ClaimRuns("n", 10, At(20), At(100))).empty());
  // A running run itself is always taken back (it resumes), limit or not.
  EXPECT_EQ(Ids(Must(store().ClaimRuns("n", 10, At(50), At(100)))),
            (std::vector<std::string>{a1.id}));

  // Raising the limit with a save lets the next one go at once.
  FlowWrite two = LimitedWrite("limited", 2);
  ASSERT_OK(store().SaveFlow(limited.id, two, std::nullopt, ""));
  EXPECT_EQ(Ids(Must(store().ClaimRuns("n", 10, At(51), At(100)))),
            (std::vector<std::string>{a2.id}));
}

TEST_P(StoreContractTest, ClaimRunsFreesAPlaceWhenARunFinishesOrItsClaimLapses) {
  Flow limited = Must(store().CreateFlow(LimitedWrite("limited", 1), ""));
  weft::Run a1 = Must(store().CreateRun(NewRun(limited.id, At(1))));
  weft::Run a2 = Must(store().CreateRun(NewRun(limited.id, At(2))));
  ASSERT_EQ(Ids(Must(store().ClaimRuns("dead", 1, At(10), At(30)))),
            (std::vector<std::string>{a1.id}));
  EXPECT_TRUE(Must(store().ClaimRuns("n", 1, At(20), At(60))).empty());
  // The claimer died before starting a1: once its lease ends, a1 is taken again (not a2).
  EXPECT_EQ(Ids(Must(store().ClaimRuns("n", 1, At(31), At(60)))),
            (std::vector<std::string>{a1.id}));
  weft::Run done = Must(store().GetRun(a1.id, false));
  done.status = RunStatus::kSucceeded;
  done.finished_at = At(32);
  done.claimed_by.clear();
  done.lease_until.reset();
  ASSERT_OK(store().UpdateRun(done));
  EXPECT_EQ(Ids(Must(store().ClaimRuns("n", 1, At(33), At(60)))),
            (std::vector<std::string>{a2.id}));
}

TEST_P(StoreContractTest, ConcurrentClaimsKeepAFlowWithinItsMaxConcurrency) {
  Flow limited = Must(store().CreateFlow(LimitedWrite("limited", 2), ""));
  for (int i = 0; i < 20; ++i) ASSERT_OK(store().CreateRun(NewRun(limited.id, At(i))));
  std::atomic<int> claimed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto got = store().ClaimRuns("node" + std::to_string(t), 1, At(100), At(1000));
        if (got) claimed += static_cast<int>(got->size());
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(claimed.load(), 2);
}

TEST_P(StoreContractTest, PruneRunsByAgeNeverTouchesUnfinishedRuns) {
  weft::Run old_ok = Must(store().CreateRun(FinishedRun("f", At(0), At(1))));
  ASSERT_OK(store().SaveStepRun(NewStep(old_ok.id, "a", 1)));
  weft::Run old_failed =
      Must(store().CreateRun(FinishedRun("f", At(0), At(1), RunStatus::kFailed)));
  weft::Run old_cancelled =
      Must(store().CreateRun(FinishedRun("f", At(0), At(2), RunStatus::kCancelled)));
  weft::Run new_ok = Must(store().CreateRun(FinishedRun("f", At(0), At(20))));
  weft::Run queued = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run running = NewRun("f", At(0), RunStatus::kRunning);
  running.started_at = At(0);
  running = Must(store().CreateRun(running));

  RunPrune p;
  p.flow_id = "f";
  p.before = At(10);
  p.failed_before = At(0);  // failed runs are kept longer
  EXPECT_EQ(Must(store().PruneRuns(p, 100)), 2);
  EXPECT_EQ(CodeOf(store().GetRun(old_ok.id, true)), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store().GetRun(old_cancelled.id, false)), ErrorCode::kNotFound);
  for (const auto& id : {old_failed.id, new_ok.id, queued.id, running.id})
    ASSERT_OK(store().GetRun(id, false));
  // Its steps went with it: a step saved for it now finds no run.
  EXPECT_EQ(CodeOf(store().SaveStepRun(NewStep(old_ok.id, "b", 2))), ErrorCode::kNotFound);

  p.failed_before = At(10);
  p.before = At(100);
  EXPECT_EQ(Must(store().PruneRuns(p, 100)), 2);  // old_failed, new_ok
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 2);
  EXPECT_EQ(Must(store().PruneRuns(p, 100)), 0);
}

TEST_P(StoreContractTest, PruneRunsByCountKeepsTheNewestAndRecentFailures) {
  std::vector<weft::Run> runs;
  for (int i = 0; i < 6; ++i) {
    RunStatus st = i == 1 ? RunStatus::kFailed : RunStatus::kSucceeded;
    runs.push_back(Must(store().CreateRun(FinishedRun("g", At(i), At(100 + i), st))));
  }
  ASSERT_OK(store().CreateRun(NewRun("g", At(0))));  // queued: never counted out
  RunPrune p;
  p.flow_id = "g";
  p.keep = 2;
  p.failed_before = At(50);                       // the failed run (finished at 101) stays
  EXPECT_EQ(Must(store().PruneRuns(p, 100)), 3);  // runs 0, 2, 3
  for (int i : {1, 4, 5}) ASSERT_OK(store().GetRun(runs[i].id, false));
  for (int i : {0, 2, 3})
    EXPECT_EQ(CodeOf(store().GetRun(runs[i].id, false)), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, PruneRunsEveryFlowButExceptionsInBatches) {
  for (int i = 0; i < 7; ++i) ASSERT_OK(store().CreateRun(FinishedRun("x", At(i), At(i))));
  weft::Run kept = Must(store().CreateRun(FinishedRun("y", At(0), At(0))));
  RunPrune p;
  p.except_flows = {"y"};
  p.before = At(100);
  p.failed_before = At(100);
  EXPECT_EQ(Must(store().PruneRuns(p, 3)), 3);
  EXPECT_EQ(Must(store().PruneRuns(p, 3)), 3);
  EXPECT_EQ(Must(store().PruneRuns(p, 3)), 1);
  EXPECT_EQ(Must(store().PruneRuns(p, 3)), 0);
  ASSERT_OK(store().GetRun(kept.id, false));
  // Nothing asked, nothing deleted.
  EXPECT_EQ(Must(store().PruneRuns(RunPrune{}, 100)), 0);
  ASSERT_OK(store().ReclaimSpace(100));
}

// ---- files --------------------------------------------------------------------

namespace {

Json FileValue(const std::string& id) {
  return Json{{"type", "file"}, {"id", id}, {"name", "a.bin"}, {"size", 3}};
}

}  // namespace

TEST_P(StoreContractTest, RunsReferenceTheFilesOfTheirTriggerAndStepOutputsUntilPruned) {
  const std::string a = "fil_" + std::string(22, 'a'), b = "fil_" + std::string(22, 'b'),
                    c = "fil_" + std::string(22, 'c'), d = "fil_" + std::string(22, 'd');
  weft::Run one = FinishedRun("f", At(0), At(1));
  one.trigger = Json{{"type", "webhook"}, {"body", {{"upload", FileValue(a)}}}};
  one = Must(store().CreateRun(one));
  StepRun got = NewStep(one.id, "get", 1);
  got.output = Json{{"body", FileValue(b)}, {"list", Json::array({FileValue(a)})}};
  ASSERT_OK(store().SaveStepRun(got));
  // A failed step's output holds no result: nothing referenced.
  StepRun failed = NewStep(one.id, "put", 2, StepStatus::kFailed);
  failed.output = Json{{"file", FileValue(d)}};
  ASSERT_OK(store().SaveRun(nullptr, {failed}));
  EXPECT_EQ(Must(store().FilesOfRun(one.id)), (std::vector<std::string>{a, b}));

  // A second run shares file a, through a webhook (queued, without a key: the
  // SQLite store takes it through its journal).
  WebhookRecord r;
  r.run = NewRun("g", At(0));
  r.run->trigger_type = "webhook";
  r.run->trigger = Json{{"type", "webhook"}, {"body", {{"again", FileValue(a)}}}};
  WebhookRecorded rec = Must(store().RecordWebhook(r));
  ASSERT_TRUE(rec.run);
  EXPECT_EQ(Must(store().FilesOfRun(rec.run->id)), (std::vector<std::string>{a}));

  EXPECT_EQ(Must(store().UnreferencedFiles({a, b, c, d})), (std::vector<std::string>{c, d}));

  RunPrune p;
  p.flow_id = "f";
  p.before = At(10);
  p.failed_before = At(10);
  EXPECT_EQ(Must(store().PruneRuns(p, 100)), 1);
  // b was the pruned run's alone; a is still the webhook run's.
  EXPECT_EQ(Must(store().UnreferencedFiles({a, b})), (std::vector<std::string>{b}));
  EXPECT_TRUE(Must(store().FilesOfRun(one.id)).empty());
}

}  // namespace weft::contract
