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

// sendNow(fd, bytes) → the number of bytes the socket `fd` took at once (0 when it takes none now),
// or -1 when it failed (the peer closed it). Never waits; the caller queues the rest where its
// event loop writes it, which is also where it must queue everything while an earlier write waits.
Napi::Value SendNow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsTypedArray()) throw Napi::TypeError::New(env, "sendNow(fd, bytes)");
  const int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
  for (;;) {
    const ssize_t n = send(fd, bytes.Data(), bytes.ByteLength(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return Napi::Number::New(env, static_cast<double>(n));
    if (errno == EINTR) continue;
    return Napi::Number::New(env, errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1);
  }
}

}  // namespace

void ExportSocketCalls(Napi::Env env, Napi::Object exports) {
  exports.Set("spinRead", Napi::Function::New(env, &SpinRead, "spinRead"));
  exports.Set("sendNow", Napi::Function::New(env, &SendNow, "sendNow"));
}

}  // namespace aiges
