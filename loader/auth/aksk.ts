/**
 * `[auth] mode = "aksk"`: checks a request's HMAC-SHA256 signature (plugins/aksk.ts has the
 * scheme) and makes the call's Caller. Protocol-free: the HTTP and gRPC adapters hand it the
 * signed parts of their requests (server/http-auth.ts, server/grpc-auth.ts).
 *
 * Order of the checks, each refusing with its code: the authorization header's form, the access
 * key, the date's form and skew, the signature (constant time), replay (10206); then the key's rate
 * limit (10208), so that neither unsigned nor replayed requests spend a key's tokens. The body's
 * hash is checked when the body has been read (`Caller.checkBody`), and the service when the data
 * plane knows it (`Caller.authorize`, 10207).
 */
import { timingSafeEqual } from 'node:crypto';
import { AKSK_ALGORITHM, AKSK_SIGNED_HEADERS, stringToSign } from '../../plugins/aksk.js';
import type { AuthSettings } from '../config/schema.js';
import { AigesError, Codes, named } from '../errors.js';
import type { Caller } from '../dataplane/call.js';
import type { Logger } from '../log.js';
import type { AuthCounts } from '../metrics.js';
import type { AccessKey, KeySource } from './keys.js';
import { ReplayCache } from './replay.js';

/** What a request presents, as received (undefined: header absent). */
export interface Presented {
  method: string;
  pathAndQuery: string;
  host: string | undefined;
  authorization: string | undefined;
  date: string | undefined;
  contentSha256: string | undefined;
}

/** A caller whose signature held; the adapter checks its body once it is read. */
export interface SignedCaller extends Caller {
  /** Throws 10206 unless `sha256` (base64) is the hash the request signed. Counts the request. */
  checkBody(sha256: string): void;
  /**
   * The caller a balancer names for a call it relays (`aiges-caller` metadata, a Relay frame's
   * `caller`): throws 10207 unless this caller's key may relay (`relay = true`), 10206 when the
   * named key is not one of the loader's (revoked, say).
   */
  onBehalfOf(accessKey: string): Caller;
}

/** Request metadata by which a balancer names the caller of a call it relays (docs/security.md). */
export const CALLER_METADATA = 'aiges-caller';

/** The metric label of requests whose access key is not configured (a bounded label set). */
export const UNKNOWN_KEY_LABEL = '_unknown';

const RFC1123 = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
/** Longest authorization value looked at: a 128-character key and a signature fit well inside. */
const MAX_AUTHORIZATION = 512;

interface Credential {
  accessKey: string;
  /** base64, canonical: 32 bytes. */
  signature: string;
}

/**
 * The header's one form, fields in the order (one regular expression: no per-request
 * split or map). A key is at most 128 characters; a signature is 44 base64 characters, canonical:
 * NOTE: the 43rd character carries 4 bits of the digest and 2 that decoding drops, so only the
 * 16 characters whose dropped bits are 0 are taken there; else four spellings of a signature
 * (the right one and three with one character changed) would all be taken.
 */
const AUTHORIZATION = new RegExp(
  `^${AKSK_ALGORITHM} Credential=([^&=\\s]{1,128})&SignedHeaders=${AKSK_SIGNED_HEADERS}&Signature=([A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=)$`,
);

/** Parses `HMAC-SHA256 Credential=…&SignedHeaders=…&Signature=…`; a string says what is wrong. */
export function parseAuthorization(value: string): Credential | string {
  const m = value.length <= MAX_AUTHORIZATION ? AUTHORIZATION.exec(value) : null;
  if (m === null) {
    return `authorization must be "${AKSK_ALGORITHM} Credential=<access key>&SignedHeaders=${AKSK_SIGNED_HEADERS}&Signature=<base64 HMAC-SHA256>"`;
  }
  return { accessKey: m[1] as string, signature: m[2] as string };
}

class KeyCaller implements SignedCaller {
  #counted = false;

  constructor(
    private readonly key: AccessKey,
    private readonly signedSha256: string,
    private readonly auth: AkSkAuth,
  ) {}

  get accessKey(): string {
    return this.key.accessKey;
  }

  checkBody(sha256: string): void {
    if (this.#counted) return;
    this.#counted = true;
    if (sha256 !== this.signedSha256) throw this.auth.refuse(this.key.accessKey, 'x-ark-content-sha256 does not match the body');
    this.auth.counts.add(this.key.accessKey, 'ok');
  }

  authorize(service: string): void {
    if (this.key.relay) {
      this.auth.counts.add(this.key.accessKey, 'forbidden');
      throw new AigesError(
        Codes.PERMISSION_DENIED,
        `access key "${this.key.accessKey}" relays the calls of other keys and calls no service itself: the call names no caller (aiges lb needs --auth aksk)`,
      );
    }
    authorizeKey(this.key, service, this.auth);
  }

  mayCall(service: string): boolean {
    return !this.key.relay && mayCallKey(this.key, service);
  }

  onBehalfOf(accessKey: string): Caller {
    if (!this.key.relay) {
      this.auth.counts.add(this.key.accessKey, 'forbidden');
      throw new AigesError(Codes.PERMISSION_DENIED, `access key "${this.key.accessKey}" may not relay calls of other keys`);
    }
    const key = this.auth.keys.get(accessKey);
    if (key === undefined || key.relay) throw this.auth.refuse(undefined, 'the relayed call names an unknown access key');
    this.auth.counts.add(key.accessKey, 'ok');
    return new RelayedCaller(key, this.auth);
  }
}

/** A caller a balancer checked at its edge and names; its key's services hold here too. */
class RelayedCaller implements Caller {
  constructor(
    private readonly key: AccessKey,
    private readonly auth: AkSkAuth,
  ) {}

  get accessKey(): string {
    return this.key.accessKey;
  }

  authorize(service: string): void {
    authorizeKey(this.key, service, this.auth);
  }

  mayCall(service: string): boolean {
    return mayCallKey(this.key, service);
  }
}

function mayCallKey(key: AccessKey, service: string): boolean {
  return key.services === undefined || key.services.has(service);
}

function authorizeKey(key: AccessKey, service: string, auth: AkSkAuth): void {
  if (mayCallKey(key, service)) return;
  auth.counts.add(key.accessKey, 'forbidden');
  throw new AigesError(Codes.PERMISSION_DENIED, `access key "${key.accessKey}" may not call service ${named(service)}`);
}

export class AkSkAuth {
  readonly #replays: ReplayCache;
  readonly #skewMs: number;
  /** Scratch for one check at a time (JS runs one): the digest computed, the one presented. */
  readonly #expected = Buffer.alloc(32);
  readonly #presented = Buffer.alloc(32);
  /** The last date header parsed and its time: most requests of one second carry the same one. */
  #lastDate = '';
  #lastDateMs = Number.NaN;

  constructor(
    settings: Pick<AuthSettings, 'clock_skew_s' | 'replay_cache_max'>,
    readonly keys: KeySource,
    private readonly log: Logger,
    readonly counts: AuthCounts,
  ) {
    this.#skewMs = settings.clock_skew_s * 1000;
    this.#replays = new ReplayCache(settings.replay_cache_max);
  }

  /** Signatures remembered now (replay protection). */
  get remembered(): number {
    return this.#replays.size;
  }

  /** Checks everything but the body's hash; throws 10206 or 10208. */
  authenticate(p: Presented, nowMs = Date.now()): SignedCaller {
    if (p.authorization === undefined) throw this.refuse(undefined, 'missing authorization header (AK/SK signature required)');
    const credential = parseAuthorization(p.authorization);
    if (typeof credential === 'string') throw this.refuse(undefined, credential);
    const key = this.keys.get(credential.accessKey);
    if (key === undefined) throw this.refuse(undefined, 'unknown access key');
    const label = key.accessKey;
    if (p.date === undefined || p.host === undefined || p.contentSha256 === undefined) {
      throw this.refuse(label, 'the signed headers date, host and x-ark-content-sha256 are all required');
    }
    const dateMs = this.#dateMs(p.date);
    if (Number.isNaN(dateMs)) throw this.refuse(label, 'date must be an RFC 1123 date in GMT, e.g. "Tue, 15 Nov 1994 08:12:31 GMT"');
    if (Math.abs(nowMs - dateMs) > this.#skewMs) {
      throw this.refuse(label, `date is more than ${this.#skewMs / 1000} s away from the server's clock`);
    }
    const expected = this.#expected;
    key.hmac.digestInto(
      stringToSign({ method: p.method, pathAndQuery: p.pathAndQuery, date: p.date, host: p.host, contentSha256: p.contentSha256 }),
      expected,
    );
    this.#presented.write(credential.signature, 'base64');
    if (!timingSafeEqual(expected, this.#presented)) throw this.refuse(label, 'signature does not match');
    const nowS = Math.floor(nowMs / 1000);
    // NOTE: keyed by the digest computed here, not the presented text: 16 bytes rather than 44
    // characters, and the same request however its header was written.
    const replayKey = expected.toString('latin1', 0, 16);
    const untilS = Math.floor((dateMs + this.#skewMs) / 1000);
    const seen = this.#replays.remember(replayKey, untilS, nowS);
    if (seen === 'replay') throw this.refuse(label, 'replayed request: this signature was used already');
    if (seen === 'full') {
      this.log.warn({ max: this.#replays.max }, 'replay cache full: refusing signed requests until entries age out');
      throw this.limited(label, 'too many signed requests in the clock-skew window; retry later');
    }
    if (key.bucket !== undefined && !key.bucket.take(nowMs)) {
      // NOTE: the signature is spent: a retry is a new request with a new date (or nonce).
      throw this.limited(label, `rate limit of access key "${label}" reached; retry in ${key.bucket.waitS().toFixed(2)} s`);
    }
    return new KeyCaller(key, p.contentSha256, this);
  }

  /** The time of an RFC 1123 GMT date header, NaN when it is not one. */
  #dateMs(date: string): number {
    if (date !== this.#lastDate) {
      this.#lastDateMs = RFC1123.test(date) ? Date.parse(date) : Number.NaN;
      this.#lastDate = date;
    }
    return this.#lastDateMs;
  }

  /** Counts and makes a 10206. */
  refuse(label: string | undefined, reason: string): AigesError {
    this.counts.add(label ?? UNKNOWN_KEY_LABEL, 'unauthenticated');
    this.log.debug({ access_key: label ?? UNKNOWN_KEY_LABEL, reason }, 'request refused: not authenticated');
    return new AigesError(Codes.UNAUTHENTICATED, reason);
  }

  limited(label: string, reason: string): AigesError {
    this.counts.add(label, 'rate_limited');
    return new AigesError(Codes.RATE_LIMITED, reason);
  }

  /** Follows key changes from now on. */
  watch(): void {
    this.keys.watch();
  }

  close(): void {
    this.keys.close();
  }
}
