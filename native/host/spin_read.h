// Reading a socket by polling it for a short while, instead of waiting for the event loop to say
// it is readable: the loader and a plugin process (`[plugin] isolation = "process"`) answer each
// other within microseconds when both are busy, and a thread put to sleep and woken again for each
// message costs more than that on many machines. Bounded like the host's other spins (spinUs):
// past the budget the caller goes back to the event loop, which reads what comes later. And
// writing one the same way: straight to the kernel, without the event loop's stream machinery,
// which costs more than the write itself for a small message.
#pragma once

#include <napi.h>

namespace aiges {

// Adds the exports spinRead(fd, maxUs) → Buffer | null and sendNow(fd, bytes) → number.
void ExportSocketCalls(Napi::Env env, Napi::Object exports);

}  // namespace aiges
