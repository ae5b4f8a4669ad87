/**
 * The access keys of `[auth] keys_file`: a TOML file of `[[keys]]` tables, checked whole (a bad
 * file changes nothing), and re-read when its content changes.
 *
 * NOTE: no message about the file ever quotes it: a TOML syntax error names its line and column
 * only (the parser's own message shows the line, which may hold a secret), and a schema error names
 * the key and what is wrong, never the value.
 */
import { createHash, createSecretKey, type KeyObject } from 'node:crypto';
import { readFile, readFileSync, statSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { KeyHmac } from './digest.js';
import { TokenBucket } from './rate.js';

/** Shortest secret accepted, in decoded bytes (128 bits). */
export const MIN_SECRET_BYTES = 16;

/** Access keys travel in `Credential=<key>&…`: no `&`, `=` or spaces. */
const ACCESS_KEY = /^[A-Za-z0-9._~+/-]{1,128}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** One key as a keys file table has it (and, camel-cased, as polaris stores it: keys-polaris.ts). */
export const KeyEntry = z
  .object({
    access_key: z.string().regex(ACCESS_KEY, 'must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ + / -'),
    secret_key: z.string().refine((s) => BASE64.test(s) && Buffer.from(s, 'base64').length >= MIN_SECRET_BYTES, {
      message: `must be base64 of at least ${MIN_SECRET_BYTES} bytes`,
    }),
    /** The services the key may call; absent: every service. */
    services: z.array(z.string().min(1)).optional(),
    /** Calls per second the key may make on this loader (token bucket refill); absent: no limit. */
    rate: z.number().positive().finite().optional(),
    /** Calls the key may make at once after being idle (bucket size); default: `rate`, at least 1. */
    burst: z.number().int().positive().optional(),
    /**
     * A balancer's key (`aiges lb --access-key`): its calls carry calls of other keys, whose
     * signatures it checked at the edge, named by `aiges-caller` (docs/security.md). It calls no
     * service of its own.
     */
    relay: z.boolean().optional(),
  })
  .strict()
  .refine((k) => k.burst === undefined || k.rate !== undefined, { message: 'burst needs rate', path: ['burst'] });

const KeysFileSchema = z.object({ keys: z.array(KeyEntry).default([]) }).strict();

export type KeyEntry = z.infer<typeof KeyEntry>;

/** One access key as the loader checks it. */
export interface AccessKey {
  readonly accessKey: string;
  readonly secret: KeyObject;
  /** HMAC-SHA256 under the secret, keyed once. */
  readonly hmac: KeyHmac;
  /** Absent: every service. */
  readonly services: ReadonlySet<string> | undefined;
  /** Absent: no rate limit. */
  readonly bucket: TokenBucket | undefined;
  /** May relay calls of other keys (a balancer's key). */
  readonly relay: boolean;
}

export class KeysFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeysFileError';
  }
}

/** Reads and checks a keys file; throws KeysFileError (which never quotes the file). */
export function readKeysFile(path: string): ReadonlyMap<string, AccessKey> {
  return parseKeys(readText(path), path);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new KeysFileError(`cannot read keys file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function parseKeys(text: string, path: string): ReadonlyMap<string, AccessKey> {
  let tree: unknown;
  try {
    tree = parseToml(text);
  } catch (err) {
    const { line, column } = err as { line?: number; column?: number };
    throw new KeysFileError(`keys file ${path} is not valid TOML (line ${line ?? '?'}, column ${column ?? '?'})`);
  }
  const parsed = KeysFileSchema.safeParse(tree);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) =>
      i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')} at ${pathOf(i.path)}` : `${pathOf(i.path)}: ${i.message}`,
    );
    throw new KeysFileError(`keys file ${path} is invalid: ${issues.join('; ')}`);
  }
  const keys = new Map<string, AccessKey>();
  for (const [index, k] of parsed.data.keys.entries()) {
    if (keys.has(k.access_key)) throw new KeysFileError(`keys file ${path} is invalid: keys[${index}].access_key is given twice`);
    keys.set(k.access_key, accessKeyOf(k));
  }
  return keys;
}

/** A checked entry as the loader holds it: the secret as a KeyObject, a full token bucket. */
export function accessKeyOf(k: KeyEntry): AccessKey {
  const secret = createSecretKey(Buffer.from(k.secret_key, 'base64'));
  return {
    accessKey: k.access_key,
    secret,
    hmac: new KeyHmac(secret),
    services: k.services === undefined ? undefined : new Set(k.services),
    bucket: k.rate === undefined ? undefined : new TokenBucket(k.rate, k.burst ?? Math.max(1, Math.ceil(k.rate))),
    relay: k.relay === true,
  };
}

/** Where the loader finds access keys: the keys file (KeysFile) or polaris (PolarisKeys). */
export interface KeySource {
  /** Resolves once the source has keys to give (the file: at once; polaris: when it first answers). */
  readonly loaded: Promise<void>;
  get(accessKey: string): AccessKey | undefined;
  /** Follows changes from now on (the file polled, polaris watched). */
  watch(): void;
  close(): void;
}

const digestOf = (text: string): string => createHash('sha256').update(text).digest('base64');

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') || 'top level';
}

/**
 * The keys in force: read at startup (a bad file stops startup), then polled; a changed file that
 * reads well replaces every key at once (rate buckets start full), one that does not is logged and
 * changes nothing.
 *
 * NOTE: polled by content, not watched: a small read a second catches every change (a file
 * replaced by rename, a Kubernetes secret's symlink swap, two writes within one timestamp tick),
 * where inotify loses renamed files and stat times are coarse.
 */
export class KeysFile implements KeySource {
  readonly loaded = Promise.resolve();
  #keys: ReadonlyMap<string, AccessKey>;
  /** The digest of the text last looked at, taken or not. */
  #digest: string;
  #timer: NodeJS.Timeout | undefined;
  #polling = false;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {
    const text = readText(path);
    this.#keys = parseKeys(text, path);
    this.#digest = digestOf(text);
    warnIfReadableByOthers(path, log);
  }

  get(accessKey: string): AccessKey | undefined {
    return this.#keys.get(accessKey);
  }

  /** Re-reads the file every `intervalMs`, taking it when its content changed. */
  watch(intervalMs = 1_000): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#poll(), intervalMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #poll(): void {
    if (this.#polling) return;
    this.#polling = true;
    readFile(this.path, 'utf8', (err, text) => {
      this.#polling = false;
      // A file missing for a moment (an editor's save) keeps the keys in force; it is read again next time.
      if (err !== null || this.#timer === undefined) return;
      const digest = digestOf(text);
      if (digest === this.#digest) return;
      this.#digest = digest;
      try {
        this.#keys = parseKeys(text, this.path);
      } catch (error) {
        this.log.error(
          { keys_file: this.path, err: { message: (error as Error).message } },
          'keys file not reloaded: the keys in force are kept',
        );
        return;
      }
      this.log.info({ keys_file: this.path, keys: this.#keys.size }, 'keys file reloaded');
    });
  }
}

function warnIfReadableByOthers(path: string, log: Logger): void {
  try {
    if ((statSync(path).mode & 0o077) !== 0) log.warn({ keys_file: path }, 'keys file is readable by group or others: chmod 600 it');
  } catch {
    // read just now; a race with a rename is not worth a message
  }
}
