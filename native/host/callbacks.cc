#include "callbacks.h"

#include <cxxabi.h>

#include <array>
#include <cstdio>
#include <unordered_map>
#include <utility>

#include "core.h"

namespace aiges {
namespace {

class Registry {
 public:
  bool Add(const std::shared_ptr<TagEntry>& e) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!byTag_.emplace(e->tag, e).second) return false;
    byPtr_.emplace(e->tag.c_str(), e);
    if (e->kind == TagEntry::Kind::Exec) e->core->pendingTags.fetch_add(1);
    return true;
  }

  bool Remove(const std::shared_ptr<TagEntry>& e) {
    std::lock_guard<std::mutex> lock(mu_);
    return RemoveLocked(e);
  }

  std::vector<std::shared_ptr<TagEntry>> RemoveExecOf(const Core* core) {
    std::vector<std::shared_ptr<TagEntry>> removed;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& kv : byTag_) {
      if (kv.second->core.get() == core && kv.second->kind == TagEntry::Kind::Exec) removed.push_back(kv.second);
    }
    for (const auto& e : removed) RemoveLocked(e);
    return removed;
  }

  // The wrapper normally hands back the very pointer it got (fast path, no dereference); a wrapper that
  // copied the tag is matched by content.
  std::shared_ptr<TagEntry> Find(const char* usrTag) {
    if (usrTag == nullptr) return nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    auto p = byPtr_.find(usrTag);
    if (p != byPtr_.end()) return p->second;
    auto t = byTag_.find(usrTag);
    return t != byTag_.end() ? t->second : nullptr;
  }

 private:
  bool RemoveLocked(const std::shared_ptr<TagEntry>& e) {
    auto it = byTag_.find(e->tag);
    if (it == byTag_.end() || it->second != e) return false;
    byTag_.erase(it);
    byPtr_.erase(e->tag.c_str());
    if (e->kind == TagEntry::Kind::Exec) e->core->pendingTags.fetch_sub(1);
    return true;
  }

  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<TagEntry>> byTag_;
  std::unordered_map<const char*, std::shared_ptr<TagEntry>> byPtr_;
};

Registry& TheRegistry() {
  // NOTE: intentionally leaked: wrapper threads may call back during static destruction at exit.
  static Registry* registry = new Registry();
  return *registry;
}

// Posts one session result; the caller holds a slot of the session's flow for it.
void DeliverSession(TagEntry& e, std::vector<OwnedItem> items, std::optional<ErrorInfo> error, bool final) {
  auto msg = std::make_unique<Message>();
  msg->kind = Message::Kind::SessionResult;
  msg->id = e.id;
  msg->items = std::move(items);
  msg->error = std::move(error);
  msg->end = final && !msg->error;
  if (!e.core->Post(std::move(msg))) e.flow->Unposted();
}

int SessionCallback(const std::shared_ptr<TagEntry>& entry, std::vector<OwnedItem> items,
                    std::optional<ErrorInfo> error, bool final) {
  ResultFlow& flow = *entry->flow;
  flow.Touch();
  if (items.empty() && !error && !final) return 0;
  {
    std::lock_guard<std::mutex> lock(entry->mu);
    if (entry->done) return 0;
  }
  // NOTE: waits outside the tag's lock, so that the final-result timer and destroy never wait on
  // the client; the state is checked again below.
  if (!flow.Acquire()) return 0;  // the session is being destroyed: dropped
  flow.Touch();
  std::lock_guard<std::mutex> lock(entry->mu);
  if (entry->done) {
    flow.Unposted();
    return 0;
  }
  if (final) entry->done = true;
  DeliverSession(*entry, std::move(items), std::move(error), final);
  return 0;
}

int Callback(const char* usrTag, pDataList respData, int ret) {
  // Holding `entry` keeps the tag string alive for the rest of this call, whatever unregisters it.
  std::shared_ptr<TagEntry> entry = TheRegistry().Find(usrTag);
  if (!entry) return 0;  // unknown or already finished tag: late callback after final/destroy/fini
  std::vector<OwnedItem> items;
  const std::string bad = ret == 0 ? CopyDataList(respData, items) : "";
  std::optional<ErrorInfo> error;
  if (ret != 0) {
    error = PluginError(entry->core->sym(), "wrapperCallback", ret);
    error->reason = "callback";
  } else if (!bad.empty()) {
    error = InvalidOutput("wrapperCallback", bad);
  }
  const bool final = error.has_value() || HasFinal(respData);
  if (entry->kind == TagEntry::Kind::Session) return SessionCallback(entry, std::move(items), std::move(error), final);

  std::lock_guard<std::mutex> lock(entry->mu);
  if (entry->done) return 0;
  for (OwnedItem& it : items) entry->acc.push_back(std::move(it));
  if (!final) return 0;
  entry->done = true;
  // Only the remover settles: fini/close may have abandoned the tag concurrently.
  if (!UnregisterTag(entry)) return 0;
  if (error) {
    entry->core->Settle(entry->id, std::move(error));
  } else {
    entry->core->Settle(entry->id, std::nullopt, std::move(entry->acc));
  }
  return 0;
}

// ---- meter trampolines
constexpr int kMeterSlots = 16;
std::mutex meterMu;
std::array<std::weak_ptr<Core>, kMeterSlots> meterSlots;
std::array<bool, kMeterSlots> meterUsed{};

int DispatchMeter(int slot, const char* usrTag, const char* key, int count) {
  std::shared_ptr<Core> core;
  {
    std::lock_guard<std::mutex> lock(meterMu);
    core = meterSlots[slot].lock();
  }
  if (!core) return 0;
  auto msg = std::make_unique<Message>();
  msg->kind = Message::Kind::Meter;
  msg->tag = usrTag != nullptr ? usrTag : "";
  msg->key = key != nullptr ? key : "";
  msg->count = count;
  core->Post(std::move(msg));
  return 0;
}

template <int N>
int MeterTrampoline(const char* usrTag, const char* key, int count) {
  return DispatchMeter(N, usrTag, key, count);
}

template <int... I>
constexpr std::array<wrapperMeterCustom, sizeof...(I)> MakeTrampolines(std::integer_sequence<int, I...>) {
  return {&MeterTrampoline<I>...};
}
constexpr auto kTrampolines = MakeTrampolines(std::make_integer_sequence<int, kMeterSlots>{});

}  // namespace

bool RegisterTag(const std::shared_ptr<TagEntry>& entry) { return TheRegistry().Add(entry); }
bool UnregisterTag(const std::shared_ptr<TagEntry>& entry) { return TheRegistry().Remove(entry); }
std::vector<std::shared_ptr<TagEntry>> UnregisterExecTags(const Core* core) {
  return TheRegistry().RemoveExecOf(core);
}

int HostCallback(const char* usrTag, pDataList respData, int ret) {
  // Host code running on the wrapper's thread: nothing may unwind back into the wrapper's frames.
  try {
    return Callback(usrTag, respData, ret);
  } catch (abi::__forced_unwind&) {
    throw;  // the wrapper's thread is being cancelled: let it unwind
  } catch (...) {
    std::fprintf(stderr, "aiges native host: a result callback failed (out of memory?); result dropped\n");
    return -1;
  }
}

void* AcquireMeterSlot(const std::shared_ptr<Core>& core, int* slot) {
  std::lock_guard<std::mutex> lock(meterMu);
  for (int i = 0; i < kMeterSlots; ++i) {
    if (!meterUsed[i]) {
      meterUsed[i] = true;
      meterSlots[i] = core;
      *slot = i;
      return reinterpret_cast<void*>(kTrampolines[i]);
    }
  }
  *slot = -1;
  return nullptr;
}

void ReleaseMeterSlot(int slot) {
  if (slot < 0 || slot >= kMeterSlots) return;
  std::lock_guard<std::mutex> lock(meterMu);
  meterUsed[slot] = false;
  meterSlots[slot].reset();
}

}  // namespace aiges
