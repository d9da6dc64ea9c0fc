#include "core/events.h"

namespace weft {

void ChangeHub::OnFlowChanged(FlowListener l) {
  std::lock_guard<std::mutex> g(mu_);
  flow_listeners_.push_back(std::move(l));
}

void ChangeHub::OnRunQueued(QueueListener l) {
  std::lock_guard<std::mutex> g(mu_);
  queue_listeners_.push_back(std::move(l));
}

void ChangeHub::FlowChanged(const std::string& flow_id) {
  std::vector<FlowListener> listeners;
  {
    std::lock_guard<std::mutex> g(mu_);
    listeners = flow_listeners_;
  }
  for (auto& l : listeners) l(flow_id);
}

void ChangeHub::RunQueued() {
  std::vector<QueueListener> listeners;
  {
    std::lock_guard<std::mutex> g(mu_);
    listeners = queue_listeners_;
  }
  for (auto& l : listeners) l();
}

void ChangeHub::RunProgressed(const std::string&) {
  {
    std::lock_guard<std::mutex> g(mu_);
    ++progress_;
  }
  cv_.notify_all();
}

uint64_t ChangeHub::ProgressMark() const {
  std::lock_guard<std::mutex> g(mu_);
  return progress_;
}

uint64_t ChangeHub::WaitProgress(uint64_t seen, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return progress_ != seen; });
  return progress_;
}

}  // namespace weft
