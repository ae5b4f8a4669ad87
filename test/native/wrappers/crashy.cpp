// Test wrapper for process isolation (test/plugin/isolation-process-native.test.ts): a once-sync
// wrapper that echoes its input, unless the first input's bytes are a command:
//   segv   writes through a null pointer (SIGSEGV)
//   abort  abort() (SIGABRT)
//   exit   exit(3)
//   hang   never returns (sleeps until the process is killed)
#include <aiges/wrapper.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace {

bool Is(pDataList in, const char* command) {
  const size_t n = std::strlen(command);
  return in != nullptr && in->data != nullptr && in->len == n && std::memcmp(in->data, command, n) == 0;
}

}  // namespace

int WrapperAPI wrapperInit(pConfig) { return 0; }

int WrapperAPI wrapperFini() { return 0; }

int WrapperAPI wrapperExec(const char*, pParamList, pDataList reqData, pDataList* respData, unsigned int[], int) {
  *respData = nullptr;
  if (Is(reqData, "segv")) {
    volatile int* nowhere = nullptr;
    *nowhere = 1;
  }
  if (Is(reqData, "abort")) std::abort();
  if (Is(reqData, "exit")) std::exit(3);
  if (Is(reqData, "hang")) {
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }
  pDataList head = nullptr;
  pDataList* tail = &head;
  for (pDataList in = reqData; in != nullptr; in = in->next) {
    if (in->key == nullptr) continue;  // the placeholder of an empty request
    pDataList out = new DataList();
    const size_t keyLen = std::strlen(in->key);
    out->key = new char[keyLen + 1];
    std::memcpy(out->key, in->key, keyLen + 1);
    out->len = in->len;
    out->data = in->len != 0 ? new char[in->len] : nullptr;
    if (in->len != 0) std::memcpy(out->data, in->data, in->len);
    out->type = in->type;
    out->status = DataOnce;
    *tail = out;
    tail = &out->next;
  }
  *respData = head;
  return 0;
}

int WrapperAPI wrapperExecFree(const char*, pDataList* respData) {
  pDataList n = *respData;
  while (n != nullptr) {
    pDataList next = n->next;
    delete[] n->key;
    delete[] static_cast<char*>(n->data);
    delete n;
    n = next;
  }
  *respData = nullptr;
  return 0;
}
