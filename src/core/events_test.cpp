// ChangeHub: a listener is called while its Subscription lives, never after,
// and resetting a Subscription waits for a call in progress.
#include "core/events.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace weft {
namespace {

TEST(ChangeHubTest, AListenerIsCalledWhileSubscribedAndNeverAfter) {
  ChangeHub hub;
  int queued = 0;
  std::string changed;
  auto runs = hub.OnRunQueued([&] { ++queued; });
  auto flows = hub.OnFlowChanged([&](const std::string& id) { changed = id; });
  hub.RunQueued();
  hub.FlowChanged("flw_1");
  EXPECT_EQ(queued, 1);
  EXPECT_EQ(changed, "flw_1");

  runs.Reset();
  flows = ChangeHub::Subscription();  // assigning over one removes it too
  hub.RunQueued();
  hub.FlowChanged("flw_2");
  EXPECT_EQ(queued, 1);
  EXPECT_EQ(changed, "flw_1");
}

// The shutdown race a sanitizer found: an owner destroyed while another
// thread still signals its listener. Reset() must not return while the
// listener runs, so the owner can be destroyed right after.
TEST(ChangeHubTest, ResetWaitsForACallInProgress) {
  ChangeHub hub;
  std::atomic<bool> inside{false}, release{false}, finished{false};
  auto sub = hub.OnRunQueued([&] {
    inside = true;
    while (!release.load()) std::this_thread::yield();
    finished = true;
  });
  std::thread notifier([&] { hub.RunQueued(); });
  while (!inside.load()) std::this_thread::yield();
  std::thread resetter([&] {
    sub.Reset();
    EXPECT_TRUE(finished.load()) << "Reset returned while the listener was running";
  });
  // Give the resetter a moment to block on the running call, then let it end.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  release = true;
  resetter.join();
  notifier.join();
}

TEST(ChangeHubTest, ManyOwnersComeAndGoWhileNotificationsFlow) {
  ChangeHub hub;
  std::atomic<bool> stop{false};
  std::thread notifier([&] {
    while (!stop.load()) hub.RunQueued();
  });
  for (int i = 0; i < 2000; ++i) {
    auto owner = std::make_unique<std::atomic<int>>(0);
    auto sub = hub.OnRunQueued([p = owner.get()] { p->fetch_add(1); });
    sub.Reset();
    owner.reset();  // safe: no call can reach it any more
  }
  stop = true;
  notifier.join();
}

}  // namespace
}  // namespace weft
