/**
 * AK/SK through the balancer, in process, in front of real loaders with `[auth]` (a keys file):
 * the balancer checks each client's signature, key and services at its edge and signs every hop
 * with its own key (`relay = true`), naming the caller; the loader takes that name only from such a
 * key. Small calls (Relay frames), large ones (streams of their own), sessions and Metadata; keys
 * from polaris revoked at the edge within 1 s.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AkSkAuth } from '../../../loader/auth/aksk.js';
import { KeysFile, type KeySource } from '../../../loader/auth/keys.js';
import { PolarisKeys } from '../../../loader/auth/keys-polaris.js';
import { AuthSection } from '../../../loader/config/schema.js';
import type { Loader } from '../../../loader/loader.js';
import { createLogger } from '../../../loader/log.js';
import { AuthCounts, type AuthResult } from '../../../loader/metrics.js';
import {
  type AkSkCredentials,
  createLoaderClient,
  type InferRequest,
  infer,
  type LoaderClient,
  metadata,
  runSession,
} from '../../../loader/tools/client.js';
import { EdgeAuth, HopSigner } from '../../../polaris/balancer/edge-auth.js';
import { RELAY_MAX_BYTES } from '../../../polaris/balancer/forward.js';
import { MemoryPolaris } from '../../../polaris/store/polaris-memory.js';
import { MemoryStore } from '../../../polaris/store/store-memory.js';
import { newSecret, type TestKey, writeKeysFile } from '../../server/auth-helpers.js';
import { expectGrpcError, textItem } from '../../server/grpc-helpers.js';
import { startLoader } from '../../server/http-helpers.js';
import { FakeDiscovery, record } from '../fake-discovery.js';
import { onceCalls, type RunningBalancer, startBalancerWith } from './helpers.js';

const log = createLogger('silent');
const alice: TestKey = { access_key: 'alice', secret_key: newSecret(), services: ['echo'] };
const bob: TestKey = { access_key: 'bob', secret_key: newSecret(), services: ['other'] };
const lb1: TestKey = { access_key: 'lb1', secret_key: newSecret(), relay: true };
const keysFile = writeKeysFile([alice, bob, lb1]);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const credentials = (k: TestKey): AkSkCredentials => ({ accessKey: k.access_key, secretKey: k.secret_key });

function client(address: string, key?: TestKey): LoaderClient {
  const c = createLoaderClient(address, {}, undefined, key === undefined ? undefined : credentials(key));
  cleanups.push(() => c.close());
  return c;
}

async function authLoader(): Promise<Loader> {
  const l = await startLoader({ auth: { mode: 'aksk', keys_file: keysFile } });
  cleanups.push(() => l.stop());
  return l;
}

function edge(keys: KeySource = new KeysFile(keysFile, log)): EdgeAuth {
  return new EdgeAuth(new AkSkAuth(AuthSection.parse({ mode: 'aksk', keys_source: 'polaris' }), keys, log, new AuthCounts()));
}

async function balancerOf(loader: Loader, options: { auth?: EdgeAuth; signer?: HopSigner }, live = true): Promise<RunningBalancer> {
  const discovery = new FakeDiscovery();
  discovery.add(record('echo', loader.grpcPort, 64));
  const b = await startBalancerWith(discovery, ['echo'], options);
  cleanups.push(() => b.close());
  if (live) await vi.waitFor(() => expect(b.balancer.snapshot()['echo']?.filter((e) => e.live).length).toBe(1));
  return b;
}

/** The loader's count of requests of `accessKey` with `result`. */
function counted(loader: Loader, accessKey: string, result: AuthResult): number {
  for (const [key, results] of loader.metrics.auth.entries()) if (key === accessKey) return results.get(result) ?? 0;
  return 0;
}

const small: InferRequest = { service: 'echo', items: [textItem('hi')] };

/** An Infer call with extra request metadata (the signing interceptor adds its own). */
function inferWith(c: LoaderClient, request: InferRequest, extra: Record<string, string>): Promise<unknown> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(extra)) md.set(k, v);
  return new Promise((resolve, reject) =>
    c.Infer(request, md, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

describe('the balancer with AK/SK', () => {
  it("serves a signed client's once calls (Relay and own streams), sessions and Metadata as that client's calls on the loader", async () => {
    const loader = await authLoader();
    const lb = await balancerOf(loader, { auth: edge(), signer: new HopSigner(credentials(lb1)) });
    const signed = client(lb.address, alice);

    const res = await infer(signed, small);
    expect(res.items[0]?.data.toString()).toBe('hi');
    expect(lb.balancer.snapshot()['echo']?.[0]?.relayed).toBe(1);

    const big = Buffer.alloc(RELAY_MAX_BYTES + 1024, 7);
    const large = await infer(signed, { service: 'echo', items: [{ key: 'data', type: 4, status: 3, data: big }] });
    expect(large.items[0]?.data.equals(big)).toBe(true);

    const session = await runSession(signed, { service: 'echo' }, [[{ ...textItem('a'), status: 1 }], [{ ...textItem('b'), status: 2 }]]);
    expect(session.responses.flatMap((r) => r.items.map((i) => i.data.toString())).join('')).toBe('ab');
    expect((await metadata(signed, 'echo')).service).toBe('echo');

    // Each call counted at the loader as alice's: once, large, session, Metadata.
    expect(counted(loader, 'alice', 'ok')).toBe(4);
    expect(await onceCalls(loader, 0)).toBe(2);
  });

  it('refuses at the edge what a loader would refuse, before any loader sees it', async () => {
    const loader = await authLoader();
    const lb = await balancerOf(loader, { auth: edge(), signer: new HopSigner(credentials(lb1)) });

    await expectGrpcError(infer(client(lb.address), small), grpc.status.UNAUTHENTICATED, 10206);
    const forged: TestKey = { ...alice, secret_key: newSecret() };
    await expectGrpcError(infer(client(lb.address, forged), small), grpc.status.UNAUTHENTICATED, 10206);
    const details = await expectGrpcError(infer(client(lb.address, bob), small), grpc.status.PERMISSION_DENIED, 10207);
    expect(details).toMatch(/access key "bob" may not call service "echo"/);
    // The balancer's own key calls no service of its own.
    await expectGrpcError(infer(client(lb.address, lb1), small), grpc.status.PERMISSION_DENIED, 10207);
    const unsignedSession = runSession(client(lb.address), { service: 'echo', items: [textItem('a')] }, []);
    await expectGrpcError(unsignedSession, grpc.status.UNAUTHENTICATED, 10206);

    expect(await onceCalls(loader)).toBe(0);
    // Only the balancer's own load stream reached the loader.
    expect([...loader.metrics.auth.entries()]).toEqual([['lb1', new Map([['ok', 1]])]]);
  });

  it('never passes on a caller a client names: only a balancer key names callers, to the loader', async () => {
    const loader = await authLoader();
    const lb = await balancerOf(loader, { auth: edge(), signer: new HopSigner(credentials(lb1)) });

    // Through the balancer, a client's own aiges-caller is dropped: the call stays alice's.
    await inferWith(client(lb.address, alice), small, { 'aiges-caller': 'bob' });
    expect(counted(loader, 'alice', 'ok')).toBe(1);
    expect(counted(loader, 'bob', 'ok')).toBe(0);

    // At the loader, a key that is not a balancer's may not name a caller.
    const direct = `127.0.0.1:${loader.grpcPort}`;
    const details = await expectGrpcError(
      inferWith(client(direct, bob), small, { 'aiges-caller': 'alice' }),
      grpc.status.PERMISSION_DENIED,
      10207,
    );
    expect(details).toMatch(/access key "bob" may not relay calls of other keys/);
    // A balancer key names a key the loader has not (or one revoked there), or names none.
    await expectGrpcError(inferWith(client(direct, lb1), small, { 'aiges-caller': 'mallory' }), grpc.status.UNAUTHENTICATED, 10206);
    await expectGrpcError(inferWith(client(direct, lb1), small, { 'aiges-caller': 'lb1' }), grpc.status.UNAUTHENTICATED, 10206);
    await expectGrpcError(infer(client(direct, lb1), small), grpc.status.PERMISSION_DENIED, 10207);
    // The named caller's services hold at the loader too.
    await expectGrpcError(inferWith(client(direct, lb1), small, { 'aiges-caller': 'bob' }), grpc.status.PERMISSION_DENIED, 10207);
    expect(await infer(client(direct, alice), small)).toBeDefined();
  });

  it('in front of loaders with [auth], fails closed without its key or without checking at the edge', async () => {
    const loader = await authLoader();
    // Unsigned, its load stream is refused: the loader is never live there.
    const unsignedHops = await balancerOf(loader, { auth: edge() }, false);
    await expectGrpcError(infer(client(unsignedHops.address, alice), small), grpc.status.UNAVAILABLE, 10101);
    expect(counted(loader, '_unknown', 'unauthenticated')).toBeGreaterThan(0);

    const uncheckedEdge = await balancerOf(loader, { signer: new HopSigner(credentials(lb1)) });
    const details = await expectGrpcError(infer(client(uncheckedEdge.address, alice), small), grpc.status.PERMISSION_DENIED, 10207);
    expect(details).toMatch(/names no caller/);
  });

  it('refuses a key revoked in polaris at the edge within 1 s', async () => {
    const loader = await authLoader();
    const store = new MemoryStore();
    const admin = new MemoryPolaris(store);
    await admin.keys.create({
      accessKey: 'alice',
      secretKey: alice.secret_key,
      services: ['echo'],
      createdAt: new Date().toISOString(),
      note: '',
    });
    const lb = await balancerOf(loader, {
      auth: edge(new PolarisKeys(new MemoryPolaris(store).keys, log)),
      signer: new HopSigner(credentials(lb1)),
    });
    const signed = client(lb.address, alice);
    expect((await infer(signed, small)).items[0]?.data.toString()).toBe('hi');

    await admin.keys.revoke('alice');
    await vi.waitFor(() => expectGrpcError(infer(signed, small), grpc.status.UNAUTHENTICATED, 10206), { timeout: 1_000, interval: 50 });
  });
});
