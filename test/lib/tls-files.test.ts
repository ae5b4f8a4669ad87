/**
 * TlsFiles: files read and checked at load (a bad one named), read again on reload() or when they
 * change on disk, and a bad replacement refused with the old set kept; as a grpc-js
 * CertificateProvider, listeners hear of the set in use and of every accepted reload.
 */
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../loader/log.js';
import { TlsFiles, type TlsFilesOptions } from '../../loader/lib/tls-files.js';
import { certDir, makeCa, makeCert, type TestCa, type TestCert } from './certs.js';

let dir: string;
let ca: TestCa;
let first: TestCert;
let second: TestCert;
beforeAll(() => {
  dir = certDir();
  ca = makeCa(dir, 'files-ca');
  first = makeCert(ca, 'first');
  second = makeCert(ca, 'second');
});

/** Log lines of a TlsFiles, parsed. */
function capture(): { options: TlsFilesOptions; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { options: { log: createLogger('info', sink), name: 'test' }, lines };
}

/** A copy of `cert` under names of its own, so that a test may overwrite the files. */
let copies = 0;
function copyOf(cert: TestCert): TestCert {
  const n = ++copies;
  const certFile = join(dir, `copy-${n}.pem`);
  const keyFile = join(dir, `copy-${n}.key`);
  copyFileSync(cert.certFile, certFile);
  copyFileSync(cert.keyFile, keyFile);
  return { certFile, keyFile };
}

const opened: TlsFiles[] = [];
function load(...args: Parameters<typeof TlsFiles.load>): TlsFiles {
  const files = TlsFiles.load(...args);
  opened.push(files);
  return files;
}
afterEach(() => {
  for (const f of opened.splice(0)) f.close();
});

describe('TlsFiles.load', () => {
  it('reads a certificate, its key and a CA, and logs the certificate it serves', () => {
    const { options, lines } = capture();
    const files = load({ ...first, caFile: ca.caFile }, options);
    expect(files.material.cert?.equals(readFileSync(first.certFile))).toBe(true);
    expect(files.material.ca?.equals(readFileSync(ca.caFile))).toBe(true);
    expect(files.hasCa).toBe(true);
    expect(files.hasIdentity).toBe(true);
    expect(lines.find((l) => l['msg'] === 'TLS certificates loaded')).toMatchObject({ tls: 'test', certFile: first.certFile });
  });

  it("names the file when one is missing, is not PEM, or the key is not the certificate's", () => {
    const { options } = capture();
    const garbage = join(dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    expect(() => load({ certFile: join(dir, 'nope.pem'), keyFile: first.keyFile }, options)).toThrow(
      /cannot read the certificate file .*nope\.pem/,
    );
    expect(() => load({ certFile: first.certFile, keyFile: join(dir, 'nope.key') }, options)).toThrow(
      /cannot read the key file .*nope\.key/,
    );
    expect(() => load({ certFile: garbage, keyFile: first.keyFile }, options)).toThrow(
      /certificate file .*garbage\.pem holds no PEM certificate/,
    );
    expect(() => load({ certFile: first.certFile, keyFile: second.keyFile }, options)).toThrow(/key values mismatch/);
    expect(() => load({ caFile: garbage }, options)).toThrow(/CA file .*garbage\.pem holds no PEM certificate/);
    expect(() => load({ certFile: first.certFile }, options)).toThrow(/certificate file and a key file go together/);
    expect(() => load({ caFile: join(dir, 'nope-ca.pem') }, options)).toThrow(/cannot read the CA file/);
  });
});

describe('TlsFiles reload', () => {
  it('takes a new certificate on reload() and tells its listeners', () => {
    const { options, lines } = capture();
    const paths = copyOf(first);
    const files = load(paths, options);
    const seen: Buffer[] = [];
    files.onChange((m) => seen.push(m.cert as Buffer));
    copyFileSync(second.certFile, paths.certFile);
    copyFileSync(second.keyFile, paths.keyFile);
    expect(files.reload()).toBe(true);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.equals(readFileSync(second.certFile))).toBe(true);
    expect(files.material.key?.equals(readFileSync(second.keyFile))).toBe(true);
    expect(lines.some((l) => l['msg'] === 'TLS certificates reloaded')).toBe(true);
  });

  it('keeps the old certificate when the new files are bad, and logs why', () => {
    const { options, lines } = capture();
    const paths = copyOf(first);
    const files = load(paths, options);
    const before = files.secureContext;
    let changes = 0;
    files.onChange(() => changes++);
    // Half a rotation: the new certificate beside the old key.
    copyFileSync(second.certFile, paths.certFile);
    expect(files.reload()).toBe(false);
    writeFileSync(paths.keyFile, '');
    expect(files.reload()).toBe(false);
    expect(changes).toBe(0);
    expect(files.secureContext).toBe(before);
    expect(files.material.cert?.equals(readFileSync(first.certFile))).toBe(true);
    const refused = lines.filter((l) => l['msg'] === 'TLS certificate reload refused; the previous certificates stay in use');
    expect(refused.map((l) => l['reason'])).toEqual([expect.stringMatching(/key values mismatch/), expect.stringMatching(/PEM|key/)]);
  });

  it('notices files replaced on disk by itself', async () => {
    const { options } = capture();
    const paths = copyOf(first);
    const files = load(paths, { ...options, pollMs: 20 });
    const changed = new Promise<Buffer>((resolve) => files.onChange((m) => resolve(m.cert as Buffer)));
    // Replaced by rename, as certificate managers do.
    const staged = copyOf(second);
    copyFileSync(staged.keyFile, paths.keyFile);
    copyFileSync(staged.certFile, `${paths.certFile}.new`);
    renameSync(`${paths.certFile}.new`, paths.certFile);
    expect((await changed).equals(readFileSync(second.certFile))).toBe(true);
  });
});

describe('TlsFiles as a grpc-js CertificateProvider', () => {
  it('gives a listener the set in use (never synchronously), then every accepted reload', async () => {
    const { options } = capture();
    const paths = copyOf(first);
    const files = load({ ...paths, caFile: ca.caFile }, options);
    const identities: (Buffer | undefined)[] = [];
    const cas: Buffer[] = [];
    files.addIdentityCertificateListener((u) => identities.push(u?.certificate));
    files.addCaCertificateListener((u) => cas.push(u?.caCertificate as Buffer));
    expect(identities).toEqual([]);
    await new Promise((r) => process.nextTick(r));
    expect(identities[0]?.equals(readFileSync(first.certFile))).toBe(true);
    expect(cas[0]?.equals(readFileSync(ca.caFile))).toBe(true);
    copyFileSync(second.certFile, paths.certFile);
    copyFileSync(second.keyFile, paths.keyFile);
    files.reload();
    expect(identities[1]?.equals(readFileSync(second.certFile))).toBe(true);
  });

  it("answers CA listeners with Node's bundled roots when it has no CA file", async () => {
    const { options } = capture();
    const files = load(first, options);
    const ca = await new Promise<Buffer>((resolve) => files.addCaCertificateListener((u) => resolve(u?.caCertificate as Buffer)));
    expect(ca.toString()).toContain('-----BEGIN CERTIFICATE-----');
    expect(files.hasCa).toBe(false);
  });
});
