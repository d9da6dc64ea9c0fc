// The time, memory and cancellation budget of one evaluation. The evaluator
// installs its budget for the thread running it (BudgetScope), so the
// standard library and the value helpers charge what they build without the
// budget being passed to every function. Used on one thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace weft::expr {

struct Budget {
  size_t max_bytes = 0;
  size_t used_bytes = 0;
  std::chrono::steady_clock::time_point deadline;
  const std::atomic<bool>* cancel = nullptr;
  uint32_t tick = 0;
};

// Rough sizes of what the evaluator builds, for charging before it allocates.
inline constexpr size_t kValueBytes = 16;     // one slot of an array or a sequence
inline constexpr size_t kStringBytes = 32;    // an owned string's header, beyond its text
inline constexpr size_t kObjEntryBytes = 64;  // one key/value of an owned object
inline constexpr size_t kJsonNodeBytes = 24;  // one node of a converted result

// The budget of the evaluation running on this thread; null outside one.
inline thread_local Budget* tls_budget = nullptr;

// Throw U1002 (memory) or U1001 (time, cancellation) as JError.
[[noreturn]] void ThrowOverMemory(const Budget& b);
void CheckClock(const Budget& b);

// Reads the clock and the cancel flag; the caller decides how often.
inline void CheckTime() {
  if (Budget* b = tls_budget) CheckClock(*b);
}

// Counts `bytes` against the memory budget (failing before they are
// allocated when they would not fit) and, every 256th call, checks the time.
inline void Charge(size_t bytes) {
  Budget* b = tls_budget;
  if (b == nullptr) return;
  if (bytes > b->max_bytes - b->used_bytes) ThrowOverMemory(*b);
  b->used_bytes += bytes;
  if ((++b->tick & 255) == 0) CheckClock(*b);
}

// The bytes still available (SIZE_MAX outside an evaluation).
inline size_t RemainingBytes() {
  Budget* b = tls_budget;
  return b == nullptr ? SIZE_MAX : b->max_bytes - b->used_bytes;
}

// Installs a budget for the current thread for its lifetime, restoring the
// previous one after (evaluations may nest: $eval, templates).
class BudgetScope {
 public:
  explicit BudgetScope(Budget* b) : prev_(tls_budget) { tls_budget = b; }
  ~BudgetScope() { tls_budget = prev_; }
  BudgetScope(const BudgetScope&) = delete;
  BudgetScope& operator=(const BudgetScope&) = delete;

 private:
  Budget* prev_;
};

}  // namespace weft::expr
