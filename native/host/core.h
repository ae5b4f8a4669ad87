// Core: the thread-safe, JS-free half of one loaded wrapper library.
//
// It owns the worker pool and the dlopen handle, runs every wrapper call on a worker, and reports
// each outcome as a Message through a thread-safe function to the JS thread (bridge.h), where the
// matching promise is settled. Every method named after an operation is called on the JS thread,
// returns at once, and leads to exactly one Settle(op) message (unless the process is shutting down).
// Core never touches napi_value / references: a dropped Message leaks nothing.
#pragma once

#include <napi.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "c_lists.h"
#include "worker_pool.h"
#include "wrapper_lib.h"

namespace aiges {

class JsBridge;

// An error for the JS side; becomes a NativeError { pluginCode: code, fn, reason, message }.
struct ErrorInfo {
  std::string fn;       // the wrapper function (or host step: dlopen, wrapperCallback) that failed
  int code = 0;         // the wrapper's error code; 0 when the failure is not a plugin return code
  std::string reason;   // plugin | callback | invalid-output | abandoned | load | state
  std::string message;
};

ErrorInfo PluginError(const Symbols& sym, const char* fn, int code);
ErrorInfo InvalidOutput(const char* fn, const std::string& detail);
// `fn` threw instead of returning (`what`: DescribeThrown); answered like an error code of `fn`.
ErrorInfo ThrownError(const char* fn, const std::string& what);

// A native → JS notification. Plain data only, so it can be dropped on any thread.
struct Message {
  enum class Kind {
    Settle,         // op `id` finished: resolve (with `items` for exec) or reject with `error`
    SessionResult,  // session `id`: onResult(items) / onResult(null, error); `end` → then (null, null)
    Unpin,          // op `id` no longer reads its input Buffers (async exec after wrapperExecAsync)
    ReleaseLoop,    // op `id`'s deadline passed: stop keeping the event loop alive for it
    Meter,          // wrapperMeterCustom(tag, key, count)
  };
  Kind kind = Kind::Settle;
  uint64_t id = 0;
  std::optional<ErrorInfo> error;
  std::vector<OwnedItem> items;
  bool end = false;
  std::string tag;
  std::string key;
  int count = 0;
};

// Runs on the JS thread for each Message (env null: the function is being torn down; drop it).
void DeliverToJs(Napi::Env env, Napi::Function unused, JsBridge* bridge, Message* msg);
using Tsfn = Napi::TypedThreadSafeFunction<JsBridge, Message, &DeliverToJs>;

struct HostOptions {
  Mode mode = Mode::Once;
  bool async = false;
  unsigned threads = 1;  // worker threads = the most wrapper calls running at once
  // Sync once mode, one thread: wrapperExec runs on the thread that calls Exec (the JS thread of
  // a process that serves nothing else) instead of a worker: no thread hand-over per call.
  bool callerThread = false;
  // How long an idle worker polls for the next call before it sleeps, and how long the JS thread
  // may wait for a short sync once call's result before it returns to the event loop (0: never).
  std::chrono::microseconds spin{50};
  // Sessions (session.h): AIGes's [aiges] realTimeRlt (sync: one read after each intermediate
  // write); the wait for a final result after the last input or result (AIGes: 100 reads 50 ms
  // apart); the longest pause between two reads while waiting for it.
  bool realTimeRlt = true;
  std::chrono::milliseconds finalReadWait{5000};
  std::chrono::milliseconds readInterval{20};
  // Results of one session posted to the JS thread and not yet handed to onResult, at most.
  unsigned maxQueuedResults = 8;
};

// A sync once call's result, handed straight to a JS thread that waits a short while for it (see
// JsBridge::Exec) instead of through the thread-safe function: no wake-up of the JS thread, no
// event-loop turn. Exactly one side ends up with the Message: the JS thread when it takes it in
// time, else the worker posts it as usual.
class InlineResult {
 public:
  // Worker: true when the JS thread takes `msg`; false (msg untouched) when it stopped waiting.
  bool Offer(std::unique_ptr<Message>& msg);
  // JS thread: the result if it arrives within `wait`, else null (it will come as a message).
  std::unique_ptr<Message> Await(std::chrono::microseconds wait);

 private:
  enum : int { kWaiting, kOffered, kGaveUp };
  std::atomic<int> state_{kWaiting};
  std::unique_ptr<Message> msg_;  // written by the worker before kOffered, read by JS after it
};

// One call's input, alive until the worker is done with it. `tag` is usrTag for sync calls.
struct Request {
  Request(std::string t, StringPairs params, std::vector<InputItem> items)
      : tag(std::move(t)), params(std::move(params)), data(std::move(items)) {}
  std::string tag;
  ParamArena params;
  DataArena data;
};

struct Stats {
  int running = 0;
  int maxRunning = 0;
  int liveSessions = 0;
  int pendingTags = 0;
};

struct TagEntry;

class Core : public std::enable_shared_from_this<Core> {
 public:
  Core(HostOptions options, Tsfn tsfn);
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  const HostOptions& options() const { return options_; }
  // Valid on the JS thread once Load's Settle arrived without error.
  const WrapperLib& lib() const { return lib_; }

  void Load(uint64_t op, std::string path);
  // `meterFn` (may be null) goes to wrapperSetCtrl(CTMeterCustom) right before wrapperInit.
  void Init(uint64_t op, std::shared_ptr<ParamArena> config, void* meterFn);
  void Fini(uint64_t op);
  // Once mode. Sync: wrapperExec + copy + wrapperExecFree. Async: registers the tag (returns an
  // error text when the same usrTag is already pending), then wrapperExecAsync.
  // `inlineResult` (sync mode only, may be null): offer the result there first. With
  // options().callerThread the call runs before Exec returns and `inlineResult` is required.
  std::string Exec(uint64_t op, std::shared_ptr<Request> req, int timeoutMs,
                   std::shared_ptr<InlineResult> inlineResult = nullptr);
  // How long the last sync exec took on its worker, from start to result (ns).
  int64_t lastSyncExecNs() const { return lastSyncExecNs_.load(std::memory_order_relaxed); }

  // close(): frees every pending async-exec tag now; returns their op ids for the caller to reject.
  std::vector<uint64_t> AbandonPendingTags();
  // Stops the pool (joining its threads when `join`) and, when `unload`, dlcloses the library.
  void Shutdown(bool unload, bool join);
  // No further messages reach JS; releases the thread-safe function (its finalizer frees the bridge).
  void CloseTsfn();
  // Called by the thread-safe function's finalizer: the queue is gone, never post again.
  void MarkTsfnGone();

  Stats GetStats() const;

  // --- Any thread.
  bool Post(std::unique_ptr<Message> msg);
  void Settle(uint64_t op, std::optional<ErrorInfo> error, std::vector<OwnedItem> items = {},
              InlineResult* inlineResult = nullptr);
  WorkerPool& pool() { return pool_; }
  const Symbols& sym() const { return lib_.sym; }

  // Counts wrapper calls in flight (stats().running / maxRunning).
  class CallScope {
   public:
    explicit CallScope(Core& core);
    ~CallScope();
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;

   private:
    Core& core_;
  };

  std::atomic<int> liveSessions{0};
  std::atomic<int> pendingTags{0};  // maintained by the tag registry (async exec tags only)

 private:
  HostOptions options_;
  WrapperLib lib_;
  WorkerPool pool_;
  std::atomic<int> running_{0};
  std::atomic<int> maxRunning_{0};
  std::atomic<int64_t> lastSyncExecNs_{0};
  std::mutex tsfnMu_;
  bool tsfnOpen_ = true;
  Tsfn tsfn_;
};

}  // namespace aiges
