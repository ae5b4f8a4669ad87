/**
 * `[pipes]`: ctx.infer to loaders that require AK/SK signatures and TLS (loader/pipes/
 * remote-options.ts). Real loaders on port 0: the callee runs `[auth] mode = "aksk"` (and TLS with
 * a client CA), the caller serves the pipe-caller fixture and signs with its `[pipes]` key, by
 * address over aiges.v1 and V2, and through polaris (an in-memory store shared by both).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../loader/config/load.js';
import { Loader } from '../../loader/loader.js';
import { pipeOptions } from '../../loader/pipes/remote-options.js';
import { createLoaderClient, infer } from '../../loader/tools/client.js';
import { MemoryPolaris } from '../../polaris/store/polaris-memory.js';
import { MemoryStore } from '../../polaris/store/store-memory.js';
import { Codes } from '../../plugins/index.js';
import { makePki } from '../lib/certs.js';
import { closedAfterEach, floats, servedIn, x } from './helpers.js';
import { newSecret, type TestKey, writeKeysFile } from '../server/auth-helpers.js';
import { expectGrpcError, FIXTURES } from '../server/grpc-helpers.js';

const CALLER = `${FIXTURES}/pipe-caller.ts`;
const SCALE = `${FIXTURES}/tensor-scale.ts`;

const pipeKey: TestKey = { access_key: 'pipeline', secret_key: newSecret(), services: ['tensor-scale'] };
const narrowKey: TestKey = { access_key: 'narrow', secret_key: newSecret(), services: ['other'] };
const keysFile = writeKeysFile([pipeKey, narrowKey]);

function secretFile(key: TestKey): string {
  const file = join(mkdtempSync(join(tmpdir(), 'aiges-pipes-')), 'secret');
  writeFileSync(file, `${key.secret_key}\n`, { mode: 0o600 });
  return file;
}
const pipes = (key: TestKey) => ({ access_key: key.access_key, secret_key_file: secretFile(key) });

const running = closedAfterEach();
const served = (overrides: Record<string, Record<string, unknown>>) => servedIn(running, overrides);

describe('ctx.infer to a loader with [auth] mode = "aksk"', () => {
  it.each(['aiges', 'v2'])('signs each call with the [pipes] key (%s): the callee takes it', async (protocol) => {
    const callee = await served({ plugin: { path: SCALE }, auth: { mode: 'aksk', keys_file: keysFile } });
    const caller = await served({ plugin: { path: CALLER }, wrapper: { address: callee.address, protocol }, pipes: pipes(pipeKey) });
    for (const v of [1, 2, 3]) {
      const res = await infer(caller.client, { service: 'pipe-caller', params: { tensor: 'true' }, items: [x([v])] });
      expect(floats(res.items[0])).toEqual([10 * v]);
    }
  });

  it('without [pipes] credentials the callee refuses: 10206 reaches the client', async () => {
    const callee = await served({ plugin: { path: SCALE }, auth: { mode: 'aksk', keys_file: keysFile } });
    const caller = await served({ plugin: { path: CALLER }, wrapper: { address: callee.address } });
    await expectGrpcError(
      infer(caller.client, { service: 'pipe-caller', params: { tensor: 'true' }, items: [x([1])] }),
      grpc.status.UNAUTHENTICATED,
      Codes.UNAUTHENTICATED,
    );
  });

  it("a key without the callee's service is refused with 10207", async () => {
    const callee = await served({ plugin: { path: SCALE }, auth: { mode: 'aksk', keys_file: keysFile } });
    const caller = await served({ plugin: { path: CALLER }, wrapper: { address: callee.address }, pipes: pipes(narrowKey) });
    await expectGrpcError(
      infer(caller.client, { service: 'pipe-caller', params: { tensor: 'true' }, items: [x([1])] }),
      grpc.status.PERMISSION_DENIED,
      Codes.PERMISSION_DENIED,
    );
  });

  it('over mutual TLS: a grpcs:// address with [pipes] ca_file, cert_file and key_file', async () => {
    const pki = makePki('pipes-ca', ['callee', 'caller']);
    const callee = await served({
      plugin: { path: SCALE },
      auth: { mode: 'aksk', keys_file: keysFile },
      server: {
        host: '127.0.0.1',
        grpc_port: 0,
        http_port: 0,
        tls: { cert_file: pki.certs.callee.certFile, key_file: pki.certs.callee.keyFile, client_ca_file: pki.ca.caFile },
      },
    });
    const address = `grpcs://${callee.address}`;
    const tlsFiles = { ca_file: pki.ca.caFile, cert_file: pki.certs.caller.certFile, key_file: pki.certs.caller.keyFile };
    const caller = await served({ plugin: { path: CALLER }, wrapper: { address }, pipes: { ...pipes(pipeKey), ...tlsFiles } });
    const res = await infer(caller.client, { service: 'pipe-caller', params: { tensor: 'true' }, items: [x([7])] });
    expect(floats(res.items[0])).toEqual([70]);
    // Without the client certificate the callee ends the handshake: the remote cannot be reached.
    const noCert = await served({
      plugin: { path: CALLER },
      wrapper: { address },
      pipes: { ...pipes(pipeKey), ca_file: pki.ca.caFile },
    });
    await expectGrpcError(
      infer(noCert.client, { service: 'pipe-caller', params: { tensor: 'true' }, items: [x([7])] }, 20_000),
      grpc.status.UNAVAILABLE,
      Codes.INSTANCE_INACTIVE,
    );
  });

  it('through polaris: the call names the service as its authority, and the signature holds', async () => {
    const store = new MemoryStore();
    const start = async (path: string, sections: Record<string, Record<string, unknown>>) => {
      const loader = new Loader(
        loadConfig({
          overrides: { server: { host: '127.0.0.1', grpc_port: 0, http_port: 0 }, plugin: { path }, log: { level: 'silent' }, ...sections },
        }),
        { defaultMetrics: false, polaris: new MemoryPolaris(store) },
      );
      running.push({ close: () => loader.stop() });
      await loader.start();
      return loader;
    };
    await start(SCALE, { auth: { mode: 'aksk', keys_file: keysFile } });
    const caller = await start(CALLER, { wrapper: { via: 'polaris' }, pipes: pipes(pipeKey) });
    const client = createLoaderClient(`127.0.0.1:${caller.grpcPort}`);
    running.push({ close: async () => client.close() });
    const res = await infer(client, { service: 'pipe-caller', params: { tensor: 'true' }, items: [x([5])] });
    expect(floats(res.items[0])).toEqual([50]);
  });
});

describe('[pipes] settings', () => {
  it('refuses a key without its secret file, and a certificate without its key', () => {
    expect(() => loadConfig({ overrides: { plugin: { path: 'demo/echo' }, pipes: { access_key: 'a' } } })).toThrow(/secret_key_file/);
    expect(() => loadConfig({ overrides: { plugin: { path: 'demo/echo' }, pipes: { cert_file: 'c.pem' } } })).toThrow(/key_file/);
  });

  it('names an unreadable or malformed secret file without quoting it', () => {
    expect(() => pipeOptions({ access_key: 'a', secret_key_file: '/nonexistent/secret' })).toThrow(ConfigError);
    expect(() => pipeOptions({ access_key: 'a', secret_key_file: '/nonexistent/secret' })).toThrow(/ENOENT/);
    const file = join(mkdtempSync(join(tmpdir(), 'aiges-pipes-')), 'secret');
    writeFileSync(file, 'not base64 at all: s3cr3t!');
    expect(() => pipeOptions({ access_key: 'a', secret_key_file: file })).toThrow(/does not hold a base64 secret/);
    expect(() => pipeOptions({ access_key: 'a', secret_key_file: file })).not.toThrow(/s3cr3t/);
  });

  it('without keys or files: no credentials, no TLS', () => {
    expect(pipeOptions({})).toEqual({ credentials: undefined, tls: undefined });
  });
});
