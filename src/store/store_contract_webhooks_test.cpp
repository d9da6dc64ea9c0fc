#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "store/store_contract_test.h"
#include "store/store_contract_util.h"

namespace weft::contract {

// ---- deliveries ---------------------------------------------------------------------------

TEST_P(StoreContractTest, DeliveriesRoundTrip) {
  Delivery d = NewDelivery("f", At(0));
  d.body = std::string("bin\0ary\xff\xfe", 9);
  Delivery created = Must(store().CreateDelivery(d));
  EXPECT_FALSE(created.id.empty());
  Delivery got = Must(store().GetDelivery(created.id));
  EXPECT_EQ(got.flow_id, "f");
  EXPECT_EQ(got.received_at, At(0));
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.path, "/hooks/abcd");
  EXPECT_EQ(got.status_code, 202);
  EXPECT_EQ(got.run_id, "run1");
  EXPECT_EQ(got.headers, d.headers);
  EXPECT_EQ(got.query, d.query);
  EXPECT_EQ(got.body, d.body) << "the body is kept byte for byte";
  EXPECT_EQ(got.content_type, "application/json");
  EXPECT_TRUE(got.auth_passed);
  EXPECT_EQ(CodeOf(store().GetDelivery("nodelivery")), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, ListDeliveriesNewestFirstByFlow) {
  Delivery a0 = Must(store().CreateDelivery(NewDelivery("a", At(0))));
  Delivery b1 = Must(store().CreateDelivery(NewDelivery("b", At(1))));
  Delivery a2 = Must(store().CreateDelivery(NewDelivery("a", At(2))));
  auto ids = [](const std::vector<Delivery>& ds) {
    std::vector<std::string> out;
    for (const auto& d : ds) out.push_back(d.id);
    return out;
  };
  EXPECT_EQ(ids(Must(store().ListDeliveries("a", 10))), (std::vector<std::string>{a2.id, a0.id}));
  EXPECT_EQ(ids(Must(store().ListDeliveries("a", 1))), (std::vector<std::string>{a2.id}));
  EXPECT_EQ(ids(Must(store().ListDeliveries("", 10))),
            (std::vector<std::string>{a2.id, b1.id, a0.id}));
}

// ---- webhooks ------------------------------------------------------------------

TEST_P(StoreContractTest, RecordWebhookStoresRunKeyAndDeliveryTogether) {
  WebhookRecord r;
  r.run = NewRun("f", At(0));
  r.run->trigger_type = "webhook";
  r.idempotency_key = "evt_1";
  r.keys_since = At(0) - Millis(1000);
  r.delivery = NewDelivery("f", At(0));
  r.delivery->run_id = "";
  WebhookRecorded first = Must(store().RecordWebhook(r));
  ASSERT_TRUE(first.run);
  EXPECT_TRUE(first.duplicate_of.empty());
  EXPECT_EQ(Must(store().GetDelivery(first.delivery->id)).run_id, first.run->id);
  EXPECT_EQ(Must(store().GetRun(first.run->id, false)).trigger_type, "webhook");

  // The same key again: no new run, the first run's id, the delivery says so.
  r.run = NewRun("f", At(1));
  r.delivery = NewDelivery("f", At(1));
  WebhookRecorded again = Must(store().RecordWebhook(r));
  EXPECT_FALSE(again.run);
  EXPECT_EQ(again.duplicate_of, first.run->id);
  EXPECT_EQ(Must(store().GetDelivery(again.delivery->id)).run_id, first.run->id);

  // Another flow may use the same key; a key older than keys_since is forgotten.
  r.run = NewRun("g", At(2));
  EXPECT_TRUE(Must(store().RecordWebhook(r)).run);
  r.run = NewRun("f", At(3));
  r.keys_since = At(1);
  WebhookRecorded later = Must(store().RecordWebhook(r));
  ASSERT_TRUE(later.run);
  r.run = NewRun("f", At(4));
  EXPECT_EQ(Must(store().RecordWebhook(r)).duplicate_of, later.run->id);
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 3);
}

TEST_P(StoreContractTest, FindWebhookKeyAnswersTheFirstRunOfAFreshKeyAndWritesNothing) {
  EXPECT_EQ(Must(store().FindWebhookKey("f", "evt_1", At(0))), std::nullopt);
  WebhookRecord r;
  r.run = NewRun("f", At(5));
  r.idempotency_key = "evt_1";
  r.keys_since = At(0);
  WebhookRecorded first = Must(store().RecordWebhook(r));
  ASSERT_TRUE(first.run);

  EXPECT_EQ(Must(store().FindWebhookKey("f", "evt_1", At(5))), first.run->id);
  EXPECT_EQ(Must(store().FindWebhookKey("f", "evt_1", At(0))), first.run->id);
  // Recorded before `since`: forgotten, as RecordWebhook would take it again.
  EXPECT_EQ(Must(store().FindWebhookKey("f", "evt_1", At(6))), std::nullopt);
  // Keys are per flow, and a key is matched whole.
  EXPECT_EQ(Must(store().FindWebhookKey("g", "evt_1", At(0))), std::nullopt);
  EXPECT_EQ(Must(store().FindWebhookKey("f", "evt_", At(0))), std::nullopt);
  EXPECT_EQ(Must(store().FindWebhookKey("f", "", At(0))), std::nullopt);
  // A read only: the key still makes the next request a repeat of the first run.
  r.run = NewRun("f", At(6));
  EXPECT_EQ(Must(store().RecordWebhook(r)).duplicate_of, first.run->id);
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 1);
}

TEST_P(StoreContractTest, RecordWebhookConcurrentDuplicatesStartOneRun) {
  std::atomic<int> started{0};
  std::set<std::string> answered;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      WebhookRecord r;
      r.run = NewRun("f", At(0));
      r.idempotency_key = "same";
      r.keys_since = At(0) - Millis(1000);
      auto got = store().RecordWebhook(r);
      ASSERT_TRUE(got.has_value()) << got.error().message;
      std::lock_guard lock(mu);
      if (got->run) {
        ++started;
        answered.insert(got->run->id);
      } else {
        answered.insert(got->duplicate_of);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(answered.size(), 1u) << "every request answers the one run's id";
  EXPECT_EQ(Must(store().CountRuns(std::nullopt)), 1);
}

TEST_P(StoreContractTest, PruneWebhookDataByAgeAndCount) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(store().CreateDelivery(NewDelivery("a", At(i))));
  ASSERT_OK(store().CreateDelivery(NewDelivery("b", At(0))));
  // Older than At(2) for flow a: two go.
  EXPECT_EQ(Must(store().PruneWebhookData("a", At(2), 0, At(0), 100)), 2);
  // Keep the newest two of a.
  EXPECT_EQ(Must(store().PruneWebhookData("a", At(0), 2, At(0), 100)), 1);
  EXPECT_EQ(Must(store().ListDeliveries("a", 10)).size(), 2u);
  EXPECT_EQ(Must(store().ListDeliveries("b", 10)).size(), 1u);
  // Every flow by age.
  EXPECT_EQ(Must(store().PruneWebhookData("", At(100), 0, At(0), 100)), 3);
}

}  // namespace weft::contract
