#include "common/clock.h"

namespace weft {

TimePoint SystemClock::Now() const {
  return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
}

bool SystemClock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                            TimePoint deadline, const std::function<bool()>& pred) {
  return cv.wait_until(lock, deadline, pred);
}

TimePoint FakeClock::Now() const {
  std::lock_guard<std::mutex> g(mu_);
  return now_;
}

void FakeClock::Advance(Millis d) { Set(Now() + d); }

void FakeClock::Set(TimePoint t) {
  std::set<std::condition_variable*> waiters;
  {
    std::lock_guard<std::mutex> g(mu_);
    now_ = t;
    waiters = waiters_;
  }
  for (auto* cv : waiters) cv->notify_all();
}

bool FakeClock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                          TimePoint deadline, const std::function<bool()>& pred) {
  {
    std::lock_guard<std::mutex> g(mu_);
    waiters_.insert(&cv);
  }
  // A short real-time wait closes the window between Set() and our wait.
  while (!pred() && Now() < deadline) cv.wait_for(lock, std::chrono::milliseconds(5));
  {
    std::lock_guard<std::mutex> g(mu_);
    waiters_.erase(&cv);
  }
  return pred();
}

int64_t ToUnixMs(TimePoint t) { return t.time_since_epoch().count(); }
TimePoint FromUnixMs(int64_t ms) { return TimePoint(Millis(ms)); }

}  // namespace weft
