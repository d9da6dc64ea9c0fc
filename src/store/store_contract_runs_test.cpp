#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "store/store_contract_test.h"
#include "store/store_contract_util.h"

namespace weft::contract {

// ---- runs ---------------------------------------------------------------------------------

TEST_P(StoreContractTest, CreateRunRoundTripsEveryField) {
  weft::Run r = NewRun("flow1", At(0));
  r.trigger = Json{{"type", "webhook"}, {"body", {{"x", 1}}}};
  r.trigger_type = "webhook";
  r.scheduled_for = At(-1);
  r.retry_of = "oldrun";
  r.not_before = At(5);
  weft::Run created = Must(store().CreateRun(r));
  EXPECT_FALSE(created.id.empty());

  weft::Run got = Must(store().GetRun(created.id, true));
  EXPECT_EQ(got.id, created.id);
  EXPECT_EQ(got.flow_id, "flow1");
  EXPECT_EQ(got.flow_name, "flow flow1");
  EXPECT_EQ(got.flow_version, 1);
  EXPECT_EQ(got.trigger_type, "webhook");
  EXPECT_EQ(got.trigger, r.trigger);
  EXPECT_EQ(got.status, RunStatus::kQueued);
  EXPECT_EQ(got.scheduled_for, At(-1));
  EXPECT_EQ(got.created_at, At(0));
  EXPECT_FALSE(got.started_at.has_value());
  EXPECT_FALSE(got.finished_at.has_value());
  EXPECT_EQ(got.input, r.input);
  EXPECT_TRUE(got.output.is_null());
  EXPECT_TRUE(got.error.is_null());
  EXPECT_EQ(got.retry_of, "oldrun");
  EXPECT_TRUE(got.claimed_by.empty());
  EXPECT_FALSE(got.lease_until.has_value());
  EXPECT_EQ(got.not_before, At(5));
  EXPECT_FALSE(got.cancel_requested);
  EXPECT_TRUE(got.steps.empty());
}

TEST_P(StoreContractTest, CreateRunFillsIdAndTimeAndRejectsDuplicates) {
  weft::Run r = NewRun("flow1", TimePoint{});
  weft::Run created = Must(store().CreateRun(r));
  EXPECT_FALSE(created.id.empty());
  EXPECT_NE(created.created_at, TimePoint{});
  EXPECT_EQ(Must(store().GetRun(created.id, false)).created_at, created.created_at);
  EXPECT_EQ(CodeOf(store().CreateRun(created)), ErrorCode::kConflict);
}

TEST_P(StoreContractTest, CreateRunWithStepsStoresThemTogether) {
  weft::Run r = NewRun("flow1", At(0));
  r.steps = {NewStep("", "a", 1), NewStep("", "b", 2)};
  weft::Run created = Must(store().CreateRun(r));
  weft::Run got = Must(store().GetRun(created.id, true));
  ASSERT_EQ(got.steps.size(), 2u);
  EXPECT_EQ(got.steps[0].path, "a");
  EXPECT_EQ(got.steps[0].run_id, created.id);
  EXPECT_EQ(got.steps[1].path, "b");
}

TEST_P(StoreContractTest, GetRunUnknownIsNotFound) {
  auto r = store().GetRun("norun", true);
  ASSERT_EQ(CodeOf(r), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("run norun not found"), std::string::npos);
}

TEST_P(StoreContractTest, ClaimRunsTakesRunnableRunsOldestFirst) {
  weft::Run r3 = Must(store().CreateRun(NewRun("f", At(3))));
  weft::Run r1 = Must(store().CreateRun(NewRun("f", At(1))));
  weft::Run r2 = Must(store().CreateRun(NewRun("f", At(2))));
  ASSERT_OK(store().CreateRun(NewRun("f", At(0), RunStatus::kSucceeded)));
  ASSERT_OK(store().CreateRun(NewRun("f", At(0), RunStatus::kSkipped)));
  weft::Run later = NewRun("f", At(0));
  later.not_before = At(100);
  later = Must(store().CreateRun(later));

  auto got = Must(store().ClaimRuns("node1", 2, At(10), At(400)));
  ASSERT_EQ(Ids(got), (std::vector<std::string>{r1.id, r2.id}));
  EXPECT_EQ(got[0].claimed_by, "node1");
  EXPECT_EQ(got[0].lease_until, At(400));
  EXPECT_EQ(got[0].status, RunStatus::kQueued);
  EXPECT_TRUE(got[0].steps.empty());
  EXPECT_EQ(got[0].input, r1.input);

  weft::Run stored = Must(store().GetRun(r1.id, false));
  EXPECT_EQ(stored.claimed_by, "node1");
  EXPECT_EQ(stored.lease_until, At(400));

  // Held runs are not handed out again; the finished and the not-yet ones never.
  EXPECT_EQ(Ids(Must(store().ClaimRuns("node2", 10, At(10), At(400)))),
            (std::vector<std::string>{r3.id}));
  EXPECT_TRUE(Must(store().ClaimRuns("node2", 10, At(10), At(400))).empty());
  // not_before reached.
  EXPECT_EQ(Ids(Must(store().ClaimRuns("node2", 10, At(100), At(140)))),
            (std::vector<std::string>{later.id}));
  EXPECT_TRUE(Must(store().ClaimRuns("node2", 0, At(10), At(400))).empty());
}

TEST_P(StoreContractTest, ClaimRunsTakesABatchOldestFirstFromEveryKindOfRunnableRun) {
  weft::Run ready0 = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run delayed = NewRun("f", At(1));
  delayed.not_before = At(5);
  delayed = Must(store().CreateRun(delayed));
  weft::Run lapsed = Must(store().CreateRun(NewRun("f", At(2))));
  ASSERT_EQ(Ids(Must(store().ClaimRuns("dead", 1, At(2), At(8)))),
            (std::vector<std::string>{ready0.id}));
  // ready0 is now held by "dead" until 8; lapsed gets a claim that ends at 6.
  weft::Run held = Must(store().GetRun(lapsed.id, false));
  held.claimed_by = "dead";
  held.lease_until = At(6);
  ASSERT_OK(store().UpdateRun(held));
  weft::Run ready3 = Must(store().CreateRun(NewRun("f", At(3))));
  weft::Run ready4 = Must(store().CreateRun(NewRun("f", At(4))));
  weft::Run later = NewRun("f", At(0));
  later.not_before = At(100);
  later = Must(store().CreateRun(later));

  // At 7: ready0 is still held; delayed is due, lapsed's lease has ended.
  auto got = Must(store().ClaimRuns("n", 3, At(7), At(60)));
  EXPECT_EQ(Ids(got), (std::vector<std::string>{delayed.id, lapsed.id, ready3.id}));
  for (const auto& r : got) EXPECT_EQ(r.claimed_by, "n");
  EXPECT_EQ(Ids(Must(store().ClaimRuns("n", 5, At(7), At(60)))),
            (std::vector<std::string>{ready4.id}));
  EXPECT_EQ(Ids(Must(store().ClaimRuns("n", 5, At(9), At(60)))),
            (std::vector<std::string>{ready0.id}));
}

TEST_P(StoreContractTest, ClaimRunsRetakesExpiredLeasesKeepingStatus) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  auto first = Must(store().ClaimRuns("dead", 1, At(1), At(30)));
  ASSERT_EQ(first.size(), 1u);
  weft::Run running = first[0];
  running.status = RunStatus::kRunning;
  running.started_at = At(2);
  ASSERT_OK(store().UpdateRun(running));

  EXPECT_TRUE(Must(store().ClaimRuns("alive", 5, At(29), At(60))).empty());
  auto again = Must(store().ClaimRuns("alive", 5, At(31), At(60)));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, r.id);
  EXPECT_EQ(again[0].status, RunStatus::kRunning);
  EXPECT_EQ(again[0].started_at, At(2));
  EXPECT_EQ(again[0].claimed_by, "alive");
  EXPECT_EQ(again[0].lease_until, At(60));
}

TEST_P(StoreContractTest, ClaimRunsTakesReleasedRuns) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  auto got = Must(store().ClaimRuns("n", 1, At(1), At(30)));
  ASSERT_EQ(got.size(), 1u);
  // The engine hands a run back (graceful shutdown, or a wait with not_before).
  weft::Run back = got[0];
  back.claimed_by.clear();
  back.lease_until.reset();
  back.not_before = At(5);
  ASSERT_OK(store().UpdateRun(back));
  EXPECT_TRUE(Must(store().ClaimRuns("m", 1, At(4), At(30))).empty());
  EXPECT_EQ(Ids(Must(store().ClaimRuns("m", 1, At(5), At(30)))), (std::vector<std::string>{r.id}));
}

TEST_P(StoreContractTest, ConcurrentClaimsNeverHandARunOutTwice) {
  constexpr int kRuns = 2000;
  constexpr int kThreads = 8;
  std::set<std::string> created;
  for (int i = 0; i < kRuns; ++i) {
    created.insert(Must(store().CreateRun(NewRun("f", At(i % 100)))).id);
  }
  std::vector<std::vector<std::string>> claimed(kThreads);
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string node = "node" + std::to_string(t);
      for (;;) {
        auto got = store().ClaimRuns(node, 1 + t % 4, At(1000), At(2000));
        if (!got) {
          failed = true;
          return;
        }
        if (got->empty()) return;
        for (const auto& r : *got) claimed[t].push_back(r.id);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_FALSE(failed);
  std::map<std::string, int> times;
  size_t total = 0;
  for (const auto& ids : claimed) {
    total += ids.size();
    for (const auto& id : ids) times[id]++;
  }
  EXPECT_EQ(total, static_cast<size_t>(kRuns));
  for (const auto& [id, n] : times) ASSERT_EQ(n, 1) << "run " << id << " claimed " << n << " times";
  std::set<std::string> seen;
  for (const auto& [id, n] : times) seen.insert(id);
  EXPECT_EQ(seen, created);
}

TEST_P(StoreContractTest, ConcurrentWritersAndReaders) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        auto run = store().CreateRun(NewRun("f", At(i)));
        if (!run) {
          failed = true;
          return;
        }
        if (!store().SaveStepRun(NewStep(run->id, "a", 1))) failed = true;
        auto got = store().GetRun(run->id, true);
        if (!got || got->steps.size() != 1) failed = true;
        RunFilter filter;
        filter.limit = 5;
        if (!store().ListRuns(filter)) failed = true;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), kThreads * kPerThread);
}

TEST_P(StoreContractTest, ConcurrentSavesFromOneBaseVersionLetOneWin) {
  Flow f = Must(store().CreateFlow(Write("race", OneStep("a")), ""));
  constexpr int kThreads = 8;
  std::atomic<int> won{0}, conflicts{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto r = store().SaveFlow(f.id, Write("race", OneStep("t" + std::to_string(t))), 1, "");
      if (r) {
        won++;
      } else if (r.error().code == ErrorCode::kVersionConflict) {
        conflicts++;
      } else {
        other++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(won, 1);
  EXPECT_EQ(conflicts, kThreads - 1);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(Must(store().GetFlow(f.id)).version, 2);
  EXPECT_EQ(Must(store().ListFlowVersions(f.id)).size(), 2u);
}

TEST_P(StoreContractTest, ConcurrentCreatesWithOneNameLetOneWin) {
  constexpr int kThreads = 8;
  std::atomic<int> won{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half race for one name; the others each have their own.
      std::string name = t % 2 ? "shared" : "own" + std::to_string(t);
      auto r = store().CreateFlow(Write(name), "");
      if (r) {
        won++;
      } else if (r.error().code == ErrorCode::kConflict) {
        conflicts++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(won, 1 + kThreads / 2);
  EXPECT_EQ(conflicts, kThreads / 2 - 1);
  EXPECT_EQ(Must(store().ListFlows()).size(), static_cast<size_t>(1 + kThreads / 2));
}

TEST_P(StoreContractTest, ClaimRunsWaitsForNotBeforeEvenAfterALeaseEnds) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  auto got = Must(store().ClaimRuns("n", 1, At(1), At(30)));
  ASSERT_EQ(got.size(), 1u);
  weft::Run waiting = got[0];  // a retry waiting until 100, still held by n
  waiting.status = RunStatus::kRunning;
  waiting.not_before = At(100);
  ASSERT_OK(store().UpdateRun(waiting));
  EXPECT_TRUE(Must(store().ClaimRuns("m", 1, At(50), At(80))).empty());
  EXPECT_EQ(Ids(Must(store().ClaimRuns("m", 1, At(100), At(130)))),
            (std::vector<std::string>{r.id}));
}

TEST_P(StoreContractTest, RenewLeasesExtendsOnlyTheNodesOwnRuns) {
  weft::Run a = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run b = Must(store().CreateRun(NewRun("f", At(1))));
  ASSERT_EQ(Must(store().ClaimRuns("n1", 1, At(2), At(30))).size(), 1u);
  ASSERT_EQ(Must(store().ClaimRuns("n2", 1, At(2), At(30))).size(), 1u);
  ASSERT_OK(store().RenewLeases("n1", {a.id, b.id}, At(90)));
  ASSERT_OK(store().RenewLeases("n1", {}, At(90)));
  EXPECT_EQ(Must(store().GetRun(a.id, false)).lease_until, At(90));
  EXPECT_EQ(Must(store().GetRun(b.id, false)).lease_until, At(30));
  // a is still held at 60; b has expired.
  EXPECT_EQ(Ids(Must(store().ClaimRuns("n3", 5, At(60), At(120)))),
            (std::vector<std::string>{b.id}));
}

TEST_P(StoreContractTest, UpdateRunWritesStateButNotIdentity) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run u = r;
  u.status = RunStatus::kFailed;
  u.started_at = At(1);
  u.finished_at = At(2);
  u.output = Json{{"ok", false}};
  u.error = Json{{"code", "step_failed"}, {"message", "boom"}, {"step", "a"}};
  u.claimed_by = "n";
  u.lease_until = At(3);
  u.not_before = At(4);
  // Identity fields are not written.
  u.flow_id = "other";
  u.flow_name = "other";
  u.input = Json{{"changed", true}};
  u.trigger_type = "schedule";
  ASSERT_OK(store().UpdateRun(u));

  weft::Run got = Must(store().GetRun(r.id, false));
  EXPECT_EQ(got.status, RunStatus::kFailed);
  EXPECT_EQ(got.started_at, At(1));
  EXPECT_EQ(got.finished_at, At(2));
  EXPECT_EQ(got.output, u.output);
  EXPECT_EQ(got.error, u.error);
  EXPECT_EQ(got.claimed_by, "n");
  EXPECT_EQ(got.lease_until, At(3));
  EXPECT_EQ(got.not_before, At(4));
  EXPECT_EQ(got.flow_id, "f");
  EXPECT_EQ(got.flow_name, r.flow_name);
  EXPECT_EQ(got.input, r.input);
  EXPECT_EQ(got.trigger_type, "manual");

  // Optional fields can be cleared again.
  u.claimed_by.clear();
  u.lease_until.reset();
  u.not_before.reset();
  u.output = Json();
  ASSERT_OK(store().UpdateRun(u));
  got = Must(store().GetRun(r.id, false));
  EXPECT_TRUE(got.claimed_by.empty());
  EXPECT_FALSE(got.lease_until.has_value());
  EXPECT_FALSE(got.not_before.has_value());
  EXPECT_TRUE(got.output.is_null());

  weft::Run missing = NewRun("f", At(0));
  missing.id = "norun";
  EXPECT_EQ(CodeOf(store().UpdateRun(missing)), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, UpdateRunNeverClearsARequestedCancel) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run engine_copy = r;  // read before the cancel
  EXPECT_TRUE(Must(store().RequestCancel(r.id)));
  engine_copy.status = RunStatus::kRunning;
  ASSERT_OK(store().UpdateRun(engine_copy));
  weft::Run got = Must(store().GetRun(r.id, false));
  EXPECT_TRUE(got.cancel_requested);
  EXPECT_EQ(got.status, RunStatus::kRunning);
}

TEST_P(StoreContractTest, SaveStepRunUpsertsKeepingSeq) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  ASSERT_OK(store().SaveStepRun(NewStep(r.id, "b", 2, StepStatus::kRunning)));
  ASSERT_OK(store().SaveStepRun(NewStep(r.id, "a", 1)));
  ASSERT_OK(store().SaveStepRun(NewStep(r.id, "each[0].c", 3)));
  // Replacing b (a retry's second attempt) keeps its place even if seq differs.
  StepRun b = NewStep(r.id, "b", 7, StepStatus::kFailed);
  b.attempts = 2;
  b.error = Json{{"code", "timeout"}, {"message", "took too long"}};
  b.output = Json();
  b.logs =
      Json::array({Json{{"at", "2027-01-15T08:00:00Z"}, {"level", "info"}, {"message", "hi"}}});
  b.wake_at = At(9);
  b.state = Json{{"branch", "then"}};
  ASSERT_OK(store().SaveStepRun(b));

  weft::Run got = Must(store().GetRun(r.id, true));
  ASSERT_EQ(got.steps.size(), 3u);
  EXPECT_EQ(got.steps[0].path, "a");
  EXPECT_EQ(got.steps[1].path, "b");
  EXPECT_EQ(got.steps[2].path, "each[0].c");
  const StepRun& gb = got.steps[1];
  EXPECT_EQ(gb.seq, 2);
  EXPECT_EQ(gb.run_id, r.id);
  EXPECT_EQ(gb.step_id, "b");
  EXPECT_EQ(gb.uses, "data.set");
  EXPECT_EQ(gb.status, StepStatus::kFailed);
  EXPECT_EQ(gb.attempts, 2);
  EXPECT_EQ(gb.started_at, kT0);
  EXPECT_EQ(gb.finished_at, kT0 + Millis(5));
  EXPECT_EQ(gb.input, b.input);
  EXPECT_TRUE(gb.output.is_null());
  EXPECT_EQ(gb.error, b.error);
  EXPECT_EQ(gb.logs, b.logs);
  EXPECT_EQ(gb.wake_at, At(9));
  EXPECT_EQ(gb.state, b.state);
  EXPECT_EQ(got.steps[0].output, Json({{"value", "a"}}));
  EXPECT_EQ(got.steps[0].logs, Json::array());

  EXPECT_TRUE(Must(store().GetRun(r.id, false)).steps.empty());
}

TEST_P(StoreContractTest, SaveStepRunForUnknownRunIsNotFound) {
  EXPECT_EQ(CodeOf(store().SaveStepRun(NewStep("norun", "a", 1))), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, SaveRunWritesTheRunAndItsStepsTogether) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run claimed = Must(store().ClaimRuns("n", 1, At(1), At(30))).at(0);
  // The executor's deferred header with the steps that waited for it.
  weft::Run header = claimed;
  header.status = RunStatus::kRunning;
  header.started_at = At(2);
  ASSERT_OK(store().SaveRun(&header,
                            {NewStep(r.id, "a", 1), NewStep(r.id, "b", 2, StepStatus::kRunning)}));
  weft::Run got = Must(store().GetRun(r.id, true));
  EXPECT_EQ(got.status, RunStatus::kRunning);
  EXPECT_EQ(got.started_at, At(2));
  EXPECT_EQ(got.claimed_by, "n");
  ASSERT_EQ(got.steps.size(), 2u);
  EXPECT_EQ(got.steps[0].path, "a");
  EXPECT_EQ(got.steps[1].status, StepStatus::kRunning);

  // Steps alone (the header is written), replacing one and keeping its seq.
  ASSERT_OK(store().SaveRun(nullptr, {NewStep(r.id, "b", 9), NewStep(r.id, "c", 3)}));
  got = Must(store().GetRun(r.id, true));
  ASSERT_EQ(got.steps.size(), 3u);
  EXPECT_EQ(got.steps[1].path, "b");
  EXPECT_EQ(got.steps[1].status, StepStatus::kSucceeded);
  EXPECT_EQ(got.steps[2].path, "c");

  // The run's end with the last results; an empty call writes nothing.
  weft::Run end = got;
  end.steps.clear();
  end.status = RunStatus::kSucceeded;
  end.finished_at = At(4);
  end.claimed_by.clear();
  end.lease_until.reset();
  end.output = Json{{"value", "d"}};
  ASSERT_OK(store().SaveRun(&end, {NewStep(r.id, "d", 4)}));
  ASSERT_OK(store().SaveRun(nullptr, {}));
  got = Must(store().GetRun(r.id, true));
  EXPECT_EQ(got.status, RunStatus::kSucceeded);
  EXPECT_EQ(got.output, end.output);
  EXPECT_TRUE(got.claimed_by.empty());
  ASSERT_EQ(got.steps.size(), 4u);
  EXPECT_EQ(got.steps[3].path, "d");
}

TEST_P(StoreContractTest, SaveRunIsAtomic) {
  weft::Run r = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run header = Must(store().GetRun(r.id, false));
  header.status = RunStatus::kRunning;
  // A step of another (unknown) run fails the whole write: the header and the
  // step before it are not written either.
  EXPECT_EQ(CodeOf(store().SaveRun(&header, {NewStep(r.id, "a", 1), NewStep("norun", "b", 2)})),
            ErrorCode::kNotFound);
  weft::Run got = Must(store().GetRun(r.id, true));
  EXPECT_EQ(got.status, RunStatus::kQueued);
  EXPECT_TRUE(got.steps.empty());
  weft::Run unknown = header;
  unknown.id = "norun";
  EXPECT_EQ(CodeOf(store().SaveRun(&unknown, {NewStep(r.id, "a", 1)})), ErrorCode::kNotFound);
  EXPECT_TRUE(Must(store().GetRun(r.id, true)).steps.empty());
}

TEST_P(StoreContractTest, ClaimRunsReturnsTheStepsOfRunsThatHaveThem) {
  weft::Run fresh = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run started = Must(store().CreateRun(NewRun("f", At(1))));
  ASSERT_OK(store().SaveStepRun(NewStep(started.id, "b", 2, StepStatus::kRunning)));
  ASSERT_OK(store().SaveStepRun(NewStep(started.id, "a", 1)));
  auto got = Must(store().ClaimRuns("n", 5, At(2), At(30)));
  ASSERT_EQ(Ids(got), (std::vector<std::string>{fresh.id, started.id}));
  EXPECT_TRUE(got[0].steps.empty());
  ASSERT_EQ(got[1].steps.size(), 2u);
  EXPECT_EQ(got[1].steps[0].path, "a");
  EXPECT_EQ(got[1].steps[0].output, Json({{"value", "a"}}));
  EXPECT_EQ(got[1].steps[1].path, "b");
  EXPECT_EQ(got[1].steps[1].status, StepStatus::kRunning);
}

TEST_P(StoreContractTest, RequestCancel) {
  weft::Run queued = Must(store().CreateRun(NewRun("f", At(0))));
  weft::Run done = Must(store().CreateRun(NewRun("f", At(1), RunStatus::kSucceeded)));
  EXPECT_TRUE(Must(store().RequestCancel(queued.id)));
  EXPECT_TRUE(Must(store().GetRun(queued.id, false)).cancel_requested);
  EXPECT_FALSE(Must(store().RequestCancel(done.id)));
  EXPECT_FALSE(Must(store().GetRun(done.id, false)).cancel_requested);
  EXPECT_EQ(CodeOf(store().RequestCancel("norun")), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, WakeRunClearsNotBeforeOfAWaitingUnheldRunOnly) {
  weft::Run waiting = NewRun("f", At(0));
  waiting.not_before = At(60);
  waiting = Must(store().CreateRun(waiting));
  EXPECT_TRUE(Must(store().WakeRun(waiting.id)));
  EXPECT_FALSE(Must(store().GetRun(waiting.id, false)).not_before.has_value());
  EXPECT_FALSE(Must(store().WakeRun(waiting.id))) << "nothing left to wake";

  // A run some node holds keeps its not_before (its holder writes it), and so does a finished one.
  weft::Run held = NewRun("f", At(1));
  held.not_before = At(60);
  held = Must(store().CreateRun(held));
  held.claimed_by = "node-a";
  held.lease_until = At(30);
  ASSERT_OK(store().UpdateRun(held));
  EXPECT_FALSE(Must(store().WakeRun(held.id)));
  EXPECT_EQ(Must(store().GetRun(held.id, false)).not_before, At(60));
  weft::Run done = NewRun("f", At(2), RunStatus::kSucceeded);
  done.not_before = At(60);
  done = Must(store().CreateRun(done));
  EXPECT_FALSE(Must(store().WakeRun(done.id)));
  EXPECT_FALSE(Must(store().WakeRun("norun")));
}

TEST_P(StoreContractTest, CountRuns) {
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 0);
  for (int i = 0; i < 3; ++i) ASSERT_OK(store().CreateRun(NewRun("f", At(i))));
  ASSERT_OK(store().CreateRun(NewRun("f", At(5), RunStatus::kSkipped)));
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 4);
  EXPECT_EQ(Must(store().CountRuns(RunStatus::kQueued)), 3);
  EXPECT_EQ(Must(store().CountRuns(RunStatus::kSkipped)), 1);
  EXPECT_EQ(Must(store().CountRuns(RunStatus::kRunning)), 0);
}

TEST_P(StoreContractTest, QueueStatsCountQueuedRunsAndTheOldest) {
  auto empty = Must(store().GetQueueStats());
  EXPECT_EQ(empty.queued, 0);
  EXPECT_FALSE(empty.oldest_created_at);
  ASSERT_OK(store().CreateRun(NewRun("f", At(0), RunStatus::kSucceeded)));  // ended: not queued
  weft::Run oldest = Must(store().CreateRun(NewRun("f", At(2))));
  ASSERT_OK(store().CreateRun(NewRun("f", At(3))));
  weft::Run taken = Must(store().CreateRun(NewRun("f", At(1))));
  taken.status = RunStatus::kRunning;
  ASSERT_OK(store().UpdateRun(taken));
  auto q = Must(store().GetQueueStats());
  EXPECT_EQ(q.queued, 2);
  ASSERT_TRUE(q.oldest_created_at);
  EXPECT_EQ(*q.oldest_created_at, oldest.created_at);
}

TEST_P(StoreContractTest, SchemaStatusIsCurrentAfterOpen) {
  auto st = Must(store().GetSchemaStatus());
  EXPECT_GT(st.known, 0);
  EXPECT_EQ(st.applied, st.known);
}

TEST_P(StoreContractTest, ListRunsNewestFirstWithFilters) {
  weft::Run a0 = Must(store().CreateRun(NewRun("a", At(0))));
  weft::Run b1 = Must(store().CreateRun(NewRun("b", At(1), RunStatus::kFailed)));
  weft::Run a2 = NewRun("a", At(2), RunStatus::kSucceeded);
  a2.trigger_type = "schedule";
  a2 = Must(store().CreateRun(a2));
  weft::Run a3 = Must(store().CreateRun(NewRun("a", At(3), RunStatus::kFailed)));
  ASSERT_OK(store().SaveStepRun(NewStep(a3.id, "x", 1)));

  RunFilter all;
  auto page = Must(store().ListRuns(all));
  EXPECT_EQ(Ids(page.runs), (std::vector<std::string>{a3.id, a2.id, b1.id, a0.id}));
  EXPECT_TRUE(page.next_cursor.empty());
  EXPECT_TRUE(page.runs[0].steps.empty()) << "lists carry no steps";

  RunFilter f;
  f.flow_id = "a";
  EXPECT_EQ(Ids(Must(store().ListRuns(f)).runs), (std::vector<std::string>{a3.id, a2.id, a0.id}));
  f.status = RunStatus::kFailed;
  EXPECT_EQ(Ids(Must(store().ListRuns(f)).runs), (std::vector<std::string>{a3.id}));

  RunFilter by_status;
  by_status.status = RunStatus::kFailed;
  EXPECT_EQ(Ids(Must(store().ListRuns(by_status)).runs), (std::vector<std::string>{a3.id, b1.id}));

  RunFilter by_trigger;
  by_trigger.trigger_type = "schedule";
  EXPECT_EQ(Ids(Must(store().ListRuns(by_trigger)).runs), (std::vector<std::string>{a2.id}));

  RunFilter window;  // since inclusive, until exclusive
  window.since = At(1);
  window.until = At(3);
  EXPECT_EQ(Ids(Must(store().ListRuns(window)).runs), (std::vector<std::string>{a2.id, b1.id}));

  RunFilter none;
  none.flow_id = "zzz";
  EXPECT_TRUE(Must(store().ListRuns(none)).runs.empty());
}

TEST_P(StoreContractTest, ListRunsPagesWithAStableCursor) {
  // Runs sharing a created_at are still ordered (by id) and never repeated.
  std::vector<std::string> expected;
  for (int i = 0; i < 25; ++i) {
    expected.push_back(Must(store().CreateRun(NewRun("f", At(i / 3)))).id);
  }
  std::vector<weft::Run> all_runs;
  {
    RunFilter f;
    f.limit = 100;
    all_runs = Must(store().ListRuns(f)).runs;
  }
  ASSERT_EQ(all_runs.size(), 25u);
  for (size_t i = 1; i < all_runs.size(); ++i) {
    const weft::Run& prev = all_runs[i - 1];
    const weft::Run& cur = all_runs[i];
    EXPECT_TRUE(prev.created_at > cur.created_at ||
                (prev.created_at == cur.created_at && prev.id > cur.id));
  }

  RunFilter f;
  f.limit = 10;
  std::vector<std::string> paged;
  int pages = 0;
  for (;;) {
    auto page = Must(store().ListRuns(f));
    ++pages;
    for (const auto& r : page.runs) paged.push_back(r.id);
    if (pages == 1) {
      // New runs arriving between pages do not shift the pages that follow.
      ASSERT_OK(store().CreateRun(NewRun("f", At(50))));
    }
    if (page.next_cursor.empty()) break;
    ASSERT_LE(pages, 5);
    f.cursor = page.next_cursor;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(paged, Ids(all_runs));

  RunFilter exact;  // a page that ends exactly at the end has no cursor
  exact.limit = 26;
  EXPECT_TRUE(Must(store().ListRuns(exact)).next_cursor.empty());
  exact.limit = 25;
  EXPECT_FALSE(Must(store().ListRuns(exact)).next_cursor.empty());

  RunFilter bad;
  bad.cursor = "not a cursor";
  EXPECT_EQ(CodeOf(store().ListRuns(bad)), ErrorCode::kBadRequest);
}

}  // namespace weft::contract
