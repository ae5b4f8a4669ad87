/**
 * HMAC-SHA256 under one access key's secret, as the loader and the balancer compute it for every
 * signed call: the key is prepared once (native/host/aksk_digest.h: its inner and outer SHA-256
 * states), after which a message costs only its own blocks. node:crypto's `createHmac` gives the
 * same digest but makes and keys an Hmac object per call, several times the cost; it is used only
 * where the native host addon is not built.
 */
import type { KeyObject } from 'node:crypto';
import { type NativeHmac, nativeHmac } from '../../native/host.js';
import { hmacSha256 } from '../../plugins/aksk.js';

let native: NativeHmac | undefined | null = null;

/** The native HMAC once looked up; undefined without the addon. */
export function hmac(): NativeHmac | undefined {
  if (native === null) native = nativeHmac();
  return native;
}

/** One secret's HMAC-SHA256. Holds the secret (or its prepared state) in private fields only: it logs as `{}`. */
export class KeyHmac {
  readonly #secret: KeyObject;
  readonly #native: NativeHmac | undefined;
  readonly #prepared: Buffer | undefined;

  /** `impl`: the native HMAC by default; undefined computes with node:crypto (as without the addon). */
  constructor(secret: KeyObject, impl: NativeHmac | undefined = hmac()) {
    this.#secret = secret;
    this.#native = impl;
    this.#prepared = impl?.prepare(secret.export());
  }

  /** HMAC-SHA256 of `message` (UTF-8) into `out`'s first 32 bytes. */
  digestInto(message: string, out: Uint8Array): void {
    if (this.#native !== undefined) this.#native.into(this.#prepared as Buffer, message, out);
    else out.set(hmacSha256(this.#secret, message));
  }

  /** HMAC-SHA256 of `message`, a new Buffer. */
  digest(message: string): Buffer {
    const out = Buffer.allocUnsafe(32);
    this.digestInto(message, out);
    return out;
  }
}
