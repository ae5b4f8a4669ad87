// The C callbacks handed to wrappers, and the process-wide routing they need.
//
// wrapperCallback has no user-data argument, so results are routed by usrTag: every tag handed to
// wrapperExecAsync (async once) or wrapperCreate (async sessions) is registered here with the library
// and the op/session it belongs to. The registry owns the tag string the wrapper received: it stays
// valid until the entry is unregistered AND no callback is still running with it (entries are
// shared_ptr, and a running callback holds one). Unregistering happens exactly once: on the final
// callback (exec), after wrapperDestroy returns (session), or when fini/close abandons pending tags.
#pragma once

#include <aiges/wrapper.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "c_lists.h"
#include "result_flow.h"

namespace aiges {

class Core;

struct TagEntry {
  enum class Kind { Exec, Session };
  TagEntry(Kind k, std::string t, std::shared_ptr<Core> c, uint64_t i)
      : kind(k), tag(std::move(t)), core(std::move(c)), id(i) {}

  const Kind kind;
  const std::string tag;  // tag.c_str() is the usrTag the wrapper got
  const std::shared_ptr<Core> core;
  const uint64_t id;  // op id (Exec) or session id (Session)

  std::mutex mu;                // serialises callbacks of this tag (keeps their order)
  std::vector<OwnedItem> acc;   // Exec: results gathered until the final one
  bool done = false;            // final result or error delivered; later callbacks are dropped
  std::shared_ptr<ResultFlow> flow;  // Session: the bound on results waiting for the client
};

// False when a live entry already uses the same tag (tags route callbacks, so they must be unique
// among pending async execs and live async sessions of all loaded libraries).
bool RegisterTag(const std::shared_ptr<TagEntry>& entry);
// True when this call removed the entry (it was still registered).
bool UnregisterTag(const std::shared_ptr<TagEntry>& entry);
// Removes every Exec entry of `core`; the caller settles their ops as abandoned.
std::vector<std::shared_ptr<TagEntry>> UnregisterExecTags(const Core* core);

// The wrapperCallback given to wrapperExecAsync / wrapperCreate. Any thread; copies respData. Never
// throws. For a session whose client holds results back it blocks until the client takes them (or
// the session is destroyed): the wrapper's producing thread is paused rather than results piling up.
int HostCallback(const char* usrTag, pDataList respData, int ret);

// Meter forwarding: wrapperMeterCustom has no user data either, so each library that wants meter
// events takes one of a fixed set of trampolines. Returns null when all are taken.
void* AcquireMeterSlot(const std::shared_ptr<Core>& core, int* slot);
void ReleaseMeterSlot(int slot);

}  // namespace aiges
