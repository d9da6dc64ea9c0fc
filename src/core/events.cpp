#include "core/events.h"

namespace weft {

// A listener and whether it may still be called. `mu` is held during each
// call, so Reset() returns only once no call is in progress.
struct ChangeHub::Slot {
  std::mutex mu;
  bool live = true;
  FlowListener on_flow;
  QueueListener on_queue;
};

void ChangeHub::Subscription::Reset() {
  if (!slot_) return;
  {
    std::lock_guard<std::mutex> g(slot_->mu);
    slot_->live = false;
    slot_->on_flow = nullptr;
    slot_->on_queue = nullptr;
  }
  slot_.reset();
}

namespace {
// The live slots of `list` (dropping the dead ones), copied under `mu`.
std::vector<std::shared_ptr<ChangeHub::Slot>> LiveSlots(
    std::mutex& mu, std::vector<std::shared_ptr<ChangeHub::Slot>>& list) {
  std::lock_guard<std::mutex> g(mu);
  std::erase_if(list, [](const std::shared_ptr<ChangeHub::Slot>& s) { return s.use_count() == 1; });
  return list;
}
}  // namespace

ChangeHub::Subscription ChangeHub::OnFlowChanged(FlowListener l) {
  auto slot = std::make_shared<Slot>();
  slot->on_flow = std::move(l);
  std::lock_guard<std::mutex> g(mu_);
  flow_listeners_.push_back(slot);
  return Subscription(std::move(slot));
}

ChangeHub::Subscription ChangeHub::OnRunQueued(QueueListener l) {
  auto slot = std::make_shared<Slot>();
  slot->on_queue = std::move(l);
  std::lock_guard<std::mutex> g(mu_);
  queue_listeners_.push_back(slot);
  return Subscription(std::move(slot));
}

void ChangeHub::FlowChanged(const std::string& flow_id) {
  for (auto& slot : LiveSlots(mu_, flow_listeners_)) {
    std::lock_guard<std::mutex> g(slot->mu);
    if (slot->live && slot->on_flow) slot->on_flow(flow_id);
  }
}

void ChangeHub::RunQueued() {
  for (auto& slot : LiveSlots(mu_, queue_listeners_)) {
    std::lock_guard<std::mutex> g(slot->mu);
    if (slot->live && slot->on_queue) slot->on_queue();
  }
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
