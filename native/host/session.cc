#include "session.h"

#include <algorithm>

#include "callbacks.h"

namespace aiges {
namespace {

using Clock = std::chrono::steady_clock;

ErrorInfo StateError(const char* fn, const std::string& message) {
  return ErrorInfo{fn, 0, "state", message};
}

// Back-off step `step` after the last write: a plain re-queue, then 1, 2, 4 … ms up to `cap`.
std::chrono::milliseconds PollDelay(unsigned step, std::chrono::milliseconds cap) {
  if (step == 0) return std::chrono::milliseconds(0);
  const unsigned shift = std::min(step - 1, 16u);
  return std::min(std::chrono::milliseconds(int64_t{1} << shift), cap);
}

}  // namespace

Session::Session(std::shared_ptr<Core> core, std::shared_ptr<TagEntry> entry)
    : core_(std::move(core)), entry_(std::move(entry)), strand_(std::make_shared<Strand>(core_->pool())) {}

uint64_t Session::id() const { return entry_->id; }

ResultFlow& Session::flow() { return *entry_->flow; }

void Session::Create(uint64_t op, std::shared_ptr<Request> req) {
  strand_->Post([self = shared_from_this(), op, req] {
    const Symbols& s = self->core_->sym();
    const bool async = self->core_->options().async;
    int err = 0;
    const void* handle = nullptr;
    const auto thrown = CallWrapper([&] {
      Core::CallScope scope(*self->core_);
      handle = s.create(self->entry_->tag.c_str(), req->params.head(), async ? &HostCallback : nullptr, nullptr, 0,
                        &err);
    });
    if (thrown || handle == nullptr) {
      self->destroyed_ = true;
      if (async) UnregisterTag(self->entry_);
      ErrorInfo e = thrown ? ThrownError("wrapperCreate", *thrown) : PluginError(s, "wrapperCreate", err);
      if (!thrown && err == 0) e.message = "wrapperCreate returned no handle (errNum 0)";
      // NOTE: a handle returned together with an exception is not trusted, and never destroyed.
      return self->core_->Settle(op, std::move(e));
    }
    self->handle_ = handle;
    self->core_->liveSessions.fetch_add(1);
    self->core_->Settle(op, std::nullopt);
  });
}

void Session::Write(uint64_t op, std::shared_ptr<Request> req) {
  strand_->Post([self = shared_from_this(), op, req] { self->DoWrite(op, req); });
}

void Session::DoWrite(uint64_t op, const std::shared_ptr<Request>& req) {
  Core& core = *core_;
  const Symbols& s = core.sym();
  if (destroyed_ || handle_ == nullptr) return core.Settle(op, StateError("wrapperWrite", "session is destroyed"));
  // The client holds results back: write no more until it takes them, so that the write/read order
  // the wrapper sees stays AIGes's, and the writer is held back in turn (its promise waits).
  if (HoldForClient([self = shared_from_this(), op, req] { self->DoWrite(op, req); })) return;

  // The caller keeps the inputs until the write has settled, after wrapperWrite returned.
  const std::string copyError = req->data.CopyInputs(/*inPlace=*/true);
  if (!copyError.empty()) return core.Settle(op, ErrorInfo{"wrapperWrite", 0, "plugin", copyError});
  int ret = 0;
  if (auto thrown = CallWrapper([&] {
        Core::CallScope scope(core);
        ret = s.write(handle_, req->data.head());
      })) {
    return core.Settle(op, ThrownError("wrapperWrite", *thrown));
  }
  if (ret != 0) return core.Settle(op, PluginError(s, "wrapperWrite", ret));
  ResultFlow& f = flow();
  f.Touch();
  const bool last = NoteInputs(req->data.items());
  const HostOptions& o = core.options();

  if (o.async) {
    if (last) ArmFinalWait();
    return core.Settle(op, std::nullopt);
  }
  if (finalPhase_ && !last) {  // a key began after the others ended: back to one read per write
    finalPhase_ = false;
    ++pollGen_;
  }
  // Once destroy() was called (the flow is closed) nothing more is read: no one takes results.
  if (ended_ || f.closed() || (!last && !o.realTimeRlt)) return core.Settle(op, std::nullopt);
  if (last) {
    finalPhase_ = true;
    lastFingerprint_.reset();
    waitFrom_ = Clock::now();
    pollStep_ = 0;
    ++pollGen_;
  }
  ReadOutcome first;
  if (auto err = ReadOnce(&first)) {
    ended_ = true;
    return core.Settle(op, std::move(err));
  }
  if (finalPhase_ && !ended_) SchedulePoll(pollGen_);
  core.Settle(op, std::nullopt);
}

bool Session::HoldForClient(Task retry) {
  ResultFlow& f = flow();
  if (f.HasRoom()) return false;
  strand_->Suspend(std::move(retry));
  // Room may have come between the two checks: then nothing was parked and the strand goes on.
  if (!f.Park([strand = strand_] { strand->Resume(); })) strand_->Resume();
  return true;
}

bool Session::NoteInputs(const std::vector<InputItem>& items) {
  if (items.empty()) return false;
  for (const InputItem& it : items) keyStatus_[it.key] = it.status;
  return std::all_of(keyStatus_.begin(), keyStatus_.end(),
                     [](const auto& kv) { return kv.second == DataEnd || kv.second == DataOnce; });
}

void Session::Destroy(uint64_t op) {
  strand_->Post([self = shared_from_this(), op] {
    Core& core = *self->core_;
    if (self->destroyed_) return core.Settle(op, StateError("wrapperDestroy", "session is already destroyed"));
    self->destroyed_ = true;
    ++self->pollGen_;
    int ret = 0;
    std::optional<std::string> thrown;
    if (self->handle_ != nullptr) {
      thrown = CallWrapper([&] {
        Core::CallScope scope(core);
        ret = core.sym().destroy(self->handle_);
      });
      self->handle_ = nullptr;
      core.liveSessions.fetch_sub(1);
    }
    // The tag stayed valid through wrapperDestroy; from here callbacks for it are dropped, and the
    // string is freed when the last holder (this session, a running callback) lets go.
    if (core.options().async) UnregisterTag(self->entry_);
    if (thrown) return core.Settle(op, ThrownError("wrapperDestroy", *thrown));
    core.Settle(op, ret != 0 ? std::optional<ErrorInfo>(PluginError(core.sym(), "wrapperDestroy", ret))
                             : std::nullopt);
  });
}

std::optional<ErrorInfo> Session::ReadOnce(ReadOutcome* outcome) {
  const Symbols& s = core_->sym();
  pDataList out = nullptr;
  int ret = 0;
  if (auto thrown = CallWrapper([&] {
        Core::CallScope scope(*core_);
        ret = s.read(handle_, &out);
      })) {
    return ThrownError("wrapperRead", *thrown);
  }
  if (ret != 0) return PluginError(s, "wrapperRead", ret);
  if (out == nullptr) return std::nullopt;
  if (finalPhase_) {
    // NOTE: the host polls in this phase, so an unchanged answer is the wrapper's current state
    // handed out again, not a new result (AIGes would deliver it on every read, for ever).
    const uint64_t fp = Fingerprint(out);
    if (lastFingerprint_ == fp) return std::nullopt;
    lastFingerprint_ = fp;
  }
  // The list stays the wrapper's (valid until the next call on this handle): copy it now.
  std::vector<OwnedItem> items;
  const std::string bad = CopyDataList(out, items);
  if (!bad.empty()) return InvalidOutput("wrapperRead", bad);
  outcome->fresh = true;
  ended_ = HasFinal(out);
  PostResult(std::move(items), std::nullopt, ended_);
  return std::nullopt;
}

void Session::SchedulePoll(uint64_t gen) {
  const auto delay = PollDelay(pollStep_++, core_->options().readInterval);
  auto task = [self = shared_from_this(), gen] { self->Poll(gen); };
  if (delay.count() == 0) {
    strand_->Post(std::move(task));
  } else {
    strand_->PostAfter(delay, std::move(task));
  }
}

void Session::Poll(uint64_t gen) {
  if (destroyed_ || ended_ || gen != pollGen_ || flow().closed()) return;
  // Time spent waiting for the client does not count against the wrapper.
  if (HoldForClient([self = shared_from_this(), gen] {
        self->waitFrom_ = Clock::now();
        self->Poll(gen);
      })) {
    return;
  }
  ReadOutcome r;
  if (auto err = ReadOnce(&r)) {
    ended_ = true;
    return PostResult({}, std::move(err), false);
  }
  if (ended_) return;
  const auto now = Clock::now();
  if (r.fresh) {
    pollStep_ = 0;
    waitFrom_ = now;
  } else if (now - waitFrom_ >= core_->options().finalReadWait) {
    ended_ = true;
    const auto ms = core_->options().finalReadWait.count();
    return PostResult({},
                      ErrorInfo{"wrapperRead", 0, "plugin",
                                "wrapperRead gave no final result (status DataEnd or DataOnce) within " +
                                    std::to_string(ms) + " ms of the last input or result"},
                      false);
  }
  SchedulePoll(gen);
}

void Session::ArmFinalWait() {
  if (finalWaitArmed_.exchange(true)) return;  // one timer chain per session
  CheckFinal(core_->options().finalReadWait);
}

void Session::CheckFinal(std::chrono::milliseconds after) {
  core_->pool().PostAfter(after, [weak = std::weak_ptr<Session>(shared_from_this())] {
    auto self = weak.lock();
    if (!self || self->flow().closed()) return;
    const auto wait = self->core_->options().finalReadWait;
    std::lock_guard<std::mutex> lock(self->entry_->mu);
    if (self->entry_->done) return;
    const auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() -
                                                                            self->flow().lastActivity());
    // A callback held back by the client is no silence of the wrapper.
    if (self->flow().HeldBack() || idle < wait) return self->CheckFinal(self->flow().HeldBack() ? wait : wait - idle);
    self->entry_->done = true;
    self->PostResult({},
                     ErrorInfo{"wrapperCallback", 0, "plugin",
                               "the wrapper called back no final result (status DataEnd or DataOnce) within " +
                                   std::to_string(wait.count()) + " ms of the last input or result"},
                     false);
  });
}

void Session::PostResult(std::vector<OwnedItem> items, std::optional<ErrorInfo> error, bool end) {
  auto msg = std::make_unique<Message>();
  msg->kind = Message::Kind::SessionResult;
  msg->id = id();
  msg->items = std::move(items);
  msg->error = std::move(error);
  msg->end = end;
  flow().Posted();
  if (!core_->Post(std::move(msg))) flow().Unposted();
}

}  // namespace aiges
