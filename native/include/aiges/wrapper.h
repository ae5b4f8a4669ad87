/*
 * aiges/wrapper.h — the functions a wrapper library exports, and the callbacks it may call.
 *
 * Compatible with iFLYTEK AIGes wrapper sources (also reachable as "widget/wrapper.h", upstream's
 * spelling). Unlike AIGes, aiges-ts requires only the symbols the configured mode uses:
 *   once mode, sync:    wrapperInit, wrapperExec, wrapperExecFree
 *   once mode, async:   wrapperInit, wrapperExecAsync
 *   session mode, sync: wrapperInit, wrapperCreate, wrapperWrite, wrapperRead, wrapperDestroy
 *   session mode, async (callback): wrapperInit, wrapperCreate, wrapperWrite, wrapperDestroy
 * Optional, and called when present: wrapperFini, wrapperError, wrapperVersion, wrapperSetCtrl.
 * Declared for source compatibility only, and never called by aiges-ts: wrapperLoadRes and
 * wrapperUnloadRes (personalisation resources are not supported: psrIds is always NULL and psrCnt 0),
 * and wrapperDebugInfo.
 *
 * ABI version: a wrapper may export, with C linkage, `int aigesAbiVersion(void)` or
 * `const int aigesAbiVersion` set to AIGES_ABI_VERSION. The host reads it first, at load, and refuses
 * a library that declares a version it does not support (newer than its own, or not a positive
 * integer), naming both. A wrapper that exports neither is taken as version 1.
 *
 * Threads and memory, as the native host guarantees them:
 * - No function is ever called on the Node.js event-loop thread: calls run on the host's worker
 *   threads, at most `concurrency` at a time across once calls and session operations.
 * - Every pointer the host passes in (params, request data, usrTag, config) is valid only for the
 *   duration of that call, except usrTag given to wrapperCreate or wrapperExecAsync, which stays
 *   valid until wrapperDestroy returns (sessions) or until the last callback for it (async once).
 * - Lists are never NULL, as in AIGes: config, params, request data and each node's desc hold at
 *   least one node; an empty list is one placeholder node (key NULL, value/data NULL, len 0, type
 *   DataText, status DataBegin, next NULL; a placeholder data node's desc is itself a placeholder).
 * - Request data (DataList.data) is the host's copy of the client's bytes, followed by one zero byte
 *   that `len` does not count (a C string when the input is text): read-only.
 * - Memory a wrapper returns stays the wrapper's: the host copies it once and then calls
 *   wrapperExecFree (once mode) or never touches it again after the next call on that handle
 *   (wrapperRead; freed by the wrapper at the latest in wrapperDestroy).
 * - Return 0 for success; any other value is a wrapper error code whose text comes from
 *   wrapperError(code) when exported. The client sees it as aiges code 109xx of the failing
 *   function (10901 init, 10902 fini, 10905 create, 10906 destroy, 10907 write, 10908 read,
 *   10909 exec, 10910 callback). A C++ exception escaping a function is caught at once and
 *   answered the same way, with the exception's text; the wrapper's state is whatever the
 *   exception left, so prefer returning a code.
 *
 * Sessions, read the way AIGes's loader reads them ([aiges] realTimeRlt, default true):
 * - The input just written is the last when every key written so far has status DataEnd/DataOnce.
 * - Sync: after an intermediate write the host calls wrapperRead once (realTimeRlt; not at all
 *   otherwise). After the last write it reads until a result with DataEnd/DataOnce, with back-off
 *   while reads return NULL or the same result as the previous read; when none comes within the
 *   wait limit (default 5 s after the last input or new result), the session ends with 10908.
 * - Async: results come through the callback; those after the final one are dropped; the same wait
 *   limit ends a session whose final result never comes, with 10910.
 * - A client that does not take results holds the session back: the host writes and reads no
 *   more, and a callback for that session blocks the calling thread, until the client catches up
 *   or the session is destroyed (the hold ends before wrapperDestroy is called). A callback made
 *   from inside wrapperWrite blocks a host worker that way: prefer the wrapper's own threads.
 */
#ifndef AIGES_WRAPPER_H
#define AIGES_WRAPPER_H

#include "type.h"

#ifdef __cplusplus
extern "C" {
#endif

/* WrapperAPI after a pointer return type, or in a function-pointer typedef, is accepted by
 * compilers but has no effect there (GCC warns); declarations keep AIGes's spelling. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wattributes"
/* Where WrapperAPI is ignored (after a pointer return type), this still exports the function,
 * also in libraries built with -fvisibility=hidden: definitions keep the declaration's visibility. */
#pragma GCC visibility push(default)
#endif

/* The ABI revision these headers describe (see above). aigesAbiVersion is not declared here, so
 * that either form compiles. */
#define AIGES_ABI_VERSION 1

/* Results of an async call or session. May be called from any thread, any number of times per
 * usrTag; the host copies `respData` before returning. `ret` != 0 reports an error for that tag.
 * A node with status DataEnd or DataOnce marks the tag's last result. Returns 0.
 * usrTag is `const char*`, as iflytek/awesome-wrapper declares it; upstream xfyun/aiges declares
 * `const void*` (the same ABI). Define AIGES_USRTAG_VOID before including this header for that
 * spelling; "widget/wrapper.h" defines it unless AIGES_USRTAG_CHAR is defined. */
#ifdef AIGES_USRTAG_VOID
typedef int (*wrapperCallback)(const void* usrTag, pDataList respData, int ret);
#else
typedef int (*wrapperCallback)(const char* usrTag, pDataList respData, int ret);
#endif

/* Custom metering (exported as a Prometheus counter) and trace logging; handed over by
 * wrapperSetCtrl. Safe to call from any thread. */
typedef int (*wrapperMeterCustom)(const char* usrTag, const char* meterKey, int count);
typedef int (*wrapperTraceLog)(const char* usrTag, const char* key, const char* value);

/* Once at load, before any other call except wrapperSetCtrl/wrapperVersion. `cfg` is the
 * [wrapper] config section as string key/values. May take long (loading a model). */
int WrapperAPI wrapperInit(pConfig cfg);

/* Once at stop, after every call and session has ended. */
int WrapperAPI wrapperFini();

/* Text for a wrapper error code. The string must stay valid (static storage). */
const char* WrapperAPI wrapperError(int errNum);

/* The wrapper's version string (static storage). */
const char* WrapperAPI wrapperVersion();

/* Load / unload a personalisation resource. Declared for source compatibility only: aiges-ts never
 * calls them (personalisation resources are not supported). */
int WrapperAPI wrapperLoadRes(pDataList perData, unsigned int resId);
int WrapperAPI wrapperUnloadRes(unsigned int resId);

/* Opens a session and returns its handle (NULL on error, with *errNum set). `cb` is non-NULL in
 * async mode: the wrapper delivers the session's results through it, tagged with `usrTag`.
 * Sessions overlap freely; calls on one handle never overlap. */
const void* WrapperAPI wrapperCreate(const char* usrTag, pParamList params, wrapperCallback cb,
                                     unsigned int psrIds[], int psrCnt, int* errNum);

/* Feeds one frame (one or more keys) to a session. */
int WrapperAPI wrapperWrite(const void* handle, pDataList reqData);

/* Sync sessions: fetches the results ready so far into *respData (NULL when none yet). The host
 * calls it once after an intermediate write (realTimeRlt) and, after the last write, until a result
 * with DataEnd/DataOnce or the wait limit (see above). */
int WrapperAPI wrapperRead(const void* handle, pDataList* respData);

/* Closes a session; called exactly once per handle, after its last write/read. */
int WrapperAPI wrapperDestroy(const void* handle);

/* Once mode, sync: may be called concurrently (up to `concurrency` at a time). The wrapper
 * allocates *respData; the host copies it and then calls wrapperExecFree with the same tag. */
int WrapperAPI wrapperExec(const char* usrTag, pParamList params, pDataList reqData, pDataList* respData,
                           unsigned int psrIds[], int psrCnt);

/* Frees what wrapperExec returned in *respData. */
int WrapperAPI wrapperExecFree(const char* usrTag, pDataList* respData);

/* Once mode, async: returns at once; the result comes through `callback` with `usrTag`. `timeout`
 * is the milliseconds left to the call's deadline. */
int WrapperAPI wrapperExecAsync(const char* usrTag, pParamList params, pDataList reqData,
                                wrapperCallback callback, int timeout, unsigned int psrIds[], int psrCnt);

/* Debug text for a session (static or per-handle storage). Never called by aiges-ts. */
const char* WrapperAPI wrapperDebugInfo(const void* handle);

/* Hands the wrapper a control callback (a wrapperMeterCustom or wrapperTraceLog). */
int WrapperAPI wrapperSetCtrl(CtrlType type, void* func);

/* Function-pointer types, one per export, as AIGes declares them. */
typedef int (WrapperAPI *wrapperInitPtr)(pConfig cfg);
typedef int (WrapperAPI *wrapperFiniPtr)();
typedef const char* (WrapperAPI *wrapperErrorPtr)(int errNum);
typedef const char* (WrapperAPI *wrapperVersionPtr)();
typedef int (WrapperAPI *wrapperLoadResPtr)(pDataList perData, unsigned int resId);
typedef int (WrapperAPI *wrapperUnloadResPtr)(unsigned int resId);
typedef const void* (WrapperAPI *wrapperCreatePtr)(const char* usrTag, pParamList params, wrapperCallback cb,
                                                   unsigned int psrIds[], int psrCnt, int* errNum);
typedef int (WrapperAPI *wrapperWritePtr)(const void* handle, pDataList reqData);
typedef int (WrapperAPI *wrapperReadPtr)(const void* handle, pDataList* respData);
typedef int (WrapperAPI *wrapperDestroyPtr)(const void* handle);
typedef int (WrapperAPI *wrapperExecPtr)(const char* usrTag, pParamList params, pDataList reqData,
                                         pDataList* respData, unsigned int psrIds[], int psrCnt);
typedef int (WrapperAPI *wrapperExecFreePtr)(const char* usrTag, pDataList* respData);
typedef int (WrapperAPI *wrapperExecAsyncPtr)(const char* usrTag, pParamList params, pDataList reqData,
                                              wrapperCallback callback, int timeout, unsigned int psrIds[],
                                              int psrCnt);
typedef const char* (WrapperAPI *wrapperDebugInfoPtr)(const void* handle);
typedef int (WrapperAPI *wrapperSetCtrlPtr)(CtrlType type, void* func);

#if defined(__GNUC__)
#pragma GCC visibility pop
#pragma GCC diagnostic pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* AIGES_WRAPPER_H */
