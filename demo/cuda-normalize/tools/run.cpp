/*
 * run.cpp — standalone driver for libcuda_normalize.so (or any once-mode AIGes wrapper with the
 * same schema). It dlopens the library the way the loader's native host does, calls wrapperInit
 * with a config, runs wrapperExec on an image (a raw rgb8 file or a generated test pattern),
 * prints one JSON line, then calls wrapperExecFree and wrapperFini.
 *
 *   run [--lib PATH] [--device auto|gpu|cpu] [--config K=V]...
 *       [--image FILE] [--width W] [--height H]        input (default: 640x480 test pattern)
 *       [--param K=V]...                                request params (out_width, mean, ...)
 *       [--attr K=V]... [--no-attr K] [--key NAME] [--type N] [--bytes N]   (to send bad input)
 *       [--compare] [--tolerance T]                     check against the reference below
 *       [--dump FILE]                                   write the output tensor's raw bytes
 *       [--repeat N] [--threads T]                      T threads x N calls; all must agree
 *
 * Exit status: 0 ok, 1 usage, 2 init failed, 3 exec failed, 4 compare/consistency failed,
 * 5 library not loadable, 6 wrapperExecFree failed.
 *
 * The reference (--compare) is written independently of the library: sample coordinates in
 * float32, exactly as PyTorch computes them for a float tensor (the spec), interpolation and
 * normalisation in double.
 */
#include <aiges/wrapper.h>
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
    std::string lib;
    std::string device; /* empty: no `device` key in the config (library default) */
    std::map<std::string, std::string> config, params, attrs;
    std::vector<std::string> dropAttrs;
    std::string image, dump, key = "image";
    int width = 640, height = 480, type = DataImage;
    long long bytes = -1;
    bool compare = false;
    double tolerance = 1e-4;
    int repeat = 1, threads = 1;
};

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr, "run: %s\nsee the comment at the top of tools/run.cpp for the options\n", why.c_str());
    std::exit(1);
}

std::string jsonString(const std::string& s) {
    std::string out = "\"";
    for (const unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string jsonNumber(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

std::string exeDir() {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return ".";
    std::string p(buf, static_cast<std::size_t>(n));
    const std::size_t slash = p.rfind('/');
    return slash == std::string::npos ? "." : p.substr(0, slash);
}

void splitKv(const std::string& kv, std::map<std::string, std::string>& into) {
    const std::size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) usage("expected KEY=VALUE, got '" + kv + "'");
    into[kv.substr(0, eq)] = kv.substr(eq + 1);
}

long long toInt(const std::string& s, const char* what) {
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0') usage(std::string("bad number for ") + what + ": '" + s + "'");
    return v;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage("missing value after " + a);
            return argv[++i];
        };
        if (a == "--lib") o.lib = next();
        else if (a == "--device") o.device = next();
        else if (a == "--config") splitKv(next(), o.config);
        else if (a == "--param") splitKv(next(), o.params);
        else if (a == "--attr") splitKv(next(), o.attrs);
        else if (a == "--no-attr") o.dropAttrs.push_back(next());
        else if (a == "--image") o.image = next();
        else if (a == "--width") o.width = static_cast<int>(toInt(next(), "--width"));
        else if (a == "--height") o.height = static_cast<int>(toInt(next(), "--height"));
        else if (a == "--key") o.key = next();
        else if (a == "--type") o.type = static_cast<int>(toInt(next(), "--type"));
        else if (a == "--bytes") o.bytes = toInt(next(), "--bytes");
        else if (a == "--compare") o.compare = true;
        else if (a == "--tolerance") o.tolerance = std::atof(next().c_str());
        else if (a == "--dump") o.dump = next();
        else if (a == "--repeat") o.repeat = static_cast<int>(toInt(next(), "--repeat"));
        else if (a == "--threads") o.threads = static_cast<int>(toInt(next(), "--threads"));
        else if (a == "--help" || a == "-h") usage("usage");
        else usage("unknown option " + a);
    }
    if (o.width < 1 || o.height < 1 || o.repeat < 1 || o.threads < 1) usage("width, height, repeat, threads must be >= 1");
    if (o.lib.empty()) o.lib = exeDir() + "/libcuda_normalize.so";
    if (!o.device.empty()) o.config["device"] = o.device;
    return o;
}

/* A deterministic test pattern: smooth ramps in R and G, a high-frequency pattern in B. */
std::vector<unsigned char> testPattern(int w, int h) {
    std::vector<unsigned char> img(static_cast<std::size_t>(w) * h * 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            unsigned char* px = &img[(static_cast<std::size_t>(y) * w + x) * 3];
            px[0] = static_cast<unsigned char>(w > 1 ? x * 255 / (w - 1) : 128);
            px[1] = static_cast<unsigned char>(h > 1 ? y * 255 / (h - 1) : 128);
            px[2] = static_cast<unsigned char>((x * 7 + y * 13) & 255);
        }
    return img;
}

/* Owns the string key/value lists passed to the library (ParamList needs mutable char*). */
class KvList {
public:
    explicit KvList(const std::map<std::string, std::string>& kv) {
        for (const auto& [k, v] : kv) {
            keys_.push_back(k);
            values_.push_back(v);
        }
        nodes_.resize(keys_.size());
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            nodes_[i].key = keys_[i].data();
            nodes_[i].value = values_[i].data();
            nodes_[i].vlen = static_cast<unsigned int>(values_[i].size());
            nodes_[i].next = i + 1 < nodes_.size() ? &nodes_[i + 1] : nullptr;
        }
    }
    pParamList head() { return nodes_.empty() ? nullptr : nodes_.data(); }

private:
    std::vector<std::string> keys_, values_;
    std::vector<ParamList> nodes_;
};

struct Api {
    wrapperInitPtr init = nullptr;
    wrapperFiniPtr fini = nullptr;
    wrapperErrorPtr error = nullptr;
    wrapperVersionPtr version = nullptr;
    wrapperExecPtr exec = nullptr;
    wrapperExecFreePtr execFree = nullptr;
};

std::string errorText(const Api& api, int code) {
    const char* t = api.error != nullptr ? api.error(code) : nullptr;
    return t != nullptr ? t : "";
}

[[noreturn]] void failJson(const char* stage, int code, const std::string& error, int exitCode) {
    std::printf("{\"ok\":false,\"stage\":\"%s\",\"code\":%d,\"error\":%s}\n", stage, code, jsonString(error).c_str());
    std::fflush(stdout);
    std::exit(exitCode);
}

const char* findDesc(pDescList d, const char* key) {
    for (; d != nullptr; d = d->next)
        if (d->key != nullptr && std::strcmp(d->key, key) == 0) return d->value;
    return nullptr;
}

bool parseTriple(const std::string& s, double out[3]) {
    std::istringstream in(s);
    std::string part;
    int n = 0;
    while (std::getline(in, part, ',')) {
        if (n == 3) return false;
        out[n++] = std::strtod(part.c_str(), nullptr);
    }
    return n == 3;
}

/* Reference resize+normalise (independent of the library's code). */
std::vector<float> reference(const std::vector<unsigned char>& img, int inW, int inH, int outW, int outH,
                             const double mean[3], const double stdv[3]) {
    struct Sample { int lo, hi; double t; };
    auto sample = [](int dst, int in, int out) {
        const float scale = static_cast<float>(in) / static_cast<float>(out);
        const float src = std::max(0.0f, (static_cast<float>(dst) + 0.5f) * scale - 0.5f); /* float32, as PyTorch */
        const int lo = std::min(static_cast<int>(std::floor(src)), in - 1);
        return Sample{lo, std::min(lo + 1, in - 1), static_cast<double>(src) - lo};
    };
    std::vector<float> out(static_cast<std::size_t>(3) * outW * outH);
    for (int y = 0; y < outH; ++y) {
        const Sample sy = sample(y, inH, outH);
        for (int x = 0; x < outW; ++x) {
            const Sample sx = sample(x, inW, outW);
            for (int c = 0; c < 3; ++c) {
                auto at = [&](int yy, int xx) { return static_cast<double>(img[(static_cast<std::size_t>(yy) * inW + xx) * 3 + c]); };
                const double v = (1 - sy.t) * ((1 - sx.t) * at(sy.lo, sx.lo) + sx.t * at(sy.lo, sx.hi)) +
                                 sy.t * ((1 - sx.t) * at(sy.hi, sx.lo) + sx.t * at(sy.hi, sx.hi));
                out[(static_cast<std::size_t>(c) * outH + y) * outW + x] = static_cast<float>((v / 255.0 - mean[c]) / stdv[c]);
            }
        }
    }
    return out;
}

} // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);

    std::vector<unsigned char> img;
    if (!o.image.empty()) {
        std::ifstream f(o.image, std::ios::binary);
        if (!f) usage("cannot read " + o.image);
        img.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    } else {
        img = testPattern(o.width, o.height);
    }
    std::vector<unsigned char> sent = img;
    if (o.bytes >= 0) sent.resize(static_cast<std::size_t>(o.bytes), 0);

    void* handle = dlopen(o.lib.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* e = dlerror();
        failJson("load", 0, e != nullptr ? e : "dlopen failed", 5);
    }
    Api api;
    api.init = reinterpret_cast<wrapperInitPtr>(dlsym(handle, "wrapperInit"));
    api.fini = reinterpret_cast<wrapperFiniPtr>(dlsym(handle, "wrapperFini"));
    api.error = reinterpret_cast<wrapperErrorPtr>(dlsym(handle, "wrapperError"));
    api.version = reinterpret_cast<wrapperVersionPtr>(dlsym(handle, "wrapperVersion"));
    api.exec = reinterpret_cast<wrapperExecPtr>(dlsym(handle, "wrapperExec"));
    api.execFree = reinterpret_cast<wrapperExecFreePtr>(dlsym(handle, "wrapperExecFree"));
    if (api.init == nullptr || api.exec == nullptr || api.execFree == nullptr)
        failJson("load", 0, "library lacks wrapperInit/wrapperExec/wrapperExecFree", 5);
    const std::string version = api.version != nullptr ? api.version() : "";

    KvList config(o.config);
    if (const int rc = api.init(config.head()); rc != 0) failJson("init", rc, errorText(api, rc), 2);

    std::map<std::string, std::string> attrs = {{"encoding", "rgb8"},
                                                {"width", std::to_string(o.width)},
                                                {"height", std::to_string(o.height)}};
    for (const auto& [k, v] : o.attrs) attrs[k] = v;
    for (const auto& k : o.dropAttrs) attrs.erase(k);
    std::map<std::string, std::string> params = o.params;
    params.emplace("sid", "run-0");

    /* One call: runs exec, copies the output out, frees it. Thread-safe (own lists per call). */
    struct Output {
        int rc = 0;
        std::string stage, error, device, datatype, shape, encoding;
        std::vector<float> tensor;
    };
    auto call = [&](int n) {
        Output out;
        KvList desc(attrs), par(params);
        std::string key = o.key;
        DataList req{};
        req.key = key.data();
        req.data = sent.data();
        req.len = static_cast<unsigned int>(sent.size());
        req.type = static_cast<DataType>(o.type);
        req.status = DataOnce;
        req.desc = desc.head();
        const std::string tag = "run-" + std::to_string(n);
        pDataList resp = nullptr;
        out.rc = api.exec(tag.c_str(), par.head(), &req, &resp, nullptr, 0);
        if (out.rc != 0) {
            out.stage = "exec";
            out.error = errorText(api, out.rc);
            return out;
        }
        if (resp == nullptr || resp->key == nullptr || std::strcmp(resp->key, "tensor") != 0 || resp->len % 4 != 0) {
            out.rc = -1;
            out.stage = "exec";
            out.error = "exec returned no `tensor` item (or a bad length)";
        } else {
            out.tensor.resize(resp->len / 4);
            std::memcpy(out.tensor.data(), resp->data, resp->len);
            const char* v;
            out.device = (v = findDesc(resp->desc, "device")) != nullptr ? v : "";
            out.datatype = (v = findDesc(resp->desc, "datatype")) != nullptr ? v : "";
            out.shape = (v = findDesc(resp->desc, "shape")) != nullptr ? v : "";
            out.encoding = (v = findDesc(resp->desc, "encoding")) != nullptr ? v : "";
        }
        if (const int frc = api.execFree(tag.c_str(), &resp); frc != 0 || resp != nullptr) {
            out.rc = frc != 0 ? frc : -1;
            out.stage = "free";
            out.error = frc != 0 ? errorText(api, frc) : "wrapperExecFree did not clear *respData";
        }
        return out;
    };

    const auto t0 = std::chrono::steady_clock::now();
    const Output first = call(0);
    if (first.rc != 0) failJson(first.stage.c_str(), first.rc, first.error, first.stage == "free" ? 6 : 3);

    /* More calls, possibly concurrent: every result must equal the first bit for bit. */
    std::atomic<int> mismatches{0}, failures{0};
    const int total = o.threads * o.repeat;
    if (total > 1) {
        std::vector<std::thread> pool;
        std::atomic<int> seq{1};
        for (int t = 0; t < o.threads; ++t)
            pool.emplace_back([&, t] {
                for (int i = (t == 0 ? 1 : 0); i < o.repeat; ++i) {
                    const Output r = call(seq++);
                    if (r.rc != 0) ++failures;
                    else if (r.tensor.size() != first.tensor.size() ||
                             std::memcmp(r.tensor.data(), first.tensor.data(), r.tensor.size() * sizeof(float)) != 0)
                        ++mismatches;
                }
            });
        for (auto& th : pool) th.join();
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

    if (!o.dump.empty()) {
        std::ofstream f(o.dump, std::ios::binary);
        f.write(reinterpret_cast<const char*>(first.tensor.data()),
                static_cast<std::streamsize>(first.tensor.size() * sizeof(float)));
        if (!f) usage("cannot write " + o.dump);
    }

    double checksum = 0;
    for (const float v : first.tensor) checksum += v;
    std::string json = "{\"ok\":true,\"lib\":" + jsonString(o.lib) + ",\"version\":" + jsonString(version) +
                       ",\"device\":" + jsonString(first.device) + ",\"datatype\":" + jsonString(first.datatype) +
                       ",\"encoding\":" + jsonString(first.encoding) + ",\"shape\":[" + first.shape + "]" +
                       ",\"count\":" + std::to_string(first.tensor.size()) + ",\"checksum\":" + jsonNumber(checksum) +
                       ",\"first\":[";
    for (std::size_t i = 0; i < std::min<std::size_t>(6, first.tensor.size()); ++i)
        json += (i ? "," : "") + jsonNumber(first.tensor[i]);
    json += "],\"calls\":" + std::to_string(total) + ",\"threads\":" + std::to_string(o.threads) +
            ",\"failures\":" + std::to_string(failures.load()) + ",\"mismatches\":" + std::to_string(mismatches.load()) +
            ",\"avg_ms\":" + jsonNumber(ms / total);

    bool ok = failures == 0 && mismatches == 0;
    if (o.compare) {
        int outH = 0, outW = 0;
        double mean[3] = {0.485, 0.456, 0.406}, stdv[3] = {0.229, 0.224, 0.225};
        if (std::sscanf(first.shape.c_str(), "3,%d,%d", &outH, &outW) != 2 || outH < 1 || outW < 1 ||
            static_cast<std::size_t>(3) * outH * outW != first.tensor.size())
            failJson("compare", 0, "output shape '" + first.shape + "' does not match its length", 4);
        if (const auto it = params.find("mean"); it != params.end()) parseTriple(it->second, mean);
        if (const auto it = params.find("std"); it != params.end()) parseTriple(it->second, stdv);
        const std::vector<float> ref = reference(img, o.width, o.height, outW, outH, mean, stdv);
        double maxDiff = 0;
        for (std::size_t i = 0; i < ref.size(); ++i)
            maxDiff = std::max(maxDiff, std::fabs(static_cast<double>(ref[i]) - first.tensor[i]));
        const bool match = maxDiff <= o.tolerance;
        ok = ok && match;
        json += ",\"compare\":{\"reference\":\"cpu (driver)\",\"max_abs_diff\":" + jsonNumber(maxDiff) +
                ",\"tolerance\":" + jsonNumber(o.tolerance) + ",\"ok\":" + (match ? "true" : "false") + "}";
    }
    json += "}";
    std::printf("%s\n", json.c_str());
    std::fflush(stdout);

    if (api.fini != nullptr) api.fini();
    dlclose(handle);
    return ok ? 0 : 4;
}
