/**
 * Native host, how session results are read, as AIGes's loader reads them (fidelity test wrapper):
 * one read per intermediate write (realTimeRlt) or none, reading after the last write until the
 * final result, a wrapper handing out the same result on every read, a final result that never
 * comes (sync and async), and results after the final one.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FINAL_READ_WAIT_MS, type NativeLibrary, type NativeSession, type OpenOptions } from '../../native/host.js';
import { artifacts, collector, ensureNativeBuild, item, probe, Status, useLibraries } from './helpers.js';

beforeAll(ensureNativeBuild, 240_000);

const openLib = useLibraries();
function sessions(options: Partial<OpenOptions> = {}): Promise<NativeLibrary> {
  return openLib(artifacts.fidelity, { mode: 'session', async: false, threads: 2, finalReadWaitMs: 300, ...options });
}
const reads = () => probe().call(artifacts.fidelity, 'fidelityReads');

async function writeFrames(session: NativeSession, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const status = i === 0 ? Status.BEGIN : i === count - 1 ? Status.END : Status.CONTINUE;
    await session.write([item('audio', `f${i}`, status)]);
  }
}

const texts = (results: { data: Buffer }[][]) => results.flat().map((r) => r.data.toString());

describe('sync sessions', () => {
  it('a wrapper returning its last frame on every read yields each frame once, then ends with 10908', async () => {
    const lib = await sessions();
    probe().call(artifacts.fidelity, 'fidelityReset');
    const c = collector();
    const session = await lib.createSession('repeat', { mode: 'repeat' }, c.onResult);
    await writeFrames(session, 5);
    const lastWrite = performance.now();
    const err = await c.ended.then(
      () => expect.fail('no final result was given: the session must not end normally'),
      (e: unknown) => e,
    );
    const waited = performance.now() - lastWrite;
    expect(texts(c.results)).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
    expect(c.results.flat().every((r) => r.status === Status.CONTINUE)).toBe(true);
    expect(err).toMatchObject({ fn: 'wrapperRead', aigesCode: 10908, message: expect.stringContaining('no final result') });
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(2000);
    // One read per intermediate write, then back-off reads (0, 1, 2 … 20 ms) over 300 ms: tens, not a spin.
    expect(reads()).toBeLessThan(60);
    await session.destroy();
  });

  it('realTimeRlt false: no read before the last write, then every result up to the final one', async () => {
    const lib = await sessions({ realTimeRlt: false });
    const c = collector();
    const session = await lib.createSession('nrt', {}, c.onResult);
    await session.write([item('audio', 'a', Status.BEGIN)]);
    await session.write([item('audio', 'b', Status.CONTINUE)]);
    expect(c.results).toEqual([]);
    await session.write([item('audio', 'c', Status.END)]);
    await c.ended;
    const statuses = c.results.map((r) => JSON.parse(r[0]!.data.toString()).data[0].status as number);
    expect(statuses).toEqual([Status.BEGIN, Status.CONTINUE, Status.END]);
    await session.destroy();
  });

  it('realTimeRlt false with a repeating wrapper: only the last frame, then 10908', async () => {
    const lib = await sessions({ realTimeRlt: false });
    const c = collector();
    const session = await lib.createSession('nrt-repeat', { mode: 'repeat' }, c.onResult);
    await writeFrames(session, 4);
    await expect(c.ended).rejects.toMatchObject({ aigesCode: 10908 });
    expect(texts(c.results)).toEqual(['f3']);
    await session.destroy();
  });

  it('realTimeRlt true: exactly one read after each intermediate write', async () => {
    const lib = await sessions();
    probe().call(artifacts.fidelity, 'fidelityReset');
    const c = collector();
    const session = await lib.createSession('rt', {}, c.onResult);
    await session.write([item('audio', 'a', Status.BEGIN)]);
    await session.write([item('audio', 'b', Status.CONTINUE)]);
    expect(c.results).toHaveLength(2);
    expect(reads()).toBe(2);
    await session.write([item('audio', 'c', Status.END)]);
    await c.ended;
    expect(c.results).toHaveLength(3);
    await session.destroy();
  });

  it('the last input is the one after which every key has ended', async () => {
    const lib = await sessions();
    probe().call(artifacts.fidelity, 'fidelityReset');
    const c = collector();
    const session = await lib.createSession('keys', { mode: 'repeat' }, c.onResult);
    await session.write([item('a', 'a0', Status.BEGIN), item('b', 'b0', Status.BEGIN)]);
    await session.write([item('a', 'a1', Status.END)]); // b is still open: one read, no waiting for a final
    // NOTE: a fixed wait: what is checked is that nothing happens (no reads) meanwhile.
    await new Promise((r) => setTimeout(r, 100));
    expect(reads()).toBe(2);
    await session.write([item('b', 'b1', Status.END)]);
    await expect(c.ended).rejects.toMatchObject({ aigesCode: 10908 });
    expect(texts(c.results)).toEqual(['a0', 'a1', 'b1']);
    await session.destroy();
  });

  it('waits AIGes\u2019s 5 s for a final result by default', () => {
    expect(DEFAULT_FINAL_READ_WAIT_MS).toBe(5000);
  });
});

describe('async sessions', () => {
  it('a wrapper that never calls back a final result ends the session with 10910 after the wait', async () => {
    const lib = await sessions({ async: true });
    const c = collector();
    const session = await lib.createSession('never', { mode: 'never_final' }, c.onResult);
    await writeFrames(session, 3);
    const lastWrite = performance.now();
    await expect(c.ended).rejects.toMatchObject({
      fn: 'wrapperCallback',
      aigesCode: 10910,
      message: expect.stringContaining('no final result'),
    });
    expect(performance.now() - lastWrite).toBeGreaterThanOrEqual(290);
    expect(texts(c.results)).toEqual(['f0', 'f1', 'f2']);
    await session.destroy();
  });

  it('drops results called back after the final one', async () => {
    const lib = await sessions({ async: true });
    const c = collector();
    const session = await lib.createSession('late', { mode: 'after_final' }, c.onResult);
    await writeFrames(session, 3);
    await c.ended;
    await session.destroy();
    expect(texts(c.results)).toEqual(['f0', 'f1', 'f2']);
    expect(c.results.flat().at(-1)!.status).toBe(Status.END);
  });
});
