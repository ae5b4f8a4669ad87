/*
 * preprocess.h — the per-pixel math of cuda-normalize, shared by the CUDA kernel and the CPU loops
 * so that both paths compute the same thing by construction.
 *
 * Bilinear resize with half-pixel centres (align_corners = false, no antialias), as PyTorch's
 * F.interpolate(mode="bilinear", align_corners=False) computes it on a float tensor:
 *   src = (dst + 0.5) * (in / out) - 0.5, clamped below at 0;
 *   i0 = floor(src), i1 = min(i0 + 1, in - 1), w1 = src - i0;
 *   v = (1-wy)*((1-wx)*p00 + wx*p01) + wy*((1-wx)*p10 + wx*p11)
 * then normalised per channel: (v / 255 - mean[c]) / std[c].
 *
 * Input: interleaved 8-bit RGB (HWC). Output: planar float32 (CHW).
 * This header has no CUDA dependency: without nvcc the qualifiers expand to plain `inline`.
 */
#ifndef CUDA_NORMALIZE_PREPROCESS_H
#define CUDA_NORMALIZE_PREPROCESS_H

#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define CN_HD __host__ __device__ __forceinline__
#else
#define CN_HD inline
#endif

namespace cn {

/* Everything one resize+normalise needs besides the pixels. Plain data: passed to the kernel
 * by value. The scales are computed once on the host (scaleFor) so both paths use the same floats. */
struct Params {
    int inW, inH;   /* input size, >= 1 */
    int outW, outH; /* output size, >= 1 */
    float scaleX, scaleY;
    float mean[3];
    float std[3];
};

/* Source sample positions along one axis for one output coordinate. */
struct Tap {
    int i0, i1; /* the two neighbours (equal at the last input pixel) */
    float w1;   /* weight of i1; i0 gets 1 - w1 */
};

inline float scaleFor(int in, int out) { return static_cast<float>(in) / static_cast<float>(out); }

/* Rounded float multiply and add that a compiler may not fuse into an FMA. The sample coordinate
 * must round identically on both paths: at a hard edge, one ulp of `src` moves the result by up to
 * 255 * ulp(src) levels. (The CPU side is compiled with -ffp-contract=off.) The interpolation below
 * may be contracted by nvcc; that changes results by ~1e-7 only. */
CN_HD float mulRn(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}
CN_HD float addRn(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

CN_HD Tap tapFor(int dst, float scale, int inSize) {
    float src = addRn(mulRn(static_cast<float>(dst) + 0.5f, scale), -0.5f);
    if (src < 0.0f) src = 0.0f;
    int i0 = static_cast<int>(src); /* floor: src >= 0 */
    if (i0 > inSize - 1) i0 = inSize - 1;
    Tap t;
    t.i0 = i0;
    t.i1 = i0 < inSize - 1 ? i0 + 1 : i0;
    t.w1 = src - static_cast<float>(i0);
    return t;
}

/* Computes output pixel (x, y) of all three planes. `out` is the CHW tensor. */
CN_HD void pixel(const std::uint8_t* in, float* out, const Params& p, const Tap& tx, const Tap& ty, int x,
                 int y) {
    const std::size_t rowStride = static_cast<std::size_t>(p.inW) * 3;
    const std::uint8_t* r0 = in + static_cast<std::size_t>(ty.i0) * rowStride;
    const std::uint8_t* r1 = in + static_cast<std::size_t>(ty.i1) * rowStride;
    const std::size_t c0 = static_cast<std::size_t>(tx.i0) * 3;
    const std::size_t c1 = static_cast<std::size_t>(tx.i1) * 3;
    const float wx1 = tx.w1, wx0 = 1.0f - tx.w1;
    const float wy1 = ty.w1, wy0 = 1.0f - ty.w1;
    const std::size_t plane = static_cast<std::size_t>(p.outW) * static_cast<std::size_t>(p.outH);
    const std::size_t at = static_cast<std::size_t>(y) * static_cast<std::size_t>(p.outW) + static_cast<std::size_t>(x);
    for (int c = 0; c < 3; ++c) {
        const float top = wx0 * static_cast<float>(r0[c0 + c]) + wx1 * static_cast<float>(r0[c1 + c]);
        const float bottom = wx0 * static_cast<float>(r1[c0 + c]) + wx1 * static_cast<float>(r1[c1 + c]);
        const float v = wy0 * top + wy1 * bottom;
        out[static_cast<std::size_t>(c) * plane + at] = (v / 255.0f - p.mean[c]) / p.std[c];
    }
}

/* The CPU path: plain loops over every output pixel. `out` holds 3 * outW * outH floats. */
void resizeNormalizeCpu(const std::uint8_t* in, float* out, const Params& p);

} // namespace cn

#endif /* CUDA_NORMALIZE_PREPROCESS_H */
