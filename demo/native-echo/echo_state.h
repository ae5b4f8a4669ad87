// native-echo: state shared by the once-mode and session-mode halves of the wrapper.
#pragma once

#include <aiges/wrapper.h>

#include <atomic>
#include <functional>

namespace native_echo {

constexpr int kErrRequested = 1001;  // returned for param fail=1001 (any non-zero `fail` is returned as is)
constexpr int kErrNoSession = 1002;

extern int g_delayMs;                        // [wrapper] mode_delay_ms
extern wrapperMeterCustom g_meter;           // from wrapperSetCtrl, may be null
extern std::atomic<int> g_liveHandles;       // sessions + exec results not yet freed + async answers pending
extern std::atomic<int> g_running;           // host calls inside the wrapper right now
extern std::atomic<int> g_maxOverlap;        // the most host calls seen inside the wrapper at once
extern std::atomic<int> g_reads;             // wrapperRead calls since the last reset

// Counts a host call for g_running / g_maxOverlap.
struct CallGuard {
  CallGuard();
  ~CallGuard();
  CallGuard(const CallGuard&) = delete;
  CallGuard& operator=(const CallGuard&) = delete;
};

// Plugin-owned threads that answer async execs. They are joinable, not detached: wrapperFini joins
// them all so that no code of this library runs once fini returns (the host may dlclose next).
void startAsyncThread(std::function<void()> fn);
void joinAsyncThreads(bool all);

// A param's value (NULL when absent), and as an int with a fallback.
const char* getParam(pParamList params, const char* key);
int intParam(pParamList params, const char* key, int fallback);

void freeDataList(pDataList list);
// Copies a frame; `status` < 0 keeps each node's status.
pDataList echoFrame(pDataList in, int status);

}  // namespace native_echo

extern "C" {
// Test hook: live handles (see g_liveHandles), max overlap, calls running now. Null pointers are skipped.
WrapperAPI void nativeEchoStats(int* liveHandles, int* maxOverlap, int* running);
// Resets the max-overlap and read counters.
WrapperAPI void nativeEchoResetStats();
// wrapperRead calls since the last reset (tests check the host's read-back pacing).
WrapperAPI int nativeEchoReads();
}
