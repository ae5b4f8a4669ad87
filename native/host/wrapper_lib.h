// Loading an AIGes wrapper library: dlopen, the symbols a mode needs, the optional ones, the ABI
// version it declares; and the one way the host calls into wrapper code (CallWrapper).
#pragma once

#include <aiges/wrapper.h>
#include <cxxabi.h>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aiges {

enum class Mode { Once, Session };

// Resolved exports; a null pointer means "not exported". Which ones are non-null is checked against
// the mode at load, so callers only null-check the optional ones.
struct Symbols {
  wrapperInitPtr init = nullptr;
  wrapperFiniPtr fini = nullptr;
  wrapperErrorPtr error = nullptr;
  wrapperVersionPtr version = nullptr;
  wrapperCreatePtr create = nullptr;
  wrapperWritePtr write = nullptr;
  wrapperReadPtr read = nullptr;
  wrapperDestroyPtr destroy = nullptr;
  wrapperExecPtr exec = nullptr;
  wrapperExecFreePtr execFree = nullptr;
  wrapperExecAsyncPtr execAsync = nullptr;
  wrapperDebugInfoPtr debugInfo = nullptr;
  wrapperSetCtrlPtr setCtrl = nullptr;
};

struct DlCloser {
  void operator()(void* handle) const;
};
using DlHandle = std::unique_ptr<void, DlCloser>;

struct WrapperLib {
  std::string path;
  DlHandle handle;  // dlclose on destruction (only once no call can still be running)
  Symbols sym;
  std::vector<std::string> exported;  // names of the AIGes functions found, in ABI order
  std::optional<std::string> version;  // wrapperVersion(), when exported and non-NULL
  std::optional<int> abiVersion;       // optional `aigesAbiVersion`: an int variable or int(void) function
};

// The `aigesAbiVersion` values this host supports: 1 … AIGES_ABI_VERSION.
constexpr int kMinAbiVersion = 1;
constexpr int kMaxAbiVersion = AIGES_ABI_VERSION;

// Runs on a worker thread (dlopen runs the library's static constructors; wrapperVersion and an
// aigesAbiVersion function are wrapper calls). Returns "" and fills `out`, or an error naming the
// path and every missing required symbol, or the unsupported ABI version the library declares.
std::string LoadWrapperLib(const std::string& path, Mode mode, bool async, WrapperLib& out);

// Text of a wrapper error code: `fn returned code: wrapperError(code)` (or 'no wrapperError').
std::string PluginErrorText(const Symbols& sym, const char* fn, int code);

// What the wrapper threw, for messages: "std::runtime_error: what()" (or just the type's name).
std::string DescribeThrown(const std::exception* e);

// Runs `f`, one call into wrapper code. An exception the wrapper throws stops here: it must never
// unwind into the host's threads (a worker's loop would drop the call unanswered) nor, for the
// callbacks it makes, back through the wrapper's C frames. Returns what was thrown, or nothing.
template <typename F>
std::optional<std::string> CallWrapper(F&& f) {
  try {
    f();
    return std::nullopt;
  } catch (abi::__forced_unwind&) {
    throw;  // thread cancellation (pthread_cancel / pthread_exit) must go on unwinding
  } catch (const std::exception& e) {
    return DescribeThrown(&e);
  } catch (...) {
    return DescribeThrown(nullptr);
  }
}

}  // namespace aiges
