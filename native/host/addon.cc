// aiges_host.node: loads AIGes C-ABI wrapper libraries and runs their calls off the JS thread.
//
// Exports:
//   openLibrary(path, { mode, async, threads, spinUs?, realTimeRlt?, finalReadWaitMs?,
//               readIntervalMs?, onMeter? }) → Promise<NativeLibrary>
//   configure({ NativeError })  the error class used for every rejection (set once by native/host.ts)
//   releaseOutput(view)         frees a large host output's block now (detaches it); false if not one
//   outputPoolStats()           the large-output pool: { liveBlocks, idleBlocks, idleBytes, reused,
//                               pooledMinBytes, maxIdleBytes } (output_blocks.h)
//   sharedRegionCreate(bytes), sharedRegionMap(fd, bytes), setParentDeathSignal(parentPid)
//                               memory shared with a plugin process (shared_region.h)
//   spinRead(fd, maxUs)         a socket polled for a short while (spin_read.h)
//   sendNow(fd, bytes)          a socket written without waiting (spin_read.h)
// The typed facade and the full contract are in native/host.ts.
#include <napi.h>

#include "aksk_digest.h"
#include "bridge.h"
#include "js_convert.h"
#include "output_blocks.h"
#include "shared_region.h"
#include "spin_read.h"

namespace aiges {
namespace {

// The JS object of one loaded library. Holds a share of the bridge; created only by the bridge.
class LibraryWrap : public Napi::ObjectWrap<LibraryWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeLibraryHandle",
                       {
                           InstanceMethod<&LibraryWrap::Init>("init"),
                           InstanceMethod<&LibraryWrap::Fini>("fini"),
                           InstanceMethod<&LibraryWrap::Exec>("exec"),
                           InstanceMethod<&LibraryWrap::CreateSession>("createSession"),
                           InstanceMethod<&LibraryWrap::Write>("write"),
                           InstanceMethod<&LibraryWrap::Destroy>("destroy"),
                           InstanceMethod<&LibraryWrap::Resume>("resume"),
                           InstanceMethod<&LibraryWrap::Stats>("stats"),
                           InstanceMethod<&LibraryWrap::Close>("close"),
                       });
  }

  explicit LibraryWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LibraryWrap>(info) {
    if (info.Length() != 1 || !info[0].IsExternal()) {
      throw Napi::TypeError::New(info.Env(), "NativeLibraryHandle is created by openLibrary()");
    }
    bridge_ = *info[0].As<Napi::External<std::shared_ptr<JsBridge>>>().Data();
  }

  ~LibraryWrap() override {
    if (bridge_) bridge_->OnObjectCollected();
  }

 private:
  Napi::Value Init(const Napi::CallbackInfo& info) { return bridge_->Init(info); }
  Napi::Value Fini(const Napi::CallbackInfo& info) { return bridge_->Fini(info); }
  Napi::Value Exec(const Napi::CallbackInfo& info) { return bridge_->Exec(info); }
  Napi::Value CreateSession(const Napi::CallbackInfo& info) { return bridge_->CreateSession(info); }
  Napi::Value Write(const Napi::CallbackInfo& info) { return bridge_->Write(info); }
  Napi::Value Destroy(const Napi::CallbackInfo& info) { return bridge_->Destroy(info); }
  void Resume(const Napi::CallbackInfo& info) { bridge_->Resume(info); }
  Napi::Value Stats(const Napi::CallbackInfo& info) { return bridge_->GetStats(info); }
  void Close(const Napi::CallbackInfo& info) { bridge_->Close(info); }

  std::shared_ptr<JsBridge> bridge_;
};

Napi::Value Configure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "configure() takes { NativeError }");
  Napi::Value cls = info[0].As<Napi::Object>().Get("NativeError");
  if (!cls.IsFunction()) throw Napi::TypeError::New(env, "configure(): NativeError must be a class");
  env.GetInstanceData<AddonData>()->errorClass = Napi::Persistent(cls.As<Napi::Function>());
  return env.Undefined();
}

Napi::Value OutputPoolStats(const Napi::CallbackInfo& info) {
  const aiges::OutputPoolStats s = aiges::GetOutputPoolStats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("liveBlocks", static_cast<double>(s.liveBlocks));
  o.Set("idleBlocks", static_cast<double>(s.idleBlocks));
  o.Set("idleBytes", static_cast<double>(s.idleBytes));
  o.Set("reused", static_cast<double>(s.reused));
  o.Set("pooledMinBytes", static_cast<double>(aiges::kPooledMinBytes));
  o.Set("maxIdleBytes", static_cast<double>(aiges::kMaxIdleBytes));
  return o;
}

// releaseOutput(view): frees now the pooled block a host output Buffer owns, by detaching the
// Buffer's ArrayBuffer (every view of it becomes empty). True when it did; false for anything else
// (a Buffer the host did not make, a small output, one already released), which is left alone.
Napi::Value ReleaseOutput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) return Napi::Boolean::New(env, false);
  Napi::TypedArray view = info[0].As<Napi::TypedArray>();
  Napi::ArrayBuffer ab = view.ArrayBuffer();
  if (ab.IsDetached() || view.ByteOffset() != 0 || !IsAdopted(ab.Data())) return Napi::Boolean::New(env, false);
  ab.Detach();
  return Napi::Boolean::New(env, true);
}

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();  // owned by the env (freed at env teardown)
  data->libraryClass = Napi::Persistent(LibraryWrap::Define(env));
  env.SetInstanceData(data);
  exports.Set("openLibrary", Napi::Function::New(env, &JsBridge::Open, "openLibrary"));
  exports.Set("configure", Napi::Function::New(env, &Configure, "configure"));
  exports.Set("outputPoolStats", Napi::Function::New(env, &OutputPoolStats, "outputPoolStats"));
  exports.Set("releaseOutput", Napi::Function::New(env, &ReleaseOutput, "releaseOutput"));
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  ExportSharedRegion(env, exports);
  ExportSocketCalls(env, exports);
  ExportAkskDigest(env, exports);
  return exports;
}

}  // namespace
}  // namespace aiges

static Napi::Object RegisterAigesHost(Napi::Env env, Napi::Object exports) {
  return aiges::InitModule(env, exports);
}
NODE_API_MODULE(aiges_host, RegisterAigesHost)
