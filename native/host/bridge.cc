#include "bridge.h"

#include <chrono>
#include <climits>

#include "callbacks.h"

namespace aiges {
namespace {

int ReadInt(Napi::Env env, Napi::Value v, const char* what, int min, int max) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max)) {
    throw Napi::RangeError::New(env, std::string(what) + " must be in [" + std::to_string(min) + ", " +
                                         std::to_string(max) + "]");
  }
  return static_cast<int>(d);
}

std::string ReadString(Napi::Env env, Napi::Value v, const char* what) {
  if (!v.IsString()) throw Napi::TypeError::New(env, std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

// Spinning longer than this would stall the event loop noticeably for nothing: by then a thread
// wake-up (tens of µs) is cheap in comparison.
constexpr int kMaxSpinUs = 1000;
// Bounds that keep a misread setting from turning a session into a hang: an hour, a second.
constexpr int kMaxFinalReadWaitMs = 3'600'000;
constexpr int kMaxReadIntervalMs = 1000;

}  // namespace

void DeliverToJs(Napi::Env env, Napi::Function, JsBridge* bridge, Message* raw) {
  std::unique_ptr<Message> msg(raw);  // ours again, whatever happens below
  if (env == nullptr || bridge == nullptr) return;  // queue drained at teardown: drop
  Napi::HandleScope scope(env);
  bridge->Handle(*msg);
}

Napi::Value JsBridge::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = ReadString(env, info[0], "path");
  if (!info[1].IsObject()) throw Napi::TypeError::New(env, "options must be an object");
  Napi::Object o = info[1].As<Napi::Object>();
  HostOptions opts;
  const std::string mode = ReadString(env, o.Get("mode"), "options.mode");
  if (mode != "once" && mode != "session") {
    throw Napi::TypeError::New(env, "options.mode must be 'once' or 'session'");
  }
  opts.mode = mode == "once" ? Mode::Once : Mode::Session;
  if (!o.Get("async").IsBoolean()) throw Napi::TypeError::New(env, "options.async must be a boolean");
  opts.async = o.Get("async").As<Napi::Boolean>().Value();
  opts.threads = static_cast<unsigned>(ReadInt(env, o.Get("threads"), "options.threads", 1, 1024));
  Napi::Value callerThread = o.Get("callerThread");
  if (!callerThread.IsUndefined()) {
    if (!callerThread.IsBoolean()) throw Napi::TypeError::New(env, "options.callerThread must be a boolean");
    opts.callerThread = callerThread.As<Napi::Boolean>().Value();
    if (opts.callerThread && (opts.mode != Mode::Once || opts.async || opts.threads != 1)) {
      throw Napi::TypeError::New(env, "options.callerThread needs mode 'once', async false and one thread");
    }
  }
  Napi::Value spinUs = o.Get("spinUs");
  if (!spinUs.IsUndefined()) {
    opts.spin = std::chrono::microseconds(ReadInt(env, spinUs, "options.spinUs", 0, kMaxSpinUs));
  }
  Napi::Value realTimeRlt = o.Get("realTimeRlt");
  if (!realTimeRlt.IsUndefined()) {
    if (!realTimeRlt.IsBoolean()) throw Napi::TypeError::New(env, "options.realTimeRlt must be a boolean");
    opts.realTimeRlt = realTimeRlt.As<Napi::Boolean>().Value();
  }
  Napi::Value finalReadWaitMs = o.Get("finalReadWaitMs");
  if (!finalReadWaitMs.IsUndefined()) {
    opts.finalReadWait =
        std::chrono::milliseconds(ReadInt(env, finalReadWaitMs, "options.finalReadWaitMs", 1, kMaxFinalReadWaitMs));
  }
  Napi::Value readIntervalMs = o.Get("readIntervalMs");
  if (!readIntervalMs.IsUndefined()) {
    opts.readInterval =
        std::chrono::milliseconds(ReadInt(env, readIntervalMs, "options.readIntervalMs", 1, kMaxReadIntervalMs));
  }
  Napi::Value onMeter = o.Get("onMeter");
  if (!onMeter.IsUndefined() && !onMeter.IsFunction()) {
    throw Napi::TypeError::New(env, "options.onMeter must be a function");
  }

  auto bridge = std::make_shared<JsBridge>(env);
  bridge->path_ = path;
  if (onMeter.IsFunction()) bridge->onMeter_ = Napi::Persistent(onMeter.As<Napi::Function>());
  // The thread-safe function owns one share of the bridge (freed by its finalizer), so messages still
  // queued when the library object is collected find it alive.
  auto* share = new std::shared_ptr<JsBridge>(bridge);
  bridge->tsfn_ = Tsfn::New(
      env, "aiges-native-host", 0, 1, bridge.get(),
      [](Napi::Env, std::shared_ptr<JsBridge>* owned, JsBridge* ctx) {
        ctx->OnTsfnFinalized();
        delete owned;
      },
      share);
  bridge->tsfnAlive_ = true;
  bridge->tsfn_.Unref(env);  // ref'd only while something is pending (HoldLoop)
  bridge->core_ = std::make_shared<Core>(opts, bridge->tsfn_);
  Napi::Promise::Deferred deferred(env);
  const uint64_t op = bridge->NewOp(OpKind::Open, {}, deferred);
  bridge->core_->Load(op, path);
  return deferred.Promise();
}

JsBridge::~JsBridge() {
  if (meterSlot_ >= 0) ReleaseMeterSlot(meterSlot_);
}

uint64_t JsBridge::NewOp(OpKind kind, std::vector<Napi::ObjectReference> pins, Napi::Promise::Deferred& out) {
  const uint64_t id = nextId_++;
  ops_.emplace(id, PendingOp{kind, out, std::move(pins)});
  HoldSelf();
  HoldLoop();
  return id;
}

Napi::Value JsBridge::Rejected(const std::string& fn, const std::string& message) {
  Napi::Promise::Deferred d(env_);
  d.Reject(ToJsError(env_, ErrorInfo{fn, 0, "state", message}));
  return d.Promise();
}

Napi::Value JsBridge::Init(const Napi::CallbackInfo& info) {
  if (state_ != State::Loaded) return Rejected("wrapperInit", "init() may be called once, on a loaded library");
  auto config = std::make_shared<ParamArena>(ReadStringMap(env_, info[0], "config"));
  void* meterFn = nullptr;
  if (!onMeter_.IsEmpty() && core_->sym().setCtrl != nullptr) meterFn = AcquireMeterSlot(core_, &meterSlot_);
  Napi::Promise::Deferred d(env_);
  const uint64_t op = NewOp(OpKind::Init, {}, d);
  state_ = State::Initialising;
  core_->Init(op, std::move(config), meterFn);
  return d.Promise();
}

Napi::Value JsBridge::Fini(const Napi::CallbackInfo&) {
  if (!sessions_.empty()) {
    return Rejected("wrapperFini", "fini() refused: " + std::to_string(sessions_.size()) + " sessions open");
  }
  Napi::Promise::Deferred d(env_);
  if (state_ == State::Loaded || state_ == State::InitFailed || state_ == State::Finalised) {
    state_ = State::Finalised;  // nothing (more) to undo: wrapperFini is not called
    d.Resolve(env_.Undefined());
    return d.Promise();
  }
  if (state_ != State::Ready) return Rejected("wrapperFini", "fini() needs an initialised library");
  // New calls are refused from now on; wrapperFini runs once the calls already running have returned.
  state_ = State::Finalising;
  finiOp_ = NewOp(OpKind::Fini, {}, d);
  MaybeStartFini();
  return d.Promise();
}

void JsBridge::MaybeStartFini() {
  if (finiOp_ == 0 || BusyOps() > 0) return;
  const uint64_t op = finiOp_;
  finiOp_ = 0;
  core_->Fini(op);
}

Napi::Value JsBridge::Exec(const Napi::CallbackInfo& info) {
  if (state_ != State::Ready) return Rejected("wrapperExec", "exec() needs an initialised library");
  if (core_->options().mode != Mode::Once) return Rejected("wrapperExec", "exec() needs a library opened in once mode");
  std::string tag = ReadString(env_, info[0], "usrTag");
  StringPairs params = ReadStringMap(env_, info[1], "params");
  std::vector<Napi::ObjectReference> pins;
  std::vector<InputItem> items = ReadItems(env_, info[2], pins);
  const int timeoutMs = ReadInt(env_, info[3], "timeoutMs", 0, INT_MAX);
  auto req = std::make_shared<Request>(std::move(tag), std::move(params), std::move(items));
  Napi::Promise::Deferred d(env_);
  const uint64_t op = NewOp(OpKind::Exec, std::move(pins), d);
  // Wait on this thread for the result only when the call starts at once (nothing else of this
  // library in flight) and the last one was short: a bounded pause of the event loop that saves
  // the wake-up of this thread by the thread-safe function, never a wait behind a long call.
  const auto spin = core_->options().spin;
  std::shared_ptr<InlineResult> inlineResult;
  if (core_->options().callerThread) {
    // Runs within core_->Exec below; its result is taken at once.
    inlineResult = std::make_shared<InlineResult>();
  } else if (!core_->options().async && spin.count() > 0 && ops_.size() == 1 &&
      core_->lastSyncExecNs() <= std::chrono::duration_cast<std::chrono::nanoseconds>(spin).count()) {
    inlineResult = std::make_shared<InlineResult>();
  }
  const std::string err = core_->Exec(op, req, timeoutMs, inlineResult);
  if (!err.empty()) {
    FinishOp(op);
    return Rejected("wrapperExecAsync", err);
  }
  if (inlineResult) {
    const auto wait = core_->options().callerThread ? std::chrono::microseconds(0) : spin;
    if (std::unique_ptr<Message> msg = inlineResult->Await(wait)) {
      ++inlineResults_;
      Handle(*msg);
    }
  }
  return d.Promise();
}

Napi::Value JsBridge::CreateSession(const Napi::CallbackInfo& info) {
  if (state_ != State::Ready) return Rejected("wrapperCreate", "createSession() needs an initialised library");
  if (core_->options().mode != Mode::Session) {
    return Rejected("wrapperCreate", "createSession() needs a library opened in session mode");
  }
  std::string tag = ReadString(env_, info[0], "usrTag");
  StringPairs params = ReadStringMap(env_, info[1], "params");
  if (!info[2].IsFunction()) throw Napi::TypeError::New(env_, "onResult must be a function");
  const uint64_t sid = nextId_++;
  auto entry = std::make_shared<TagEntry>(TagEntry::Kind::Session, tag, core_, sid);
  entry->flow = std::make_shared<ResultFlow>(core_->options().maxQueuedResults);
  if (core_->options().async && !RegisterTag(entry)) {
    return Rejected("wrapperCreate", "usrTag '" + tag + "' is already used by a live session");
  }
  auto session = std::make_shared<Session>(core_, entry);
  sessions_.emplace(sid, SessionJs{session, Napi::Persistent(info[2].As<Napi::Function>())});
  Napi::Promise::Deferred d(env_);
  const uint64_t op = NewOp(OpKind::Create, {}, d);
  ops_.at(op).sessionId = sid;
  session->Create(op, std::make_shared<Request>(std::move(tag), std::move(params), std::vector<InputItem>{}));
  return d.Promise();
}

Napi::Value JsBridge::Write(const Napi::CallbackInfo& info) {
  const uint64_t sid = static_cast<uint64_t>(ReadInt(env_, info[0], "session", 0, INT_MAX));
  auto it = sessions_.find(sid);
  if (it == sessions_.end() || it->second.destroying) return Rejected("wrapperWrite", "session is destroyed");
  std::vector<Napi::ObjectReference> pins;
  std::vector<InputItem> items = ReadItems(env_, info[1], pins);
  auto req = std::make_shared<Request>(std::string(), StringPairs{}, std::move(items));
  Napi::Promise::Deferred d(env_);
  const uint64_t op = NewOp(OpKind::Write, std::move(pins), d);
  it->second.native->Write(op, std::move(req));
  return d.Promise();
}

Napi::Value JsBridge::Destroy(const Napi::CallbackInfo& info) {
  const uint64_t sid = static_cast<uint64_t>(ReadInt(env_, info[0], "session", 0, INT_MAX));
  auto it = sessions_.find(sid);
  if (it == sessions_.end() || it->second.destroying) {
    return Rejected("wrapperDestroy", "session is already destroyed");
  }
  it->second.destroying = true;
  // Nothing waits for the client any more: writes and reads go on, callbacks stop blocking.
  it->second.native->flow().Close();
  Napi::Promise::Deferred d(env_);
  const uint64_t op = NewOp(OpKind::Destroy, {}, d);
  ops_.at(op).sessionId = sid;
  it->second.native->Destroy(op);
  return d.Promise();
}

void JsBridge::Resume(const Napi::CallbackInfo& info) {
  const uint64_t sid = static_cast<uint64_t>(ReadInt(env_, info[0], "session", 0, INT_MAX));
  auto it = sessions_.find(sid);
  if (it != sessions_.end()) it->second.native->flow().Resume();
}

Napi::Value JsBridge::GetStats(const Napi::CallbackInfo&) {
  const Stats s = core_->GetStats();
  Napi::Object o = Napi::Object::New(env_);
  o.Set("running", s.running);
  o.Set("maxRunning", s.maxRunning);
  o.Set("liveSessions", s.liveSessions);
  o.Set("pendingTags", s.pendingTags);
  o.Set("inlineResults", static_cast<double>(inlineResults_));
  return o;
}

void JsBridge::Close(const Napi::CallbackInfo&) {
  if (state_ == State::Closed) return;
  if (BusyOps() > 0 || !sessions_.empty()) {
    throw Napi::Error(env_, ToJsError(env_, ErrorInfo{"close", 0, "state",
                                                      "close() refused: " + std::to_string(BusyOps()) +
                                                          " calls running, " + std::to_string(sessions_.size()) +
                                                          " sessions open"}));
  }
  if (state_ == State::Ready || state_ == State::Finalising) {
    throw Napi::Error(
        env_, ToJsError(env_, ErrorInfo{"close", 0, "state", "close() refused: call fini() first and await it"}));
  }
  // Async execs that never called back: free their tags and reject their (long abandoned) promises.
  for (uint64_t op : core_->AbandonPendingTags()) {
    auto it = ops_.find(op);
    if (it == ops_.end()) continue;
    Napi::Promise::Deferred d = it->second.deferred;
    FinishOp(op);
    d.Reject(ToJsError(env_, ErrorInfo{"wrapperExecAsync", 0, "abandoned",
                                       "the library was closed before wrapperExecAsync called back"}));
  }
  Teardown(true);
}

void JsBridge::Teardown(bool unload) {
  state_ = State::Closed;
  core_->Shutdown(unload, /*join=*/true);
  if (meterSlot_ >= 0) ReleaseMeterSlot(meterSlot_);
  meterSlot_ = -1;
  tsfnAlive_ = false;  // no Ref/Unref from here on
  core_->CloseTsfn();
}

void JsBridge::CloseFlows() {
  for (auto& kv : sessions_) kv.second.native->flow().Close();
}

void JsBridge::OnObjectCollected() {
  if (state_ == State::Closed) return;
  CloseFlows();
  // Collected while work is outstanding only happens at env teardown: do not wait for wrapper calls.
  const bool idle = BusyOps() == 0 && sessions_.empty();
  state_ = State::Closed;
  core_->Shutdown(/*unload=*/false, /*join=*/idle);
  if (meterSlot_ >= 0) ReleaseMeterSlot(meterSlot_);
  meterSlot_ = -1;
  tsfnAlive_ = false;
  core_->CloseTsfn();
}

void JsBridge::OnTsfnFinalized() {
  core_->MarkTsfnGone();
  const bool wasAlive = tsfnAlive_;
  tsfnAlive_ = false;
  if (wasAlive && state_ != State::Closed) {
    // Env teardown (worker thread exit / process exit) with the library still open.
    CloseFlows();
    state_ = State::Closed;
    core_->Shutdown(/*unload=*/false, /*join=*/false);
  }
}

size_t JsBridge::BusyOps() const {
  size_t n = 0;
  for (const auto& kv : ops_) {
    if (!kv.second.awaitingCallback && kv.second.kind != OpKind::Fini) ++n;
  }
  return n;
}

void JsBridge::HoldSelf() {
  if (selfHolds_++ == 0 && !self_.IsEmpty()) self_.Ref();
}
void JsBridge::ReleaseSelf() {
  if (--selfHolds_ == 0 && !self_.IsEmpty()) self_.Unref();
}
void JsBridge::HoldLoop() {
  if (loopHolds_++ == 0 && tsfnAlive_) tsfn_.Ref(env_);
}
void JsBridge::ReleaseLoop() {
  if (--loopHolds_ == 0 && tsfnAlive_) tsfn_.Unref(env_);
}

void JsBridge::FinishOp(uint64_t id) {
  auto it = ops_.find(id);
  if (it == ops_.end()) return;
  const bool loopHeld = it->second.loopHeld;
  ops_.erase(it);  // unpins the inputs
  if (loopHeld) ReleaseLoop();
  ReleaseSelf();
  MaybeStartFini();
}

}  // namespace aiges
