/* preprocess_cpu.cpp — the CPU path: the same per-pixel math as the kernel, in plain loops. */
#include "preprocess.h"

#include <vector>

namespace cn {

void resizeNormalizeCpu(const std::uint8_t* in, float* out, const Params& p) {
    std::vector<Tap> cols(static_cast<std::size_t>(p.outW));
    for (int x = 0; x < p.outW; ++x) cols[static_cast<std::size_t>(x)] = tapFor(x, p.scaleX, p.inW);
    for (int y = 0; y < p.outH; ++y) {
        const Tap ty = tapFor(y, p.scaleY, p.inH);
        for (int x = 0; x < p.outW; ++x) pixel(in, out, p, cols[static_cast<std::size_t>(x)], ty, x, y);
    }
}

} // namespace cn
