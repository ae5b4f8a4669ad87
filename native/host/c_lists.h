// C lists of the AIGes ABI, built from and copied into owning C++ values.
//
// Input side (JS → wrapper): ParamArena and DataArena own every string and node of a ParamList /
// DataList chain. As AIGes does, a list is never NULL: an empty one is one placeholder node (key NULL,
// value/data NULL, len 0, DataText, DataBegin, next NULL), because existing wrappers dereference the
// head unchecked. Input bytes are copied once, on the worker, into host memory followed by one zero
// byte not counted in len (DataArena::CopyInputs): wrappers build C strings from char* without len.
// Output side (wrapper → JS): CopyDataList copies a wrapper-owned chain into OwnedItems, one block per
// node (output_blocks.h), so that the JS side can adopt each block as a Buffer without a second copy.
#pragma once

#include <aiges/type.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "output_blocks.h"

namespace aiges {

using StringPairs = std::vector<std::pair<std::string, std::string>>;

// Owns a ParamList chain. head() (never null: the placeholder when empty) and every pointer reachable
// from it stay valid, unchanged, for the arena's lifetime; the wrapper receives them read-only for the
// duration of one call.
class ParamArena {
 public:
  ParamArena() : ParamArena(StringPairs{}) {}
  explicit ParamArena(StringPairs pairs);
  ParamArena(const ParamArena&) = delete;
  ParamArena& operator=(const ParamArena&) = delete;

  pParamList head() { return &nodes_.front(); }
  const StringPairs& pairs() const { return pairs_; }

 private:
  // NOTE: nodes_ point into pairs_' strings; neither vector is resized after construction.
  StringPairs pairs_;
  std::vector<ParamList> nodes_;
};

// One input item: bytes are borrowed (the caller keeps them alive and unchanged until the call ends,
// or at least until CopyInputs has run).
struct InputItem {
  std::string key;
  const void* data = nullptr;
  size_t len = 0;
  // The bytes lie in a shared region with a zero byte after them (shared_region.h IsInPlaceInput):
  // CopyInputs may leave them where they are.
  bool inPlace = false;
  int type = DataText;
  int status = DataOnce;
  StringPairs desc;
};

// Owns a DataList chain (never null: the placeholder when there are no items). Until CopyInputs runs,
// nodes point at the borrowed bytes.
class DataArena {
 public:
  DataArena() : DataArena(std::vector<InputItem>{}) {}
  explicit DataArena(std::vector<InputItem> items);
  DataArena(const DataArena&) = delete;
  DataArena& operator=(const DataArena&) = delete;

  pDataList head() { return &nodes_.front(); }
  const std::vector<InputItem>& items() const { return items_; }

  // Copies every non-empty input into one host block, each followed by a zero byte that `len` does
  // not count, and points the nodes there (empty inputs point at a static zero byte). Call on the
  // worker, right before the wrapper call: the copy then costs the event loop nothing, and the
  // block lives as long as the arena. With `inPlace`, inputs marked inPlace are not copied: the
  // wrapper reads them where they lie, which is right only when the caller keeps them until the
  // wrapper call has returned (a sync exec, a session write; not an async exec, whose wrapper may
  // read its inputs after the caller was answered). Returns "" or, when the memory cannot be had,
  // an error text.
  std::string CopyInputs(bool inPlace);

 private:
  std::vector<InputItem> items_;
  std::vector<std::unique_ptr<ParamArena>> descs_;
  std::vector<DataList> nodes_;
  InputBlock copies_;
};

// One output node, copied out of wrapper memory. `data` is a block of at least `len` bytes (empty when
// len is 0) whose ownership passes to a JS Buffer (freed by the Buffer's finalizer).
struct OwnedItem {
  std::string key;
  OutputBlock data;
  size_t len = 0;
  int type = DataText;
  int status = DataOnce;
  StringPairs desc;
};

// Copies every node of `head` into `out` (appending). Returns "" on success, else a description of the
// invalid output (null data with a non-zero length, an over-long or cyclic chain, out of memory).
// Never frees or modifies the wrapper's list.
std::string CopyDataList(const DataList* head, std::vector<OwnedItem>& out);

// True when a node of the chain has status DataEnd or DataOnce (the last result of a tag or session).
bool HasFinal(const DataList* head);

// A 64-bit digest of a chain's content (keys, types, statuses, bytes, desc): two reads returning the
// same result give the same value. Not for security; collisions are negligible for this use.
uint64_t Fingerprint(const DataList* head);

}  // namespace aiges
