// JsBridge: handling of Core's messages on the JS thread (see bridge.h).
#include "bridge.h"

namespace aiges {

void JsBridge::Handle(Message& msg) {
  switch (msg.kind) {
    case Message::Kind::Settle:
      return Settle(msg);
    case Message::Kind::SessionResult:
      return DeliverSessionResult(msg);
    case Message::Kind::Unpin: {
      auto it = ops_.find(msg.id);
      if (it == ops_.end()) return;
      it->second.pins.clear();
      it->second.awaitingCallback = true;
      return MaybeStartFini();
    }
    case Message::Kind::ReleaseLoop: {
      auto it = ops_.find(msg.id);
      if (it == ops_.end() || !it->second.loopHeld) return;
      it->second.loopHeld = false;
      return ReleaseLoop();
    }
    case Message::Kind::Meter:
      if (onMeter_.IsEmpty()) return;
      onMeter_.Call({Napi::String::New(env_, msg.tag), Napi::String::New(env_, msg.key),
                     Napi::Number::New(env_, msg.count)});
      return;
  }
}

void JsBridge::Settle(Message& msg) {
  auto it = ops_.find(msg.id);
  if (it == ops_.end()) return;  // already settled (e.g. abandoned by close)
  const OpKind kind = it->second.kind;
  const uint64_t sid = it->second.sessionId;
  Napi::Promise::Deferred deferred = it->second.deferred;

  if (kind == OpKind::Open) {
    if (msg.error) {
      FinishOp(msg.id);
      Teardown(/*unload=*/false);  // nothing was loaded
      deferred.Reject(ToJsError(env_, *msg.error));
    } else {
      OnOpened(msg.id, deferred);
    }
    return;
  }

  // Session bookkeeping first, so that holds are released exactly once.
  if (kind == OpKind::Create && !msg.error) {
    HoldSelf();  // an open session keeps the library object and the process alive until destroy
    HoldLoop();
  } else if (kind == OpKind::Create || kind == OpKind::Destroy) {
    auto s = sessions_.find(sid);
    if (s != sessions_.end()) {
      sessions_.erase(s);
      if (kind == OpKind::Destroy) {
        ReleaseLoop();
        ReleaseSelf();
      }
    }
  }
  if (kind == OpKind::Init) state_ = msg.error ? State::InitFailed : State::Ready;
  if (kind == OpKind::Fini) state_ = State::Finalised;
  FinishOp(msg.id);

  if (msg.error) {
    deferred.Reject(ToJsError(env_, *msg.error));
  } else if (kind == OpKind::Exec) {
    deferred.Resolve(ToJsItems(env_, msg.items));
  } else if (kind == OpKind::Create) {
    deferred.Resolve(Napi::Number::New(env_, static_cast<double>(sid)));
  } else {
    deferred.Resolve(env_.Undefined());
  }
}

void JsBridge::OnOpened(uint64_t op, Napi::Promise::Deferred deferred) {
  AddonData* data = env_.GetInstanceData<AddonData>();
  std::shared_ptr<JsBridge> self = shared_from_this();
  Napi::Object obj = data->libraryClass.New({Napi::External<std::shared_ptr<JsBridge>>::New(env_, &self)});

  const WrapperLib& lib = core_->lib();
  Napi::Array symbols = Napi::Array::New(env_, lib.exported.size());
  for (size_t i = 0; i < lib.exported.size(); ++i) symbols.Set(static_cast<uint32_t>(i), lib.exported[i]);
  Napi::Value version = lib.version ? Napi::String::New(env_, *lib.version).As<Napi::Value>() : env_.Undefined();
  Napi::Value abi = lib.abiVersion ? Napi::Number::New(env_, *lib.abiVersion).As<Napi::Value>() : env_.Undefined();
  obj.DefineProperties({
      Napi::PropertyDescriptor::Value("path", Napi::String::New(env_, lib.path), napi_enumerable),
      Napi::PropertyDescriptor::Value("version", version, napi_enumerable),
      Napi::PropertyDescriptor::Value("symbols", symbols, napi_enumerable),
      Napi::PropertyDescriptor::Value("abiVersion", abi, napi_enumerable),
  });

  // Weak, but strong while holds are outstanding (the open op itself holds one until FinishOp).
  self_ = Napi::Weak(obj);
  if (selfHolds_ > 0) self_.Ref();
  state_ = State::Loaded;
  FinishOp(op);
  deferred.Resolve(obj);
}

void JsBridge::DeliverSessionResult(Message& msg) {
  auto it = sessions_.find(msg.id);
  if (it == sessions_.end()) return;  // destroyed meanwhile: results are dropped
  // The session may be destroyed by the calls below: hold its native half (and flow) meanwhile.
  std::shared_ptr<Session> native = it->second.native;
  // NOTE: the facade wraps onResult so that it never throws into this frame.
  Napi::Function onResult = it->second.onResult.Value();
  bool pause = false;
  if (msg.error) {
    onResult.Call({env_.Null(), ToJsError(env_, *msg.error)});
  } else {
    if (!msg.items.empty()) {
      Napi::Value r = onResult.Call({ToJsItems(env_, msg.items), env_.Null()});
      pause = r.IsBoolean() && !r.As<Napi::Boolean>().Value();
    }
    if (msg.end) {
      // The session may have been destroyed by the call above (sessions_ is looked up again).
      auto again = sessions_.find(msg.id);
      if (again != sessions_.end()) again->second.onResult.Value().Call({env_.Null(), env_.Null()});
    }
  }
  native->flow().Delivered(pause);
}

}  // namespace aiges
