// Test wrapper for the host's AIGes fidelity (test/native/host-fidelity.test.ts): it reports the
// lists it was given, throws from any entry point on request, and misbehaves the ways real wrappers
// do. Once sync/async and session sync/async.
//
// Config ([wrapper]): throw=wrapperInit | wrapperFini — that function throws.
// Params: throw=<function> — wrapperExec, wrapperExecAsync, wrapperCreate, wrapperWrite, wrapperRead or
//   wrapperDestroy throws std::runtime_error("<function> exploded"); throw_kind=int throws 42 instead.
//   mode (sessions):
//     report       (default) each write queues one result "seen": a JSON report of what it was given,
//                  with the status of its first node; sync: a read hands out one queued result.
//     repeat       sync: every read returns the last frame written (status Continue, never final),
//                  the same node each time.
//     burst=<n>    a write with status End makes n results b0 … b<n-1>, the last with status End;
//                  sync: a read hands out one; async: a thread calls back with them one by one.
//     never_final  async: each write is echoed at once through the callback with status Continue.
//     after_final  async: each write is echoed with its own status; after the End one, two more.
// The report ("seen", once and report mode): {"init": params wrapperInit got, "params": [[k, v] …],
// "data": [{key, dataNull, len, type, status, desc: [[k, v] …], zeroAfter, cstrLen} …]}; a NULL list
// is null, a NULL string null; "mainThread": whether the call ran on the process's main thread.
#include <aiges/wrapper.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

std::mutex g_mu;
std::string g_initReport = "null";
bool g_throwFini = false;
std::atomic<int> g_reads{0};
std::atomic<int> g_callbacks{0};

const char* param(pParamList p, const char* key) {
  for (; p != nullptr; p = p->next) {
    if (p->key != nullptr && std::strcmp(p->key, key) == 0) return p->value;
  }
  return nullptr;
}

void throwAs(const char* kind, const char* fn) {
  if (kind != nullptr && std::strcmp(kind, "int") == 0) throw 42;
  throw std::runtime_error(std::string(fn) + " exploded");
}

void maybeThrow(pParamList params, const char* fn) {
  const char* t = param(params, "throw");
  if (t != nullptr && std::strcmp(t, fn) == 0) throwAs(param(params, "throw_kind"), fn);
}

std::string json(const char* s) {
  if (s == nullptr) return "null";
  std::string out = "\"";
  for (const char* c = s; *c != 0; ++c) {
    if (*c == '"' || *c == '\\') {
      out += '\\';
      out += *c;
    } else if (static_cast<unsigned char>(*c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", *c);
      out += buf;
    } else {
      out += *c;
    }
  }
  return out + "\"";
}

std::string reportParams(pParamList p) {
  if (p == nullptr) return "null";
  std::string out = "[";
  for (; p != nullptr; p = p->next) {
    out += "[" + json(p->key) + "," + json(p->value) + "]";
    if (p->next != nullptr) out += ",";
  }
  return out + "]";
}

std::string reportData(pDataList d) {
  if (d == nullptr) return "null";
  std::string out = "[";
  for (; d != nullptr; d = d->next) {
    const char* bytes = static_cast<const char*>(d->data);
    out += "{\"key\":" + json(d->key) + ",\"dataNull\":" + (bytes == nullptr ? "true" : "false") +
           ",\"len\":" + std::to_string(d->len) + ",\"type\":" + std::to_string(d->type) +
           ",\"status\":" + std::to_string(d->status) + ",\"desc\":" + reportParams(d->desc);
    if (bytes != nullptr) {
      // What a wrapper that treats the bytes as a C string sees.
      out += ",\"zeroAfter\":" + std::string(bytes[d->len] == 0 ? "true" : "false") +
             ",\"cstrLen\":" + std::to_string(std::strlen(bytes));
    }
    out += "}";
    if (d->next != nullptr) out += ",";
  }
  return out + "]";
}

std::string report(pParamList params, pDataList data) {
  // Whether the host called on the process's main thread (its JS thread), or on a thread of its own.
  const bool mainThread = syscall(SYS_gettid) == getpid();
  std::lock_guard<std::mutex> lock(g_mu);
  return "{\"init\":" + g_initReport + ",\"params\":" + reportParams(params) + ",\"data\":" + reportData(data) +
         ",\"mainThread\":" + (mainThread ? "true" : "false") + "}";
}

char* copyOf(const char* s, size_t n) {
  char* out = new char[n + 1];
  if (n != 0) std::memcpy(out, s, n);
  out[n] = 0;
  return out;
}

pDataList node(const char* key, const char* bytes, size_t len, DataStatus status) {
  pDataList n = new DataList();
  n->key = copyOf(key, std::strlen(key));
  n->data = copyOf(bytes, len);
  n->len = static_cast<unsigned int>(len);
  n->type = DataText;
  n->status = status;
  n->desc = nullptr;
  n->next = nullptr;
  return n;
}

pDataList textNode(const char* key, const std::string& text, DataStatus status) {
  return node(key, text.data(), text.size(), status);
}

void freeList(pDataList d) {
  while (d != nullptr) {
    pDataList next = d->next;
    delete[] d->key;
    delete[] static_cast<char*>(d->data);
    delete d;
    d = next;
  }
}

bool hasEnd(pDataList d) {
  for (; d != nullptr; d = d->next) {
    if (d->status == DataEnd) return true;
  }
  return false;
}

struct Session {
  std::string mode;
  std::string throwFn;
  std::string throwKind;
  int burst = 0;
  wrapperCallback cb = nullptr;
  const char* tag = nullptr;
  std::mutex mu;
  std::deque<pDataList> ready;   // sync: results not read yet
  pDataList lastRead = nullptr;  // sync: what the last read returned (ours until the next call)
  pDataList repeat = nullptr;    // sync, repeat mode: handed out on every read
  std::thread burster;           // async, burst mode

  void maybeThrow(const char* fn) const {
    if (throwFn == fn) throwAs(throwKind.c_str(), fn);
  }

  // Async: one result through the callback (the host copies it during the call).
  void callBack(pDataList d) {
    cb(tag, d, 0);
    g_callbacks.fetch_add(1);
    freeList(d);
  }
};

}  // namespace

extern "C" WrapperAPI int fidelityReads() { return g_reads.load(); }
extern "C" WrapperAPI int fidelityCallbacks() { return g_callbacks.load(); }
extern "C" WrapperAPI int fidelityReset() {
  g_reads.store(0);
  g_callbacks.store(0);
  return 0;
}

int WrapperAPI wrapperInit(pConfig cfg) {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_initReport = reportParams(cfg);
  }
  const char* t = param(cfg, "throw");
  g_throwFini = t != nullptr && std::strcmp(t, "wrapperFini") == 0;
  if (t != nullptr && std::strcmp(t, "wrapperInit") == 0) throwAs(param(cfg, "throw_kind"), "wrapperInit");
  return 0;
}

int WrapperAPI wrapperFini() {
  if (g_throwFini) throwAs(nullptr, "wrapperFini");
  return 0;
}

WrapperAPI const char* wrapperError(int errNum) { return errNum == 7 ? "fidelity: seven" : "fidelity: unknown"; }

WrapperAPI const char* wrapperVersion() { return "fidelity 1"; }

int WrapperAPI wrapperExec(const char*, pParamList params, pDataList reqData, pDataList* respData, unsigned int[], int) {
  maybeThrow(params, "wrapperExec");
  *respData = textNode("seen", report(params, reqData), DataOnce);
  return 0;
}

int WrapperAPI wrapperExecFree(const char*, pDataList* respData) {
  freeList(*respData);
  *respData = nullptr;
  return 0;
}

int WrapperAPI wrapperExecAsync(const char* usrTag, pParamList params, pDataList reqData, wrapperCallback callback,
                                int, unsigned int[], int) {
  maybeThrow(params, "wrapperExecAsync");
  pDataList out = textNode("seen", report(params, reqData), DataOnce);
  callback(usrTag, out, 0);
  freeList(out);
  return 0;
}

WrapperAPI const void* wrapperCreate(const char* usrTag, pParamList params, wrapperCallback cb, unsigned int[], int,
                                     int* errNum) {
  maybeThrow(params, "wrapperCreate");
  auto* s = new Session();
  const char* mode = param(params, "mode");
  s->mode = mode != nullptr ? mode : "report";
  const char* t = param(params, "throw");
  s->throwFn = t != nullptr ? t : "";
  const char* kind = param(params, "throw_kind");
  s->throwKind = kind != nullptr ? kind : "";
  const char* burst = param(params, "burst");
  s->burst = burst != nullptr ? std::atoi(burst) : 0;
  s->cb = cb;
  s->tag = usrTag;
  *errNum = 0;
  return s;
}

int WrapperAPI wrapperWrite(const void* handle, pDataList reqData) {
  auto* s = static_cast<Session*>(const_cast<void*>(handle));
  s->maybeThrow("wrapperWrite");
  const bool end = hasEnd(reqData);
  if (s->burst > 0) {
    if (!end) return 0;
    if (s->cb == nullptr) {
      std::lock_guard<std::mutex> lock(s->mu);
      for (int i = 0; i < s->burst; ++i) {
        s->ready.push_back(textNode("b", "b" + std::to_string(i), i + 1 == s->burst ? DataEnd : DataContinue));
      }
      return 0;
    }
    s->burster = std::thread([s] {
      for (int i = 0; i < s->burst; ++i) {
        s->callBack(textNode("b", "b" + std::to_string(i), i + 1 == s->burst ? DataEnd : DataContinue));
      }
    });
    return 0;
  }
  const char* bytes = static_cast<const char*>(reqData->data);
  const size_t len = bytes != nullptr ? reqData->len : 0;
  if (s->mode == "repeat") {
    std::lock_guard<std::mutex> lock(s->mu);
    freeList(s->repeat);
    s->repeat = node("frame", bytes, len, DataContinue);
    return 0;
  }
  if (s->cb != nullptr && s->mode == "never_final") {
    s->callBack(node("frame", bytes, len, DataContinue));
    return 0;
  }
  if (s->cb != nullptr && s->mode == "after_final") {
    s->callBack(node("frame", bytes, len, reqData->status));
    if (end) {
      s->callBack(node("late", "late1", 5, DataContinue));
      s->callBack(node("late", "late2", 5, DataEnd));
    }
    return 0;
  }
  pDataList seen = textNode("seen", report(nullptr, reqData), reqData->status);
  if (s->cb != nullptr) {
    s->callBack(seen);
    return 0;
  }
  std::lock_guard<std::mutex> lock(s->mu);
  s->ready.push_back(seen);
  return 0;
}

int WrapperAPI wrapperRead(const void* handle, pDataList* respData) {
  auto* s = static_cast<Session*>(const_cast<void*>(handle));
  g_reads.fetch_add(1);
  s->maybeThrow("wrapperRead");
  std::lock_guard<std::mutex> lock(s->mu);
  freeList(s->lastRead);
  s->lastRead = nullptr;
  if (s->mode == "repeat") {
    *respData = s->repeat;  // the same node on every read
    return 0;
  }
  if (!s->ready.empty()) {
    s->lastRead = s->ready.front();
    s->ready.pop_front();
  }
  *respData = s->lastRead;
  return 0;
}

int WrapperAPI wrapperDestroy(const void* handle) {
  auto* s = static_cast<Session*>(const_cast<void*>(handle));
  if (s->burster.joinable()) s->burster.join();
  const bool throws = s->throwFn == "wrapperDestroy";
  const std::string kind = s->throwKind;
  for (pDataList d : s->ready) freeList(d);
  freeList(s->lastRead);
  freeList(s->repeat);
  delete s;
  if (throws) throwAs(kind.c_str(), "wrapperDestroy");
  return 0;
}
