// Loading an AIGes wrapper library: dlopen, the symbols a mode needs, the optional ones.
#pragma once

#include <aiges/wrapper.h>

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

// Runs on a worker thread (dlopen runs the library's static constructors; wrapperVersion is a wrapper
// call). Returns "" and fills `out`, or an error naming the path and every missing required symbol.
std::string LoadWrapperLib(const std::string& path, Mode mode, bool async, WrapperLib& out);

// Text of a wrapper error code: `fn returned code: wrapperError(code)` (or 'no wrapperError').
std::string PluginErrorText(const Symbols& sym, const char* fn, int code);

}  // namespace aiges
