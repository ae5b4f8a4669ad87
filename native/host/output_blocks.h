// Memory for output bytes: the one block each output item is copied into, which its JS Buffer then
// owns (external buffer) until V8 collects it. And memory for input copies (InputBlock), recycled
// the same way in a pool of its own.
//
// Small blocks (< kPooledMinBytes) are plain malloc. Large ones come from a process-wide recycler:
// a block freed by its Buffer's finalizer is kept (up to kMaxIdleBytes in all) and handed to the next
// large output of the same size class, so a steady stream of large results writes into memory that
// is already mapped, instead of page-faulting a fresh block in on every call and unmapping it again
// at every GC. A block is reused only after V8 has finalized the Buffer that owned it, i.e. when no
// JS value (view, `.buffer`, copy of either) can reach it any more.
//
// A pooled block handed to a JS Buffer is also registered as adopted, so that the loader can give it
// back before V8 collects the Buffer (ReleaseOutput in addon.cc: it detaches the Buffer's
// ArrayBuffer, which frees the block at once): a consumer that is done with a large output, such
// as a transport that has serialized it, saves the full GC that V8 would otherwise run every few
// large outputs (their external memory is what triggers it).
//
// In a plugin process whose region takes outputs (shared_region.h), large outputs are blocks of
// that region instead: the same ownership (a Buffer's, freed by its finalizer or releaseOutput),
// and the bytes are where the loader reads them.
//
// Thread-safety: Allocate on any thread (workers), Free on any thread (Buffer finalizers).
#pragma once

#include <cstddef>
#include <cstdint>

namespace aiges {

// Outputs at least this large are pooled; smaller ones are malloc'd (glibc reuses those well).
constexpr size_t kPooledMinBytes = size_t{1} << 20;
// Idle pooled memory kept for reuse, all size classes together; past it, freed blocks are unmapped.
constexpr size_t kMaxIdleBytes = size_t{128} << 20;
// The capacity that marks a block of the process's output region (shared_region.h OutputArena).
constexpr size_t kRegionCapacity = ~size_t{0};

class OutputBlock {
 public:
  OutputBlock() = default;
  // `len` > 0. An empty block (operator bool false) when the memory cannot be had.
  static OutputBlock Allocate(size_t len);
  ~OutputBlock() { Free(data_, capacity_); }
  OutputBlock(OutputBlock&& o) noexcept : data_(o.data_), capacity_(o.capacity_) { o.data_ = nullptr; }
  OutputBlock& operator=(OutputBlock&& o) noexcept;
  OutputBlock(const OutputBlock&) = delete;
  OutputBlock& operator=(const OutputBlock&) = delete;

  uint8_t* get() const { return data_; }
  explicit operator bool() const { return data_ != nullptr; }
  // Gives up ownership: the caller must pass the pointer and `capacity()` to Free exactly once.
  uint8_t* release() {
    uint8_t* p = data_;
    data_ = nullptr;
    return p;
  }
  // 0 for a malloc'd block; kRegionCapacity for a region block; the pooled size class otherwise.
  // Free needs it.
  size_t capacity() const { return capacity_; }

  // Frees (or recycles) a released block. Null is ignored.
  static void Free(uint8_t* data, size_t capacity);

 private:
  OutputBlock(uint8_t* data, size_t capacity) : data_(data), capacity_(capacity) {}
  uint8_t* data_ = nullptr;
  size_t capacity_ = 0;
};

// Marks a pooled block as owned by a JS Buffer from now on (until Free). Only such blocks may be
// detached early.
void MarkAdopted(uint8_t* data);
// Whether `data` is the start of a pooled block that a JS Buffer owns.
bool IsAdopted(const void* data);

// The block a call's input bytes are copied into (c_lists.h DataArena::CopyInputs), freed when the
// call is over. Large ones (≥ kPooledMinBytes) come from a pool of their own, kept apart from the
// output pool (whose stats count outputs only), with at most kMaxIdleInputBytes idle: a stream of
// large inputs then copies into memory that is already mapped instead of page-faulting a fresh block
// in on every call. Allocate and free on any thread.
constexpr size_t kMaxIdleInputBytes = size_t{64} << 20;
class InputBlock {
 public:
  InputBlock() = default;
  // `len` > 0. An empty block (operator bool false) when the memory cannot be had.
  static InputBlock Allocate(size_t len);
  ~InputBlock();
  InputBlock(InputBlock&& o) noexcept : data_(o.data_), capacity_(o.capacity_) { o.data_ = nullptr; }
  InputBlock& operator=(InputBlock&& o) noexcept;
  InputBlock(const InputBlock&) = delete;
  InputBlock& operator=(const InputBlock&) = delete;

  uint8_t* get() const { return data_; }
  explicit operator bool() const { return data_ != nullptr; }

 private:
  InputBlock(uint8_t* data, size_t capacity) : data_(data), capacity_(capacity) {}
  uint8_t* data_ = nullptr;
  size_t capacity_ = 0;  // 0: malloc'd
};

// For tests and benchmarks: pooled output blocks in use (held by Buffers or in flight) and idle.
struct OutputPoolStats {
  size_t liveBlocks = 0;
  size_t idleBlocks = 0;
  size_t idleBytes = 0;
  uint64_t reused = 0;  // allocations served from idle blocks since the process started
};
OutputPoolStats GetOutputPoolStats();

}  // namespace aiges
