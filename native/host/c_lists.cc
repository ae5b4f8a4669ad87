#include "c_lists.h"

#include <cstring>
#include <new>

namespace aiges {
namespace {

// A wrapper's output chain longer than this is treated as cyclic / corrupt.
constexpr size_t kMaxOutputNodes = 1u << 16;
constexpr size_t kMaxDescNodes = 1u << 12;

// Zero-length inputs still get a non-null pointer to a zero byte: some wrappers memcpy/strlen
// without checking len.
const uint8_t kEmpty[1] = {0};

// Digest steps (64-bit multiply-xorshift), 8 bytes at a time.
constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
inline uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v;
  h *= kMul;
  return h ^ (h >> 29);
}
uint64_t MixBytes(uint64_t h, const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  h = Mix(h, len);
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = Mix(h, w);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p + i, len - i);
  return Mix(h, tail);
}
uint64_t MixString(uint64_t h, const char* s) {
  return s != nullptr ? MixBytes(h, s, std::strlen(s)) : Mix(h, ~0ull);
}

}  // namespace

ParamArena::ParamArena(StringPairs pairs) : pairs_(std::move(pairs)) {
  if (pairs_.empty()) {
    nodes_.push_back(ParamList{nullptr, nullptr, 0, nullptr});  // the placeholder
    return;
  }
  nodes_.resize(pairs_.size());
  for (size_t i = 0; i < pairs_.size(); ++i) {
    ParamList& n = nodes_[i];
    n.key = pairs_[i].first.data();
    n.value = pairs_[i].second.data();
    n.vlen = static_cast<unsigned int>(pairs_[i].second.size());
    n.next = i + 1 < pairs_.size() ? &nodes_[i + 1] : nullptr;
  }
}

DataArena::DataArena(std::vector<InputItem> items) : items_(std::move(items)) {
  if (items_.empty()) {
    // The placeholder. NOTE: AIGes leaves its desc NULL; a placeholder desc is no less compatible
    // and keeps the rule simple: no list the host passes is NULL.
    descs_.push_back(std::make_unique<ParamArena>());
    nodes_.push_back(DataList{nullptr, nullptr, 0, DataText, DataBegin, descs_.back()->head(), nullptr});
    return;
  }
  nodes_.resize(items_.size());
  descs_.reserve(items_.size());
  for (size_t i = 0; i < items_.size(); ++i) {
    InputItem& it = items_[i];
    descs_.push_back(std::make_unique<ParamArena>(std::move(it.desc)));
    DataList& n = nodes_[i];
    n.key = it.key.data();
    // NOTE: the ABI's `void* data` is not const, but the contract makes request data read-only.
    n.data = const_cast<void*>(it.data != nullptr ? it.data : static_cast<const void*>(kEmpty));
    n.len = static_cast<unsigned int>(it.len);
    n.type = static_cast<DataType>(it.type);
    n.status = static_cast<DataStatus>(it.status);
    n.desc = descs_.back()->head();
    n.next = i + 1 < items_.size() ? &nodes_[i + 1] : nullptr;
  }
}

std::string DataArena::CopyInputs(bool inPlace) {
  const auto copied = [inPlace](const InputItem& it) { return it.len != 0 && !(inPlace && it.inPlace); };
  size_t total = 0;
  for (const InputItem& it : items_) {
    if (copied(it)) total += it.len + 1;
  }
  if (total == 0) return "";
  copies_ = InputBlock::Allocate(total);
  if (!copies_) return "out of memory copying " + std::to_string(total) + " input bytes";
  uint8_t* p = copies_.get();
  for (size_t i = 0; i < items_.size(); ++i) {
    const InputItem& it = items_[i];
    if (!copied(it)) continue;
    std::memcpy(p, it.data, it.len);
    p[it.len] = 0;
    nodes_[i].data = p;
    p += it.len + 1;
  }
  return "";
}

std::string CopyDataList(const DataList* head, std::vector<OwnedItem>& out) {
  size_t count = 0;
  for (const DataList* n = head; n != nullptr; n = n->next) {
    if (++count > kMaxOutputNodes) return "output list is longer than 65536 nodes (cyclic?)";
    if (n->data == nullptr && n->len != 0) {
      return "output node '" + std::string(n->key != nullptr ? n->key : "") + "' has data NULL and len " +
             std::to_string(n->len);
    }
    OwnedItem item;
    item.key = n->key != nullptr ? n->key : "";
    item.len = n->len;
    item.type = static_cast<int>(n->type);
    item.status = static_cast<int>(n->status);
    if (n->len != 0) {
      item.data = OutputBlock::Allocate(n->len);
      if (!item.data) return "out of memory copying " + std::to_string(n->len) + " output bytes";
      std::memcpy(item.data.get(), n->data, n->len);
    }
    size_t descCount = 0;
    for (const ParamList* d = n->desc; d != nullptr; d = d->next) {
      if (++descCount > kMaxDescNodes) return "output desc list is longer than 4096 nodes (cyclic?)";
      // A node without a key carries nothing: typically the input's placeholder, echoed back.
      if (d->key == nullptr) continue;
      // `value` is NUL-terminated by contract; many wrappers leave vlen at 0, so it is not trusted.
      item.desc.emplace_back(d->key, d->value != nullptr ? d->value : "");
    }
    out.push_back(std::move(item));
  }
  return "";
}

uint64_t Fingerprint(const DataList* head) {
  uint64_t h = kMul;
  size_t count = 0;
  for (const DataList* n = head; n != nullptr && count < kMaxOutputNodes; n = n->next, ++count) {
    h = MixString(h, n->key);
    h = Mix(h, (static_cast<uint64_t>(n->type) << 32) | static_cast<uint32_t>(n->status));
    h = n->data != nullptr ? MixBytes(h, n->data, n->len) : Mix(h, n->len);
    size_t descCount = 0;
    for (const ParamList* d = n->desc; d != nullptr && descCount < kMaxDescNodes; d = d->next, ++descCount) {
      h = MixString(MixString(h, d->key), d->value);
    }
  }
  return h;
}

bool HasFinal(const DataList* head) {
  size_t count = 0;
  for (const DataList* n = head; n != nullptr && count < kMaxOutputNodes; n = n->next, ++count) {
    if (n->status == DataEnd || n->status == DataOnce) return true;
  }
  return false;
}

}  // namespace aiges
