#include "shared_region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <iterator>
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

constexpr size_t kAlign = 64;

// Never destroyed (Buffer finalizers may free blocks during teardown); set at most once.
std::atomic<RegionArena*> g_outputArena{nullptr};

// sharedRegionOutputs(memory, at, bytes, minBytes): from now on, outputs of at least `minBytes`
// go to [at, at + bytes) of the mapped region `memory` (sharedRegionMap). Once per process; the
// region stays mapped for the life of the process.
Napi::Value SetOutputs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber()) {
    throw Napi::TypeError::New(env, "sharedRegionOutputs(memory, at, bytes, minBytes)");
  }
  Napi::ArrayBuffer memory = info[0].As<Napi::ArrayBuffer>();
  const double at = info[1].As<Napi::Number>().DoubleValue();
  const double bytes = info[2].As<Napi::Number>().DoubleValue();
  const double minBytes = info[3].As<Napi::Number>().DoubleValue();
  if (!(at >= 0 && bytes >= kAlign && at + bytes <= static_cast<double>(memory.ByteLength()) && minBytes >= 1)) {
    throw Napi::RangeError::New(env, "sharedRegionOutputs: the arena must lie in the region");
  }
  {
    std::lock_guard<std::mutex> lock(ranges().mu);
    if (ranges().byStart.count(reinterpret_cast<uintptr_t>(memory.Data())) == 0) {
      throw Napi::TypeError::New(env, "sharedRegionOutputs: memory is not a shared region");
    }
  }
  if (g_outputArena.load() != nullptr) throw Napi::Error::New(env, "sharedRegionOutputs: already set");
  // The region must outlive every output Buffer in it: keep it reachable for good.
  new Napi::Reference<Napi::ArrayBuffer>(Napi::Persistent(memory));
  g_outputArena.store(new RegionArena(static_cast<uint8_t*>(memory.Data()), static_cast<size_t>(at),
                                      static_cast<size_t>(bytes), static_cast<size_t>(minBytes)));
  return env.Undefined();
}

RegionArena& Arena(Napi::Env env) {
  RegionArena* arena = OutputArena();
  if (arena == nullptr) throw Napi::Error::New(env, "no output arena: call sharedRegionOutputs first");
  return *arena;
}

// sharedRegionAlloc(bytes) → offset from the region's start, or -1 when the arena is full.
Napi::Value RegionAlloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RegionArena& arena = Arena(env);
  const double bytes = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(bytes >= 0)) throw Napi::TypeError::New(env, "sharedRegionAlloc(bytes)");
  uint8_t* p = arena.Alloc(static_cast<size_t>(bytes));
  return Napi::Number::New(env, p == nullptr ? -1 : static_cast<double>(arena.OffsetOf(p)));
}

// sharedRegionFree(offset) → whether a block started there.
Napi::Value RegionFree(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RegionArena& arena = Arena(env);
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "sharedRegionFree(offset)");
  const int64_t offset = info[0].As<Napi::Number>().Int64Value();
  return Napi::Boolean::New(env, offset >= 0 && arena.Free(arena.At(static_cast<size_t>(offset))));
}

// sharedRegionOffset(view) → the offset of the arena block `view` starts at, or -1 (not one).
Napi::Value RegionOffset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RegionArena* arena = OutputArena();
  if (arena == nullptr || !info[0].IsTypedArray()) return Napi::Number::New(env, -1);
  Napi::TypedArray view = info[0].As<Napi::TypedArray>();
  if (view.ArrayBuffer().IsDetached()) return Napi::Number::New(env, -1);
  const uint8_t* p = static_cast<const uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
  return Napi::Number::New(env, static_cast<double>(arena->OffsetOf(p)));
}

}  // namespace

RegionArena::RegionArena(uint8_t* base, size_t at, size_t bytes, size_t minBytes)
    : base_(base), minBytes_(minBytes) {
  const size_t start = (at + kAlign - 1) / kAlign * kAlign;
  free_[start] = (at + bytes - start) / kAlign * kAlign;
}

uint8_t* RegionArena::Alloc(size_t len) {
  const size_t size = (std::max<size_t>(len, 1) + kAlign - 1) / kAlign * kAlign;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < size) continue;
    const size_t at = it->first;
    const size_t left = it->second - size;
    free_.erase(it);
    if (left != 0) free_[at + size] = left;
    used_[at] = size;
    return base_ + at;
  }
  return nullptr;
}

bool RegionArena::Free(const void* p) {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
  const uintptr_t base = reinterpret_cast<uintptr_t>(base_);
  if (addr < base) return false;
  const size_t at = addr - base;
  std::lock_guard<std::mutex> lock(mu_);
  auto used = used_.find(at);
  if (used == used_.end()) return false;
  const size_t block = used->second;
  used_.erase(used);
  size_t start = at;
  size_t size = block;
  auto next = free_.lower_bound(at);
  if (next != free_.end() && at + block == next->first) {
    size += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == at) {
      start = prev->first;
      size += prev->second;
      free_.erase(prev);
    }
  }
  free_[start] = size;
  return true;
}

int64_t RegionArena::OffsetOf(const void* p) {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
  const uintptr_t base = reinterpret_cast<uintptr_t>(base_);
  if (addr < base) return -1;
  std::lock_guard<std::mutex> lock(mu_);
  return used_.count(addr - base) != 0 ? static_cast<int64_t>(addr - base) : -1;
}

RegionArena* OutputArena() { return g_outputArena.load(std::memory_order_acquire); }

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
  exports.Set("sharedRegionOutputs", Napi::Function::New(env, &SetOutputs, "sharedRegionOutputs"));
  exports.Set("sharedRegionAlloc", Napi::Function::New(env, &RegionAlloc, "sharedRegionAlloc"));
  exports.Set("sharedRegionFree", Napi::Function::New(env, &RegionFree, "sharedRegionFree"));
  exports.Set("sharedRegionOffset", Napi::Function::New(env, &RegionOffset, "sharedRegionOffset"));
}

}  // namespace aiges
