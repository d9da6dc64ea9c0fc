// Clock: the only way logic reads the time or sleeps, so the scheduler,
// retries and the executor can be tested with FakeClock and no real sleeping.
// Both implementations are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>

namespace weft {

using TimePoint = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Waits on `cv` (with `lock` held) until `deadline`, `pred()` or a spurious
  // wake. Returns pred(). A FakeClock wakes waiters when it is advanced.
  virtual bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint deadline, const std::function<bool()>& pred) = 0;
};

class SystemClock : public Clock {
 public:
  TimePoint Now() const override;
  bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline, const std::function<bool()>& pred) override;
};

// A clock that moves only when told to. Waiters see the new time when it moves.
class FakeClock : public Clock {
 public:
  explicit FakeClock(TimePoint start) : now_(start) {}
  TimePoint Now() const override;
  void Advance(Millis d);
  void Set(TimePoint t);
  bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline, const std::function<bool()>& pred) override;

 private:
  mutable std::mutex mu_;
  TimePoint now_;
  std::set<std::condition_variable*> waiters_;
};

int64_t ToUnixMs(TimePoint t);
TimePoint FromUnixMs(int64_t ms);

}  // namespace weft
