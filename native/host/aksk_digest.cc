// NOTE: SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but EVP cannot hold
// a keyed state in caller memory: copying an EVP_MD_CTX allocates, and HMAC() fetches the algorithm
// on every call (about 2 µs here, against a fraction of that for the blocks themselves).
#define OPENSSL_SUPPRESS_DEPRECATED
#include "aksk_digest.h"

#include <openssl/sha.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace aiges {
namespace {

constexpr size_t kDigest = SHA256_DIGEST_LENGTH;
constexpr size_t kBlock = SHA256_CBLOCK;
// A string to sign this long or shorter is converted on the stack; longer ones (a long query) on
// the heap.
constexpr size_t kStackMessage = 2048;
// Marks a prepared state, so that another Buffer of the right size is refused.
constexpr uint32_t kPreparedMagic = 0x414b534b;  // "AKSK"

struct Prepared {
  uint32_t magic;
  SHA256_CTX inner;  // after (key ^ ipad)
  SHA256_CTX outer;  // after (key ^ opad)
};

Napi::Uint8Array Bytes(const Napi::CallbackInfo& info, size_t i, const char* usage) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), usage);
  }
  return info[i].As<Napi::Uint8Array>();
}

Napi::Value AkskHmacPrepare(const Napi::CallbackInfo& info) {
  Napi::Uint8Array key = Bytes(info, 0, "akskHmacPrepare(key: Uint8Array)");
  uint8_t block[kBlock] = {};
  if (key.ByteLength() > kBlock) {
    // RFC 2104: a key longer than a block is hashed first.
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, key.Data(), key.ByteLength());
    SHA256_Final(block, &ctx);
  } else {
    std::memcpy(block, key.Data(), key.ByteLength());
  }
  Prepared prepared{};
  prepared.magic = kPreparedMagic;
  uint8_t pad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) pad[i] = block[i] ^ 0x36;
  SHA256_Init(&prepared.inner);
  SHA256_Update(&prepared.inner, pad, kBlock);
  for (size_t i = 0; i < kBlock; ++i) pad[i] = block[i] ^ 0x5c;
  SHA256_Init(&prepared.outer);
  SHA256_Update(&prepared.outer, pad, kBlock);
  return Napi::Buffer<uint8_t>::Copy(info.Env(), reinterpret_cast<const uint8_t*>(&prepared), sizeof prepared);
}

void AkskHmacInto(const Napi::CallbackInfo& info) {
  static constexpr const char* kUsage = "akskHmacInto(prepared: Buffer, message: string, out: Uint8Array(32))";
  Napi::Env env = info.Env();
  Napi::Uint8Array state = Bytes(info, 0, kUsage);
  Napi::Uint8Array out = Bytes(info, 2, kUsage);
  if (!info[1].IsString() || out.ByteLength() < kDigest || state.ByteLength() != sizeof(Prepared)) {
    throw Napi::TypeError::New(env, kUsage);
  }
  Prepared prepared;
  std::memcpy(&prepared, state.Data(), sizeof prepared);
  if (prepared.magic != kPreparedMagic) throw Napi::TypeError::New(env, kUsage);
  // One conversion for the usual message. One that came near the stack buffer's end may have been
  // cut (Node stops before a character that does not fit whole, up to 4 bytes): measured, and if
  // it is longer, converted again on the heap.
  char stack[kStackMessage + 1];
  std::vector<char> heap;
  char* text = stack;
  size_t length = 0;
  napi_status status = napi_get_value_string_utf8(env, info[1], stack, sizeof stack, &length);
  NAPI_THROW_IF_FAILED_VOID(env, status);
  if (length + 4 > kStackMessage) {
    size_t full = 0;
    status = napi_get_value_string_utf8(env, info[1], nullptr, 0, &full);
    NAPI_THROW_IF_FAILED_VOID(env, status);
    if (full != length) {
      heap.resize(full + 1);
      text = heap.data();
      status = napi_get_value_string_utf8(env, info[1], text, full + 1, &length);
      NAPI_THROW_IF_FAILED_VOID(env, status);
    }
  }
  uint8_t inner[kDigest];
  SHA256_Update(&prepared.inner, text, length);
  SHA256_Final(inner, &prepared.inner);
  SHA256_Update(&prepared.outer, inner, kDigest);
  SHA256_Final(out.Data(), &prepared.outer);
}

}  // namespace

void ExportAkskDigest(Napi::Env env, Napi::Object exports) {
  exports.Set("akskHmacPrepare", Napi::Function::New(env, &AkskHmacPrepare, "akskHmacPrepare"));
  exports.Set("akskHmacInto", Napi::Function::New(env, &AkskHmacInto, "akskHmacInto"));
}

}  // namespace aiges
