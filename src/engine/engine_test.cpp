// Engine tests: the real executor and worker pool over a real SQLite store
// in a temp dir, with a FakeClock so delays and retries need no sleeping.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "connectors/utilities/utilities.h"
#include "core/flow_service.h"
#include "core/run_service.h"
#include "engine/executor.h"
#include "engine/retention.h"
#include "store/files/local_file_store.h"
#include "store/sqlite/sqlite_store.h"

namespace weft {
namespace {

// An action that fails (retryably) its first `failures` attempts, and counts calls.
class FlakyAction : public Action {
 public:
  std::atomic<int> calls{0};
  int failures = 0;
  ActionOutcome Execute(ActionContext& ctx) override {
    int n = ++calls;
    if (n <= failures) return ActionOutcome::Failed(ErrorCode::kUnavailable, "far side down", true);
    return ActionOutcome::Ok(Json{{"call", n}, {"input", ctx.input}});
  }
};

// An action with an effect outside the run: it records what the store held
// when it was called (the run's status, its committed steps), and may raise
// `stop` (the node shutting down) before it returns.
class ProbeAction : public Action {
 public:
  Store* store = nullptr;
  std::atomic<bool>* stop = nullptr;
  std::atomic<int> calls{0};
  Json seen;
  ActionOutcome Execute(ActionContext& ctx) override {
    ++calls;
    auto run = store->GetRun(ctx.run_id, true);
    Json steps = Json::object();
    if (run)
      for (const auto& st : run->steps) steps[st.path] = ToString(st.status);
    seen = {{"status", run ? std::string(ToString(run->status)) : "none"}, {"steps", steps}};
    if (stop) stop->store(true);
    return ActionOutcome::Ok(Json{{"value", ctx.input.value("value", Json())}});
  }
};

// An action that, on its first call, blocks until its cancel flag rises (a
// step stuck on a far side that does not answer); later calls return at once.
class BlockingAction : public Action {
 public:
  std::atomic<int> calls{0};
  std::atomic<bool> interrupted{false};
  ActionOutcome Execute(ActionContext& ctx) override {
    if (++calls > 1) return ActionOutcome::Ok(Json{{"call", calls.load()}});
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!ctx.cancelled.load() && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    interrupted = ctx.cancelled.load();
    return ActionOutcome::Failed(ErrorCode::kStepFailed, "interrupted", false);
  }
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("weft-engine-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    SqliteOptions options;
    options.data_dir = dir_.string();
    auto store = SqliteStore::Open(options);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    connectors::RegisterUtilities(catalog_);
    ConnectorSpec test;
    test.name = "test";
    test.title = "Test";
    ActionSpec flaky{"flaky", "Flaky", "", {}, "", {}};
    FieldSpec anything;
    anything.name = "value";
    anything.type = "any";
    flaky.inputs.push_back(anything);
    ActionSpec probe{"probe", "Probe", "", {}, "", {}};
    probe.inputs.push_back(anything);
    ActionSpec block{"block", "Block", "", {}, "", {}};
    test.actions = {flaky, probe, block};
    probe_->store = store_.get();
    catalog_.Register(test, {{"flaky", flaky_}, {"probe", probe_}, {"block", block_}});
    flows_ = std::make_unique<FlowService>(*store_, catalog_, hub_, clock_, FlowServiceOptions{});
    runs_ = std::make_unique<RunService>(*store_, hub_, clock_);
  }

  void StartEngine(int workers = 2, Millis stop_grace = Millis(10'000)) {
    EngineOptions options;
    options.workers = workers;
    options.stop_grace = stop_grace;
    options.poll_interval = Millis(50);
    engine_ = std::make_unique<Engine>(*store_, catalog_, hub_, clock_, options);
    engine_->Start();
  }

  void TearDown() override {
    if (engine_) engine_->Stop();
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string CreateFlow(const std::string& yaml) {
    auto doc = ParseDocumentText(yaml);
    EXPECT_TRUE(doc) << doc.error().message;
    auto saved = flows_->Create(*doc, "");
    EXPECT_TRUE(saved) << saved.error().message
                       << (saved ? ""
                                 : (saved.error().details.empty()
                                        ? ""
                                        : saved.error().details[0].path + " " +
                                              saved.error().details[0].message));
    return saved ? saved->flow.id : "";
  }

  weft::Run RunAndWait(const std::string& flow_id, Json input = nullptr) {
    auto run = runs_->StartManual(flow_id, input, !input.is_null(), "");
    EXPECT_TRUE(run);
    auto done = runs_->Wait(run->id, std::chrono::seconds(10));
    EXPECT_TRUE(done);
    return *done;
  }

  // Waits (with a deadline) until the run's step at `path` has `status`.
  bool WaitForStep(const std::string& run_id, const std::string& path, StepStatus status) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = runs_->Get(run_id);
      if (r)
        for (const auto& s : r->steps)
          if (s.path == path && s.status == status) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  const StepRun* Find(const weft::Run& run, const std::string& path) {
    for (const auto& s : run.steps)
      if (s.path == path) return &s;
    return nullptr;
  }

  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
  ActionCatalog catalog_;
  std::shared_ptr<FlakyAction> flaky_ = std::make_shared<FlakyAction>();
  std::shared_ptr<ProbeAction> probe_ = std::make_shared<ProbeAction>();
  std::shared_ptr<BlockingAction> block_ = std::make_shared<BlockingAction>();
  ChangeHub hub_;
  FakeClock clock_{FromUnixMs(1'800'000'000'000)};
  std::unique_ptr<FlowService> flows_;
  std::unique_ptr<RunService> runs_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, StepsReadEarlierOutputsAndTheRunSucceeds) {
  std::string id = CreateFlow(R"(
name: three
steps:
  - {id: a, uses: data.set, with: {value: {n: 2}}}
  - {id: b, uses: data.set, with: {value: "{{ steps.a.output.n * 10 }}"}}
  - {id: c, uses: data.set, with: {value: "total {{ steps.b.output + trigger.body.add }}"}}
)");
  StartEngine();
  weft::Run run = RunAndWait(id, Json{{"add", 1}});
  ASSERT_EQ(run.status, RunStatus::kSucceeded) << run.error.dump();
  ASSERT_EQ(run.steps.size(), 3u);
  EXPECT_EQ(run.steps[1].output, 20);
  EXPECT_EQ(run.steps[2].output, "total 21");
  EXPECT_EQ(run.output, "total 21");
  for (const auto& s : run.steps) EXPECT_EQ(s.status, StepStatus::kSucceeded);
}

TEST_F(EngineTest, RunToHereStopsSuccessfullyAfterTheChosenStep) {
  std::string id = CreateFlow(R"(
name: until
steps:
  - {id: a, uses: data.set, with: {value: {n: 2}}}
  - {id: b, uses: data.set, with: {value: "{{ steps.a.output.n * 10 }} {{ $exists(trigger.until_step) }}"}}
  - {id: c, uses: test.probe}
)");
  StartEngine();
  auto started = runs_->StartManual(id, Json{{"x", 1}}, true, "", "b");
  ASSERT_TRUE(started) << started.error().message;
  auto done = runs_->Wait(started->id, std::chrono::seconds(10));
  ASSERT_TRUE(done);
  ASSERT_EQ(done->status, RunStatus::kSucceeded) << done->error.dump();
  ASSERT_EQ(done->steps.size(), 2u);                // c never ran, nor is it recorded
  EXPECT_EQ(Find(*done, "b")->output, "20 false");  // until_step is not in `trigger`
  EXPECT_EQ(done->output, "20 false");
  EXPECT_EQ(Find(*done, "c"), nullptr);
  EXPECT_EQ(probe_->calls.load(), 0);

  // Without it, the whole flow runs.
  weft::Run whole = RunAndWait(id);
  ASSERT_EQ(whole.status, RunStatus::kSucceeded) << whole.error.dump();
  EXPECT_EQ(whole.steps.size(), 3u);
  EXPECT_EQ(probe_->calls.load(), 1);

  // A step that is not a top-level step of the flow is refused, naming the field.
  auto unknown = runs_->StartManual(id, nullptr, false, "", "nope");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kValidation);
  ASSERT_EQ(unknown.error().details.size(), 1u);
  EXPECT_EQ(unknown.error().details[0].path, "until_step");
}

TEST_F(EngineTest, TransformReadsTheRunContextOrItsInput) {
  std::string id = CreateFlow(R"yaml(
name: reshape
steps:
  - {id: fetch, uses: data.set, with: {value: {items: [{price: 5, name: a}, {price: 15, name: b}, {price: 25, name: c}]}}}
  - {id: pick, uses: data.transform, with: {expression: "steps.fetch.output.items[price > 10].name"}}
  - {id: count, uses: data.transform, with: {expression: "$count($)", input: "{{ steps.pick.output }}"}}
)yaml");
  StartEngine();
  weft::Run run = RunAndWait(id);
  ASSERT_EQ(run.status, RunStatus::kSucceeded) << run.error.dump();
  EXPECT_EQ(Find(run, "pick")->output, Json({"b", "c"}));
  EXPECT_EQ(run.output, 2);
}

TEST_F(EngineTest, IfTakesOneBranchAndSkipsTheOther) {
  std::string id = CreateFlow(R"(
name: branch
steps:
  - id: check
    uses: flow.if
    with: {condition: "{{ trigger.body.n > 5 }}"}
    then: [{id: big, uses: data.set, with: {value: big}}]
    else: [{id: small, uses: data.set, with: {value: small}}]
  - {id: after, uses: data.set, with: {value: "{{ steps.big.status }}"}}
)");
  StartEngine();
  weft::Run run = RunAndWait(id, Json{{"n", 9}});
  ASSERT_EQ(run.status, RunStatus::kSucceeded) << run.error.dump();
  ASSERT_TRUE(Find(run, "check.big"));
  EXPECT_EQ(Find(run, "check.big")->status, StepStatus::kSucceeded);
  ASSERT_TRUE(Find(run, "check.small"));
  EXPECT_EQ(Find(run, "check.small")->status, StepStatus::kSkipped);
  EXPECT_EQ(Find(run, "after")->output, "succeeded");
}

TEST_F(EngineTest, ForeachOutputsEachIterationsLastOutput) {
  std::string id = CreateFlow(R"(
name: loop
steps:
  - id: each
    uses: flow.foreach
    with: {items: "{{ trigger.body.items }}"}
    do:
      - {id: double, uses: data.set, with: {value: "{{ item * 2 }}"}}
      - {id: label, uses: data.set, with: {value: "{{ index }}:{{ steps.double.output }}"}}
)");
  StartEngine();
  weft::Run run = RunAndWait(id, Json{{"items", {1, 2, 3}}});
  ASSERT_EQ(run.status, RunStatus::kSucceeded) << run.error.dump();
  EXPECT_EQ(Find(run, "each")->output, Json({"0:2", "1:4", "2:6"}));
  ASSERT_TRUE(Find(run, "each[2].double"));
  EXPECT_EQ(Find(run, "each[2].double")->output, 6);
}

TEST_F(EngineTest, ForeachWithConcurrencyKeepsItemOrderAndScopes) {
  std::string id = CreateFlow(R"(
name: parallel
steps:
  - id: each
    uses: flow.foreach
    with: {items: "{{ [1,2,3,4,5] }}", concurrency: 2}
    do:
      - {id: double, uses: data.set, with: {value: "{{ item * 2 }}"}}
      - {id: label, uses: data.set, with: {value: "{{ index }}:{{ steps.double.output }}"}}
  - {id: after, uses: data.set, with: {value: "{{ steps.each.output[4] }}"}}
)");
  StartEngine();
  weft::Run run = RunAndWait(id);
  ASSERT_EQ(run.status, RunStatus::kSucceeded) << run.error.dump();
  EXPECT_EQ(Find(run, "each")->output, Json({"0:2", "1:4", "2:6", "3:8", "4:10"}));
  EXPECT_EQ(Find(run, "after")->output, "4:10");
  EXPECT_EQ(Find(run, "each[3].label")->output, "3:8");
}

TEST_F(EngineTest, RetriesWaitWithoutAThreadAndCountAttempts) {
  flaky_->failures = 2;
  std::string id = CreateFlow(R"(
name: flaky
steps:
  - {id: call, uses: test.flaky, retry: {attempts: 3, backoff: fixed, delay: 10m}}
)");
  StartEngine(1);
  auto run = runs_->StartManual(id, nullptr, false, "");
  ASSERT_TRUE(run);
  // The single worker is free while the retry waits: another run completes.
  std::string other = CreateFlow("name: quick\nsteps: [{id: a, uses: data.set, with: {value: 1}}]");
  weft::Run quick = RunAndWait(other);
  EXPECT_EQ(quick.status, RunStatus::kSucceeded);
  for (int i = 0; i < 2; ++i) {
    // The clock moves on only once the failed attempt is stored with its
    // wake-up time: the executor reads that time from the clock after the
    // call returns, so moving it on at the call would put the retry 10
    // minutes after the new time (seen under ThreadSanitizer).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    Result<weft::Run> waiting = Fail(ErrorCode::kNotFound, "not read yet");
    for (;;) {
      waiting = runs_->Get(run->id);
      bool stored = waiting && !waiting->steps.empty() && waiting->steps[0].attempts == i + 1 &&
                    waiting->steps[0].wake_at.has_value();
      if (stored || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_EQ(flaky_->calls, i + 1);
    ASSERT_TRUE(waiting);
    ASSERT_FALSE(waiting->steps.empty());
    EXPECT_EQ(waiting->steps[0].attempts, i + 1);
    ASSERT_TRUE(waiting->steps[0].wake_at.has_value());
    EXPECT_EQ(waiting->status, RunStatus::kRunning);
    clock_.Advance(Millis(10 * 60'000 + 1));
  }
  auto done = runs_->Wait(run->id, std::chrono::seconds(10));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, RunStatus::kSucceeded) << done->error.dump();
  EXPECT_EQ(done->steps[0].attempts, 3);
}

TEST_F(EngineTest, OnErrorContinueKeepsTheStepFailedAndTheRunGoesOn) {
  std::string id = CreateFlow(R"(
name: tolerant
steps:
  - {id: boom, uses: flow.fail, with: {message: nope}, on_error: continue}
  - {id: next, uses: data.set, with: {value: "{{ steps.boom.status }}"}}
)");
  StartEngine();
  weft::Run run = RunAndWait(id);
  EXPECT_EQ(run.status, RunStatus::kSucceeded);
  EXPECT_EQ(Find(run, "boom")->status, StepStatus::kFailed);
  EXPECT_EQ(Find(run, "next")->output, "failed");
}

TEST_F(EngineTest, AFailedStepFailsTheRunWithItsMessage) {
  std::string id = CreateFlow(R"(
name: failing
steps:
  - {id: a, uses: data.set, with: {value: 1}}
  - {id: boom, uses: flow.fail, with: {message: "order {{ trigger.body.id }} is invalid"}}
  - {id: never, uses: data.set, with: {value: 2}}
)");
  StartEngine();
  weft::Run run = RunAndWait(id, Json{{"id", 7}});
  EXPECT_EQ(run.status, RunStatus::kFailed);
  EXPECT_EQ(run.error["message"], "order 7 is invalid");
  EXPECT_EQ(run.error["step"], "boom");
  EXPECT_EQ(Find(run, "never"), nullptr);
}

TEST_F(EngineTest, DelayHoldsNoWorkerAndResumesAtItsTime) {
  std::string id = CreateFlow(R"(
name: slow
steps:
  - {id: a, uses: data.set, with: {value: 1}}
  - {id: wait, uses: flow.delay, with: {duration: 1h}}
  - {id: b, uses: data.set, with: {value: 2}}
)");
  StartEngine(1);
  auto run = runs_->StartManual(id, nullptr, false, "");
  ASSERT_TRUE(run);
  ASSERT_TRUE(WaitForStep(run->id, "wait", StepStatus::kRunning));
  std::string other = CreateFlow("name: quick\nsteps: [{id: a, uses: data.set, with: {value: 1}}]");
  EXPECT_EQ(RunAndWait(other).status, RunStatus::kSucceeded);
  auto waiting = runs_->Get(run->id);
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->status, RunStatus::kRunning);
  EXPECT_EQ(Find(*waiting, "wait")->status, StepStatus::kRunning);
  clock_.Advance(Millis(3'600'000));
  auto done = runs_->Wait(run->id, std::chrono::seconds(10));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, RunStatus::kSucceeded);
}

TEST_F(EngineTest, ResumedRunSkipsFinishedSteps) {
  std::string id = CreateFlow(R"(
name: resume
steps:
  - {id: first, uses: test.flaky, with: {value: 1}}
  - {id: second, uses: test.flaky, with: {value: "{{ steps.first.output.call }}"}}
)");
  // As if a crash happened right after `first` was committed.
  auto run = runs_->StartManual(id, nullptr, false, "");
  ASSERT_TRUE(run);
  StepRun first;
  first.run_id = run->id;
  first.path = "first";
  first.step_id = "first";
  first.uses = "test.flaky";
  first.status = StepStatus::kSucceeded;
  first.attempts = 1;
  first.output = Json{{"call", 41}};
  ASSERT_TRUE(store_->SaveStepRun(first));
  StartEngine();
  auto done = runs_->Wait(run->id, std::chrono::seconds(10));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, RunStatus::kSucceeded);
  EXPECT_EQ(flaky_->calls, 1);  // only `second` ran
  EXPECT_EQ(Find(*done, "second")->input["value"], 41);
}

TEST_F(EngineTest, RetryOfAFailedRunReusesSucceededSteps) {
  std::string id = CreateFlow(R"(
name: fixable
steps:
  - {id: fetch, uses: test.flaky, with: {value: 1}}
  - {id: check, uses: flow.fail, if: "{{ $not(trigger.body.ok) }}", with: {message: not yet}}
)");
  StartEngine();
  weft::Run failed = RunAndWait(id, Json{{"ok", false}});
  ASSERT_EQ(failed.status, RunStatus::kFailed);
  ASSERT_EQ(flaky_->calls, 1);
  // Retrying keeps the same version and trigger, so it fails again at `check`
  // without calling `fetch` a second time.
  auto retry = runs_->Retry(failed.id);
  ASSERT_TRUE(retry) << retry.error().message;
  EXPECT_EQ(retry->retry_of, failed.id);
  auto done = runs_->Wait(retry->id, std::chrono::seconds(10));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, RunStatus::kFailed);
  EXPECT_EQ(flaky_->calls, 1);
  EXPECT_FALSE(runs_->Retry(done->id + "x"));
  auto not_failed = runs_->Retry(
      RunAndWait(CreateFlow("name: ok\nsteps: [{id: a, uses: data.set, with: {value: 1}}]")).id);
  ASSERT_FALSE(not_failed);
  EXPECT_EQ(not_failed.error().code, ErrorCode::kConflict);
}

TEST_F(EngineTest, CancelStopsAWaitingRun) {
  std::string id = CreateFlow(R"(
name: cancellable
steps:
  - {id: wait, uses: flow.delay, with: {duration: 1h}}
  - {id: after, uses: data.set, with: {value: 1}}
)");
  StartEngine();
  auto run = runs_->StartManual(id, nullptr, false, "");
  ASSERT_TRUE(run);
  ASSERT_TRUE(WaitForStep(run->id, "wait", StepStatus::kRunning));
  ASSERT_TRUE(runs_->Cancel(run->id));
  clock_.Advance(Millis(3'600'000));  // its wake time comes: it must end cancelled
  auto done = runs_->Wait(run->id, std::chrono::seconds(10));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, RunStatus::kCancelled);
  EXPECT_EQ(Find(*done, "after"), nullptr);
}

TEST_F(EngineTest, AStepWithEffectsStartsOnlyOnceEarlierResultsAreCommitted) {
  std::string id = CreateFlow(R"(
name: ordered
steps:
  - {id: pick, uses: data.set, with: {value: "{{ trigger.body.n }}"}}
  - {id: twice, uses: data.transform, with: {input: "{{ steps.pick.output }}", expression: "$ * 2"}}
  - {id: probe, uses: test.probe, with: {value: "{{ steps.twice.output }}"}}
  - {id: plus, uses: data.set, with: {value: "{{ steps.probe.output.value + 1 }}"}}
)");
  StartEngine();
  weft::Run done = RunAndWait(id, Json{{"n", 20}});
  ASSERT_EQ(done.status, RunStatus::kSucceeded);
  EXPECT_EQ(done.output, 41);
  // When probe was called, the run's start and the results it read were
  // durable, and its own record said running.
  EXPECT_EQ(probe_->seen["status"], "running");
  EXPECT_EQ(probe_->seen["steps"],
            Json({{"pick", "succeeded"}, {"twice", "succeeded"}, {"probe", "running"}}));
  ASSERT_EQ(done.steps.size(), 4u);
  std::vector<std::string> order;
  for (const auto& st : done.steps) {
    order.push_back(st.path);
    EXPECT_EQ(st.status, StepStatus::kSucceeded) << st.path;
  }
  EXPECT_EQ(order, (std::vector<std::string>{"pick", "twice", "probe", "plus"}));
}

TEST_F(EngineTest, AHandedBackRunResumesAfterItsLastCommittedStep) {
  std::string id = CreateFlow(R"(
name: handback
steps:
  - {id: pick, uses: data.set, with: {value: "{{ trigger.body.n }}"}}
  - {id: probe, uses: test.probe, with: {value: "{{ steps.pick.output }}"}}
  - {id: skip, uses: test.flaky, if: "{{ false }}", with: {value: 0}}
  - {id: plus, uses: data.set, with: {value: "{{ steps.probe.output.value + 1 }}"}}
)");
  auto run = runs_->StartManual(id, Json{{"n", 6}}, true, "");
  ASSERT_TRUE(run);
  EngineOptions options;
  Executor executor(*store_, catalog_, hub_, clock_, options);
  std::atomic<bool> cancelled{false}, stopping{false};
  // The node starts stopping while probe runs: the run is handed back after it.
  probe_->stop = &stopping;
  auto claimed = store_->ClaimRuns("a", 1, clock_.Now(), clock_.Now() + Millis(30'000));
  ASSERT_TRUE(claimed && claimed->size() == 1u);
  EXPECT_TRUE(claimed->front().steps.empty());
  EXPECT_EQ(executor.Execute(std::move(claimed->front()), cancelled, stopping).kind,
            ExecuteResult::kHandedBack);
  weft::Run back = *store_->GetRun(run->id, true);
  EXPECT_EQ(back.status, RunStatus::kRunning);
  EXPECT_TRUE(back.claimed_by.empty());
  ASSERT_EQ(back.steps.size(), 2u);
  EXPECT_EQ(back.steps[0].path, "pick");
  EXPECT_EQ(back.steps[1].path, "probe");
  EXPECT_EQ(back.steps[1].status, StepStatus::kSucceeded);

  // Another node takes it: the claim brings the committed steps, so probe is
  // not called again, and the rest runs on its output.
  probe_->stop = nullptr;
  std::atomic<bool> not_stopping{false};
  claimed = store_->ClaimRuns("b", 1, clock_.Now(), clock_.Now() + Millis(30'000));
  ASSERT_TRUE(claimed && claimed->size() == 1u);
  EXPECT_EQ(claimed->front().steps.size(), 2u);
  EXPECT_EQ(executor.Execute(std::move(claimed->front()), cancelled, not_stopping).kind,
            ExecuteResult::kFinished);
  weft::Run done = *store_->GetRun(run->id, true);
  EXPECT_EQ(done.status, RunStatus::kSucceeded);
  EXPECT_EQ(done.output, 7);
  EXPECT_EQ(probe_->calls, 1);
  EXPECT_EQ(flaky_->calls, 0);
  ASSERT_EQ(done.steps.size(), 4u);
  EXPECT_EQ(done.steps[2].path, "skip");
  EXPECT_EQ(done.steps[2].status, StepStatus::kSkipped);
  EXPECT_EQ(done.steps[3].path, "plus");
}

// Stop() waits its grace period, then interrupts the steps still running and
// joins every worker: nothing of the engine outlives it. The interrupted run
// is handed back, not cancelled, and the next engine runs its step again.
TEST_F(EngineTest, StopInterruptsAStuckStepHandsItsRunBackAndJoinsEveryWorker) {
  std::string id = CreateFlow(R"(
name: stuck
steps:
  - {id: wait, uses: test.block}
  - {id: after, uses: data.set, with: {value: "{{ steps.wait.output.call }}"}}
)");
  StartEngine(2, Millis(50));
  auto run = runs_->StartManual(id, nullptr, false, "");
  ASSERT_TRUE(run);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (block_->calls.load() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_EQ(block_->calls.load(), 1);

  engine_->Stop();  // returns only once every worker has ended
  EXPECT_TRUE(block_->interrupted.load()) << "the stuck step was not interrupted";
  auto left = store_->GetRun(run->id, true);
  ASSERT_TRUE(left);
  EXPECT_NE(left->status, RunStatus::kCancelled);
  EXPECT_NE(left->status, RunStatus::kFailed);
  EXPECT_TRUE(left->claimed_by.empty()) << "the run was not handed back";

  engine_.reset();
  StartEngine();
  auto done = runs_->Wait(run->id, std::chrono::seconds(30));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, RunStatus::kSucceeded);
  EXPECT_EQ(done->output, 2);  // the step ran again, at least once
}

TEST_F(EngineTest, PureStepsLostToACrashAreRunAgain) {
  std::string id = CreateFlow(R"(
name: crashed
steps:
  - {id: probe, uses: test.probe, with: {value: 2}}
  - {id: plus, uses: data.set, with: {value: "{{ steps.probe.output.value + 1 }}"}}
  - {id: times, uses: data.transform, with: {input: "{{ steps.plus.output }}", expression: "$ * 10"}}
)");
  // As a crash leaves it after probe's result was committed and the pure steps
  // after it had run but were not written yet: the run started, probe done.
  auto run = runs_->StartManual(id, nullptr, false, "");
  ASSERT_TRUE(run);
  weft::Run started = *store_->GetRun(run->id, false);
  started.status = RunStatus::kRunning;
  started.started_at = clock_.Now();
  StepRun probe;
  probe.run_id = run->id;
  probe.path = probe.step_id = "probe";
  probe.uses = "test.probe";
  probe.status = StepStatus::kSucceeded;
  probe.attempts = 1;
  probe.output = Json{{"value", 4}};
  ASSERT_TRUE(store_->SaveRun(&started, {probe}));
  StartEngine();
  auto done = runs_->Wait(run->id, std::chrono::seconds(10));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, RunStatus::kSucceeded);
  EXPECT_EQ(done->output, 50);
  EXPECT_EQ(probe_->calls, 0);
  ASSERT_EQ(done->steps.size(), 3u);
  EXPECT_EQ(done->steps[2].path, "times");
}

TEST_F(EngineTest, ABacklogIsClaimedInBatchesAndEveryRunRunsOnce) {
  std::string id = CreateFlow(R"(
name: backlog
steps:
  - {id: pick, uses: data.set, with: {value: "{{ trigger.body.n }}"}}
  - {id: count, uses: test.flaky, with: {value: "{{ steps.pick.output }}"}}
  - {id: shape, uses: data.set, with: {value: "{{ steps.count.output.input.value * 2 }}"}}
)");
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    auto run = runs_->StartManual(id, Json{{"n", i}}, true, "");
    ASSERT_TRUE(run);
    ids.push_back(run->id);
  }
  StartEngine(4);
  for (int i = 0; i < 40; ++i) {
    auto done = runs_->Wait(ids[i], std::chrono::seconds(10));
    ASSERT_TRUE(done);
    EXPECT_EQ(done->status, RunStatus::kSucceeded);
    EXPECT_EQ(done->output, 2 * i);
    EXPECT_EQ(done->steps.size(), 3u);
  }
  EXPECT_EQ(flaky_->calls, 40);
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

// Retention takes a run's files with it, and only files no other run holds;
// a file no run ever referenced goes once older than the grace period.
TEST_F(EngineTest, PruningRunsSweepsTheirFilesAndKeepsSharedOnes) {
  LocalFileStoreOptions fo;
  fo.dir = dir_ / "files";
  fo.clock = &clock_;
  auto files = LocalFileStore::Open(fo);
  ASSERT_TRUE(files) << files.error().message;
  auto write = [&](const std::string& name) {
    auto f = WriteWholeFile(**files, name, "text/plain", name);
    EXPECT_TRUE(f);
    return *f;
  };
  FileInfo only_old = write("a"), shared = write("b"), orphan = write("c");

  weft::Run old_run;
  old_run.flow_id = "f";
  old_run.flow_name = "f";
  old_run.flow_version = 1;
  old_run.trigger_type = "webhook";
  old_run.trigger =
      Json{{"type", "webhook"}, {"body", {{"a", only_old.ToJson()}, {"b", shared.ToJson()}}}};
  old_run.status = RunStatus::kSucceeded;
  old_run.created_at = clock_.Now();
  old_run.started_at = old_run.finished_at = clock_.Now();
  auto r1 = store_->CreateRun(old_run);
  ASSERT_TRUE(r1) << r1.error().message;

  clock_.Advance(Millis(3 * 3'600'000));
  FileInfo fresh = write("d");  // no run holds it yet: within the grace period
  weft::Run new_run = old_run;
  new_run.id.clear();
  new_run.trigger = Json{{"type", "manual"}};
  new_run.created_at = new_run.started_at.emplace(clock_.Now());
  new_run.finished_at = clock_.Now();
  auto r2 = store_->CreateRun(new_run);
  ASSERT_TRUE(r2);
  StepRun step;
  step.run_id = r2->id;
  step.path = step.step_id = "get";
  step.uses = "http.request";
  step.seq = 1;
  step.status = StepStatus::kSucceeded;
  step.output = Json{{"body", shared.ToJson()}};
  ASSERT_TRUE(store_->SaveStepRun(step));

  RetentionOptions ro;
  ro.runs = Millis(3'600'000);
  ro.files = files->get();
  ro.files_grace = Millis(600'000);
  Pruner pruner(*store_, clock_, ro);
  EXPECT_EQ(pruner.PruneOnce(), 1);  // the old run
  auto exists = [&](const FileInfo& f) { return (*files)->Stat(f.id).has_value(); };
  EXPECT_FALSE(exists(only_old));
  EXPECT_FALSE(exists(orphan));
  EXPECT_TRUE(exists(shared)) << "the new run still holds it";
  EXPECT_TRUE(exists(fresh)) << "younger than the grace period";

  clock_.Advance(Millis(3 * 3'600'000));
  EXPECT_EQ(pruner.PruneOnce(), 1);  // the new run, at last
  EXPECT_FALSE(exists(shared));
  EXPECT_FALSE(exists(fresh));
}

}  // namespace
}  // namespace weft
