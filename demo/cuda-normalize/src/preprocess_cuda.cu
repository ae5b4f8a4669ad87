/*
 * preprocess_cuda.cu — the GPU path: one kernel does resize + normalise in one pass, one thread per
 * output pixel (all three channels). Every CUDA call is checked; device memory and streams are
 * owned by RAII holders so that every early return frees them.
 */
#include <cuda_runtime.h>

#include <cstdio>

#include "gpu.h"
#include "preprocess.h"

namespace cn::gpu {
namespace {

__global__ void resizeNormalizeKernel(const std::uint8_t* __restrict__ in, float* __restrict__ out, Params p) {
    const int x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
    const int y = static_cast<int>(blockIdx.y * blockDim.y + threadIdx.y);
    if (x >= p.outW || y >= p.outH) return;
    pixel(in, out, p, tapFor(x, p.scaleX, p.inW), tapFor(y, p.scaleY, p.inH), x, y);
}

std::string failure(const char* call, cudaError_t e) {
    return std::string(call) + ": " + cudaGetErrorString(e) + " (" + cudaGetErrorName(e) + ")";
}

void warn(const char* call, cudaError_t e) {
    std::fprintf(stderr, "[cuda-normalize] warning: %s\n", failure(call, e).c_str());
}

/* A non-blocking stream, destroyed on scope exit. */
class Stream {
public:
    Stream() = default;
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    ~Stream() {
        if (s_ != nullptr) {
            const cudaError_t e = cudaStreamDestroy(s_);
            if (e != cudaSuccess) warn("cudaStreamDestroy", e);
        }
    }
    cudaError_t create() { return cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking); }
    cudaStream_t get() const { return s_; }

private:
    cudaStream_t s_ = nullptr;
};

/* Device memory, freed on scope exit: stream-ordered (cudaMallocAsync/cudaFreeAsync) where the
 * device supports memory pools, so concurrent calls do not serialise on cudaFree. Declare it after
 * the Stream it uses so that it is freed before the stream is destroyed. */
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    ~DeviceBuffer() {
        if (p_ == nullptr) return;
        const cudaError_t e = async_ ? cudaFreeAsync(p_, stream_) : cudaFree(p_);
        if (e != cudaSuccess) warn(async_ ? "cudaFreeAsync" : "cudaFree", e);
    }
    cudaError_t allocate(std::size_t bytes, cudaStream_t stream, bool async) {
        stream_ = stream;
        async_ = async;
        return async ? cudaMallocAsync(&p_, bytes, stream) : cudaMalloc(&p_, bytes);
    }
    template <typename T> T* as() const { return static_cast<T*>(p_); }

private:
    void* p_ = nullptr;
    cudaStream_t stream_ = nullptr;
    bool async_ = false;
};

#define CN_CHECK(call)                                  \
    do {                                                \
        const cudaError_t cnErr_ = (call);              \
        if (cnErr_ != cudaSuccess) return failure(#call, cnErr_); \
    } while (0)

} // namespace

Probe probe() {
    Probe r;
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        r.why = failure("cudaGetDeviceCount", e);
        return r;
    }
    if (count < 1) {
        r.why = "cudaGetDeviceCount: 0 devices";
        return r;
    }
    r.device = 0;
    if ((e = cudaSetDevice(r.device)) != cudaSuccess) {
        r.why = failure("cudaSetDevice", e);
        return r;
    }
    cudaDeviceProp prop{};
    if ((e = cudaGetDeviceProperties(&prop, r.device)) != cudaSuccess) {
        r.why = failure("cudaGetDeviceProperties", e);
        return r;
    }
    r.name = prop.name;
    r.major = prop.major;
    r.minor = prop.minor;
    /* Fails with cudaErrorNoKernelImageForDevice when the device's architecture is not among the
     * compiled ones (and no PTX can be JIT-compiled for it). */
    cudaFuncAttributes attr{};
    if ((e = cudaFuncGetAttributes(&attr, resizeNormalizeKernel)) != cudaSuccess) {
        r.why = failure("cudaFuncGetAttributes(resizeNormalizeKernel)", e);
        return r;
    }
    int pools = 0;
    if ((e = cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, r.device)) != cudaSuccess) {
        r.why = failure("cudaDeviceGetAttribute(cudaDevAttrMemoryPoolsSupported)", e);
        return r;
    }
    r.memoryPools = pools != 0;
    r.usable = true;
    return r;
}

std::string resizeNormalize(const Probe& probe, const std::uint8_t* in, std::size_t inBytes, float* out,
                            const Params& p) {
    const std::size_t outBytes =
        3 * static_cast<std::size_t>(p.outW) * static_cast<std::size_t>(p.outH) * sizeof(float);
    /* The runtime's current device is per host thread; the host calls us from its worker threads. */
    CN_CHECK(cudaSetDevice(probe.device));
    Stream stream;
    CN_CHECK(stream.create());
    DeviceBuffer dIn, dOut; /* after `stream`: freed before it is destroyed */
    CN_CHECK(dIn.allocate(inBytes, stream.get(), probe.memoryPools));
    CN_CHECK(dOut.allocate(outBytes, stream.get(), probe.memoryPools));
    CN_CHECK(cudaMemcpyAsync(dIn.as<void>(), in, inBytes, cudaMemcpyHostToDevice, stream.get()));
    const dim3 block(32, 8);
    const dim3 grid((static_cast<unsigned>(p.outW) + block.x - 1) / block.x,
                    (static_cast<unsigned>(p.outH) + block.y - 1) / block.y);
    resizeNormalizeKernel<<<grid, block, 0, stream.get()>>>(dIn.as<const std::uint8_t>(), dOut.as<float>(), p);
    CN_CHECK(cudaGetLastError());
    CN_CHECK(cudaMemcpyAsync(out, dOut.as<void>(), outBytes, cudaMemcpyDeviceToHost, stream.get()));
    CN_CHECK(cudaStreamSynchronize(stream.get()));
    return std::string();
}

std::string runtimeVersion() {
    return std::to_string(CUDART_VERSION / 1000) + "." + std::to_string((CUDART_VERSION % 1000) / 10);
}

} // namespace cn::gpu
