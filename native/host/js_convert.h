// Conversions between JS values and the host's native values. JS thread only.
#pragma once

#include <napi.h>

#include <vector>

#include "c_lists.h"
#include "core.h"

namespace aiges {

// Per-env addon state (napi instance data).
struct AddonData {
  Napi::FunctionReference errorClass;    // the facade's NativeError, once configure() ran
  Napi::FunctionReference libraryClass;  // the LibraryWrap constructor
};

// Record<string, string> → pairs. Throws TypeError naming `what` and the key on a non-string value.
StringPairs ReadStringMap(Napi::Env env, Napi::Value value, const char* what);

// NativeItem[] → input items that borrow each item's bytes (no copy). Each data Uint8Array is
// pinned in `pins` (a strong reference) so it stays alive; the caller keeps the pins until the
// wrapper no longer reads the bytes.
std::vector<InputItem> ReadItems(Napi::Env env, Napi::Value value, std::vector<Napi::ObjectReference>& pins);

// Output items → NativeItem[]. Each item's block becomes the backing store of its Buffer (external
// buffer, freed or recycled by the Buffer's finalizer): no second copy.
Napi::Array ToJsItems(Napi::Env env, std::vector<OwnedItem>& items);

// ErrorInfo → a NativeError instance (or a plain Error with the same fields before configure()).
Napi::Value ToJsError(Napi::Env env, const ErrorInfo& error);

}  // namespace aiges
