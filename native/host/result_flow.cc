#include "result_flow.h"

#include <utility>

namespace aiges {

bool ResultFlow::HasRoom() const {
  std::lock_guard<std::mutex> lock(mu_);
  return RoomLocked();
}

bool ResultFlow::Park(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mu_);
  if (RoomLocked()) return false;
  parked_ = std::move(wake);
  return true;
}

bool ResultFlow::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return RoomLocked(); });
  if (closed_) return false;
  ++queued_;
  return true;
}

void ResultFlow::Posted() {
  std::lock_guard<std::mutex> lock(mu_);
  ++queued_;
}

void ResultFlow::Unposted() { Delivered(false); }

std::function<void()> ResultFlow::TakeWakeLocked() {
  if (!RoomLocked()) return nullptr;
  cv_.notify_all();
  return std::exchange(parked_, nullptr);
}

void ResultFlow::Delivered(bool pause) {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queued_ > 0) --queued_;
    if (pause) paused_ = true;
    wake = TakeWakeLocked();
  }
  if (wake) wake();
}

void ResultFlow::Resume() {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    paused_ = false;
    lastActivity_ = std::chrono::steady_clock::now();  // the wait for a final result restarts
    wake = TakeWakeLocked();
  }
  if (wake) wake();
}

void ResultFlow::Close() {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    wake = TakeWakeLocked();
  }
  if (wake) wake();
}

bool ResultFlow::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

bool ResultFlow::HeldBack() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !RoomLocked();
}

void ResultFlow::Touch() {
  std::lock_guard<std::mutex> lock(mu_);
  lastActivity_ = std::chrono::steady_clock::now();
}

std::chrono::steady_clock::time_point ResultFlow::lastActivity() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lastActivity_;
}

}  // namespace aiges
