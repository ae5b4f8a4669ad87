// addon-checksum: a Node-API addon (node-addon-api) that is a wrapper plugin by itself: its exports
// follow the TS wrapper contract (id, version, schema, exec), so the loader's `addon` kind serves it
// like a TS plugin. exec() returns a Promise and computes CRC-32 of the `data` input on a libuv
// worker thread (Napi::AsyncWorker), reading the request's Buffer in place (no copy).
#include <napi.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>

namespace {

std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

uint32_t Crc32(const uint8_t* data, size_t len) {
  static const std::array<uint32_t, 256> table = MakeTable();
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; ++i) crc = table[(crc ^ data[i]) & 0xFFu] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

class ChecksumWorker : public Napi::AsyncWorker {
 public:
  ChecksumWorker(Napi::Env env, Napi::Buffer<uint8_t> input)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        input_(Napi::Persistent(input)),  // keeps the Buffer alive while Execute reads it
        data_(input.Data()),
        length_(input.Length()) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  // Runs on a worker thread: touches no JS value.
  void Execute() override { crc_ = Crc32(data_, length_); }

  void OnOK() override {
    Napi::Env env = Env();
    char text[64];
    std::snprintf(text, sizeof text, "crc32=%08x bytes=%zu", crc_, length_);
    Napi::Object out = Napi::Object::New(env);
    out.Set("key", "checksum");
    out.Set("data", std::string(text));
    Napi::Array items = Napi::Array::New(env, 1);
    items.Set(0u, out);
    deferred_.Resolve(items);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Buffer<uint8_t>> input_;
  const uint8_t* data_;
  size_t length_;
  uint32_t crc_ = 0;
};

// exec(request, ctx): request.items holds exactly one `data` item (the loader validated it).
Napi::Value Exec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object request = info[0].As<Napi::Object>();
  Napi::Array items = request.Get("items").As<Napi::Array>();
  for (uint32_t i = 0; i < items.Length(); ++i) {
    Napi::Object item = items.Get(i).As<Napi::Object>();
    if (item.Get("key").As<Napi::String>().Utf8Value() != "data") continue;
    auto* worker = new ChecksumWorker(env, item.Get("data").As<Napi::Buffer<uint8_t>>());  // freed by node-addon-api after OnOK/OnError
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  }
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(Napi::Error::New(env, "no data item").Value());
  return deferred.Promise();
}

Napi::Object Spec(Napi::Env env, const char* type, const char* encoding) {
  Napi::Object spec = Napi::Object::New(env);
  spec.Set("type", type);
  if (encoding != nullptr) {
    Napi::Array encodings = Napi::Array::New(env, 1);
    encodings.Set(0u, encoding);
    spec.Set("encodings", encodings);
  }
  return spec;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("id", "addon-checksum");
  exports.Set("version", "1.0.0");
  exports.Set("description", "CRC-32 of the input bytes, computed by a Node-API addon off the JS thread.");
  Napi::Object input = Napi::Object::New(env);
  input.Set("data", Spec(env, "other", nullptr));
  Napi::Object output = Napi::Object::New(env);
  output.Set("checksum", Spec(env, "text", "utf8"));
  Napi::Object schema = Napi::Object::New(env);
  schema.Set("input", input);
  schema.Set("output", output);
  exports.Set("schema", schema);
  exports.Set("exec", Napi::Function::New(env, Exec, "exec"));
  return exports;
}

}  // namespace

NODE_API_MODULE(addon_checksum, Init)
