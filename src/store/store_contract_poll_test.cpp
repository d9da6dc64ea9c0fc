#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "common/time_format.h"
#include "store/store_contract_test.h"
#include "store/store_contract_util.h"

namespace weft::contract {

// ---- poll triggers ---------------------------------------------------------------

namespace {

PollCommit Poll(const Flow& f, TimePoint at, std::vector<std::string> keys, Json from = nullptr,
                std::optional<Json> cursor = std::nullopt) {
  PollCommit c;
  c.flow_id = f.id;
  c.flow_name = f.name;
  c.flow_version = f.version;
  c.source = "sftp.new_files";
  c.polled_at = at;
  c.from_cursor = std::move(from);
  c.cursor = std::move(cursor);
  for (auto& k : keys) c.items.push_back({k, Json{{"path", k}}});
  return c;
}

Flow ActivePollFlow(Store& store, const std::string& name) {
  Flow f = Must(store.CreateFlow(Write(name, OneStep("a"), "poll"), ""));
  return Must(store.SetFlowActive(f.id, true));
}

std::vector<weft::Run> RunsOf(Store& store, const std::string& flow_id) {
  RunFilter filter;
  filter.flow_id = flow_id;
  filter.limit = 1000;
  auto runs = Must(store.ListRuns(filter)).runs;
  std::reverse(runs.begin(), runs.end());  // oldest first
  return runs;
}

}  // namespace

TEST_P(StoreContractTest, RecordPollCommitsKeysRunsAndCursorOnce) {
  Flow f = ActivePollFlow(store(), "drop");
  PollState empty = Must(store().GetPollState(f.id));
  EXPECT_EQ(empty.flow_id, f.id);
  EXPECT_TRUE(empty.cursor.is_null());
  EXPECT_EQ(empty.polls, 0);

  PollCommitted first = Must(
      store().RecordPoll(Poll(f, At(10), {"/in/a.csv", "/in/b.csv"}, nullptr, Json{{"n", 1}})));
  EXPECT_TRUE(first.recorded);
  EXPECT_EQ(first.new_keys, (std::vector<std::string>{"/in/a.csv", "/in/b.csv"}));
  ASSERT_EQ(first.runs.size(), 2u);
  auto runs = RunsOf(store(), f.id);
  ASSERT_EQ(runs.size(), 2u);
  if (runs[0].trigger["key"] != "/in/a.csv") std::swap(runs[0], runs[1]);  // one created_at
  EXPECT_EQ(runs[0].trigger_type, "poll");
  EXPECT_EQ(runs[0].status, RunStatus::kQueued);
  EXPECT_EQ(runs[0].trigger["type"], "poll");
  EXPECT_EQ(runs[0].trigger["key"], "/in/a.csv");
  EXPECT_EQ(runs[0].trigger["item"]["path"], "/in/a.csv");
  EXPECT_EQ(runs[0].trigger["polled_at"], FormatIso(At(10)));

  PollState st = Must(store().GetPollState(f.id));
  EXPECT_EQ(st.cursor, (Json{{"n", 1}}));
  EXPECT_EQ(st.source, "sftp.new_files");
  EXPECT_EQ(st.last_poll_at, At(10));
  EXPECT_EQ(st.polls, 1);

  // Listed again with one new item: only that one starts a run; the cursor
  // stays when the commit gives none.
  PollCommitted second =
      Must(store().RecordPoll(Poll(f, At(20), {"/in/a.csv", "/in/c.csv"}, Json{{"n", 1}})));
  EXPECT_EQ(second.new_keys, std::vector<std::string>{"/in/c.csv"});
  EXPECT_EQ(second.runs.size(), 1u);
  EXPECT_EQ(RunsOf(store(), f.id).size(), 3u);
  EXPECT_EQ(Must(store().GetPollState(f.id)).cursor, (Json{{"n", 1}}));
  EXPECT_TRUE(Must(store().GetPollState(f.id)).pending_after.is_null());

  auto seen = Must(store().PollKeysSeen(f.id, {"/in/c.csv", "/in/zzz", "/in/a.csv"}));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], At(20));
  EXPECT_FALSE(seen[1].has_value());
  EXPECT_EQ(seen[2], At(10));

  // A commit from a cursor that moved meanwhile (another node polled) writes nothing.
  PollCommitted stale = Must(store().RecordPoll(Poll(f, At(30), {"/in/d.csv"}, Json{{"n", 0}})));
  EXPECT_FALSE(stale.recorded);
  EXPECT_TRUE(stale.cursor_moved);
  EXPECT_EQ(RunsOf(store(), f.id).size(), 3u);
  EXPECT_FALSE(Must(store().PollKeysSeen(f.id, {"/in/d.csv"}))[0].has_value());

  // pending_after is replaced by each successful commit.
  PollCommit pending = Poll(f, At(25), {}, Json{{"n", 1}});
  pending.pending_after = Json::array({Json{{"path", "/in/c.csv"}}});
  ASSERT_TRUE(Must(store().RecordPoll(pending)).recorded);
  EXPECT_EQ(Must(store().GetPollState(f.id)).pending_after, pending.pending_after);

  // The state survives a reopen.
  Reopen();
  st = Must(store().GetPollState(f.id));
  EXPECT_EQ(st.cursor, (Json{{"n", 1}}));
  EXPECT_EQ(st.polls, 3);
  EXPECT_EQ(st.pending_after, pending.pending_after);
  ASSERT_OK(store().ClearPollPending(f.id));
  EXPECT_TRUE(Must(store().GetPollState(f.id)).pending_after.is_null());
  EXPECT_EQ(Must(store().GetPollState(f.id)).cursor, (Json{{"n", 1}}));
}

TEST_P(StoreContractTest, RecordPollBatchesBaselinesAndKeylessItems) {
  Flow f = ActivePollFlow(store(), "batch");
  PollCommit c = Poll(f, At(1), {"k1", "k2", "k3", "k4", "k5", "k1"});
  c.batch = true;
  c.batch_size = 2;
  PollCommitted got = Must(store().RecordPoll(c));
  EXPECT_EQ(got.new_keys.size(), 5u);  // k1 listed twice is one item
  auto runs = RunsOf(store(), f.id);
  ASSERT_EQ(runs.size(), 3u);
  std::sort(runs.begin(), runs.end(), [](const weft::Run& a, const weft::Run& b) {
    return a.trigger["keys"][0] < b.trigger["keys"][0];
  });
  EXPECT_EQ(runs[0].trigger["keys"], (Json{"k1", "k2"}));
  EXPECT_EQ(runs[0].trigger["items"].size(), 2u);
  EXPECT_EQ(runs[1].trigger["keys"], (Json{"k3", "k4"}));
  EXPECT_EQ(runs[2].trigger["keys"], (Json{"k5"}));

  // A baseline records keys and marks the state primed, without runs.
  Flow g = ActivePollFlow(store(), "baseline");
  PollCommit base = Poll(g, At(1), {"old1", "old2"});
  base.create_runs = false;
  base.primed = true;
  got = Must(store().RecordPoll(base));
  EXPECT_EQ(got.new_keys.size(), 2u);
  EXPECT_TRUE(got.runs.empty());
  EXPECT_TRUE(RunsOf(store(), g.id).empty());
  EXPECT_TRUE(Must(store().GetPollState(g.id)).primed);
  ASSERT_OK(store().ResetPollPrimed(g.id));
  EXPECT_FALSE(Must(store().GetPollState(g.id)).primed);
  EXPECT_TRUE(Must(store().PollKeysSeen(g.id, {"old1"}))[0].has_value());  // keys stay

  // A source that keeps only a cursor: every item is new, no key is kept.
  Flow h = ActivePollFlow(store(), "rows");
  PollCommit rows = Poll(h, At(1), {"1", "2"}, nullptr, Json(2));
  rows.keyed = false;
  got = Must(store().RecordPoll(rows));
  EXPECT_EQ(got.runs.size(), 2u);
  EXPECT_FALSE(Must(store().PollKeysSeen(h.id, {"1"}))[0].has_value());
  EXPECT_EQ(Must(store().GetPollState(h.id)).cursor, Json(2));
}

TEST_P(StoreContractTest, RecordPollRefusesInactiveFlowsAndRecordsFailures) {
  Flow f = ActivePollFlow(store(), "failing");
  PollCommit failed;
  failed.flow_id = f.id;
  failed.polled_at = At(5);
  failed.error = "listing /in: the server refused the login";
  weft::Run run = NewRun(f.id, At(5));
  run.trigger_type = "poll";
  run.status = RunStatus::kFailed;
  run.finished_at = At(5);
  run.error = Json{{"code", "step_failed"}, {"message", failed.error}};
  failed.failed_run = run;
  PollCommitted got = Must(store().RecordPoll(failed));
  EXPECT_TRUE(got.recorded);
  PollState st = Must(store().GetPollState(f.id));
  EXPECT_EQ(st.last_error, failed.error);
  EXPECT_TRUE(st.cursor.is_null());
  auto runs = RunsOf(store(), f.id);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, RunStatus::kFailed);
  EXPECT_EQ(runs[0].error["message"], failed.error);

  // The next good poll clears the error.
  ASSERT_TRUE(Must(store().RecordPoll(Poll(f, At(6), {"x"}))).recorded);
  EXPECT_EQ(Must(store().GetPollState(f.id)).last_error, "");

  // Deactivated: nothing is written.
  ASSERT_TRUE(store().SetFlowActive(f.id, false));
  got = Must(store().RecordPoll(Poll(f, At(7), {"y"})));
  EXPECT_FALSE(got.recorded);
  EXPECT_EQ(RunsOf(store(), f.id).size(), 2u);
  EXPECT_FALSE(Must(store().PollKeysSeen(f.id, {"y"}))[0].has_value());
  EXPECT_FALSE(Must(store().RecordPoll(failed)).recorded);

  // Deleting the flow takes its state and keys with it.
  ASSERT_OK(store().DeleteFlow(f.id));
  EXPECT_EQ(Must(store().GetPollState(f.id)).polls, 0);
  EXPECT_FALSE(Must(store().PollKeysSeen(f.id, {"x"}))[0].has_value());
}

TEST_P(StoreContractTest, RecordPollRefreshesAndForgetsKeys) {
  Flow f = ActivePollFlow(store(), "remember");
  ASSERT_TRUE(Must(store().RecordPoll(Poll(f, At(0), {"a", "b", "c"}))).recorded);
  PollCommit later = Poll(f, At(100), {});
  later.refresh_keys = {"a"};
  later.forget_before = At(50);  // b and c were last seen at 0: forgotten; a was refreshed first
  ASSERT_TRUE(Must(store().RecordPoll(later)).recorded);
  auto seen = Must(store().PollKeysSeen(f.id, {"a", "b", "c"}));
  EXPECT_EQ(seen[0], At(100));
  EXPECT_FALSE(seen[1].has_value());
  EXPECT_FALSE(seen[2].has_value());
  // A forgotten key is new again.
  EXPECT_EQ(Must(store().RecordPoll(Poll(f, At(101), {"b"}))).runs.size(), 1u);
}

TEST_P(StoreContractTest, ConcurrentPollCommitsStartEachKeyOnce) {
  Flow f = ActivePollFlow(store(), "race");
  // Four committers (schedulers in a failover) commit overlapping lists of
  // keys at once, each without a cursor: every key starts one run.
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 10; ++round) {
        std::vector<std::string> keys;
        for (int k = 0; k < 20; ++k) keys.push_back("k" + std::to_string(round * 10 + k + t));
        auto r = store().RecordPoll(Poll(f, At(round), keys));
        if (!r) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<std::string> keys;
  auto runs = RunsOf(store(), f.id);
  for (const auto& r : runs) EXPECT_TRUE(keys.insert(r.trigger["key"].get<std::string>()).second);
  EXPECT_EQ(keys.size(), 113u);  // k0 .. k112
}

}  // namespace weft::contract
