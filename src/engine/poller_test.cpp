// The Poller over a real SqliteStore, with sources made here: each item once
// even with two pollers on one store (a failover), a failing source is a
// failed run once per streak and never moves the cursor, `after` runs only
// after the commit and again for what a crash may have left.
#include "engine/poller.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <set>

#include "core/poll.h"
#include "store/sqlite/sqlite_store.h"

namespace weft {
namespace {

// Lists the keys in `keys` that are not known; `fail` makes a poll fail.
class ListSource : public PollSource {
 public:
  Result<PollResult> Poll(PollContext& ctx) override {
    std::lock_guard<std::mutex> g(mu);
    ++polls;
    if (!fail.empty()) return Fail(ErrorCode::kUnavailable, fail);
    PollResult out;
    auto seen = ctx.seen(keys);
    if (!seen) return Fail(seen.error());
    for (size_t i = 0; i < keys.size(); ++i) {
      if ((*seen)[i])
        out.known.push_back(keys[i]);
      else
        out.items.push_back({keys[i], Json{{"path", keys[i]}}});
    }
    out.cursor = Json{{"listed", keys.size()}};
    return out;
  }
  Result<void> AfterCommit(PollContext&, const std::vector<PollItem>& items) override {
    std::lock_guard<std::mutex> g(mu);
    for (const auto& i : items) after.push_back(i.key);
    if (fail_after) {
      fail_after = false;
      return Fail(ErrorCode::kUnavailable, "the server went away");
    }
    return Ok();
  }
  bool HasAfter(const Json& with) const override { return GetString(with, "after") == "move"; }

  std::mutex mu;
  std::vector<std::string> keys;
  std::string fail;
  bool fail_after = false;
  int polls = 0;
  std::vector<std::string> after;
};

class PollerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("weft-poller-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
    SqliteOptions o;
    o.data_dir = dir_;
    store_ = std::move(*SqliteStore::Open(o));
    ConnectorSpec spec{"t", "T", "", "", false, {}, {}, {}};
    catalog_.Register(spec, {});
    source_ = std::make_shared<ListSource>();
    catalog_.RegisterPollSource("t", {"items", "Items", "", {}, ""}, source_);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Flow MakeFlow(const std::string& start, Json with = Json::object()) {
    Json doc = {{"name", "p"},
                {"trigger",
                 {{"type", "poll"},
                  {"poll",
                   {{"every", "1h"},
                    {"start", start},
                    {"source", {{"uses", "t.items"}, {"with", with}}}}}}},
                {"steps", Json::array()}};
    auto f = store_->CreateFlow(FlowWrite{"p", "", "poll", doc, ""}, "");
    return *store_->SetFlowActive(f->id, true);
  }

  std::vector<weft::Run> Runs(const std::string& flow_id) {
    RunFilter f;
    f.flow_id = flow_id;
    f.limit = 1000;
    return store_->ListRuns(f)->runs;
  }

  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
  ActionCatalog catalog_;
  std::shared_ptr<ListSource> source_;
  ChangeHub hub_;
  SystemClock clock_;
};

TEST_F(PollerTest, TwoPollersOnOneStoreEmitEachItemOnce) {
  Flow f = MakeFlow("all");
  for (int i = 0; i < 50; ++i) source_->keys.push_back("k" + std::to_string(i));
  Poller a(*store_, catalog_, hub_, clock_, {});
  Poller b(*store_, catalog_, hub_, clock_, {});
  a.Start();
  b.Start();
  for (int round = 0; round < 5; ++round) {
    {
      std::lock_guard<std::mutex> g(source_->mu);
      for (int i = 0; i < 20; ++i) source_->keys.push_back("r" + std::to_string(round * 20 + i));
    }
    std::thread other([&] { b.PollAllNow(Millis(20'000)); });
    ASSERT_TRUE(a.PollAllNow(Millis(20'000)));
    other.join();
  }
  a.Stop();
  b.Stop();
  std::set<std::string> keys;
  for (const auto& r : Runs(f.id)) EXPECT_TRUE(keys.insert(r.trigger["key"]).second);
  EXPECT_EQ(keys.size(), 150u);
}

TEST_F(PollerTest, AFailingSourceIsOneFailedRunPerStreakAndKeepsTheCursor) {
  Flow f = MakeFlow("all");
  source_->keys = {"a"};
  Poller p(*store_, catalog_, hub_, clock_, {});
  p.Start();
  ASSERT_TRUE(p.PollAllNow(Millis(10'000)));
  ASSERT_EQ(Runs(f.id).size(), 1u);
  Json cursor = store_->GetPollState(f.id)->cursor;
  source_->fail = "connection refused";
  source_->keys.push_back("b");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p.PollAllNow(Millis(10'000)));
  auto runs = Runs(f.id);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].status, RunStatus::kFailed);
  EXPECT_EQ(runs[0].error["message"], "the poll failed: connection refused");
  PollState st = *store_->GetPollState(f.id);
  EXPECT_EQ(st.last_error, "connection refused");
  EXPECT_EQ(st.cursor, cursor);
  // Back: the item listed meanwhile is emitted, the error cleared.
  source_->fail.clear();
  ASSERT_TRUE(p.PollAllNow(Millis(10'000)));
  EXPECT_EQ(Runs(f.id).size(), 3u);
  EXPECT_EQ(store_->GetPollState(f.id)->last_error, "");
}

TEST_F(PollerTest, StartNewRecordsWhatExistsWithoutRuns) {
  source_->keys = {"old1", "old2"};
  Flow f = MakeFlow("new");
  Poller p(*store_, catalog_, hub_, clock_, {});
  p.Start();
  ASSERT_TRUE(p.PollAllNow(Millis(10'000)));
  EXPECT_TRUE(Runs(f.id).empty());
  EXPECT_TRUE(store_->GetPollState(f.id)->primed);
  source_->keys.push_back("new1");
  ASSERT_TRUE(p.PollAllNow(Millis(10'000)));
  auto runs = Runs(f.id);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].trigger["key"], "new1");
  EXPECT_EQ(runs[0].trigger["type"], "poll");
}

TEST_F(PollerTest, AfterRunsOnceCommittedAndAgainWhenItFailed) {
  Flow f = MakeFlow("all", Json{{"after", "move"}});
  source_->keys = {"x", "y"};
  source_->fail_after = true;  // the first after fails (as a crash right after the commit would)
  Poller p(*store_, catalog_, hub_, clock_, {});
  p.Start();
  // Start polls at once and PollAllNow once more: the first poll commits
  // and its after fails, the second does the pending ones again.
  ASSERT_TRUE(p.PollAllNow(Millis(10'000)));
  ASSERT_TRUE(p.PollAllNow(Millis(10'000)));
  EXPECT_EQ(Runs(f.id).size(), 2u);
  EXPECT_EQ(source_->after, (std::vector<std::string>{"x", "y", "x", "y"}));
  EXPECT_TRUE(store_->GetPollState(f.id)->pending_after.is_null());
  // A pending item no longer listed (moved meanwhile) is not done again.
  {
    std::lock_guard<std::mutex> g(source_->mu);
    source_->fail_after = true;
    source_->keys.push_back("w");
  }
  ASSERT_TRUE(p.PollAllNow(Millis(10'000)));  // w committed, its after fails: pending
  EXPECT_EQ(store_->GetPollState(f.id)->pending_after.size(), 1u);
  {
    std::lock_guard<std::mutex> g(source_->mu);
    source_->keys.erase(std::find(source_->keys.begin(), source_->keys.end(), "w"));
    source_->after.clear();
  }
  ASSERT_TRUE(p.PollAllNow(Millis(10'000)));
  EXPECT_TRUE(source_->after.empty());
  EXPECT_TRUE(store_->GetPollState(f.id)->pending_after.is_null());
  source_->after = {"x", "y", "x", "y"};
  // A later item: its after runs once, and nothing stays pending.
  source_->keys.push_back("z");
  ASSERT_TRUE(p.PollAllNow(Millis(10'000)));
  EXPECT_EQ(source_->after, (std::vector<std::string>{"x", "y", "x", "y", "z"}));
  EXPECT_TRUE(store_->GetPollState(f.id)->pending_after.is_null());
  EXPECT_EQ(Runs(f.id).size(), 4u);  // x, y, w, z
}

TEST_F(PollerTest, DeactivatingStopsPolling) {
  Flow f = MakeFlow("all");
  source_->keys = {"a"};
  Poller p(*store_, catalog_, hub_, clock_, {});
  p.Start();
  ASSERT_TRUE(p.PollAllNow(Millis(10'000)));
  EXPECT_EQ(p.ActiveFlows(), 1u);
  ASSERT_TRUE(store_->SetFlowActive(f.id, false));
  hub_.FlowChanged(f.id);
  for (int i = 0; i < 100 && p.ActiveFlows() != 0; ++i) std::this_thread::sleep_for(Millis(10));
  EXPECT_EQ(p.ActiveFlows(), 0u);
  int polls = source_->polls;
  source_->keys.push_back("b");
  ASSERT_TRUE(p.PollAllNow(Millis(1000)));
  EXPECT_EQ(source_->polls, polls);
  EXPECT_EQ(Runs(f.id).size(), 1u);
}

}  // namespace
}  // namespace weft
