// native-echo, session mode: every written frame is echoed back as one result.
//
// Sync (cb == NULL): results queue up and wrapperRead hands them out; the list it returns stays ours
// until the next call on the handle (freed then, or in wrapperDestroy). With end_lag_ms, the End
// result is held back that long, so the host has to keep reading after the last write.
// Async (cb != NULL): a session thread answers each frame through cb, in order; wrapperDestroy stops
// and joins it, so no callback for the session comes after destroy returns.
#include <aiges/wrapper.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "echo_state.h"

using namespace native_echo;
using Clock = std::chrono::steady_clock;

namespace {


bool hasEnd(pDataList list) {
  for (pDataList d = list; d != nullptr; d = d->next) {
    if (d->status == DataEnd) return true;
  }
  return false;
}

void append(pDataList* head, pDataList list) {
  while (*head != nullptr) head = &(*head)->next;
  *head = list;
}

struct EchoSession {
  const char* usrTag = nullptr;  // the host's string, valid until wrapperDestroy returns
  wrapperCallback cb = nullptr;
  int delayMs = 0;
  int fail = 0;
  int cbFail = 0;
  int endLagMs = 0;

  std::mutex mu;
  // sync mode
  pDataList ready = nullptr;       // results not read yet
  pDataList heldEnd = nullptr;     // the End result, readable from endReadyAt
  Clock::time_point endReadyAt;
  pDataList lastRead = nullptr;    // what the last wrapperRead returned (ours until the next call)
  // async mode
  std::condition_variable cv;
  std::deque<pDataList> inbox;
  bool stopping = false;
  std::thread worker;

  void answerLoop() {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return stopping || !inbox.empty(); });
      if (inbox.empty()) return;  // stopping, nothing left
      pDataList frame = inbox.front();
      inbox.pop_front();
      lock.unlock();
      if (delayMs > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
      cb(usrTag, cbFail != 0 ? nullptr : frame, cbFail);
      freeDataList(frame);
      lock.lock();
    }
  }
};

}  // namespace

WrapperAPI const void* wrapperCreate(const char* usrTag, pParamList params, wrapperCallback cb, unsigned int[],
                                     int, int* errNum) {
  CallGuard guard;
  const int createFail = intParam(params, "create_fail", 0);
  if (createFail != 0) {
    if (errNum != nullptr) *errNum = createFail;
    return nullptr;
  }
  EchoSession* s = new EchoSession();
  s->usrTag = usrTag;
  s->cb = cb;
  s->delayMs = intParam(params, "delay_ms", g_delayMs);
  s->fail = intParam(params, "fail", 0);
  s->cbFail = intParam(params, "cb_fail", 0);
  s->endLagMs = intParam(params, "end_lag_ms", 0);
  if (cb != nullptr) s->worker = std::thread([s] { s->answerLoop(); });
  g_liveHandles.fetch_add(1);
  if (errNum != nullptr) *errNum = 0;
  return s;
}

int WrapperAPI wrapperWrite(const void* handle, pDataList reqData) {
  CallGuard guard;
  if (handle == nullptr) return kErrNoSession;
  EchoSession* s = static_cast<EchoSession*>(const_cast<void*>(handle));
  if (s->fail != 0) return s->fail;
  pDataList frame = echoFrame(reqData, -1);  // request data is only valid during this call
  std::lock_guard<std::mutex> lock(s->mu);
  if (s->cb != nullptr) {
    s->inbox.push_back(frame);
    s->cv.notify_one();
    return 0;
  }
  if (s->delayMs > 0) std::this_thread::sleep_for(std::chrono::milliseconds(s->delayMs));
  if (s->endLagMs > 0 && hasEnd(frame)) {
    append(&s->heldEnd, frame);
    s->endReadyAt = Clock::now() + std::chrono::milliseconds(s->endLagMs);
  } else {
    append(&s->ready, frame);
  }
  return 0;
}

int WrapperAPI wrapperRead(const void* handle, pDataList* respData) {
  CallGuard guard;
  g_reads.fetch_add(1);
  if (handle == nullptr || respData == nullptr) return kErrNoSession;
  EchoSession* s = static_cast<EchoSession*>(const_cast<void*>(handle));
  std::lock_guard<std::mutex> lock(s->mu);
  freeDataList(s->lastRead);
  s->lastRead = nullptr;
  if (s->heldEnd != nullptr && Clock::now() >= s->endReadyAt) {
    append(&s->ready, s->heldEnd);
    s->heldEnd = nullptr;
  }
  s->lastRead = s->ready;
  s->ready = nullptr;
  *respData = s->lastRead;
  return 0;
}

int WrapperAPI wrapperDestroy(const void* handle) {
  CallGuard guard;
  if (handle == nullptr) return kErrNoSession;
  EchoSession* s = static_cast<EchoSession*>(const_cast<void*>(handle));
  if (s->worker.joinable()) {
    {
      std::lock_guard<std::mutex> lock(s->mu);
      s->stopping = true;
    }
    s->cv.notify_one();
    s->worker.join();  // answers every frame already written, then exits
  }
  for (pDataList frame : s->inbox) freeDataList(frame);
  freeDataList(s->ready);
  freeDataList(s->heldEnd);
  freeDataList(s->lastRead);
  delete s;
  g_liveHandles.fetch_sub(1);
  return 0;
}

WrapperAPI const char* wrapperDebugInfo(const void* handle) {
  return handle != nullptr ? "native-echo session" : "native-echo";
}
