#include "c_lists.h"

#include <cstring>
#include <new>

namespace aiges {
namespace {

// A wrapper's output chain longer than this is treated as cyclic / corrupt.
constexpr size_t kMaxOutputNodes = 1u << 16;
constexpr size_t kMaxDescNodes = 1u << 12;

// Zero-length inputs still get a non-null pointer: some wrappers memcpy/strlen without checking len.
const uint8_t kEmpty[1] = {0};

}  // namespace

ParamArena::ParamArena(StringPairs pairs) : pairs_(std::move(pairs)) {
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

bool DataArena::HasEnd() const {
  for (const InputItem& it : items_) {
    if (it.status == DataEnd) return true;
  }
  return false;
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
      // `value` is NUL-terminated by contract; many wrappers leave vlen at 0, so it is not trusted.
      item.desc.emplace_back(d->key != nullptr ? d->key : "", d->value != nullptr ? d->value : "");
    }
    out.push_back(std::move(item));
  }
  return "";
}

bool HasFinal(const DataList* head) {
  size_t count = 0;
  for (const DataList* n = head; n != nullptr && count < kMaxOutputNodes; n = n->next, ++count) {
    if (n->status == DataEnd || n->status == DataOnce) return true;
  }
  return false;
}

}  // namespace aiges
