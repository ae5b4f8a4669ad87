// The HMAC of AK/SK request verification (loader/auth/digest.ts, docs/security.md), computed with
// the OpenSSL that Node itself links and exports. In JS, most of an HMAC's cost is making the Hmac
// object and keying it; here a key is prepared once (its inner and outer SHA-256 states after the
// padded key block, RFC 2104) and each message costs only its own blocks. The JS side checks that
// the results agree with node:crypto.
#pragma once

#include <napi.h>

namespace aiges {

// Adds the exports
//   akskHmacPrepare(key: Uint8Array): Buffer — the key's prepared HMAC-SHA256 state (opaque);
//   akskHmacInto(prepared: Buffer, message: string, out: Uint8Array): void — HMAC-SHA256 of the
//     message's UTF-8 bytes into out's first 32 bytes.
void ExportAkskDigest(Napi::Env env, Napi::Object exports);

}  // namespace aiges
