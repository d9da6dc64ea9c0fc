#include <algorithm>
#include <thread>

#include "store/store_contract_test.h"
#include "store/store_contract_util.h"

namespace weft::contract {

// ---- connection rate limits (Store::TakeRateSlot, PauseConnection) ---------------

namespace {

RateLimit Limit(int64_t requests, Millis per, int64_t burst) {
  RateLimit l;
  l.requests = requests;
  l.per = per;
  l.burst = burst;
  return l;
}

int64_t MsAfter(TimePoint t, TimePoint base) { return ToUnixMs(t) - ToUnixMs(base); }

}  // namespace

TEST_P(StoreContractTest, RateSlotsAllowABurstThenOnePerInterval) {
  Connection c = Must(store().CreateConnection(NewConnection("api")));
  RateLimit limit = Limit(10, Millis(1000), 3);  // one per 100 ms, three at once
  std::vector<int64_t> got;
  for (int i = 0; i < 6; ++i)
    got.push_back(MsAfter(Must(store().TakeRateSlot(c.id, &limit, kT0)), kT0));
  EXPECT_EQ(got, (std::vector<int64_t>{0, 0, 0, 100, 200, 300}));

  // After a quiet second the burst is back; the allowance does not pile up beyond it.
  got.clear();
  TimePoint later = kT0 + Millis(5000);
  for (int i = 0; i < 5; ++i)
    got.push_back(MsAfter(Must(store().TakeRateSlot(c.id, &limit, later)), later));
  EXPECT_EQ(got, (std::vector<int64_t>{0, 0, 0, 100, 200}));

  // Another connection has its own allowance.
  Connection other = Must(store().CreateConnection(NewConnection("other")));
  EXPECT_EQ(Must(store().TakeRateSlot(other.id, &limit, later)), later);

  // The state is in the store: it survives a restart.
  Reopen();
  EXPECT_EQ(MsAfter(Must(store().TakeRateSlot(c.id, &limit, later)), later), 300);
}

TEST_P(StoreContractTest, RateSlotsTakenAtOnceAreEachHandedOutOnce) {
  Connection c = Must(store().CreateConnection(NewConnection("api")));
  RateLimit limit = Limit(50, Millis(1000), 2);  // 20 ms apart
  constexpr int kThreads = 8, kEach = 25;
  std::vector<std::vector<int64_t>> slots(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto s = store().TakeRateSlot(c.id, &limit, kT0);
        slots[t].push_back(s ? MsAfter(*s, kT0) : -1);
      }
    });
  for (auto& t : threads) t.join();
  std::vector<int64_t> all;
  for (auto& s : slots) all.insert(all.end(), s.begin(), s.end());
  std::sort(all.begin(), all.end());
  // Two at 0 (the burst), then every 20 ms, none twice and none skipped.
  std::vector<int64_t> want = {0};
  for (int i = 0; i < kThreads * kEach - 1; ++i) want.push_back(i * 20);
  EXPECT_EQ(all, want);
}

TEST_P(StoreContractTest, PauseHoldsEverySlotOfTheConnectionBack) {
  Connection c = Must(store().CreateConnection(NewConnection("api")));
  RateLimit limit = Limit(10, Millis(1000), 1);
  // No limit and no pause: now.
  EXPECT_EQ(Must(store().TakeRateSlot(c.id, nullptr, kT0)), kT0);
  ASSERT_OK(store().PauseConnection(c.id, kT0 + Millis(7000)));
  // A shorter pause asked later does not cut the first one short.
  ASSERT_OK(store().PauseConnection(c.id, kT0 + Millis(2000)));
  EXPECT_EQ(MsAfter(Must(store().TakeRateSlot(c.id, nullptr, kT0 + Millis(10))), kT0), 7000);
  EXPECT_EQ(MsAfter(Must(store().TakeRateSlot(c.id, &limit, kT0 + Millis(10))), kT0), 7000);
  EXPECT_EQ(MsAfter(Must(store().TakeRateSlot(c.id, &limit, kT0 + Millis(10))), kT0), 7100);
  // Once the pause is over, slots go by the limit alone.
  EXPECT_EQ(MsAfter(Must(store().TakeRateSlot(c.id, &limit, kT0 + Millis(9000))), kT0), 9000);
  EXPECT_EQ(MsAfter(Must(store().TakeRateSlot(c.id, nullptr, kT0 + Millis(9000))), kT0), 9000);
}

TEST_P(StoreContractTest, RateSlotOfAnUnknownConnectionIsNotFound) {
  RateLimit limit = Limit(10, Millis(1000), 1);
  EXPECT_EQ(CodeOf(store().TakeRateSlot("nosuch", &limit, kT0)), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store().PauseConnection("nosuch", kT0)), ErrorCode::kNotFound);
  // A deleted connection's row goes with it: a new one of the same name starts afresh.
  Connection c = Must(store().CreateConnection(NewConnection("api")));
  (void)Must(store().TakeRateSlot(c.id, &limit, kT0));
  ASSERT_OK(store().PauseConnection(c.id, kT0 + Millis(60'000)));
  ASSERT_OK(store().DeleteConnection(c.id));
  EXPECT_EQ(CodeOf(store().TakeRateSlot(c.id, &limit, kT0)), ErrorCode::kNotFound);
  Connection again = Must(store().CreateConnection(NewConnection("api")));
  EXPECT_EQ(Must(store().TakeRateSlot(again.id, &limit, kT0)), kT0);
}

}  // namespace weft::contract
