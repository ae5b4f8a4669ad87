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
// Outputs in place: a plugin process hands the host its side of the region once
// (sharedRegionOutputs); from then on a wrapper's large output (at least `minBytes`) is copied by
// the host, on its worker, straight into a block of that arena instead of an OutputBlock of its
// own, and the loader reads it there: the output's one copy is also its way across. The block is
// the Buffer's like any output block (freed by its finalizer, or at once by releaseOutput), so the
// plugin process keeps that Buffer until the loader says it is done with the bytes.
//
// Thread-safety: the range registry and the arena are mutex-guarded; IsInPlaceInput and the
// arena's methods on any thread.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

namespace aiges {

// True when [data, data + len] lies inside one mapped region and data[len] is a zero byte.
bool IsInPlaceInput(const void* data, size_t len);

// A first-fit allocator over part of a mapped region: 64-byte aligned blocks from the lowest
// address that fits (so a steady stream of outputs reuses pages already touched).
class RegionArena {
 public:
  RegionArena(uint8_t* base, size_t at, size_t bytes, size_t minBytes);
  RegionArena(const RegionArena&) = delete;
  RegionArena& operator=(const RegionArena&) = delete;

  // Outputs smaller than this stay in host memory.
  size_t minBytes() const { return minBytes_; }
  // A block of at least `len` bytes; null when none is free.
  uint8_t* Alloc(size_t len);
  // Frees the block starting at `p`; false (nothing changes) when none does.
  bool Free(const void* p);
  // The offset from the region's start of the block starting at `p`, or -1.
  int64_t OffsetOf(const void* p);
  uint8_t* At(size_t offset) const { return base_ + offset; }

 private:
  std::mutex mu_;
  uint8_t* const base_;
  const size_t minBytes_;
  std::map<size_t, size_t> free_;  // offset → bytes, never adjacent
  std::map<size_t, size_t> used_;  // offset → bytes
};

// The process's output arena (sharedRegionOutputs), or null when there is none.
RegionArena* OutputArena();

// Adds the exports: sharedRegionCreate(bytes) → { fd, memory }, sharedRegionMap(fd, bytes) →
// memory, sharedRegionOutputs(memory, at, bytes, minBytes), sharedRegionAlloc(bytes) → offset,
// sharedRegionFree(offset) → boolean, sharedRegionOffset(view) → offset, setParentDeathSignal().
void ExportSharedRegion(Napi::Env env, Napi::Object exports);

}  // namespace aiges
