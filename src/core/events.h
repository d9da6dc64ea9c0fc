// ChangeHub: in-process notifications between the services, the engine and
// the server: a flow changed (scheduler and webhook router follow), a run was
// queued (workers wake), a run progressed (waiters and live logs wake).
// Thread-safe. Listeners are called on the notifying thread and must be quick.
// A listener lives as long as the Subscription its registration returned:
// once that is reset or destroyed, the listener is not running and is never
// called again, so it may capture `this` of an object that owns it.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "core/model.h"

namespace weft {

class ChangeHub {
 public:
  using FlowListener = std::function<void(const std::string& flow_id)>;  // changed or deleted
  using QueueListener = std::function<void()>;

  struct Slot;  // one registered listener (events.cpp)
  // Keeps a listener registered; Reset() (or the destructor) removes it and
  // waits for a call in progress on another thread to return. Must not be
  // reset from inside its own listener.
  class Subscription {
   public:
    Subscription() = default;
    explicit Subscription(std::shared_ptr<Slot> slot) : slot_(std::move(slot)) {}
    Subscription(Subscription&&) noexcept = default;
    Subscription& operator=(Subscription&& other) noexcept {
      if (this != &other) {
        Reset();
        slot_ = std::move(other.slot_);
      }
      return *this;
    }
    ~Subscription() { Reset(); }
    void Reset();

   private:
    std::shared_ptr<Slot> slot_;
  };

  [[nodiscard]] Subscription OnFlowChanged(FlowListener l);
  [[nodiscard]] Subscription OnRunQueued(QueueListener l);

  void FlowChanged(const std::string& flow_id);
  void RunQueued();
  // A run's status or one of its steps changed.
  void RunProgressed(const std::string& run_id);

  // Waits until RunProgressed(run_id) is called after `seen` (a value from
  // ProgressMark()), or until `deadline`. Returns the new mark. Used with a
  // short deadline and a store re-read, so progress made on another node (not
  // notified here) is still seen.
  uint64_t ProgressMark() const;
  uint64_t WaitProgress(uint64_t seen, std::chrono::steady_clock::time_point deadline);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t progress_ = 0;
  // Slots whose Subscription is gone stay here until the next notification
  // skips and drops them.
  std::vector<std::shared_ptr<Slot>> flow_listeners_;
  std::vector<std::shared_ptr<Slot>> queue_listeners_;
};

}  // namespace weft
