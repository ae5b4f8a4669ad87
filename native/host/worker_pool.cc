#include "worker_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <queue>

namespace aiges {

namespace {
using Clock = std::chrono::steady_clock;

struct Delayed {
  Clock::time_point due;
  uint64_t seq;  // FIFO among equal deadlines
  Task task;
};
struct Later {
  bool operator()(const Delayed& a, const Delayed& b) const {
    return a.due != b.due ? a.due > b.due : a.seq > b.seq;
  }
};

void RunGuarded(Task& task) {
  try {
    task();
  } catch (const std::exception& e) {
    // Tasks report their own errors to JS; anything escaping is a host bug, but never kills a worker.
    std::fprintf(stderr, "aiges native host: worker task threw: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "aiges native host: worker task threw a non-std exception\n");
  }
}
}  // namespace

struct WorkerPool::State {
  explicit State(std::chrono::microseconds s) : spin(s) {}
  const std::chrono::microseconds spin;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Task> ready;
  std::atomic<size_t> readyCount{0};  // ready.size(), readable without the lock (the spinner polls it)
  bool spinning = false;              // a worker is polling readyCount instead of waiting on cv
  std::priority_queue<Delayed, std::vector<Delayed>, Later> delayed;
  uint64_t seq = 0;
  bool stopping = false;
  std::vector<std::thread::id> ids;

  void Loop() {
    std::unique_lock<std::mutex> lock(mu);
    bool spun = false;  // this worker already spun since its last task: sleep next time
    for (;;) {
      if (stopping) return;
      const auto now = Clock::now();
      while (!delayed.empty() && delayed.top().due <= now) {
        // priority_queue::top is const; the task is moved out just before pop.
        ready.push_back(std::move(const_cast<Delayed&>(delayed.top()).task));
        delayed.pop();
      }
      if (!ready.empty()) {
        Task task = std::move(ready.front());
        ready.pop_front();
        readyCount.store(ready.size(), std::memory_order_relaxed);
        if (!ready.empty()) cv.notify_one();
        lock.unlock();
        RunGuarded(task);
        task = nullptr;  // release captures before re-locking
        spun = false;
        lock.lock();
      } else if (spin.count() > 0 && !spun && !spinning) {
        Spin(lock);
        spun = true;
      } else if (!delayed.empty()) {
        // NOTE: a copy: wait_until keeps reading its argument, and a push while unlocked may move the heap.
        const Clock::time_point due = delayed.top().due;
        cv.wait_until(lock, due);
      } else {
        cv.wait(lock);
      }
    }
  }

  // Polls for a task for up to `spin` without the lock; returns with the lock held. A delayed task
  // falling due meanwhile waits at most `spin` longer.
  void Spin(std::unique_lock<std::mutex>& lock) {
    spinning = true;
    lock.unlock();
    const auto until = Clock::now() + spin;
    for (unsigned i = 0; readyCount.load(std::memory_order_acquire) == 0; ++i) {
      SpinPause(i);
      if (i % 16 == 15 && Clock::now() >= until) break;
    }
    lock.lock();
    spinning = false;
  }
};

WorkerPool::WorkerPool(unsigned threads, std::chrono::microseconds spin) : state_(std::make_shared<State>(spin)) {
  threads = std::max(1u, threads);
  threads_.reserve(threads);
  std::lock_guard<std::mutex> lock(state_->mu);
  for (unsigned i = 0; i < threads; ++i) {
    threads_.emplace_back([state = state_] { state->Loop(); });
    state_->ids.push_back(threads_.back().get_id());
  }
}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Post(Task task) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->stopping) return;
    state_->ready.push_back(std::move(task));
    state_->readyCount.store(state_->ready.size(), std::memory_order_release);
    // NOTE: a spinning worker takes the task (and wakes another for any task behind it): waking a
    // sleeping one as well would cost a futex call and a thread wake-up for nothing.
    wake = !state_->spinning;
  }
  if (wake) state_->cv.notify_one();
}

void WorkerPool::PostAfter(std::chrono::milliseconds delay, Task task) {
  bool earliest = false;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->stopping) return;
    const uint64_t seq = state_->seq++;
    state_->delayed.push(Delayed{Clock::now() + delay, seq, std::move(task)});
    earliest = state_->delayed.top().seq == seq;
  }
  // Only a new earliest deadline changes what an idle worker waits for; any idle worker will do.
  if (earliest) state_->cv.notify_one();
}

void WorkerPool::Stop(bool join) {
  std::deque<Task> dropped;
  std::priority_queue<Delayed, std::vector<Delayed>, Later> droppedLater;
  bool onWorker = false;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->stopping && threads_.empty()) return;
    state_->stopping = true;
    dropped.swap(state_->ready);
    state_->readyCount.store(0, std::memory_order_relaxed);
    droppedLater.swap(state_->delayed);
    const auto self = std::this_thread::get_id();
    onWorker = std::find(state_->ids.begin(), state_->ids.end(), self) != state_->ids.end();
  }
  state_->cv.notify_all();
  for (std::thread& t : threads_) {
    if (onWorker || !join) {
      t.detach();
    } else if (t.joinable()) {
      t.join();
    }
  }
  threads_.clear();
  // `dropped` tasks are destroyed here, outside the lock (their captures may own heavy state).
}

void Strand::Post(Task task) {
  bool schedule = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(task));
    if (!active_ && !suspended_) {
      active_ = true;
      schedule = true;
    }
  }
  if (schedule) pool_.Post([self = shared_from_this()] { self->RunOne(); });
}

void Strand::PostAfter(std::chrono::milliseconds delay, Task task) {
  pool_.PostAfter(delay, [self = shared_from_this(), task = std::move(task)]() mutable {
    self->Post(std::move(task));
  });
}

void Strand::Suspend(Task next) {
  std::lock_guard<std::mutex> lock(mu_);
  suspended_ = true;
  if (next) queue_.push_front(std::move(next));
}

void Strand::Resume() {
  bool schedule = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!suspended_) return;
    suspended_ = false;
    if (!active_ && !queue_.empty()) {
      active_ = true;
      schedule = true;
    }
  }
  if (schedule) pool_.Post([self = shared_from_this()] { self->RunOne(); });
}

void Strand::RunOne() {
  Task task;
  {
    std::lock_guard<std::mutex> lock(mu_);
    task = std::move(queue_.front());
    queue_.pop_front();
  }
  RunGuarded(task);
  task = nullptr;
  bool more = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    more = !queue_.empty() && !suspended_;
    if (!more) active_ = false;
  }
  // NOTE: one task per pool turn, then re-queue behind other work: a busy session cannot starve
  // once calls or other sessions of the pool's threads.
  if (more) pool_.Post([self = shared_from_this()] { self->RunOne(); });
}

}  // namespace aiges
