// ResultFlow: the bound on one session's results waiting for its client.
//
// Producers are the session's strand (sync reads; writes in both modes) and the wrapper's threads
// calling back (async). The consumer is the JS thread handing results to onResult. A result counts
// as queued from the moment it is posted until onResult has run for it. Producers go on while the
// flow has room: fewer than `limit` results queued and the consumer not paused (onResult returned
// false, until resume()). Otherwise the strand suspends without holding a thread, and a callback
// blocks its (wrapper's) thread, until the consumer makes room or the flow is closed.
//
// Thread-safe. Close() (session destroy, library teardown) ends every wait for good.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace aiges {

class ResultFlow {
 public:
  explicit ResultFlow(unsigned limit) : limit_(limit) {}
  ResultFlow(const ResultFlow&) = delete;
  ResultFlow& operator=(const ResultFlow&) = delete;

  // Strand: whether a result may be produced now (no slot is taken: the strand is the only producer
  // of its own results, and Posted() counts them).
  bool HasRoom() const;
  // Strand, after HasRoom() returned false and the strand suspended itself: stores `wake` to run
  // (once, on the thread that makes room) when there is room, and returns true; returns false
  // without storing it when there is room already (the caller wakes itself).
  bool Park(std::function<void()> wake);

  // Callback thread: waits until there is room, then counts one result as queued and returns true
  // (post it); returns false, counting nothing, once the flow is closed (drop it).
  bool Acquire();

  // The strand: counts one result it posted (without Acquire: terminal messages are never held).
  void Posted();
  // Uncounts a result that never reached the JS thread.
  void Unposted();

  // JS thread: one result was handed to onResult (or dropped); `pause` when onResult asked to.
  void Delivered(bool pause);
  // JS thread: the client takes results again (the wait for a final result starts over).
  void Resume();
  // No producer waits any more, ever: parked work runs, Acquire returns false.
  void Close();

  bool closed() const;
  // Paused, or at the limit: producers are held back by the client.
  bool HeldBack() const;

  // Wrapper activity (a write or a result), for the wait limit on a session's final result.
  void Touch();
  std::chrono::steady_clock::time_point lastActivity() const;

 private:
  bool RoomLocked() const { return closed_ || (!paused_ && queued_ < limit_); }
  // Called with the lock held; returns the parked wake-up to run (after unlocking) if there is room.
  std::function<void()> TakeWakeLocked();

  const unsigned limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  unsigned queued_ = 0;
  bool paused_ = false;
  bool closed_ = false;
  std::function<void()> parked_;
  std::chrono::steady_clock::time_point lastActivity_ = std::chrono::steady_clock::now();
};

}  // namespace aiges
