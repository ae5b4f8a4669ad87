/** `aiges call` and `--help` on every verb, against a real `aiges serve` child process. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Loader } from '../../loader/loader.js';
import { makeCa, makeCert, type TestCa, type TestCert } from '../lib/certs.js';
import { startLoader } from '../server/http-helpers.js';
import { runToExit, startServe } from './serve-process.js';

let serve: Awaited<ReturnType<typeof startServe>>;
let addr: string;
const dir = mkdtempSync(join(tmpdir(), 'aiges-call-'));

beforeAll(async () => {
  serve = await startServe(['demo/echo']);
  addr = `127.0.0.1:${serve.grpcPort}`;
});

afterAll(async () => {
  serve.proc.kill('SIGTERM');
  await serve.exited;
});

const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { status?: number; sid?: string; items: Record<string, unknown>[] });

describe('aiges call', () => {
  it('makes a once call with text and a file, printing the outputs', async () => {
    const file = join(dir, 'blob.bin');
    writeFileSync(file, Buffer.from([1, 2, 3, 4, 5]));
    const r = await runToExit([
      'call',
      addr,
      'echo',
      '--text',
      'text=hello',
      '--file',
      `data=${file}:other`,
      '-a',
      'data.width=5',
      '-p',
      'delay_ms=1',
    ]);
    expect(r.code).toBe(0);
    const [res] = lines(r.stdout);
    expect(res?.items).toEqual([
      { key: 'text', type: 0, status: 3, encoding: 'utf8', attributes: {}, bytes: 5, text: 'hello' },
      { key: 'data', type: 4, status: 3, encoding: '', attributes: { width: '5' }, bytes: 5 },
    ]);
  });

  it('runs a session, slicing a file into frames, and writes outputs with --out', async () => {
    const file = join(dir, 'audio.pcm');
    const audio = Buffer.alloc(1000, 7);
    writeFileSync(file, audio);
    const out = join(dir, 'out');
    const r = await runToExit([
      'call',
      addr,
      'echo',
      '--mode',
      'session',
      '--file',
      `audio=${file}:audio`,
      '--frame-bytes',
      '300',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    const responses = lines(r.stdout);
    expect(responses.map((x) => x.items[0]?.['bytes'])).toEqual([300, 300, 300, 100]);
    expect(responses.map((x) => x.status)).toEqual([1, 1, 1, 2]);
    expect(new Set(responses.map((x) => x.sid)).size).toBe(1);
    const written = responses.map((x) => readFileSync(String(x.items[0]?.['file'])));
    expect(Buffer.concat(written).equals(audio)).toBe(true);
  });

  it('a --file without a type takes the type the service declares for the key (echo: text is text)', async () => {
    const file = join(dir, 'text.txt');
    writeFileSync(file, 'from a file');
    const r = await runToExit(['call', addr, 'echo', '--file', `text=${file}`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0]?.items[0]).toMatchObject({ key: 'text', type: 0, text: 'from a file' });
    // An explicit type still wins (and the schema refuses it here, as it should).
    const typed = await runToExit(['call', addr, 'echo', '--file', `text=${file}:other`]);
    expect([typed.code, typed.stderr]).toEqual([1, expect.stringContaining('error 10106')]);
  });

  it('exits 1 and prints the aiges code on an error', async () => {
    const r = await runToExit(['call', addr, 'echo', '--text', 'nope=x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error 10106 \(INVALID_ARGUMENT\): unknown input key "nope"/);
    const timeout = await runToExit(['call', addr, 'echo', '--text', 'text=x', '-p', 'delay_ms=2000', '--timeout-ms', '100']);
    expect(timeout.code).toBe(1);
    expect(timeout.stderr).toContain('DEADLINE_EXCEEDED');
  });

  it('rejects malformed flags with a clear message and exit 2, calling nothing', async () => {
    const r = await runToExit(['call', addr, 'echo', '--text', 'novalue']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('aiges call: [CALL_INVALID_FLAG] --text expects key=value, got "novalue"\n');
    const param = await runToExit(['call', addr, 'echo', '--text', 'text=x', '-p', 'oops']);
    expect([param.code, param.stderr]).toEqual([2, 'aiges call: [CALL_INVALID_FLAG] --param expects name=value, got "oops"\n']);
    const frames = await runToExit(['call', addr, 'echo', '-m', 'session', '--text', 'text=x', '--frame-bytes', '0']);
    expect(frames.code).not.toBe(0);
    expect(frames.stderr).toContain('must be a positive integer');
  });

  it('refuses a key given twice (by --text or --file) rather than dropping one', async () => {
    const r = await runToExit(['call', addr, 'echo', '--text', 'text=a', '--text', 'text=b']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('aiges call: [CALL_INVALID_FLAG] input key "text" is given twice (by --text or --file); give each key once\n');
  });

  it('refuses a directory for --file (one file per key; aiges xtest cycles through one) and a missing file', async () => {
    const r = await runToExit(['call', addr, 'echo', '--file', `data=${dir}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `aiges call: [CALL_INPUT_UNREADABLE] input "data": ${dir} is a directory: give a file (aiges xtest can cycle through a directory)\n`,
    );
    const missing = await runToExit(['call', addr, 'echo', '--file', `data=${join(dir, 'nope.bin')}`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^aiges call: \[CALL_INPUT_UNREADABLE\] input "data": cannot read .*nope\.bin: ENOENT/);
  });
});

describe('aiges call over TLS', () => {
  let tlsLoader: Loader;
  let ca: TestCa;
  let clientCert: TestCert;
  beforeAll(async () => {
    ca = makeCa(dir, 'call-ca');
    const server = makeCert(ca, 'server');
    clientCert = makeCert(ca, 'client');
    tlsLoader = await startLoader({ server: { tls: { cert_file: server.certFile, key_file: server.keyFile, client_ca_file: ca.caFile } } });
  });
  afterAll(() => tlsLoader?.stop());
  const secure = () => `grpcs://127.0.0.1:${tlsLoader.grpcPort}`;

  it('calls a grpcs:// address with --ca-file, --cert-file and --key-file', async () => {
    const r = await runToExit([
      'call',
      secure(),
      'echo',
      '--ca-file',
      ca.caFile,
      '--cert-file',
      clientCert.certFile,
      '--key-file',
      clientCert.keyFile,
      '-t',
      'text=tls',
    ]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0]?.items[0]).toMatchObject({ text: 'tls' });
  });

  it('exits 1 when the handshake fails (no client certificate; plaintext to a TLS port)', async () => {
    const noCert = await runToExit(['call', secure(), 'echo', '--ca-file', ca.caFile, '-t', 'text=x']);
    expect(noCert.code).toBe(1);
    expect(noCert.stderr).toContain('aiges call: error - (UNAVAILABLE)');
    const plain = await runToExit(['call', `127.0.0.1:${tlsLoader.grpcPort}`, 'echo', '-t', 'text=x']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('(UNAVAILABLE)');
  });

  it('refuses TLS files for a plaintext address, a certificate without its key, and an unreadable file (exit 2)', async () => {
    const plain = await runToExit(['call', addr, 'echo', '--ca-file', ca.caFile, '-t', 'text=x']);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain(
      `aiges call: [CALL_INVALID_FLAG] --ca-file, --cert-file and --key-file are for TLS: write the address grpcs://${addr}`,
    );
    const half = await runToExit(['call', secure(), 'echo', '--cert-file', clientCert.certFile, '-t', 'text=x']);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('[CALL_INVALID_FLAG] a client certificate (--cert-file) and its key (--key-file) go together');
    const missing = await runToExit(['call', secure(), 'echo', '--ca-file', join(dir, 'none.pem'), '-t', 'text=x']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('[CALL_INPUT_UNREADABLE] cannot read the CA file');
  });
});

describe('--help', () => {
  it.each([[[]], [['serve']], [['call']]])('aiges %j --help', async (verb) => {
    const r = await runToExit([...verb, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: aiges');
    expect(r.stdout).toContain('--help');
  });
});
