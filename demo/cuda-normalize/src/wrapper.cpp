/*
 * wrapper.cpp — cuda-normalize's AIGes C-ABI exports (once mode, sync): config and param parsing,
 * input validation, device choice, and ownership of the results wrapperExec hands out.
 *
 * Exports: wrapperInit, wrapperFini, wrapperError, wrapperVersion, wrapperExec, wrapperExecFree.
 * Their C linkage and visibility come from the declarations in aiges/wrapper.h; the linker's
 * version script (exports.map) hides everything else, including the statically linked cudart.
 */
#include <aiges/wrapper.h>

#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "preprocess.h"

#ifndef CUDA_NORMALIZE_WITH_CUDA
#define CUDA_NORMALIZE_WITH_CUDA 0
#endif
#if CUDA_NORMALIZE_WITH_CUDA
#include "gpu.h"
#endif

namespace {

constexpr const char* kVersion = "1.0.0";
constexpr int kMaxInputSide = 16384;
constexpr int kMaxOutputSide = 8192;
constexpr int kDefaultOutSide = 224;
constexpr float kImageNetMean[3] = {0.485f, 0.456f, 0.406f};
constexpr float kImageNetStd[3] = {0.229f, 0.224f, 0.225f};

/* Wrapper error codes (the loader reports them as aiges 10901 init / 10909 exec, with this text). */
enum Code : int {
    kOk = 0,
    kErrConfig = 1001,         /* bad [wrapper] config value */
    kErrNoCudaDevice = 1002,   /* device = "gpu" and no usable CUDA device */
    kErrNoCudaBuild = 1003,    /* device = "gpu" and the library was built without CUDA */
    kErrNotInitialized = 1004, /* exec before wrapperInit or after wrapperFini */
    kErrAlreadyInit = 1005,    /* wrapperInit twice without wrapperFini */
    kErrNoInput = 1101,        /* no `image` item */
    kErrInputType = 1102,      /* `image` is not DataImage */
    kErrEncoding = 1103,       /* `image` encoding is not rgb8 */
    kErrSize = 1104,           /* width/height attribute missing or invalid */
    kErrByteCount = 1105,      /* byte count != width*height*3 */
    kErrParam = 1106,          /* bad out_width/out_height/mean/std */
    kErrCuda = 1201,           /* a CUDA call failed during exec */
    kErrOutOfMemory = 1202,    /* host allocation failed */
    kErrInternal = 1203,       /* null respData, unexpected exception */
    kErrBadFree = 1301,        /* wrapperExecFree given memory wrapperExec did not return */
};

const char* staticText(int code) {
    switch (code) {
    case kOk: return "ok";
    case kErrConfig: return "invalid [wrapper] config: `device` must be \"auto\", \"gpu\" or \"cpu\"";
    case kErrNoCudaDevice: return "no CUDA device is available (device = \"gpu\")";
    case kErrNoCudaBuild: return "no CUDA device is available: this library was built without CUDA (device = \"gpu\")";
    case kErrNotInitialized: return "not initialised: wrapperInit has not succeeded (or wrapperFini was called)";
    case kErrAlreadyInit: return "wrapperInit called again without wrapperFini";
    case kErrNoInput: return "missing input: no item with key `image`";
    case kErrInputType: return "input `image` must have type image (DataImage = 2)";
    case kErrEncoding: return "input `image` must have encoding `rgb8` (interleaved 8-bit RGB)";
    case kErrSize: return "input `image` needs attributes `width` and `height`, integers 1..16384";
    case kErrByteCount: return "input `image` byte count is not width*height*3 (rgb8: 3 bytes per pixel)";
    case kErrParam: return "invalid param: out_width/out_height must be integers 1..8192; mean/std \"r,g,b\" floats, std > 0";
    case kErrCuda: return "CUDA error during exec";
    case kErrOutOfMemory: return "out of host memory";
    case kErrInternal: return "internal error (null respData or unexpected exception)";
    case kErrBadFree: return "wrapperExecFree: pointer was not returned by wrapperExec (or already freed)";
    default: return "unknown cuda-normalize error code";
    }
}

/* Detailed error texts. wrapperError must return static storage, so detailed messages are interned
 * (never freed) and the latest one per code is returned. Only bounded message sets are interned
 * (fixed texts naming a param or attribute, CUDA error strings) — never request values — and the
 * table is capped, so it cannot grow without bound. Under concurrent failures with the same code,
 * wrapperError may return another call's detail for that code. */
class ErrorTexts {
public:
    int set(int code, const std::string& text) {
        std::lock_guard<std::mutex> lock(mu_);
        if (interned_.size() >= kCap && interned_.find(text) == interned_.end()) {
            latest_.erase(code);
            return code;
        }
        latest_[code] = interned_.insert(text).first->c_str();
        return code;
    }
    const char* get(int code) {
        std::lock_guard<std::mutex> lock(mu_);
        const auto it = latest_.find(code);
        return it != latest_.end() ? it->second : staticText(code);
    }

private:
    static constexpr std::size_t kCap = 256;
    std::mutex mu_;
    std::set<std::string> interned_;
    std::unordered_map<int, const char*> latest_;
};

ErrorTexts& errorTexts() {
    static ErrorTexts texts; /* built on first use (thread-safe), destroyed at unload */
    return texts;
}

int fail(int code, const std::string& detail) { return errorTexts().set(code, detail); }

void logLine(const std::string& line) { std::fprintf(stderr, "[cuda-normalize] %s\n", line.c_str()); }

/* What wrapperInit decided. Written by wrapperInit before `initialized` is released. */
struct State {
    std::atomic<bool> initialized{false};
    bool useGpu = false;
#if CUDA_NORMALIZE_WITH_CUDA
    cn::gpu::Probe probe;
#endif
};
State g_state;

/* One wrapperExec result: the DataList node handed out and everything it points to. */
struct Result {
    DataList node{};
    std::array<ParamList, 4> desc{};
    std::array<std::string, 4> descKeys, descValues;
    std::string key;
    std::vector<float> tensor;
};

/* Results handed out and not yet freed, keyed by the node pointer wrapperExec returned. */
class Results {
public:
    void add(std::unique_ptr<Result> r) {
        std::lock_guard<std::mutex> lock(mu_);
        const DataList* node = &r->node;
        live_.emplace(node, std::move(r));
    }
    bool release(const DataList* node) {
        std::unique_ptr<Result> r; /* destroyed outside the lock */
        std::lock_guard<std::mutex> lock(mu_);
        const auto it = live_.find(node);
        if (it == live_.end()) return false;
        r = std::move(it->second);
        live_.erase(it);
        return true;
    }
    std::size_t clear() {
        std::unordered_map<const DataList*, std::unique_ptr<Result>> old;
        std::lock_guard<std::mutex> lock(mu_);
        old.swap(live_);
        return old.size();
    }

private:
    std::mutex mu_;
    std::unordered_map<const DataList*, std::unique_ptr<Result>> live_;
};
Results g_results;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/* A decimal integer in [lo, hi], nothing else (no sign, no spaces inside). */
bool parseInt(std::string_view s, int lo, int hi, int& out) {
    s = trim(s);
    if (s.empty() || s.size() > 9) return false;
    int v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) return false;
    out = v;
    return true;
}

/* "r,g,b": three finite floats (locale-independent). */
bool parseTriple(std::string_view s, float out[3]) {
    for (int i = 0; i < 3; ++i) {
        const std::size_t comma = s.find(',');
        if ((i < 2) != (comma != std::string_view::npos)) return false;
        const std::string_view part = trim(i < 2 ? s.substr(0, comma) : s);
        if (part.empty()) return false;
        float v = 0;
        const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
        if (ec != std::errc() || end != part.data() + part.size() || !std::isfinite(v)) return false;
        out[i] = v;
        if (i < 2) s.remove_prefix(comma + 1);
    }
    return true;
}

const char* find(pParamList list, const char* key) {
    for (pParamList p = list; p != nullptr; p = p->next)
        if (p->key != nullptr && std::strcmp(p->key, key) == 0) return p->value != nullptr ? p->value : "";
    return nullptr;
}

/* Request params -> the output size and normalisation; returns kOk or kErrParam with detail. */
int parseParams(pParamList params, cn::Params& p) {
    p.outW = p.outH = kDefaultOutSide;
    std::memcpy(p.mean, kImageNetMean, sizeof p.mean);
    std::memcpy(p.std, kImageNetStd, sizeof p.std);
    const std::string range = " must be an integer 1.." + std::to_string(kMaxOutputSide);
    if (const char* v = find(params, "out_width"); v != nullptr && !parseInt(v, 1, kMaxOutputSide, p.outW))
        return fail(kErrParam, "invalid param `out_width`:" + range);
    if (const char* v = find(params, "out_height"); v != nullptr && !parseInt(v, 1, kMaxOutputSide, p.outH))
        return fail(kErrParam, "invalid param `out_height`:" + range);
    if (const char* v = find(params, "mean"); v != nullptr && !parseTriple(v, p.mean))
        return fail(kErrParam, "invalid param `mean`: must be three finite floats \"r,g,b\"");
    if (const char* v = find(params, "std"); v != nullptr) {
        if (!parseTriple(v, p.std) || !(p.std[0] > 0 && p.std[1] > 0 && p.std[2] > 0))
            return fail(kErrParam, "invalid param `std`: must be three finite floats \"r,g,b\", each > 0");
    }
    return kOk;
}

/* Finds and checks the `image` item; fills the input size. */
int checkInput(pDataList req, const DataList*& image, cn::Params& p) {
    image = nullptr;
    for (pDataList d = req; d != nullptr; d = d->next)
        if (d->key != nullptr && std::strcmp(d->key, "image") == 0) {
            image = d;
            break;
        }
    if (image == nullptr) return fail(kErrNoInput, staticText(kErrNoInput));
    if (image->type != DataImage) return fail(kErrInputType, staticText(kErrInputType));
    if (const char* enc = find(image->desc, "encoding"); enc != nullptr && *enc != '\0' && std::strcmp(enc, "rgb8") != 0)
        return fail(kErrEncoding, staticText(kErrEncoding));
    const std::string range = " must be an integer 1.." + std::to_string(kMaxInputSide);
    for (const char* attr : {"width", "height"}) {
        const char* v = find(image->desc, attr);
        int& side = attr[0] == 'w' ? p.inW : p.inH;
        if (v == nullptr) return fail(kErrSize, std::string("input `image`: attribute `") + attr + "` is missing");
        if (!parseInt(v, 1, kMaxInputSide, side))
            return fail(kErrSize, std::string("input `image`: attribute `") + attr + "`" + range);
    }
    const unsigned long long want = 3ULL * static_cast<unsigned long long>(p.inW) * static_cast<unsigned long long>(p.inH);
    if (image->data == nullptr || image->len != want) return fail(kErrByteCount, staticText(kErrByteCount));
    return kOk;
}

void setDesc(Result& r, std::size_t i, const char* key, std::string value) {
    r.descKeys[i] = key;
    r.descValues[i] = std::move(value);
    ParamList& d = r.desc[i];
    d.key = r.descKeys[i].data();
    d.value = r.descValues[i].data();
    d.vlen = static_cast<unsigned int>(r.descValues[i].size());
    d.next = i + 1 < r.desc.size() ? &r.desc[i + 1] : nullptr;
}

int exec(pParamList params, pDataList req, pDataList* resp) {
    if (!g_state.initialized.load(std::memory_order_acquire)) return fail(kErrNotInitialized, staticText(kErrNotInitialized));
    cn::Params p{};
    const DataList* image = nullptr;
    if (const int rc = checkInput(req, image, p); rc != kOk) return rc;
    if (const int rc = parseParams(params, p); rc != kOk) return rc;
    p.scaleX = cn::scaleFor(p.inW, p.outW);
    p.scaleY = cn::scaleFor(p.inH, p.outH);

    auto r = std::make_unique<Result>();
    const std::size_t count = 3 * static_cast<std::size_t>(p.outW) * static_cast<std::size_t>(p.outH);
    r->tensor.resize(count);
    const auto* in = static_cast<const std::uint8_t*>(image->data);
    const bool gpu = g_state.useGpu;
#if CUDA_NORMALIZE_WITH_CUDA
    if (gpu) {
        const std::string err = cn::gpu::resizeNormalize(g_state.probe, in, image->len, r->tensor.data(), p);
        if (!err.empty()) return fail(kErrCuda, "CUDA error during exec: " + err);
    } else
#endif
    {
        cn::resizeNormalizeCpu(in, r->tensor.data(), p);
    }

    r->key = "tensor";
    setDesc(*r, 0, "encoding", "raw");
    setDesc(*r, 1, "datatype", "FP32");
    setDesc(*r, 2, "shape", "3," + std::to_string(p.outH) + "," + std::to_string(p.outW));
    setDesc(*r, 3, "device", gpu ? "gpu" : "cpu");
    DataList& n = r->node;
    n.key = r->key.data();
    n.data = r->tensor.data();
    n.len = static_cast<unsigned int>(count * sizeof(float));
    n.type = DataPer;
    n.status = DataOnce;
    n.desc = r->desc.data();
    n.next = nullptr;
    DataList* out = &r->node;
    g_results.add(std::move(r)); /* may throw bad_alloc: then nothing was handed out */
    *resp = out;
    return kOk;
}

int init(pConfig cfg) {
    if (g_state.initialized.load(std::memory_order_acquire)) return fail(kErrAlreadyInit, staticText(kErrAlreadyInit));
    const char* dev = find(cfg, "device");
    const std::string mode = dev != nullptr && *dev != '\0' ? dev : "auto";
    if (mode != "auto" && mode != "gpu" && mode != "cpu") {
        const int rc = fail(kErrConfig, staticText(kErrConfig));
        logLine(std::string("init failed: ") + staticText(kErrConfig));
        return rc;
    }
    g_state.useGpu = false;
    if (mode == "cpu") {
        logLine("device: CPU (device = \"cpu\" in [wrapper] config)");
    } else {
#if CUDA_NORMALIZE_WITH_CUDA
        g_state.probe = cn::gpu::probe();
        const cn::gpu::Probe& pr = g_state.probe;
        if (pr.usable) {
            g_state.useGpu = true;
            logLine("device: GPU " + std::to_string(pr.device) + " \"" + pr.name + "\" (compute capability " +
                    std::to_string(pr.major) + "." + std::to_string(pr.minor) + ", CUDA runtime " +
                    cn::gpu::runtimeVersion() + ")");
        } else if (mode == "gpu") {
            const std::string msg = "no CUDA device is available (device = \"gpu\"): " + pr.why;
            logLine("init failed: " + msg);
            return fail(kErrNoCudaDevice, msg);
        } else {
            logLine("device: CPU (device = \"auto\" and no usable CUDA device: " + pr.why + ")");
        }
#else
        if (mode == "gpu") {
            logLine(std::string("init failed: ") + staticText(kErrNoCudaBuild));
            return fail(kErrNoCudaBuild, staticText(kErrNoCudaBuild));
        }
        logLine("device: CPU (built without CUDA)");
#endif
    }
    g_state.initialized.store(true, std::memory_order_release);
    return kOk;
}

} // namespace

int WrapperAPI wrapperInit(pConfig cfg) {
    try {
        return init(cfg);
    } catch (const std::bad_alloc&) {
        return kErrOutOfMemory;
    } catch (...) {
        return kErrInternal;
    }
}

int WrapperAPI wrapperFini() {
    g_state.initialized.store(false, std::memory_order_release);
    const std::size_t leaked = g_results.clear();
    if (leaked != 0) logLine("wrapperFini: freed " + std::to_string(leaked) + " result(s) never passed to wrapperExecFree");
    return kOk;
}

WrapperAPI const char* wrapperError(int errNum) {
    try {
        return errorTexts().get(errNum);
    } catch (...) {
        return staticText(errNum);
    }
}

WrapperAPI const char* wrapperVersion() {
#if CUDA_NORMALIZE_WITH_CUDA
    static const std::string v = std::string("cuda-normalize ") + kVersion + " (CUDA " + cn::gpu::runtimeVersion() + ")";
#else
    static const std::string v = std::string("cuda-normalize ") + kVersion + " (CPU only)";
#endif
    return v.c_str();
}

int WrapperAPI wrapperExec(const char* usrTag, pParamList params, pDataList reqData, pDataList* respData,
                           unsigned int psrIds[], int psrCnt) {
    (void)usrTag;
    (void)psrIds;
    (void)psrCnt;
    if (respData == nullptr) return kErrInternal;
    *respData = nullptr;
    try {
        return exec(params, reqData, respData);
    } catch (const std::bad_alloc&) {
        return kErrOutOfMemory;
    } catch (...) {
        return kErrInternal;
    }
}

int WrapperAPI wrapperExecFree(const char* usrTag, pDataList* respData) {
    (void)usrTag;
    if (respData == nullptr || *respData == nullptr) return kOk;
    if (!g_results.release(*respData)) return kErrBadFree;
    *respData = nullptr;
    return kOk;
}
