// ChangeHub: in-process notifications between the services, the engine and
// the server: a flow changed (scheduler and webhook router follow), a run was
// queued (workers wake), a run progressed (waiters and live logs wake).
// Thread-safe. Listeners are called on the notifying thread and must be quick.
#pragma once

#include <condition_variable>
#include <functional>
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

  void OnFlowChanged(FlowListener l);
  void OnRunQueued(QueueListener l);

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
  std::vector<FlowListener> flow_listeners_;
  std::vector<QueueListener> queue_listeners_;
};

}  // namespace weft
