// Bench-only addon for `npm run bench` (test/bench/native-levels.ts): the floors the loader's native
// path is measured against. Not part of the loader; built by native/CMakeLists.txt as aiges_bench.node.
//
//   directExec(libPath, iterations, payloadBytes) -> Float64Array of `iterations` per-call times in ns.
//     dlopens an AIGes once-mode wrapper, calls wrapperInit once, then wrapperExec + wrapperExecFree
//     in a tight loop on the calling thread, then wrapperFini and dlclose. Blocks the JS thread for
//     the whole loop: it is a benchmark, nothing else runs meanwhile.
//   memcpyBandwidth(bytes, iterations) -> { bestGBps, medianGBps } (GB = 1e9 bytes) of memcpy
//     between two malloc'd buffers whose pages were touched first.
//   threadRoundTrip(iterations) -> Float64Array of per-round-trip ns: the calling thread wakes a
//     waiting thread (mutex + condition variable) and waits until that thread wakes it back. The
//     floor, on this machine, of any hand-off to a sleeping worker thread and back.
#include <aiges/wrapper.h>
#include <dlfcn.h>
#include <napi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double nsBetween(Clock::time_point a, Clock::time_point b) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

// Keeps the compiler from dropping a copy whose result nothing reads.
void clobber(void* p) { asm volatile("" : : "r"(p) : "memory"); }

uint32_t positiveArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() < 1) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a positive integer");
  }
  return v.As<Napi::Number>().Uint32Value();
}

// The library, closed (after wrapperFini when init succeeded) on every path out of directExec.
struct Library {
  void* handle = nullptr;
  wrapperFiniPtr fini = nullptr;
  bool initialised = false;
  ~Library() {
    if (initialised && fini != nullptr) fini();
    if (handle != nullptr) dlclose(handle);
  }
  template <typename Fn>
  Fn symbol(Napi::Env env, const char* name, bool required) {
    void* s = dlsym(handle, name);
    if (s == nullptr && required) throw Napi::Error::New(env, std::string("wrapper does not export ") + name);
    return reinterpret_cast<Fn>(s);
  }
};

Napi::Value DirectExec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "libPath must be a string");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const uint32_t iterations = positiveArg(info, 1, "iterations");
  const uint32_t payloadBytes = positiveArg(info, 2, "payloadBytes");

  Library lib;
  lib.handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib.handle == nullptr) throw Napi::Error::New(env, std::string("dlopen failed: ") + dlerror());
  auto init = lib.symbol<wrapperInitPtr>(env, "wrapperInit", true);
  auto exec = lib.symbol<wrapperExecPtr>(env, "wrapperExec", true);
  auto execFree = lib.symbol<wrapperExecFreePtr>(env, "wrapperExecFree", true);
  lib.fini = lib.symbol<wrapperFiniPtr>(env, "wrapperFini", false);
  if (const int ret = init(nullptr); ret != 0) throw Napi::Error::New(env, "wrapperInit returned " + std::to_string(ret));
  lib.initialised = true;

  // What the host passes for the same call: params {sid}, one node without desc.
  const char* tag = "bench";
  char sidKey[] = "sid";
  char sidValue[] = "bench";
  ParamList params{sidKey, sidValue, static_cast<unsigned int>(std::strlen(sidValue)), nullptr};
  std::vector<char> payload(payloadBytes);
  for (uint32_t i = 0; i < payloadBytes; ++i) payload[i] = static_cast<char>('a' + i % 26);
  char key[] = "data";
  DataList input{key, payload.data(), payloadBytes, DataPer, DataOnce, nullptr, nullptr};

  auto once = [&](bool check) {
    pDataList out = nullptr;
    if (const int ret = exec(tag, &params, &input, &out, nullptr, 0); ret != 0) {
      throw Napi::Error::New(env, "wrapperExec returned " + std::to_string(ret));
    }
    if (check && (out == nullptr || out->len != payloadBytes || std::memcmp(out->data, payload.data(), payloadBytes) != 0)) {
      execFree(tag, &out);
      throw Napi::Error::New(env, "wrapperExec did not echo the payload");
    }
    execFree(tag, &out);
  };

  once(true);
  const uint32_t warmup = std::max<uint32_t>(1, std::min<uint32_t>(1000, iterations / 10));
  for (uint32_t i = 0; i < warmup; ++i) once(false);

  Napi::Float64Array samples = Napi::Float64Array::New(env, iterations);
  double* ns = samples.Data();
  Clock::time_point last = Clock::now();
  for (uint32_t i = 0; i < iterations; ++i) {
    once(false);
    const Clock::time_point now = Clock::now();
    ns[i] = nsBetween(last, now);
    last = now;
  }
  return samples;
}

Napi::Value MemcpyBandwidth(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t bytes = positiveArg(info, 0, "bytes");
  const uint32_t iterations = positiveArg(info, 1, "iterations");
  char* src = static_cast<char*>(std::malloc(bytes));
  char* dst = static_cast<char*>(std::malloc(bytes));
  if (src == nullptr || dst == nullptr) {
    std::free(src);
    std::free(dst);
    throw Napi::Error::New(env, "malloc failed");
  }
  std::memset(src, 0x5a, bytes);  // touch every page of both buffers before timing
  std::memset(dst, 0, bytes);
  std::memcpy(dst, src, bytes);
  clobber(dst);

  std::vector<double> gbps(iterations);
  for (uint32_t i = 0; i < iterations; ++i) {
    const Clock::time_point t0 = Clock::now();
    std::memcpy(dst, src, bytes);
    clobber(dst);
    const Clock::time_point t1 = Clock::now();
    gbps[i] = bytes / nsBetween(t0, t1);  // bytes per ns = GB/s
  }
  std::free(src);
  std::free(dst);
  std::sort(gbps.begin(), gbps.end());
  Napi::Object result = Napi::Object::New(env);
  result.Set("bestGBps", gbps.back());
  result.Set("medianGBps", gbps[gbps.size() / 2]);
  return result;
}

Napi::Value ThreadRoundTrip(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t iterations = positiveArg(info, 0, "iterations");
  std::mutex mu;
  std::condition_variable cv;
  bool request = false;
  bool stop = false;
  std::thread peer([&] {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return request || stop; });
      if (stop) return;
      request = false;
      cv.notify_all();
    }
  });
  auto roundTrip = [&] {
    std::unique_lock<std::mutex> lock(mu);
    request = true;
    cv.notify_all();
    cv.wait(lock, [&] { return !request; });
  };
  const uint32_t warmup = std::max<uint32_t>(1, std::min<uint32_t>(1000, iterations / 10));
  for (uint32_t i = 0; i < warmup; ++i) roundTrip();
  std::vector<double> ns(iterations);
  for (uint32_t i = 0; i < iterations; ++i) {
    const Clock::time_point t0 = Clock::now();
    roundTrip();
    ns[i] = nsBetween(t0, Clock::now());
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
  }
  cv.notify_all();
  peer.join();
  Napi::Float64Array samples = Napi::Float64Array::New(env, iterations);
  std::copy(ns.begin(), ns.end(), samples.Data());
  return samples;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("threadRoundTrip", Napi::Function::New(env, ThreadRoundTrip, "threadRoundTrip"));
  exports.Set("directExec", Napi::Function::New(env, DirectExec, "directExec"));
  exports.Set("memcpyBandwidth", Napi::Function::New(env, MemcpyBandwidth, "memcpyBandwidth"));
  return exports;
}

}  // namespace

NODE_API_MODULE(aiges_bench, Init)
