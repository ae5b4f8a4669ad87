#include "wrapper_lib.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <typeinfo>

namespace aiges {
namespace {

struct Entry {
  const char* name;
  void** slot;
};

std::string Demangled(const char* name) {
  int status = 0;
  char* readable = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = status == 0 && readable != nullptr ? readable : name;
  std::free(readable);
  return out;
}

// Reads `aigesAbiVersion`: an exported `int` (STT_OBJECT) or `int aigesAbiVersion(void)` (STT_FUNC).
// Returns an error text when the function throws.
std::string ReadAbiVersion(void* handle, std::optional<int>& out) {
  void* addr = dlsym(handle, "aigesAbiVersion");
  if (addr == nullptr) return "";
  Dl_info info{};
  void* extra = nullptr;
  if (dladdr1(addr, &info, &extra, RTLD_DL_SYMENT) != 0 && extra != nullptr) {
    const auto* sym = static_cast<const ElfW(Sym)*>(extra);
    if (ELF64_ST_TYPE(sym->st_info) == STT_FUNC) {  // same bit layout as ELF32_ST_TYPE
      int v = 0;
      if (auto thrown = CallWrapper([&] { v = reinterpret_cast<int (*)()>(addr)(); })) {
        return "aigesAbiVersion() threw " + *thrown;
      }
      out = v;
      return "";
    }
  }
  out = *static_cast<const int*>(addr);
  return "";
}

std::string SupportedAbiVersions() {
  return kMinAbiVersion == kMaxAbiVersion
             ? std::to_string(kMaxAbiVersion)
             : std::to_string(kMinAbiVersion) + " to " + std::to_string(kMaxAbiVersion);
}

}  // namespace

std::string DescribeThrown(const std::exception* e) {
  const std::type_info* type = e != nullptr ? &typeid(*e) : abi::__cxa_current_exception_type();
  std::string text = type != nullptr ? Demangled(type->name()) : "an unknown exception";
  if (e != nullptr) text += std::string(": ") + e->what();
  return text;
}

void DlCloser::operator()(void* handle) const {
  if (handle != nullptr) dlclose(handle);
}

std::string LoadWrapperLib(const std::string& path, Mode mode, bool async, WrapperLib& out) {
  dlerror();  // clear stale state
  DlHandle handle;
  // dlopen runs the library's static constructors: wrapper code too.
  if (auto thrown = CallWrapper([&] { handle.reset(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)); })) {
    return "cannot load native wrapper " + path + ": a static constructor threw " + *thrown;
  }
  if (!handle) {
    const char* err = dlerror();
    return "cannot load native wrapper " + path + ": " + (err != nullptr ? err : "dlopen failed");
  }
  // NOTE: checked first, before the exports and any other call into the library: a newer ABI may
  // name or mean them differently.
  std::string err = ReadAbiVersion(handle.get(), out.abiVersion);
  if (!err.empty()) return "native wrapper " + path + ": " + err;
  if (out.abiVersion && (*out.abiVersion < kMinAbiVersion || *out.abiVersion > kMaxAbiVersion)) {
    const int v = *out.abiVersion;
    return "native wrapper " + path + " declares aigesAbiVersion " + std::to_string(v) +
           (v < kMinAbiVersion ? ", which is not a positive integer" : ", newer than this host supports") +
           "; this host supports ABI version " + SupportedAbiVersions();
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
    const char* v = nullptr;
    if (auto thrown = CallWrapper([&] { v = s.version(); })) {
      return "native wrapper " + path + ": wrapperVersion() threw " + *thrown;
    }
    if (v != nullptr) out.version = v;
  }
  out.path = path;
  out.handle = std::move(handle);
  return "";
}

std::string PluginErrorText(const Symbols& sym, const char* fn, int code) {
  std::string text = std::string(fn) + " returned " + std::to_string(code) + ": ";
  if (sym.error == nullptr) return text + "no wrapperError";
  const char* msg = nullptr;
  if (auto thrown = CallWrapper([&] { msg = sym.error(code); })) return text + "(wrapperError threw " + *thrown + ")";
  return text + (msg != nullptr ? msg : "(wrapperError returned NULL)");
}

}  // namespace aiges
