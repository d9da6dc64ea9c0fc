// Poll triggers (docs/polling.md): the real Poller over a real SqliteStore in
// a temp dir, with a source made here (no network, so the figures are the
// poller's and the store's own):
//   1. emit: one flow whose source has N new items; the time until all N
//      runs are committed (pages of 1,000 items, each page one transaction
//      with its keys and runs), as items per second;
//   2. unchanged: a source that lists 100,000 items that were all emitted
//      before; the time of one poll (one indexed lookup per item, nothing
//      committed but the state) and the process's peak memory.
// Run: build/bench/poll/bench_poll [N]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "core/events.h"
#include "core/poll.h"
#include "engine/poller.h"
#include "store/sqlite/sqlite_store.h"

namespace {

using namespace weft;
using SteadyClock = std::chrono::steady_clock;

// `total` items "item-0" ..; with `paged`, a cursor (the next index) lets
// each poll list only the next page; without, every poll lists all of them
// and asks the store which it knows, as a folder listing does.
class BenchSource : public PollSource {
 public:
  BenchSource(size_t total, bool paged) : total_(total), paged_(paged) {}
  Result<PollResult> Poll(PollContext& ctx) override {
    PollResult out;
    size_t from = paged_ && ctx.cursor.is_number() ? ctx.cursor.get<size_t>() : 0;
    size_t to = paged_ ? std::min(total_, from + ctx.max_items) : total_;
    std::vector<std::string> keys;
    keys.reserve(to - from);
    for (size_t i = from; i < to; ++i) keys.push_back("item-" + std::to_string(i));
    std::vector<bool> seen(keys.size(), false);
    if (ctx.seen) {
      auto r = ctx.seen(keys);
      if (!r) return Fail(r.error());
      seen = std::move(*r);
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      if (seen[i]) {
        out.known.push_back(keys[i]);
        continue;
      }
      if (out.items.size() >= ctx.max_items) {
        out.more = true;
        continue;
      }
      out.items.push_back({keys[i], Json{{"n", from + i}, {"name", keys[i] + ".csv"}}});
    }
    if (paged_) {
      out.cursor = Json(to);
      out.more = to < total_;
    }
    return out;
  }

 private:
  size_t total_;
  bool paged_;
};

long PeakRssKb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

Flow PollFlow(Store& store, const std::string& name, const std::string& uses) {
  Json doc = {{"name", name},
              {"trigger",
               {{"type", "poll"},
                {"poll", {{"every", "1h"}, {"start", "all"}, {"source", {{"uses", uses}}}}}}},
              {"steps", Json::array()}};
  FlowWrite w{name, "", "poll", doc, ""};
  auto f = store.CreateFlow(w, "");
  if (!f) {
    std::fprintf(stderr, "create flow: %s\n", f.error().message.c_str());
    std::exit(1);
  }
  return *store.SetFlowActive(f->id, true);
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::stoul(argv[1]) : 100'000;
  std::string dir =
      (std::filesystem::temp_directory_path() / ("weft-bench-poll-" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  SqliteOptions o;
  o.data_dir = dir;
  auto store = SqliteStore::Open(o);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().message.c_str());
    return 1;
  }
  ActionCatalog catalog;
  ConnectorSpec spec{"bench", "Bench", "", "", false, {}, {}, {}};
  catalog.Register(spec, {});
  catalog.RegisterPollSource("bench", {"paged", "Paged", "", {}, ""},
                             std::make_shared<BenchSource>(n, true));
  catalog.RegisterPollSource("bench", {"listed", "Listed", "", {}, ""},
                             std::make_shared<BenchSource>(n, false));
  ChangeHub hub;
  SystemClock clock;

  // 1. Emit N items into runs.
  Flow emit = PollFlow(**store, "emit", "bench.paged");
  {
    Poller poller(**store, catalog, hub, clock, PollerOptions{});
    auto t0 = SteadyClock::now();
    poller.Start();
    while (*(*store)->CountRuns(RunStatus::kQueued) < static_cast<int64_t>(n))
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    double s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
    poller.Stop();
    std::printf("emit: %zu items into %zu runs in %.2f s: %.0f items/s (pages of 1000, SQLite)\n",
                n, n, s, n / s);
  }

  // 2. An unchanged listing of N items, all emitted before.
  Flow listed = PollFlow(**store, "listed", "bench.listed");
  {
    Poller poller(**store, catalog, hub, clock, PollerOptions{});
    poller.Start();
    poller.PollAllNow(std::chrono::minutes(10));  // the first polls emit everything
    while ((*store)->GetPollState(listed.id)->polls < static_cast<int64_t>(n / 1000))
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    long rss_before = PeakRssKb();
    auto t0 = SteadyClock::now();
    const int kPolls = 5;
    for (int i = 0; i < kPolls; ++i) poller.PollAllNow(std::chrono::minutes(10));
    double s = std::chrono::duration<double>(SteadyClock::now() - t0).count() / kPolls;
    poller.Stop();
    std::printf(
        "unchanged: a poll of %zu listed items, all known: %.3f s each (%.1f us an item); "
        "peak RSS %ld MiB (before these polls %ld MiB)\n",
        n, s, s * 1e6 / n, PeakRssKb() / 1024, rss_before / 1024);
  }
  store->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
