// native-echo: an AIGes C-ABI wrapper that echoes every input item back.
//
// Written the way AIGes wrapper authors write them (C++, <aiges/wrapper.h>, DataList nodes built with
// new), and implementing every calling style the aiges-ts native host supports:
//   once sync   wrapperExec / wrapperExecFree
//   once async  wrapperExecAsync, answering from a plugin thread
//   session     wrapperCreate / wrapperWrite / wrapperRead / wrapperDestroy   (sync: cb == NULL)
//               wrapperCreate(cb) / wrapperWrite / wrapperDestroy              (async: results via cb)
//
// Config ([wrapper]): mode_delay_ms  — sleep this long in each exec / session frame (default 0);
// init_fail=<code> — wrapperInit returns it.
// Params: delay_ms (overrides mode_delay_ms), fail=<code> (exec/write returns it), cb_fail=<code>
// (async: the callback reports it), noreply=1 (async exec never calls back), report=1 (each output
// item gets desc.ptr = address of the input bytes, desc.sid = the sid param, desc.tag = usrTag, as the
// wrapper saw them), create_fail=<code> (wrapperCreate fails with it), copy_tag=1 (async exec calls
// back with a copy of usrTag, not the host's pointer), end_lag_ms (sync
// session: the End result becomes readable only this long after the End frame), meter=1 (reports
// meter "echo_items").
#include <aiges/wrapper.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "echo_state.h"

using namespace native_echo;

namespace {


char* copyString(const char* s) {
  const size_t n = s != nullptr ? std::strlen(s) : 0;
  char* out = new char[n + 1];
  if (n != 0) std::memcpy(out, s, n);
  out[n] = '\0';
  return out;
}

void appendParam(pParamList** tail, const char* key, const char* value) {
  pParamList n = new ParamList();
  n->key = copyString(key);
  n->value = copyString(value);
  n->vlen = static_cast<unsigned int>(std::strlen(n->value));
  **tail = n;
  *tail = &n->next;
}

// What the wrapper saw, for tests: the input's address, the `sid` param and the usrTag.
struct Report {
  const char* sid = nullptr;
  const char* usrTag = nullptr;
};

pParamList copyDesc(const DataList* in, const Report* report) {
  pParamList head = nullptr;
  pParamList* tail = &head;
  for (pDescList d = in->desc; d != nullptr; d = d->next) appendParam(&tail, d->key, d->value);
  if (report != nullptr) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(in->data)));
    appendParam(&tail, "ptr", buf);
    appendParam(&tail, "sid", report->sid != nullptr ? report->sid : "");
    appendParam(&tail, "tag", report->usrTag != nullptr ? report->usrTag : "");
  }
  return head;
}

// Copies one node (not its successors). `status` < 0 keeps the input's status.
pDataList copyNode(const DataList* in, int status, const Report* report) {
  pDataList n = new DataList();
  n->key = copyString(in->key);
  n->len = in->len;
  n->data = nullptr;
  if (in->len != 0) {
    char* bytes = new char[in->len];
    std::memcpy(bytes, in->data, in->len);
    n->data = bytes;
  }
  n->type = in->type;
  n->status = status < 0 ? in->status : DataStatus(status);
  n->desc = copyDesc(in, report);
  n->next = nullptr;
  return n;
}

pDataList echoList(pDataList in, int status, const Report* report) {
  pDataList head = nullptr;
  pDataList* tail = &head;
  for (pDataList d = in; d != nullptr; d = d->next) {
    *tail = copyNode(d, status, report);
    tail = &(*tail)->next;
  }
  return head;
}

void sleepMs(int ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

int countNodes(pDataList list) {
  int n = 0;
  for (pDataList d = list; d != nullptr; d = d->next) ++n;
  return n;
}

}  // namespace

namespace native_echo {

void freeDataList(pDataList list) {
  while (list != nullptr) {
    pDataList next = list->next;
    for (pParamList d = list->desc; d != nullptr;) {
      pParamList dn = d->next;
      delete[] d->key;
      delete[] d->value;
      delete d;
      d = dn;
    }
    delete[] list->key;
    delete[] static_cast<char*>(list->data);
    delete list;
    list = next;
  }
}

pDataList echoFrame(pDataList in, int status) { return echoList(in, status, nullptr); }

}  // namespace native_echo

// ---------------------------------------------------------------- library scope

int WrapperAPI wrapperInit(pConfig cfg) {
  g_delayMs = std::max(0, intParam(cfg, "mode_delay_ms", 0));
  return intParam(cfg, "init_fail", 0);
}

int WrapperAPI wrapperFini() {
  joinAsyncThreads(/*all=*/true);  // no code of ours may run after fini returns (dlclose follows)
  return 0;
}

WrapperAPI const char* wrapperError(int errNum) {
  switch (errNum) {
    case kErrRequested: return "native-echo: failure requested by the 'fail' param";
    case kErrNoSession: return "native-echo: invalid session handle";
    default: return "native-echo: unknown error code";
  }
}

WrapperAPI const char* wrapperVersion() { return "native-echo 1.0.0"; }

int WrapperAPI wrapperSetCtrl(CtrlType type, void* func) {
  if (type == CTMeterCustom) g_meter = reinterpret_cast<wrapperMeterCustom>(func);
  return 0;
}

// An aiges-ts extension, optional for wrappers: the ABI revision this wrapper was written against.
extern "C" WrapperAPI int aigesAbiVersion() { return 1; }

// ---------------------------------------------------------------- once mode

int WrapperAPI wrapperExec(const char* usrTag, pParamList params, pDataList reqData, pDataList* respData,
                           unsigned int[], int) {
  CallGuard guard;
  sleepMs(intParam(params, "delay_ms", g_delayMs));
  const int fail = intParam(params, "fail", 0);
  if (fail != 0) return fail;
  const Report report{getParam(params, "sid"), usrTag};
  *respData = echoList(reqData, DataOnce, intParam(params, "report", 0) != 0 ? &report : nullptr);
  if (*respData != nullptr) g_liveHandles.fetch_add(1);  // until wrapperExecFree
  if (g_meter != nullptr && intParam(params, "meter", 0) != 0) g_meter(usrTag, "echo_items", countNodes(reqData));
  return 0;
}

int WrapperAPI wrapperExecFree(const char*, pDataList* respData) {
  if (respData != nullptr && *respData != nullptr) {
    freeDataList(*respData);
    *respData = nullptr;
    g_liveHandles.fetch_sub(1);
  }
  return 0;
}

int WrapperAPI wrapperExecAsync(const char* usrTag, pParamList params, pDataList reqData, wrapperCallback callback,
                                int, unsigned int[], int) {
  CallGuard guard;
  const int fail = intParam(params, "fail", 0);
  if (fail != 0) return fail;
  if (intParam(params, "noreply", 0) != 0) return 0;  // never answers: the host must cope
  // Request data is only valid during this call: take a copy for the answering thread.
  const Report report{getParam(params, "sid"), usrTag};
  pDataList out = echoList(reqData, DataOnce, intParam(params, "report", 0) != 0 ? &report : nullptr);
  const int delay = intParam(params, "delay_ms", g_delayMs);
  const int cbFail = intParam(params, "cb_fail", 0);
  g_liveHandles.fetch_add(1);
  // usrTag stays valid until our last callback for it (host contract), so the pointer is kept as is;
  // copy_tag=1 answers with a copy instead (hosts must match tags by content too).
  std::string tagCopy = intParam(params, "copy_tag", 0) != 0 ? usrTag : "";
  startAsyncThread([usrTag, tagCopy, callback, out, delay, cbFail] {
    sleepMs(delay);
    callback(tagCopy.empty() ? usrTag : tagCopy.c_str(), cbFail != 0 ? nullptr : out, cbFail);
    freeDataList(out);
    g_liveHandles.fetch_sub(1);
  });
  return 0;
}
