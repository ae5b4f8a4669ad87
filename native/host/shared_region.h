// Shared memory between the loader and a plugin process (`[plugin] isolation = "process"`,
// loader/plugin/process/): one region per plugin process, an anonymous memory file (memfd) that
// both processes map, so that a large payload crosses the process boundary with one copy — the
// sender writes it into the region, the receiver reads it there in place.
//
// The layout inside the region (two arenas, each written by one side only) and the allocators are
// the loader's (loader/plugin/process/shared-region.ts); this file only makes and maps the memory,
// and remembers which address ranges are mapped regions, for the in-place inputs below.
//
// In-place inputs: the host copies a call's input bytes into memory of its own, each followed by a
// zero byte (c_lists.h DataArena::CopyInputs). An input that lies in a mapped region and is already
// followed by a zero byte there is handed to the wrapper where it lies instead: the plugin process
// keeps it unchanged until the call has returned (the loader writes it once, frees it only when the
// answer has come), which is what the copy would otherwise guarantee.
//
// Thread-safety: the range registry is mutex-guarded; IsInPlaceInput on any thread.
#pragma once

#include <napi.h>

#include <cstddef>

namespace aiges {

// True when [data, data + len] lies inside one mapped region and data[len] is a zero byte.
bool IsInPlaceInput(const void* data, size_t len);

// Adds the exports: sharedRegionCreate(bytes) → { fd, memory }, sharedRegionMap(fd, bytes) →
// memory, setParentDeathSignal().
void ExportSharedRegion(Napi::Env env, Napi::Object exports);

}  // namespace aiges
