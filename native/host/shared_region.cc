#include "shared_region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

namespace aiges {
namespace {

// Mapped regions: start address → length. Never destroyed: ArrayBuffer finalizers may run during
// process teardown, after static destructors.
struct Ranges {
  std::mutex mu;
  std::map<uintptr_t, size_t> byStart;
};
Ranges& ranges() {
  static Ranges* r = new Ranges();
  return *r;
}

void Register(void* start, size_t len) {
  std::lock_guard<std::mutex> lock(ranges().mu);
  ranges().byStart[reinterpret_cast<uintptr_t>(start)] = len;
}

void Unmap(void* start, size_t len) {
  {
    std::lock_guard<std::mutex> lock(ranges().mu);
    ranges().byStart.erase(reinterpret_cast<uintptr_t>(start));
  }
  munmap(start, len);
}

std::string ErrnoText(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

size_t ReadSize(Napi::Env env, Napi::Value v) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, "bytes must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  // At most 16 GiB: a region is sized by the loader, never by a request.
  if (!(d >= 4096 && d <= 17179869184.0) || d != static_cast<double>(static_cast<size_t>(d))) {
    throw Napi::RangeError::New(env, "bytes must be an integer in [4096, 16 GiB]");
  }
  return static_cast<size_t>(d);
}

// The mapping as an ArrayBuffer that owns it: unmapped when V8 collects the ArrayBuffer, i.e. once
// no view of it is left (a view the loader handed on keeps the whole region mapped).
Napi::ArrayBuffer Adopt(Napi::Env env, void* start, size_t len) {
  Register(start, len);
  return Napi::ArrayBuffer::New(
      env, start, len, [](Napi::BasicEnv, void* data, void* hint) { Unmap(data, reinterpret_cast<uintptr_t>(hint)); },
      reinterpret_cast<void*>(static_cast<uintptr_t>(len)));
}

void* MapShared(Napi::Env env, int fd, size_t len) {
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) throw Napi::Error::New(env, ErrnoText("mmap"));
  return p;
}

// sharedRegionCreate(bytes) → { fd, memory }: a new memory file of `bytes` (its pages are allocated
// when first touched), mapped here. The fd is close-on-exec; the caller hands it to exactly one
// child process (as one of its stdio fds) and closes it here afterwards.
Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t len = ReadSize(env, info[0]);
#ifdef __linux__
  const int fd = memfd_create("aiges-plugin-io", MFD_CLOEXEC);
  if (fd < 0) throw Napi::Error::New(env, ErrnoText("memfd_create"));
  if (ftruncate(fd, static_cast<off_t>(len)) != 0) {
    const std::string err = ErrnoText("ftruncate");
    close(fd);
    throw Napi::Error::New(env, err);
  }
  void* p = nullptr;
  try {
    p = MapShared(env, fd, len);
  } catch (...) {
    close(fd);
    throw;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", fd);
  out.Set("memory", Adopt(env, p, len));
  return out;
#else
  static_cast<void>(len);
  throw Napi::Error::New(env, "shared regions need memfd_create (Linux)");
#endif
}

// sharedRegionMap(fd, bytes) → memory: maps the region a parent passed as `fd`, then closes the fd.
Napi::Value Map(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "fd must be a number");
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const size_t len = ReadSize(env, info[1]);
  struct stat st {};
  if (fstat(fd, &st) != 0) throw Napi::Error::New(env, ErrnoText("fstat"));
  if (static_cast<size_t>(st.st_size) < len) {
    throw Napi::RangeError::New(env, "the region is " + std::to_string(st.st_size) + " bytes, not " + std::to_string(len));
  }
  void* p = MapShared(env, fd, len);
  close(fd);
  return Adopt(env, p, len);
}

// setParentDeathSignal(parentPid) → boolean: the kernel kills this process (SIGKILL) when its
// parent dies, even when its JS thread is stuck in a plugin and cannot notice the closed channel.
// False when the parent is gone already (or the platform has no such signal: then the channel's
// end is the only way to learn it).
Napi::Value SetParentDeathSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int parent = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
#ifdef __linux__
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return Napi::Boolean::New(env, false);
#endif
  return Napi::Boolean::New(env, getppid() == parent);
}

}  // namespace

bool IsInPlaceInput(const void* data, size_t len) {
  if (data == nullptr) return false;
  const uintptr_t p = reinterpret_cast<uintptr_t>(data);
  std::lock_guard<std::mutex> lock(ranges().mu);
  auto& byStart = ranges().byStart;
  auto it = byStart.upper_bound(p);
  if (it == byStart.begin()) return false;
  --it;
  // The zero byte after the input must lie in the region too.
  if (p - it->first >= it->second || it->second - (p - it->first) <= len) return false;
  return static_cast<const uint8_t*>(data)[len] == 0;
}

void ExportSharedRegion(Napi::Env env, Napi::Object exports) {
  exports.Set("sharedRegionCreate", Napi::Function::New(env, &Create, "sharedRegionCreate"));
  exports.Set("sharedRegionMap", Napi::Function::New(env, &Map, "sharedRegionMap"));
  exports.Set("setParentDeathSignal", Napi::Function::New(env, &SetParentDeathSignal, "setParentDeathSignal"));
}

}  // namespace aiges
