#include "core.h"

#include <algorithm>
#include <chrono>
#include <climits>

#include "callbacks.h"

namespace aiges {

ErrorInfo PluginError(const Symbols& sym, const char* fn, int code) {
  return ErrorInfo{fn, code, "plugin", PluginErrorText(sym, fn, code)};
}

ErrorInfo InvalidOutput(const char* fn, const std::string& detail) {
  return ErrorInfo{fn, 0, "invalid-output", std::string(fn) + " returned invalid output: " + detail};
}

ErrorInfo ThrownError(const char* fn, const std::string& what) {
  return ErrorInfo{fn, 0, "plugin", std::string(fn) + " threw " + what};
}

bool InlineResult::Offer(std::unique_ptr<Message>& msg) {
  msg_ = std::move(msg);
  int expected = kWaiting;
  if (state_.compare_exchange_strong(expected, kOffered, std::memory_order_acq_rel)) return true;
  msg = std::move(msg_);  // the JS thread gave up and never reads msg_
  return false;
}

std::unique_ptr<Message> InlineResult::Await(std::chrono::microseconds wait) {
  const auto until = std::chrono::steady_clock::now() + wait;
  for (unsigned i = 0; state_.load(std::memory_order_acquire) == kWaiting; ++i) {
    SpinPause(i);
    if (i % 16 == 15 && std::chrono::steady_clock::now() >= until) break;
  }
  int expected = kWaiting;
  if (state_.compare_exchange_strong(expected, kGaveUp, std::memory_order_acq_rel)) return nullptr;
  return std::move(msg_);
}

Core::Core(HostOptions options, Tsfn tsfn)
    : options_(options), pool_(std::max(1u, options.threads), options.spin), tsfn_(tsfn) {}

Core::~Core() {
  pool_.Stop();
  // Only an explicit Shutdown(true) unloads the code; otherwise it stays mapped (see Shutdown).
  static_cast<void>(lib_.handle.release());
}

Core::CallScope::CallScope(Core& core) : core_(core) {
  const int now = core_.running_.fetch_add(1) + 1;
  int prev = core_.maxRunning_.load();
  while (now > prev && !core_.maxRunning_.compare_exchange_weak(prev, now)) {
  }
}
Core::CallScope::~CallScope() { core_.running_.fetch_sub(1); }

bool Core::Post(std::unique_ptr<Message> msg) {
  std::lock_guard<std::mutex> lock(tsfnMu_);
  if (!tsfnOpen_) return false;
  // The queue is unbounded, so this never blocks; ownership passes to DeliverToJs on success.
  if (tsfn_.NonBlockingCall(msg.get()) != napi_ok) return false;
  msg.release();
  return true;
}

void Core::Settle(uint64_t op, std::optional<ErrorInfo> error, std::vector<OwnedItem> items,
                  InlineResult* inlineResult) {
  auto msg = std::make_unique<Message>();
  msg->kind = Message::Kind::Settle;
  msg->id = op;
  msg->error = std::move(error);
  msg->items = std::move(items);
  if (inlineResult != nullptr && inlineResult->Offer(msg)) return;
  Post(std::move(msg));
}

void Core::Load(uint64_t op, std::string path) {
  pool_.Post([self = shared_from_this(), op, path = std::move(path)] {
    WrapperLib lib;
    std::string err = LoadWrapperLib(path, self->options_.mode, self->options_.async, lib);
    if (!err.empty()) return self->Settle(op, ErrorInfo{"dlopen", 0, "load", err});
    // NOTE: written once here, read by the JS thread and by later tasks only after this Settle
    // (the TSFN queue and the pool queue are both mutex-ordered).
    self->lib_ = std::move(lib);
    self->Settle(op, std::nullopt);
  });
}

void Core::Init(uint64_t op, std::shared_ptr<ParamArena> config, void* meterFn) {
  pool_.Post([self = shared_from_this(), op, config, meterFn] {
    const Symbols& s = self->sym();
    int ret = 0;
    const char* fn = "wrapperInit";
    const auto thrown = CallWrapper([&] {
      CallScope scope(*self);
      if (meterFn != nullptr && s.setCtrl != nullptr) {
        fn = "wrapperSetCtrl";
        s.setCtrl(CTMeterCustom, meterFn);
        fn = "wrapperInit";
      }
      ret = s.init(config->head());
    });
    // NOTE: an exception from wrapperSetCtrl fails init too (fn names it; the code is init's).
    if (thrown) return self->Settle(op, ThrownError(fn, *thrown));
    self->Settle(op, ret != 0 ? std::optional<ErrorInfo>(PluginError(s, "wrapperInit", ret)) : std::nullopt);
  });
}

void Core::Fini(uint64_t op) {
  pool_.Post([self = shared_from_this(), op] {
    const Symbols& s = self->sym();
    int ret = 0;
    std::optional<std::string> thrown;
    if (s.fini != nullptr) {
      thrown = CallWrapper([&] {
        CallScope scope(*self);
        ret = s.fini();
      });
    }
    // After wrapperFini no callback may come: free the tags of async execs that never got one.
    for (const auto& e : UnregisterExecTags(self.get())) {
      self->Settle(e->id, ErrorInfo{"wrapperExecAsync", 0, "abandoned",
                                    "wrapperExecAsync never called back for usrTag '" + e->tag +
                                        "' before wrapperFini"});
    }
    if (thrown) return self->Settle(op, ThrownError("wrapperFini", *thrown));
    self->Settle(op, ret != 0 ? std::optional<ErrorInfo>(PluginError(s, "wrapperFini", ret)) : std::nullopt);
  });
}

std::string Core::Exec(uint64_t op, std::shared_ptr<Request> req, int timeoutMs,
                       std::shared_ptr<InlineResult> inlineResult) {
  auto self = shared_from_this();
  if (!options_.async) {
    auto job = [self, op, req, inlineResult] {
      const auto start = std::chrono::steady_clock::now();
      const Symbols& s = self->sym();
      const char* tag = req->tag.c_str();
      InlineResult* slot = inlineResult.get();
      // The caller keeps the inputs until wrapperExec has returned: in-place ones need no copy.
      const std::string copyError = req->data.CopyInputs(/*inPlace=*/true);
      if (!copyError.empty()) return self->Settle(op, ErrorInfo{"wrapperExec", 0, "plugin", copyError}, {}, slot);
      pDataList out = nullptr;
      int ret = 0;
      const auto thrown = CallWrapper([&] {
        CallScope scope(*self);
        ret = s.exec(tag, req->params.head(), req->data.head(), &out, nullptr, 0);
      });
      std::vector<OwnedItem> items;
      std::string bad;
      if (!thrown && ret == 0) bad = CopyDataList(out, items);
      std::optional<std::string> freeThrown;
      if (out != nullptr) {
        // NOTE: the same, still-valid tag as wrapperExec got (AIGes passed a freed one here). Also
        // after an error or exception: what the wrapper handed out is its to free.
        freeThrown = CallWrapper([&] {
          CallScope scope(*self);
          s.execFree(tag, &out);
        });
      }
      self->lastSyncExecNs_.store(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count(),
          std::memory_order_relaxed);
      if (thrown) return self->Settle(op, ThrownError("wrapperExec", *thrown), {}, slot);
      if (ret != 0) return self->Settle(op, PluginError(s, "wrapperExec", ret), {}, slot);
      if (!bad.empty()) return self->Settle(op, InvalidOutput("wrapperExec", bad), {}, slot);
      if (freeThrown) return self->Settle(op, ThrownError("wrapperExecFree", *freeThrown), {}, slot);
      self->Settle(op, std::nullopt, std::move(items), slot);
    };
    if (options_.callerThread) {
      job();
    } else {
      pool_.Post(std::move(job));
    }
    return "";
  }

  auto entry = std::make_shared<TagEntry>(TagEntry::Kind::Exec, req->tag, self, op);
  if (!RegisterTag(entry)) return "usrTag '" + req->tag + "' is already in use by a pending async call";
  const int timeout = std::clamp(timeoutMs, 1, INT_MAX);
  pool_.Post([self, op, req, entry, timeout] {
    const Symbols& s = self->sym();
    int ret = 0;
    // NOTE: copied even when in place: an abandoned exec's caller may free its inputs while
    // wrapperExecAsync still runs.
    const std::string copyError = req->data.CopyInputs(/*inPlace=*/false);
    std::optional<std::string> thrown;
    if (copyError.empty()) {
      thrown = CallWrapper([&] {
        CallScope scope(*self);
        ret = s.execAsync(entry->tag.c_str(), req->params.head(), req->data.head(), &HostCallback, timeout,
                          nullptr, 0);
      });
    }
    auto unpin = std::make_unique<Message>();
    unpin->kind = Message::Kind::Unpin;
    unpin->id = op;
    self->Post(std::move(unpin));
    // A callback may already have delivered (even the final result) during the call; only the one
    // that unregisters the tag settles the op.
    if (!copyError.empty()) {
      if (UnregisterTag(entry)) self->Settle(op, ErrorInfo{"wrapperExecAsync", 0, "plugin", copyError});
    } else if (thrown) {
      if (UnregisterTag(entry)) self->Settle(op, ThrownError("wrapperExecAsync", *thrown));
    } else if (ret != 0 && UnregisterTag(entry)) {
      self->Settle(op, PluginError(s, "wrapperExecAsync", ret));
    }
  });
  // Past the deadline the loader has given up on the op: it no longer keeps the process alive, but
  // its tag stays registered (and valid) until a late callback or fini/close.
  pool_.PostAfter(std::chrono::milliseconds(timeout), [weak = std::weak_ptr<Core>(self), op] {
    auto core = weak.lock();
    if (!core) return;
    auto msg = std::make_unique<Message>();
    msg->kind = Message::Kind::ReleaseLoop;
    msg->id = op;
    core->Post(std::move(msg));
  });
  return "";
}

std::vector<uint64_t> Core::AbandonPendingTags() {
  std::vector<uint64_t> ops;
  for (const auto& e : UnregisterExecTags(this)) ops.push_back(e->id);
  return ops;
}

void Core::Shutdown(bool unload, bool join) {
  pool_.Stop(join);
  if (!unload) {
    // Leave the code mapped: something may still run in it (a wrapper thread, an init never undone).
    static_cast<void>(lib_.handle.release());
  }
  lib_.handle.reset();
}

void Core::CloseTsfn() {
  std::lock_guard<std::mutex> lock(tsfnMu_);
  if (!tsfnOpen_) return;
  tsfnOpen_ = false;
  tsfn_.Release();
}

void Core::MarkTsfnGone() {
  std::lock_guard<std::mutex> lock(tsfnMu_);
  tsfnOpen_ = false;
}

Stats Core::GetStats() const {
  Stats s;
  s.running = running_.load();
  s.maxRunning = maxRunning_.load();
  s.liveSessions = liveSessions.load();
  s.pendingTags = pendingTags.load();
  return s;
}

}  // namespace aiges
