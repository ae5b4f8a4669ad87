#include "spin_read.h"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdint>

#include "worker_pool.h"

namespace aiges {
namespace {

// A read takes at most this much: a caller polling for one short message never reads more.
constexpr size_t kMaxRead = 64 * 1024;
// The longest a caller may poll (the host's spinUs bound).
constexpr int kMaxSpinUs = 1000;

// spinRead(fd, maxUs) → Buffer | null: the bytes that arrived on the socket `fd` within `maxUs`
// (up to 64 KiB, what one non-blocking read returned), or null when none did, the peer closed it,
// or it failed (the event loop then sees the same). The fd stays owned by its libuv handle: only
// non-blocking reads happen here, on the JS thread, never while libuv reads it.
Napi::Value SpinRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "spinRead(fd, maxUs)");
  const int fd = info[0].As<Napi::Number>().Int32Value();
  int maxUs = info[1].As<Napi::Number>().Int32Value();
  if (maxUs < 0) maxUs = 0;
  if (maxUs > kMaxSpinUs) maxUs = kMaxSpinUs;
  static thread_local uint8_t buffer[kMaxRead];
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(maxUs);
  for (unsigned i = 0;; ++i) {
    const ssize_t n = recv(fd, buffer, kMaxRead, MSG_DONTWAIT);
    if (n > 0) return Napi::Buffer<uint8_t>::Copy(env, buffer, static_cast<size_t>(n));
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return env.Null();
    SpinPause(i);
    if (std::chrono::steady_clock::now() >= until) return env.Null();
  }
}

}  // namespace

void ExportSpinRead(Napi::Env env, Napi::Object exports) {
  exports.Set("spinRead", Napi::Function::New(env, &SpinRead, "spinRead"));
}

}  // namespace aiges
