// JsBridge: the JS-thread half of one loaded wrapper library.
//
// It holds everything that must only be touched on the JS thread: pending promises, the input
// Buffers pinned for in-flight calls, sessions' onResult callbacks, the library object's reference,
// and the keep-alive accounting. Work goes to Core (core.h); Core's Messages come back here through
// the thread-safe function, in order per posting thread.
//
// Keep-alive: while an op is in flight, a session is open or an async exec's deadline has not
// passed, the thread-safe function is ref'd (the process stays alive, as for any pending I/O);
// while any of these or a pending async tag exists, the library object is strongly referenced (it
// cannot be collected under a pending promise).
//
// Lifetime: shared by the LibraryWrap object and the thread-safe function (whose finalizer drops
// its share), so a message arriving after the object was collected still finds the bridge.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core.h"
#include "js_convert.h"
#include "session.h"

namespace aiges {

class JsBridge : public std::enable_shared_from_this<JsBridge> {
 public:
  // Creates the bridge, its thread-safe function and Core, and starts loading `path`; the promise
  // resolves to the library object. Throws TypeError on bad options.
  static Napi::Value Open(const Napi::CallbackInfo& info);

  explicit JsBridge(Napi::Env env) : env_(env) {}
  ~JsBridge();

  // The library object's methods (LibraryWrap forwards to these).
  Napi::Value Init(const Napi::CallbackInfo& info);
  Napi::Value Fini(const Napi::CallbackInfo& info);
  Napi::Value Exec(const Napi::CallbackInfo& info);
  Napi::Value CreateSession(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Destroy(const Napi::CallbackInfo& info);
  void Resume(const Napi::CallbackInfo& info);
  Napi::Value GetStats(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  // The library object was garbage-collected without close(): stop threads, keep the code mapped.
  void OnObjectCollected();
  // Messages from Core (DeliverToJs).
  void Handle(Message& msg);
  // The thread-safe function is finalized (close, or env teardown): no messages, no Ref/Unref.
  void OnTsfnFinalized();

 private:
  enum class OpKind { Open, Init, Fini, Exec, Create, Write, Destroy };
  enum class State { Loading, Loaded, Initialising, Ready, InitFailed, Finalising, Finalised, Closed };

  struct PendingOp {
    OpKind kind;
    Napi::Promise::Deferred deferred;
    std::vector<Napi::ObjectReference> pins;  // input Buffers the wrapper may still read
    uint64_t sessionId = 0;
    bool loopHeld = true;
    bool awaitingCallback = false;  // async exec: wrapperExecAsync returned, no final callback yet
  };
  struct SessionJs {
    std::shared_ptr<Session> native;
    Napi::FunctionReference onResult;
    bool destroying = false;
  };

  uint64_t NewOp(OpKind kind, std::vector<Napi::ObjectReference> pins, Napi::Promise::Deferred& out);
  Napi::Value Rejected(const std::string& fn, const std::string& message);
  void Settle(Message& msg);
  void FinishOp(uint64_t id);
  void OnOpened(uint64_t op, Napi::Promise::Deferred deferred);
  void DeliverSessionResult(Message& msg);
  // Ops whose wrapper call has not returned yet (excluding fini, and async execs awaiting a callback).
  size_t BusyOps() const;
  void MaybeStartFini();
  void Teardown(bool unload);
  // Ends every wait of the open sessions on their clients (teardown: nobody will take results).
  void CloseFlows();

  void HoldSelf();
  void ReleaseSelf();
  void HoldLoop();
  void ReleaseLoop();

  Napi::Env env_;
  std::shared_ptr<Core> core_;
  Tsfn tsfn_;
  bool tsfnAlive_ = false;
  State state_ = State::Loading;
  std::string path_;
  uint64_t nextId_ = 1;
  uint64_t finiOp_ = 0;  // a fini() waiting for running calls to return
  std::unordered_map<uint64_t, PendingOp> ops_;
  std::unordered_map<uint64_t, SessionJs> sessions_;
  Napi::ObjectReference self_;  // weak; strong while selfHolds_ > 0
  Napi::FunctionReference onMeter_;
  int meterSlot_ = -1;
  int selfHolds_ = 0;
  int loopHolds_ = 0;
  uint64_t inlineResults_ = 0;  // exec results taken while waiting in Exec (stats().inlineResults)
};

}  // namespace aiges
