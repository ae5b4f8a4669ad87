/**
 * Native host, sessions and a slow client (fidelity test wrapper): when onResult returns false the
 * host stops reading the wrapper (sync), blocks its callbacks (async) and holds writes back, with a
 * bounded number of results on their way; resume() goes on where it stopped, in order, and destroy()
 * ends the hold.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_QUEUED_RESULTS, type NativeItem, type NativeLibrary } from '../../native/host.js';
import { artifacts, ensureNativeBuild, item, probe, Status, useLibraries } from './helpers.js';

beforeAll(ensureNativeBuild, 240_000);

const openLib = useLibraries();
function sessions(async: boolean): Promise<NativeLibrary> {
  return openLib(artifacts.fidelity, { mode: 'session', async, threads: 2, finalReadWaitMs: 2000 });
}
const counter = (name: string) => probe().call(artifacts.fidelity, name);
const BURST = 40;

/** A client that stops taking results (onResult returns false) until `consume()`. */
function slowClient() {
  const results: string[] = [];
  let taking = false;
  let resolveEnd!: () => void;
  let rejectEnd!: (err: Error) => void;
  const ended = new Promise<void>((res, rej) => {
    resolveEnd = res;
    rejectEnd = rej;
  });
  ended.catch(() => undefined);
  const onResult = (items: NativeItem[] | null, err: Error | null): boolean => {
    if (err) rejectEnd(err);
    else if (items) results.push(...items.map((i) => i.data.toString()));
    else resolveEnd();
    return taking;
  };
  return {
    results,
    ended,
    onResult,
    consume: () => {
      taking = true;
    },
  };
}

/** NOTE: a fixed wait: what is checked is that nothing more happens while the client holds back. */
const quiet = () => new Promise((r) => setTimeout(r, 150));

describe.each([false, true])('a client that does not read, async=%s', (async) => {
  it('holds the wrapper back after a bounded number of results, then resumes in order', async () => {
    const lib = await sessions(async);
    counter('fidelityReset');
    const client = slowClient();
    const session = await lib.createSession(`slow-${async}`, { burst: String(BURST) }, client.onResult);
    await session.write([item('a', 'go', Status.BEGIN)]);
    const last = session.write([item('a', 'end', Status.END)]);
    await quiet();
    // At most MAX_QUEUED_RESULTS were on their way when the first onResult returned false.
    expect(client.results.length).toBeGreaterThan(0);
    expect(client.results.length).toBeLessThanOrEqual(MAX_QUEUED_RESULTS);
    const produced = counter(async ? 'fidelityCallbacks' : 'fidelityReads');
    expect(produced).toBeLessThanOrEqual(MAX_QUEUED_RESULTS + 1);
    await quiet();
    expect(counter(async ? 'fidelityCallbacks' : 'fidelityReads')).toBe(produced);

    client.consume();
    session.resume();
    await last;
    await client.ended;
    expect(client.results).toEqual(Array.from({ length: BURST }, (_, i) => `b${i}`));
    await session.destroy();
    expect(lib.stats()).toMatchObject({ liveSessions: 0, running: 0 });
  });

  it('destroy ends the hold of a client that never reads, and reads no more', async () => {
    const lib = await sessions(async);
    counter('fidelityReset');
    const client = slowClient();
    const session = await lib.createSession(`never-${async}`, { burst: String(BURST) }, client.onResult);
    await session.write([item('a', 'go', Status.BEGIN)]);
    const last = session.write([item('a', 'end', Status.END)]);
    await quiet();
    const readsBefore = counter('fidelityReads');
    await session.destroy();
    await last;
    expect(client.results.length).toBeLessThan(BURST);
    // Sync: the wrapper's backlog is not read out for a session on its way out.
    if (!async) expect(counter('fidelityReads')).toBe(readsBefore);
    expect(lib.stats()).toMatchObject({ liveSessions: 0, running: 0 });
  });
});

describe('writes while the client holds results back', () => {
  it.each([false, true])('async=%s: wait until resume()', async (async) => {
    const lib = await sessions(async);
    const client = slowClient();
    const session = await lib.createSession(`hold-${async}`, {}, client.onResult);
    await session.write([item('a', 'first', Status.BEGIN)]);
    await expect.poll(() => client.results.length).toBe(1);
    let written = false;
    const second = session.write([item('a', 'second', Status.CONTINUE)]).then(() => {
      written = true;
    });
    await quiet();
    expect(written).toBe(false);
    expect(client.results).toHaveLength(1);
    client.consume();
    session.resume();
    await second;
    await session.write([item('a', 'third', Status.END)]);
    await client.ended;
    expect(client.results.map((r) => JSON.parse(r).data[0].status as number)).toEqual([Status.BEGIN, Status.CONTINUE, Status.END]);
    await session.destroy();
  });
});
