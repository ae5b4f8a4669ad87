// Test-only addon: reads native-echo's (and other test wrappers') counters from the copy the host
// already loaded, and reports the address of a Buffer's bytes.
#include <dlfcn.h>
#include <napi.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace {

// RTLD_NOLOAD: only a library that is already loaded (by the host) — the same instance, same counters.
void* OpenLoaded(Napi::Env env, const Napi::Value& path) {
  const std::string p = path.As<Napi::String>().Utf8Value();
  void* h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (h == nullptr) throw Napi::Error::New(env, "not loaded: " + p);
  return h;
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  void* h = OpenLoaded(info.Env(), info[0]);
  auto fn = reinterpret_cast<void (*)(int*, int*, int*)>(dlsym(h, "nativeEchoStats"));
  int live = -1, overlap = -1, running = -1;
  if (fn != nullptr) fn(&live, &overlap, &running);
  dlclose(h);
  if (fn == nullptr) throw Napi::Error::New(info.Env(), "nativeEchoStats not exported");
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("liveHandles", live);
  o.Set("maxOverlap", overlap);
  o.Set("running", running);
  return o;
}

Napi::Value Reset(const Napi::CallbackInfo& info) {
  void* h = OpenLoaded(info.Env(), info[0]);
  auto fn = reinterpret_cast<void (*)()>(dlsym(h, "nativeEchoResetStats"));
  if (fn != nullptr) fn();
  dlclose(h);
  return info.Env().Undefined();
}

Napi::Value Reads(const Napi::CallbackInfo& info) {
  void* h = OpenLoaded(info.Env(), info[0]);
  auto fn = reinterpret_cast<int (*)()>(dlsym(h, "nativeEchoReads"));
  const int reads = fn != nullptr ? fn() : -1;
  dlclose(h);
  return Napi::Number::New(info.Env(), reads);
}

// call(path, symbol): runs `int symbol(void)` of an already loaded library (a test wrapper's counter).
Napi::Value Call(const Napi::CallbackInfo& info) {
  void* h = OpenLoaded(info.Env(), info[0]);
  const std::string name = info[1].As<Napi::String>().Utf8Value();
  auto fn = reinterpret_cast<int (*)()>(dlsym(h, name.c_str()));
  const int value = fn != nullptr ? fn() : 0;
  dlclose(h);
  if (fn == nullptr) throw Napi::Error::New(info.Env(), name + " not exported");
  return Napi::Number::New(info.Env(), value);
}

Napi::Value IsLoaded(const Napi::CallbackInfo& info) {
  const std::string p = info[0].As<Napi::String>().Utf8Value();
  void* h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (h != nullptr) dlclose(h);
  return Napi::Boolean::New(info.Env(), h != nullptr);
}

Napi::Value BufferAddress(const Napi::CallbackInfo& info) {
  Napi::Uint8Array a = info[0].As<Napi::Uint8Array>();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(a.Data())));
  return Napi::String::New(info.Env(), buf);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("stats", Napi::Function::New(env, Stats));
  exports.Set("reset", Napi::Function::New(env, Reset));
  exports.Set("isLoaded", Napi::Function::New(env, IsLoaded));
  exports.Set("reads", Napi::Function::New(env, Reads));
  exports.Set("bufferAddress", Napi::Function::New(env, BufferAddress));
  exports.Set("call", Napi::Function::New(env, Call));
  return exports;
}

}  // namespace

NODE_API_MODULE(echo_probe, Init)
