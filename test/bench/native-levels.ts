/**
 * The four levels the native section measures, each a sequential loop of once calls (one in
 * flight) to demo/native-echo that returns the per-call times in ns:
 *   (a) direct    wrapperExec + wrapperExecFree in a C++ loop (aiges_bench.node, test/bench/native/)
 *   (b) host      NativeLibrary.exec from JS: worker-thread hop, JS ↔ C conversion, output copy
 *   (c) dataplane the loader's data plane in-process (createHarness on the native kind's wrapper)
 * (b) and (c) release each output after the call, as the loader's gRPC and HTTP adapters do once
 * a response is serialized (releaseOutput: a large output's block is reused at once).
 *   (d) grpc      a full aiges.v1.Loader/Infer round trip to a loader serving the library
 * Every level checks one full echo before it starts timing. For context, the same gRPC loop runs
 * against the bare grpc-js echo (bare-grpc.ts), and the addon times a bare hand-off to a sleeping
 * thread and back (mutex + condition variable), which (b)–(d) all pay at least once per call.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createLoaderClient, infer, type InferRequest } from '../../loader/tools/client.js';
import { nativeKind } from '../../loader/plugin/kind-native.js';
import { locatePlugin } from '../../loader/plugin/repository.js';
import { openLibrary, releaseOutput, type NativeItem } from '../../native/host.js';
import { createHarness } from '../../plugins/testing.js';
import { DataStatus, DataType, type DataItem } from '../../plugins/types.js';
import { startNativeLoader, startServer } from './servers.js';

export const NATIVE_SERVICE = 'native-echo';
/** Generous: a level never comes near it; it only bounds a hung call. */
const CALL_TIMEOUT_MS = 60_000;

export interface NativeArtifacts {
  release: string;
  echo: string;
  host: string;
  bench: string;
}

export function nativeArtifacts(root: string): NativeArtifacts {
  const release = join(root, 'native', 'build', 'Release');
  return {
    release,
    echo: join(release, 'libnative_echo.so'),
    host: join(release, 'aiges_host.node'),
    bench: join(release, 'aiges_bench.node'),
  };
}

/** The missing build outputs, as paths (empty when all are there). */
export function missingArtifacts(a: NativeArtifacts): string[] {
  return [a.echo, a.host, a.bench].filter((p) => !existsSync(p));
}

interface BenchAddon {
  directExec(libPath: string, iterations: number, payloadBytes: number): Float64Array;
  memcpyBandwidth(bytes: number, iterations: number): { bestGBps: number; medianGBps: number };
  threadRoundTrip(iterations: number): Float64Array;
}

export function loadBenchAddon(a: NativeArtifacts): BenchAddon {
  return createRequire(import.meta.url)(a.bench) as BenchAddon;
}

/** How many calls a level makes: `warmup` untimed, then `calls` timed. */
export interface LoopCount {
  warmup: number;
  calls: number;
}

/** Times `calls` sequential calls of `once` after `warmup` untimed ones; ns per call. */
export async function timeLoop(count: LoopCount, once: () => Promise<void>): Promise<Float64Array> {
  for (let i = 0; i < count.warmup; i++) await once();
  const ns = new Float64Array(count.calls);
  let last = performance.now();
  for (let i = 0; i < count.calls; i++) {
    await once();
    const now = performance.now();
    ns[i] = (now - last) * 1e6;
    last = now;
  }
  return ns;
}

function payloadOf(bytes: number): Buffer {
  return Buffer.alloc(bytes, 'aiges-bench ');
}

function checkEcho(level: string, got: Buffer | undefined, sent: Buffer): void {
  if (got === undefined || !got.equals(sent)) throw new Error(`${level}: the echo did not return the payload`);
}

/** (a): the addon's own warm-up precedes the timed loop (a tenth of the calls, at most 1000). */
export function directLevel(addon: BenchAddon, a: NativeArtifacts, payloadBytes: number, calls: number): Float64Array {
  return addon.directExec(a.echo, calls, payloadBytes);
}

/** (b): one worker thread, as the native kind opens the library for concurrency 1. */
export async function hostLevel(a: NativeArtifacts, payloadBytes: number, count: LoopCount): Promise<Float64Array> {
  const lib = await openLibrary(a.echo, { mode: 'once', async: false, threads: 1 });
  try {
    await lib.init({});
    try {
      const payload = payloadOf(payloadBytes);
      const items: NativeItem[] = [{ key: 'data', data: payload, type: DataType.OTHER, status: DataStatus.ONCE, desc: {} }];
      const params = { sid: 'bench' };
      checkEcho('host', (await lib.exec('bench', params, items, CALL_TIMEOUT_MS))[0]?.data, payload);
      return await timeLoop(count, async () => {
        // As the loader's adapters do once a response is serialized: large outputs go back at once.
        for (const out of await lib.exec('bench', params, items, CALL_TIMEOUT_MS)) releaseOutput(out.data);
      });
    } finally {
      await lib.fini();
    }
  } finally {
    lib.close();
  }
}

/** (c): the wrapper the loader itself would build from `[plugin] kind = "native"`, concurrency 1. */
export async function dataplaneLevel(a: NativeArtifacts, payloadBytes: number, count: LoopCount): Promise<Float64Array> {
  const wrapper = await nativeKind.load(locatePlugin(a.echo, 'native'), {
    section: { service: NATIVE_SERVICE, mode: 'once', async: false },
    schema: undefined,
    concurrency: 1,
    aiges: { realTimeRlt: true },
  });
  const h = await createHarness(wrapper, { concurrency: 1 });
  try {
    const payload = payloadOf(payloadBytes);
    const items: DataItem[] = [{ key: 'data', type: DataType.OTHER, status: DataStatus.ONCE, encoding: '', attributes: {}, data: payload }];
    checkEcho('dataplane', (await h.infer(items))[0]?.data, payload);
    return await timeLoop(count, async () => {
      // As the adapters do after serializing (Dataplane.releaseOutputs).
      for (const out of await h.infer(items)) releaseOutput(out.data);
    });
  } finally {
    await h.close();
  }
}

/**
 * (d): the loader in its own process (`serve -c demo/native-echo/aiges.toml`), one channel;
 * `bare`: the same calls to the bare grpc-js echo instead.
 */
export async function grpcLevel(root: string, server: 'loader' | 'bare', payloadBytes: number, count: LoopCount): Promise<Float64Array> {
  const proc = server === 'loader' ? await startNativeLoader(root) : await startServer(root, 'bare', 'grpc');
  const client = createLoaderClient(`127.0.0.1:${proc.port}`);
  try {
    const payload = payloadOf(payloadBytes);
    const request: InferRequest = {
      service: NATIVE_SERVICE,
      params: {},
      headers: {},
      items: [{ key: 'data', type: DataType.OTHER, status: DataStatus.ONCE, encoding: '', attributes: {}, data: payload }],
    };
    checkEcho(`grpc ${server}`, (await infer(client, request, CALL_TIMEOUT_MS)).items[0]?.data, payload);
    return await timeLoop(count, async () => {
      await infer(client, request, CALL_TIMEOUT_MS);
    });
  } finally {
    client.close();
    await proc.stop();
  }
}
