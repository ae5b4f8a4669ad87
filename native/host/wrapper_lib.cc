#include "wrapper_lib.h"

#include <dlfcn.h>
#include <link.h>

namespace aiges {
namespace {

struct Entry {
  const char* name;
  void** slot;
};

// Reads `aigesAbiVersion`: an exported `int` (STT_OBJECT) or `int aigesAbiVersion(void)` (STT_FUNC).
std::optional<int> ReadAbiVersion(void* handle) {
  void* addr = dlsym(handle, "aigesAbiVersion");
  if (addr == nullptr) return std::nullopt;
  Dl_info info{};
  void* extra = nullptr;
  if (dladdr1(addr, &info, &extra, RTLD_DL_SYMENT) != 0 && extra != nullptr) {
    const auto* sym = static_cast<const ElfW(Sym)*>(extra);
    if (ELF64_ST_TYPE(sym->st_info) == STT_FUNC) {  // same bit layout as ELF32_ST_TYPE
      return reinterpret_cast<int (*)()>(addr)();
    }
  }
  return *static_cast<const int*>(addr);
}

}  // namespace

void DlCloser::operator()(void* handle) const {
  if (handle != nullptr) dlclose(handle);
}

std::string LoadWrapperLib(const std::string& path, Mode mode, bool async, WrapperLib& out) {
  dlerror();  // clear stale state
  DlHandle handle(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (!handle) {
    const char* err = dlerror();
    return "cannot load native wrapper " + path + ": " + (err != nullptr ? err : "dlopen failed");
  }
  Symbols& s = out.sym;
  const Entry all[] = {
      {"wrapperInit", reinterpret_cast<void**>(&s.init)},
      {"wrapperFini", reinterpret_cast<void**>(&s.fini)},
      {"wrapperError", reinterpret_cast<void**>(&s.error)},
      {"wrapperVersion", reinterpret_cast<void**>(&s.version)},
      {"wrapperCreate", reinterpret_cast<void**>(&s.create)},
      {"wrapperWrite", reinterpret_cast<void**>(&s.write)},
      {"wrapperRead", reinterpret_cast<void**>(&s.read)},
      {"wrapperDestroy", reinterpret_cast<void**>(&s.destroy)},
      {"wrapperExec", reinterpret_cast<void**>(&s.exec)},
      {"wrapperExecFree", reinterpret_cast<void**>(&s.execFree)},
      {"wrapperExecAsync", reinterpret_cast<void**>(&s.execAsync)},
      {"wrapperDebugInfo", reinterpret_cast<void**>(&s.debugInfo)},
      {"wrapperSetCtrl", reinterpret_cast<void**>(&s.setCtrl)},
  };
  for (const Entry& e : all) {
    // NOTE: dlsym returns void*; converting it to a function pointer is the POSIX-sanctioned idiom.
    *e.slot = dlsym(handle.get(), e.name);
    if (*e.slot != nullptr) out.exported.emplace_back(e.name);
  }

  std::vector<const char*> required = {"wrapperInit"};
  if (mode == Mode::Once) {
    if (async) {
      required.push_back("wrapperExecAsync");
    } else {
      required.insert(required.end(), {"wrapperExec", "wrapperExecFree"});
    }
  } else {
    required.insert(required.end(), {"wrapperCreate", "wrapperWrite"});
    if (!async) required.push_back("wrapperRead");
    required.push_back("wrapperDestroy");
  }
  std::string missing;
  for (const char* name : required) {
    for (const Entry& e : all) {
      if (std::string(e.name) == name && *e.slot == nullptr) {
        missing += missing.empty() ? name : std::string(", ") + name;
      }
    }
  }
  if (!missing.empty()) {
    const std::string modeName = std::string(mode == Mode::Once ? "once" : "session") + (async ? " async" : " sync");
    return "native wrapper " + path + " does not export " + missing + " (required in " + modeName + " mode)";
  }

  if (s.version != nullptr) {
    const char* v = s.version();
    if (v != nullptr) out.version = v;
  }
  out.abiVersion = ReadAbiVersion(handle.get());
  out.path = path;
  out.handle = std::move(handle);
  return "";
}

std::string PluginErrorText(const Symbols& sym, const char* fn, int code) {
  std::string text = std::string(fn) + " returned " + std::to_string(code) + ": ";
  if (sym.error == nullptr) return text + "no wrapperError";
  const char* msg = sym.error(code);
  return text + (msg != nullptr ? msg : "(wrapperError returned NULL)");
}

}  // namespace aiges
