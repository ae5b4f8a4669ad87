#include "session.h"

#include <algorithm>
#include <chrono>

#include "callbacks.h"

namespace aiges {
namespace {

// Back-off between sync reads after the End frame: first a plain re-queue (yield), then doubling.
constexpr int kPollDelaysMs[] = {0, 1, 2, 4, 8, 16, 20};
constexpr unsigned kPollSteps = sizeof(kPollDelaysMs) / sizeof(kPollDelaysMs[0]);

ErrorInfo StateError(const char* fn, const std::string& message) {
  return ErrorInfo{fn, 0, "state", message};
}

}  // namespace

Session::Session(std::shared_ptr<Core> core, std::shared_ptr<TagEntry> entry)
    : core_(std::move(core)), entry_(std::move(entry)), strand_(std::make_shared<Strand>(core_->pool())) {}

uint64_t Session::id() const { return entry_->id; }

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
  strand_->Post([self = shared_from_this(), op, req] {
    Core& core = *self->core_;
    const Symbols& s = core.sym();
    if (self->destroyed_ || self->handle_ == nullptr) {
      return core.Settle(op, StateError("wrapperWrite", "session is destroyed"));
    }
    std::string copyError = req->data.CopyInputs();
    if (!copyError.empty()) return core.Settle(op, ErrorInfo{"wrapperWrite", 0, "plugin", copyError});
    int ret = 0;
    if (auto thrown = CallWrapper([&] {
          Core::CallScope scope(core);
          ret = s.write(self->handle_, req->data.head());
        })) {
      return core.Settle(op, ThrownError("wrapperWrite", *thrown));
    }
    if (ret != 0) return core.Settle(op, PluginError(s, "wrapperWrite", ret));
    if (!core.options().async) {
      bool got = false;
      if (auto err = self->Drain(&got)) return core.Settle(op, std::move(err));
      if (req->data.HasEnd() && !self->ended_) {
        self->pollStep_ = 0;
        self->SchedulePoll(++self->pollGen_);
      }
    }
    core.Settle(op, std::nullopt);
  });
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

std::optional<ErrorInfo> Session::Drain(bool* got) {
  const Symbols& s = core_->sym();
  while (!ended_) {
    pDataList out = nullptr;
    int ret = 0;
    if (auto thrown = CallWrapper([&] {
          Core::CallScope scope(*core_);
          ret = s.read(handle_, &out);
        })) {
      return ThrownError("wrapperRead", *thrown);
    }
    if (ret != 0) return PluginError(s, "wrapperRead", ret);
    if (out == nullptr) break;
    // The list stays the wrapper's (valid until the next call on this handle): copy it now.
    std::vector<OwnedItem> items;
    const std::string bad = CopyDataList(out, items);
    if (!bad.empty()) return InvalidOutput("wrapperRead", bad);
    *got = true;
    ended_ = HasFinal(out);
    PostResult(std::move(items), std::nullopt, ended_);
  }
  return std::nullopt;
}

void Session::SchedulePoll(uint64_t gen) {
  const int delay = kPollDelaysMs[std::min(pollStep_, kPollSteps - 1)];
  ++pollStep_;
  auto task = [self = shared_from_this(), gen] { self->Poll(gen); };
  if (delay == 0) {
    strand_->Post(std::move(task));
  } else {
    strand_->PostAfter(std::chrono::milliseconds(delay), std::move(task));
  }
}

void Session::Poll(uint64_t gen) {
  if (destroyed_ || ended_ || gen != pollGen_) return;
  bool got = false;
  if (auto err = Drain(&got)) {
    ended_ = true;
    return PostResult({}, std::move(err), false);
  }
  if (ended_) return;
  if (got) pollStep_ = 0;
  SchedulePoll(gen);
}

void Session::PostResult(std::vector<OwnedItem> items, std::optional<ErrorInfo> error, bool end) {
  auto msg = std::make_unique<Message>();
  msg->kind = Message::Kind::SessionResult;
  msg->id = id();
  msg->items = std::move(items);
  msg->error = std::move(error);
  msg->end = end;
  core_->Post(std::move(msg));
}

}  // namespace aiges
