#include "js_convert.h"

#include <climits>
#include <cstdlib>
#include <string>

#include "shared_region.h"

namespace aiges {
namespace {

int ReadIntField(Napi::Env env, Napi::Object obj, const char* name, int min, int max, int fallback,
                 size_t index) {
  Napi::Value v = obj.Get(name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) {
    throw Napi::TypeError::New(env, "items[" + std::to_string(index) + "]." + name + " must be a number");
  }
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<int>(d)) {
    throw Napi::RangeError::New(env, "items[" + std::to_string(index) + "]." + name + " must be an integer in [" +
                                         std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return static_cast<int>(d);
}

// Ownership of the block moves to the Buffer (no copy); its finalizer frees or recycles it.
Napi::Buffer<uint8_t> AdoptBlock(Napi::Env env, OutputBlock& block, size_t len) {
  // NOTE: the hint carries the block's capacity (which Free needs) as an integer, not a pointer:
  // nothing to allocate per Buffer.
  const uintptr_t capacity = block.capacity();
  Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::New(
      env, block.get(), len,
      [](Napi::BasicEnv, uint8_t* p, void* hint) { OutputBlock::Free(p, reinterpret_cast<uintptr_t>(hint)); },
      reinterpret_cast<void*>(capacity));
  if (capacity != 0) MarkAdopted(block.get());
  static_cast<void>(block.release());
  return buf;
}

}  // namespace

StringPairs ReadStringMap(Napi::Env env, Napi::Value value, const char* what) {
  StringPairs pairs;
  if (value.IsUndefined() || value.IsNull()) return pairs;
  if (!value.IsObject()) throw Napi::TypeError::New(env, std::string(what) + " must be an object of strings");
  Napi::Object obj = value.As<Napi::Object>();
  Napi::Array keys = obj.GetPropertyNames();
  pairs.reserve(keys.Length());
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).ToString().Utf8Value();
    Napi::Value v = obj.Get(key);
    if (!v.IsString()) {
      throw Napi::TypeError::New(env, std::string(what) + "." + key + " must be a string");
    }
    pairs.emplace_back(key, v.As<Napi::String>().Utf8Value());
  }
  return pairs;
}

std::vector<InputItem> ReadItems(Napi::Env env, Napi::Value value, std::vector<Napi::ObjectReference>& pins) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, "items must be an array");
  Napi::Array arr = value.As<Napi::Array>();
  std::vector<InputItem> items;
  items.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(env, "items[" + std::to_string(i) + "] must be an object");
    Napi::Object obj = v.As<Napi::Object>();
    InputItem item;
    Napi::Value key = obj.Get("key");
    if (!key.IsString()) throw Napi::TypeError::New(env, "items[" + std::to_string(i) + "].key must be a string");
    item.key = key.As<Napi::String>().Utf8Value();
    Napi::Value data = obj.Get("data");
    if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw Napi::TypeError::New(env, "items[" + std::to_string(i) + "].data must be a Buffer or Uint8Array");
    }
    Napi::Uint8Array bytes = data.As<Napi::Uint8Array>();
    if (bytes.ByteLength() > UINT_MAX) {
      throw Napi::RangeError::New(env, "items[" + std::to_string(i) + "].data is larger than 4 GiB");
    }
    item.data = bytes.Data();
    item.len = bytes.ByteLength();
    item.inPlace = item.len != 0 && IsInPlaceInput(item.data, item.len);
    item.type = ReadIntField(env, obj, "type", DataText, DataPer, DataText, i);
    item.status = ReadIntField(env, obj, "status", DataBegin, DataOnce, DataOnce, i);
    item.desc = ReadStringMap(env, obj.Get("desc"), "desc");
    pins.push_back(Napi::Persistent(bytes.As<Napi::Object>()));
    items.push_back(std::move(item));
  }
  return items;
}

Napi::Array ToJsItems(Napi::Env env, std::vector<OwnedItem>& items) {
  Napi::Array arr = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    OwnedItem& it = items[i];
    Napi::Object obj = Napi::Object::New(env);
    obj.Set("key", it.key);
    if (it.len == 0) {
      obj.Set("data", Napi::Buffer<uint8_t>::New(env, 0));
    } else {
      obj.Set("data", AdoptBlock(env, it.data, it.len));
    }
    obj.Set("type", it.type);
    obj.Set("status", it.status);
    Napi::Object desc = Napi::Object::New(env);
    for (const auto& kv : it.desc) desc.Set(kv.first, kv.second);
    obj.Set("desc", desc);
    arr.Set(static_cast<uint32_t>(i), obj);
  }
  return arr;
}

Napi::Value ToJsError(Napi::Env env, const ErrorInfo& error) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data != nullptr && !data->errorClass.IsEmpty()) {
    return data->errorClass.New({Napi::String::New(env, error.message), Napi::Number::New(env, error.code),
                                 Napi::String::New(env, error.fn), Napi::String::New(env, error.reason)});
  }
  Napi::Object e = Napi::Error::New(env, error.message).Value();
  e.Set("name", "NativeError");
  e.Set("pluginCode", error.code);
  e.Set("fn", error.fn);
  e.Set("reason", error.reason);
  return e;
}

}  // namespace aiges
