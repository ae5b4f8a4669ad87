/*
 * gpu.h — the CUDA path's interface, in plain C++ (no CUDA types), so that wrapper.cpp compiles
 * without CUDA headers. Only built when CUDA_NORMALIZE_WITH_CUDA is 1.
 */
#ifndef CUDA_NORMALIZE_GPU_H
#define CUDA_NORMALIZE_GPU_H

#include <cstddef>
#include <cstdint>
#include <string>

#include "preprocess.h"

namespace cn::gpu {

/* What init learned about the GPU. */
struct Probe {
    bool usable = false;    /* a device is present and can run this library's kernel */
    int device = 0;         /* CUDA device index used */
    std::string name;       /* e.g. "NVIDIA H100 80GB HBM3" */
    int major = 0, minor = 0; /* compute capability */
    bool memoryPools = false; /* cudaMallocAsync available */
    std::string why;        /* when not usable: what failed, with the CUDA error string */
};

/* Checks for a usable device (device 0): a device count >= 1, its properties, and that the kernel
 * has an image for its architecture. Touches the CUDA runtime (and so the driver). */
Probe probe();

/* Resize+normalise on the GPU described by `probe` (which must be usable). `in` holds
 * inW*inH*3 bytes, `out` room for 3*outW*outH floats (host memory). Returns "" on success, else
 * "<CUDA call>: <CUDA error string> (<error name>)". Safe to call from several threads at once:
 * each call uses its own stream and buffers. */
std::string resizeNormalize(const Probe& probe, const std::uint8_t* in, std::size_t inBytes, float* out,
                            const Params& p);

/* The CUDA runtime version the library was built with, e.g. "13.0". */
std::string runtimeVersion();

} // namespace cn::gpu

#endif /* CUDA_NORMALIZE_GPU_H */
