// The host's own worker threads (not libuv's pool, which is small and shared with fs/dns).
//
// WorkerPool runs tasks on a fixed number of threads, so at most `threads` tasks run at once; extra
// tasks wait in FIFO order. PostAfter queues a task once a delay has passed without holding a thread
// meanwhile (used for session read back-off and deadline bookkeeping). Strand runs the tasks posted
// to it one at a time, in order, on the pool: the per-session serialisation of wrapper calls. A strand
// can be suspended by its running task (a session waiting for its client to take results) without
// holding a thread.
//
// Spinning: a worker that runs out of tasks first polls the queue for up to `spin` (one worker at a
// time), and only then sleeps on the condition variable. A call that arrives meanwhile (the next one
// of a client calling back to back) starts without a thread wake-up, which on an idle VM costs tens
// of µs. The cost is CPU: at most `spin` of one core after each burst of work; zero disables it.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace aiges {

using Task = std::function<void()>;

// Step `i` of a bounded busy wait: a pause (lets a sibling hyperthread run), and now and then a
// yield to any other runnable thread (on a busy machine, the one we wait for may need this CPU).
inline void SpinPause(unsigned i) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
  if (i % 8 == 7) std::this_thread::yield();
}

class WorkerPool {
 public:
  WorkerPool(unsigned threads, std::chrono::microseconds spin);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Thread-safe. Tasks posted after Stop() are dropped.
  void Post(Task task);
  void PostAfter(std::chrono::milliseconds delay, Task task);

  // Drops queued and delayed tasks and lets running tasks finish. With `join`, waits for the threads;
  // without (env teardown: a wrapper call may run for long), or when called from one of the pool's
  // own threads, detaches them instead (each exits after its current task).
  void Stop(bool join = true);

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the threads, so a detached thread never dangles
  std::vector<std::thread> threads_;
};

class Strand : public std::enable_shared_from_this<Strand> {
 public:
  // `pool` must outlive the strand (a session's strand lives in the session, which holds the library).
  explicit Strand(WorkerPool& pool) : pool_(pool) {}

  // Runs `task` after every task posted before it has finished; never two at once.
  void Post(Task task);
  // Enqueues `task` on the strand after `delay`; other tasks may run meanwhile.
  void PostAfter(std::chrono::milliseconds delay, Task task);

  // Called by the strand's running task: once it returns, no task runs until Resume(); `next` then
  // runs first, before the tasks posted meanwhile. Resume() may come from any thread, even before
  // the suspending task has returned.
  void Suspend(Task next);
  void Resume();

 private:
  void RunOne();

  WorkerPool& pool_;
  std::mutex mu_;
  std::deque<Task> queue_;
  bool active_ = false;     // a RunOne is queued or running
  bool suspended_ = false;  // no task runs until Resume()
};

}  // namespace aiges
