/**
 * A certificate, its key and a CA bundle read from PEM files and kept current: TLS on the loader's
 * ports, on the balancer's front and on its hop to loaders all take theirs from a TlsFiles.
 *
 * Contract:
 * - `TlsFiles.load` reads and checks every file at once and throws TlsFilesError naming the file
 *   when one is missing or bad: nothing starts with a certificate it cannot serve.
 * - Then the files are looked at (stat) every `pollMs`, and read again when one changed, or at once
 *   on `reload()` (what SIGHUP does). A new set that passes the checks replaces the old one for
 *   every connection made after it, and `onChange` listeners hear of it; a set that does not
 *   (unreadable, not PEM, a key that does not match the certificate) is logged with the reason and
 *   the old set stays in use. Connections already open keep the certificate they were made with.
 * - It is a grpc-js CertificateProvider, so a grpc-js server or channel follows the same files.
 *   Without a CA file its CA is Node's bundled roots (what a TLS client trusts by default).
 *
 * NOTE: polling rather than fs.watch: certificates are usually replaced by renaming a new file over
 * the old one, or (Kubernetes secrets) by swapping a symlinked folder, which fs.watch on the file
 * misses; a stat of three files a second costs nothing.
 */
import { readFileSync, statSync } from 'node:fs';
import { rootCertificates, type SecureContext, type SecureContextOptions, createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { experimental } from '@grpc/grpc-js';
import type { Logger } from '../log.js';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/** Default interval between two looks at the files. */
export const TLS_POLL_MS = 1_000;

export interface TlsFilePaths {
  /** Certificate chain (PEM); with `keyFile`. */
  certFile?: string | undefined;
  /** Private key of the certificate (PEM). */
  keyFile?: string | undefined;
  /** CA bundle (PEM): whom a server requires client certificates from, or whom a client trusts. */
  caFile?: string | undefined;
}

/** What was read: Buffers of PEM text. */
export interface TlsMaterial {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
}

/** A TLS file that cannot be used; the message names the file and why. */
export class TlsFilesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsFilesError';
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsFilesError(`cannot read the ${what} ${file}: ${(err as Error).message}`);
  }
}

/** Reads and checks a set of files; throws TlsFilesError naming the file at fault. */
export function readTlsFiles(paths: TlsFilePaths): { material: TlsMaterial; context: SecureContext; notAfter?: string } {
  if ((paths.certFile === undefined) !== (paths.keyFile === undefined)) {
    throw new TlsFilesError('a certificate file and a key file go together');
  }
  const material: TlsMaterial = {};
  let notAfter: string | undefined;
  if (paths.certFile !== undefined && paths.keyFile !== undefined) {
    material.cert = readPem(paths.certFile, 'certificate file');
    material.key = readPem(paths.keyFile, 'key file');
    try {
      notAfter = new X509Certificate(material.cert).validTo;
    } catch (err) {
      throw new TlsFilesError(`the certificate file ${paths.certFile} holds no PEM certificate: ${(err as Error).message}`);
    }
  }
  if (paths.caFile !== undefined) {
    material.ca = readPem(paths.caFile, 'CA file');
    // NOTE: Node takes a CA bundle without a single certificate in it silently: check each one.
    const blocks = material.ca.toString('latin1').match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) throw new TlsFilesError(`the CA file ${paths.caFile} holds no PEM certificate`);
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch (err) {
        throw new TlsFilesError(`the CA file ${paths.caFile} holds a certificate that does not parse: ${(err as Error).message}`);
      }
    }
  }
  let context: SecureContext;
  try {
    context = createSecureContext(material);
  } catch (err) {
    throw new TlsFilesError(`${paths.certFile ?? paths.caFile} with ${paths.keyFile ?? 'no key'}: ${(err as Error).message}`);
  }
  return { material, context, ...(notAfter === undefined ? {} : { notAfter }) };
}

/** What changed on disk since the last read: each file's inode, size and times. */
function signatureOf(paths: TlsFilePaths): string {
  return [paths.certFile, paths.keyFile, paths.caFile]
    .map((file) => {
      if (file === undefined) return '-';
      try {
        const s = statSync(file);
        return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

export interface TlsFilesOptions {
  log: Logger;
  /** Names the set in log lines: "server", "balancer front", "upstream". */
  name: string;
  /** Interval between two looks at the files (default TLS_POLL_MS). */
  pollMs?: number;
}

export class TlsFiles implements experimental.CertificateProvider {
  #material: TlsMaterial;
  #context: SecureContext;
  #signature: string;
  readonly #timer: NodeJS.Timeout;
  readonly #listeners = new Set<(material: TlsMaterial) => void>();
  readonly #caListeners = new Set<CaListener>();
  readonly #identityListeners = new Set<IdentityListener>();
  readonly #log: Logger;

  private constructor(
    readonly paths: Readonly<TlsFilePaths>,
    options: TlsFilesOptions,
  ) {
    this.#log = options.log.child({ component: 'tls', tls: options.name });
    this.#signature = signatureOf(paths);
    const first = readTlsFiles(paths);
    this.#material = first.material;
    this.#context = first.context;
    this.#log.info({ ...paths, not_after: first.notAfter }, 'TLS certificates loaded');
    this.#timer = setInterval(() => this.#poll(), options.pollMs ?? TLS_POLL_MS);
    this.#timer.unref();
  }

  /** Reads and checks the files; throws TlsFilesError naming the file at fault. */
  static load(paths: TlsFilePaths, options: TlsFilesOptions): TlsFiles {
    return new TlsFiles({ ...paths }, options);
  }

  /** The files in use now. */
  get material(): TlsMaterial {
    return this.#material;
  }

  /** A secure context of the files in use now (for tls.connect / http2.connect). */
  get secureContext(): SecureContext {
    return this.#context;
  }

  /** Options for `setSecureContext` and for creating a server: the material in use now. */
  contextOptions(): SecureContextOptions {
    return { ...this.#material };
  }

  /** Whether a CA file is set: a server then requires client certificates that chain to it. */
  get hasCa(): boolean {
    return this.paths.caFile !== undefined;
  }

  /** Whether a certificate and key are set (a client then presents them). */
  get hasIdentity(): boolean {
    return this.paths.certFile !== undefined;
  }

  /** Calls `listener` after every reload that replaced the files in use. Returns an unsubscribe. */
  onChange(listener: (material: TlsMaterial) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Reads the files again now, whether or not they changed. True when the new set is in use; false
   * (logged with the reason) when it was refused and the old set stays.
   */
  reload(): boolean {
    this.#signature = signatureOf(this.paths);
    let next: ReturnType<typeof readTlsFiles>;
    try {
      next = readTlsFiles(this.paths);
    } catch (err) {
      this.#log.warn({ reason: (err as Error).message }, 'TLS certificate reload refused; the previous certificates stay in use');
      return false;
    }
    this.#material = next.material;
    this.#context = next.context;
    this.#log.info({ ...this.paths, not_after: next.notAfter }, 'TLS certificates reloaded');
    for (const listener of this.#identityListeners) listener(this.#identityUpdate());
    for (const listener of this.#caListeners) listener(this.#caUpdate());
    for (const listener of this.#listeners) listener(next.material);
    return true;
  }

  /** Stops looking at the files. */
  close(): void {
    clearInterval(this.#timer);
  }

  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    // NOTE: never synchronously: grpc-js adds its own watcher only after adding this listener.
    process.nextTick(() => this.#caListeners.has(listener) && listener(this.#caUpdate()));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    process.nextTick(() => this.#identityListeners.has(listener) && listener(this.#identityUpdate()));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
  }

  #caUpdate(): experimental.CaCertificateUpdate {
    return { caCertificate: this.#material.ca ?? Buffer.from(rootCertificates.join('\n')) };
  }

  #identityUpdate(): experimental.IdentityCertificateUpdate | null {
    const { cert, key } = this.#material;
    return cert === undefined || key === undefined ? null : { certificate: cert, privateKey: key };
  }

  #poll(): void {
    if (signatureOf(this.paths) !== this.#signature) this.reload();
  }
}
