#include "output_blocks.h"

#include "shared_region.h"

#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace aiges {
namespace {

// Four size classes per power of two (at most 25 % slack), so that outputs of about the same size
// share blocks. Pooled sizes are ≥ 1 MiB, hence every class is a multiple of 256 KiB (page aligned).
size_t SizeClass(size_t len) {
  size_t pow = kPooledMinBytes;
  while (pow <= len / 2) pow <<= 1;  // the smallest class base with len < 2·pow
  const size_t step = pow / 4;
  return (len + step - 1) / step * step;
}

// Fresh anonymous memory, so that an unused block can be returned to the system at once (munmap).
uint8_t* MapBlock(size_t capacity) {
  void* p = mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
}

struct Pool {
  explicit Pool(size_t maxIdle) : maxIdleBytes(maxIdle) {}
  const size_t maxIdleBytes;
  std::mutex mu;
  std::unordered_map<size_t, std::vector<uint8_t*>> idle;  // size class → idle blocks
  std::unordered_set<const void*> adopted;                   // blocks a JS Buffer owns
  size_t idleBytes = 0;
  size_t idleBlocks = 0;
  size_t liveBlocks = 0;
  uint64_t reused = 0;

  // A block of `capacity` (a size class): an idle one when there is, else fresh memory (null when
  // none can be had).
  uint8_t* Take(size_t capacity) {
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = idle.find(capacity);
      if (it != idle.end() && !it->second.empty()) {
        uint8_t* p = it->second.back();
        it->second.pop_back();
        idleBytes -= capacity;
        --idleBlocks;
        ++liveBlocks;
        ++reused;
        return p;
      }
    }
    uint8_t* p = MapBlock(capacity);
    if (p == nullptr) return nullptr;
    std::lock_guard<std::mutex> lock(mu);
    ++liveBlocks;
    return p;
  }

  // Keeps the block for reuse, or unmaps it when maxIdleBytes are idle already.
  void Give(uint8_t* data, size_t capacity) {
    {
      std::lock_guard<std::mutex> lock(mu);
      --liveBlocks;
      adopted.erase(data);
      if (idleBytes + capacity <= maxIdleBytes) {
        idle[capacity].push_back(data);
        idleBytes += capacity;
        ++idleBlocks;
        return;
      }
    }
    munmap(data, capacity);
  }
};

// Never destroyed: Buffer finalizers may run during process teardown, after static destructors.
Pool& ThePool() {
  static Pool* pool = new Pool(kMaxIdleBytes);
  return *pool;
}

Pool& TheInputPool() {
  static Pool* pool = new Pool(kMaxIdleInputBytes);
  return *pool;
}

}  // namespace

OutputBlock& OutputBlock::operator=(OutputBlock&& o) noexcept {
  if (this != &o) {
    Free(data_, capacity_);
    data_ = o.data_;
    capacity_ = o.capacity_;
    o.data_ = nullptr;
  }
  return *this;
}

OutputBlock OutputBlock::Allocate(size_t len) {
  if (RegionArena* region = OutputArena(); region != nullptr && len >= region->minBytes()) {
    if (uint8_t* p = region->Alloc(len)) return OutputBlock(p, kRegionCapacity);
  }
  if (len < kPooledMinBytes) return OutputBlock(static_cast<uint8_t*>(std::malloc(len)), 0);
  const size_t capacity = SizeClass(len);
  uint8_t* p = ThePool().Take(capacity);
  return p != nullptr ? OutputBlock(p, capacity) : OutputBlock();
}

void OutputBlock::Free(uint8_t* data, size_t capacity) {
  if (data == nullptr) return;
  if (capacity == 0) return std::free(data);
  if (capacity == kRegionCapacity) {
    {
      Pool& pool = ThePool();
      std::lock_guard<std::mutex> lock(pool.mu);
      pool.adopted.erase(data);
    }
    OutputArena()->Free(data);
    return;
  }
  ThePool().Give(data, capacity);
}

InputBlock InputBlock::Allocate(size_t len) {
  if (len < kPooledMinBytes) return InputBlock(static_cast<uint8_t*>(std::malloc(len)), 0);
  const size_t capacity = SizeClass(len);
  uint8_t* p = TheInputPool().Take(capacity);
  return p != nullptr ? InputBlock(p, capacity) : InputBlock();
}

InputBlock::~InputBlock() {
  if (data_ == nullptr) return;
  if (capacity_ == 0) {
    std::free(data_);
  } else {
    TheInputPool().Give(data_, capacity_);
  }
}

InputBlock& InputBlock::operator=(InputBlock&& o) noexcept {
  if (this != &o) {
    InputBlock gone(std::move(*this));
    data_ = o.data_;
    capacity_ = o.capacity_;
    o.data_ = nullptr;
  }
  return *this;
}

void MarkAdopted(uint8_t* data) {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mu);
  pool.adopted.insert(data);
}

bool IsAdopted(const void* data) {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mu);
  return pool.adopted.count(data) != 0;
}

OutputPoolStats GetOutputPoolStats() {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mu);
  return OutputPoolStats{pool.liveBlocks, pool.idleBlocks, pool.idleBytes, pool.reused};
}

}  // namespace aiges
