/**
 * AK/SK from the command line: `aiges serve` with `[auth]` from the environment, and `aiges call`
 * / `aiges xtest` / `aiges batch` signing with --access-key/--secret-key (or
 * $AIGES_ACCESS_KEY/$AIGES_SECRET_KEY), all as child processes.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSecret, writeKeysFile } from '../server/auth-helpers.js';
import { runToExit, startServe } from './serve-process.js';

const secret = newSecret();
let serve: Awaited<ReturnType<typeof startServe>>;
let grpcAddr: string;

beforeAll(async () => {
  const keysFile = writeKeysFile([{ access_key: 'alice', secret_key: secret }]);
  serve = await startServe(['demo/echo'], { AIGES_AUTH_MODE: 'aksk', AIGES_AUTH_KEYS_FILE: keysFile });
  grpcAddr = `127.0.0.1:${serve.grpcPort}`;
});

afterAll(async () => {
  serve.proc.kill('SIGTERM');
  await serve.exited;
});

const key = ['--access-key', 'alice', '--secret-key', secret];

describe('aiges call with AK/SK', () => {
  it('is refused unsigned (10206), served with --access-key/--secret-key or the environment', async () => {
    const unsigned = await runToExit(['call', grpcAddr, 'echo', '-t', 'text=hi']);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toMatch(/error 10206 \(UNAUTHENTICATED\)/);

    const flagged = await runToExit(['call', grpcAddr, 'echo', '-t', 'text=hi', ...key]);
    expect(flagged.code).toBe(0);
    expect(JSON.parse(flagged.stdout).items[0].text).toBe('hi');

    const fromEnv = await runToExit(['call', grpcAddr, 'echo', '-t', 'text=env', '-m', 'session'], {
      AIGES_ACCESS_KEY: 'alice',
      AIGES_SECRET_KEY: secret,
    });
    expect(fromEnv.code).toBe(0);
  });

  it('refuses an access key without its secret (exit 2), never echoing a secret', async () => {
    const r = await runToExit(['call', grpcAddr, 'echo', '-t', 'text=hi', '--access-key', 'alice']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[CALL_INVALID_FLAG\] an access key and its secret key go together/);
    const bad = await runToExit(['call', grpcAddr, 'echo', '-t', 'text=hi', '--access-key', 'alice', '--secret-key', 'not base64!']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toContain('not base64!');
  });
});

describe('aiges xtest with AK/SK', () => {
  it('signs every call over gRPC and HTTP, calls alike in one second included', async () => {
    for (const target of [grpcAddr, `http://127.0.0.1:${serve.httpPort}`]) {
      const r = await runToExit(['xtest', target, 'echo', '-c', '4', '-n', '40', '-t', 'text=same', '--json', '--no-progress', ...key]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).requests).toMatchObject({ succeeded: 40, failed: 0 });
    }
  });

  it('counts unsigned calls as 10206', async () => {
    const r = await runToExit(['xtest', grpcAddr, 'echo', '-n', '3', '-t', 'text=x', '--json', '--no-progress']);
    expect(r.code).toBe(1);
    expect(JSON.stringify(JSON.parse(r.stdout).errors)).toContain('10206');
  });
});

describe('aiges batch with AK/SK', () => {
  it('signs AIGes and V2 lines over gRPC and HTTP; unsigned, each line is refused with 10206', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aiges-batch-aksk-'));
    const input = join(dir, 'in.jsonl');
    const aiges = (id: string) => ({ id, payload: { text: { encoding: 'utf8', status: 3, text: Buffer.from(id).toString('base64') } } });
    const v2 = (id: string) => ({ id, inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [id] }] });
    writeFileSync(input, `${[aiges('a1'), v2('v1'), aiges('a2'), v2('v2')].map((l) => JSON.stringify(l)).join('\n')}\n`);
    for (const [name, target] of [
      ['grpc', grpcAddr],
      ['http', `http://127.0.0.1:${serve.httpPort}`],
    ] as const) {
      const out = join(dir, name);
      const r = await runToExit(['batch', target, 'echo', '--input', input, '--out', out, '--json', '--no-progress', ...key]);
      expect(r.code, r.stderr).toBe(0);
      const predictions = readFileSync(join(out, 'predictions.jsonl'), 'utf8').trim().split('\n');
      const got = predictions.map((l) => JSON.parse(l) as { id: string; prediction: string });
      expect(Object.fromEntries(got.map((p) => [p.id, p.prediction]))).toEqual({ a1: 'a1', v1: 'v1', a2: 'a2', v2: 'v2' });
      const unsigned = await runToExit(['batch', target, 'echo', '--input', input, '--out', join(dir, `${name}-unsigned`), '--json']);
      expect(unsigned.code).toBe(1);
      expect(JSON.parse(unsigned.stdout).failures).toEqual([{ code: '10206', count: 4, message: expect.any(String) }]);
    }
  });
});
