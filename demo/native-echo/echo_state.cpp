#include "echo_state.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace native_echo {

int g_delayMs = 0;
wrapperMeterCustom g_meter = nullptr;
std::atomic<int> g_liveHandles{0};
std::atomic<int> g_running{0};
std::atomic<int> g_maxOverlap{0};
std::atomic<int> g_reads{0};

CallGuard::CallGuard() {
  const int now = g_running.fetch_add(1) + 1;
  int prev = g_maxOverlap.load();
  while (now > prev && !g_maxOverlap.compare_exchange_weak(prev, now)) {
  }
}
CallGuard::~CallGuard() { g_running.fetch_sub(1); }

namespace {
std::mutex g_threadsMu;
// wrapperFini joins every thread. A process that exits without fini must not std::terminate on a
// still-joinable std::thread during static destruction, so leftovers are detached there.
struct AsyncThreads : std::vector<std::thread> {
  ~AsyncThreads() {
    for (std::thread& t : *this) {
      if (t.joinable()) t.detach();
    }
  }
};
AsyncThreads g_threads;
std::vector<std::thread::id> g_finished;
}  // namespace

void startAsyncThread(std::function<void()> fn) {
  joinAsyncThreads(false);  // reap the ones that are done
  std::lock_guard<std::mutex> lock(g_threadsMu);
  g_threads.emplace_back([fn = std::move(fn)] {
    fn();
    std::lock_guard<std::mutex> done(g_threadsMu);
    g_finished.push_back(std::this_thread::get_id());
  });
}

void joinAsyncThreads(bool all) {
  std::vector<std::thread> toJoin;
  {
    std::lock_guard<std::mutex> lock(g_threadsMu);
    if (all) {
      toJoin.swap(g_threads);
      g_finished.clear();
    } else {
      for (const std::thread::id& id : g_finished) {
        auto it = std::find_if(g_threads.begin(), g_threads.end(), [&](const std::thread& t) { return t.get_id() == id; });
        if (it != g_threads.end()) {
          toJoin.push_back(std::move(*it));
          g_threads.erase(it);
        }
      }
      g_finished.clear();
    }
  }
  for (std::thread& t : toJoin) t.join();
}

const char* getParam(pParamList params, const char* key) {
  for (pParamList p = params; p != nullptr; p = p->next) {
    if (p->key != nullptr && std::strcmp(p->key, key) == 0) return p->value;
  }
  return nullptr;
}

int intParam(pParamList params, const char* key, int fallback) {
  const char* v = getParam(params, key);
  return v != nullptr ? std::atoi(v) : fallback;
}

}  // namespace native_echo

void nativeEchoStats(int* liveHandles, int* maxOverlap, int* running) {
  if (liveHandles != nullptr) *liveHandles = native_echo::g_liveHandles.load();
  if (maxOverlap != nullptr) *maxOverlap = native_echo::g_maxOverlap.load();
  if (running != nullptr) *running = native_echo::g_running.load();
}

void nativeEchoResetStats() {
  native_echo::g_maxOverlap.store(native_echo::g_running.load());
  native_echo::g_reads.store(0);
}

int nativeEchoReads() { return native_echo::g_reads.load(); }
