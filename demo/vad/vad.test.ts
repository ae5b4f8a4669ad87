import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, item, type Harness } from '../../plugins/testing.js';
import { DataStatus, type DataItem } from '../../plugins/types.js';
import { SAMPLE_LAYOUT, SAMPLE_SEGMENTS_MS, synthesize } from './signal.js';
import vad from './wrapper.js';

const WINDOW_MS = 20; // the default window_ms
const pcm = synthesize(SAMPLE_LAYOUT, 16000);

interface Info {
  index: number;
  start_ms: number;
  end_ms: number;
}

/** Cuts `data` into audio items of `size` bytes: BEGIN first, END last, CONTINUE between. */
function frames(data: Buffer, size: number, attributes: Record<string, string> = { sample_rate: '16000' }) {
  const out: DataItem[][] = [];
  for (let at = 0; at < data.length; at += size) {
    const last = at + size >= data.length;
    const status = last ? DataStatus.END : at === 0 ? DataStatus.BEGIN : DataStatus.CONTINUE;
    out.push([audio(data.subarray(at, at + size), { status, attributes: at === 0 ? attributes : {} })]);
  }
  return out;
}

type AudioOptions = { status?: DataStatus; attributes?: Record<string, string>; encoding?: string };

function audio(data: Buffer, options: AudioOptions = {}): DataItem {
  return item('audio', data, { type: 'audio', encoding: 'pcm_s16le', status: DataStatus.ONCE, ...options });
}

/** The segments of a session's results: each `info` with its `segment` audio, and the final summary. */
function parseSession(batches: DataItem[][]) {
  const segments = batches
    .filter((b) => b.some((i) => i.key === 'info'))
    .map((b) => ({
      info: JSON.parse(b.find((i) => i.key === 'info')!.data.toString()) as Info,
      audio: b.find((i) => i.key === 'segment')!.data,
    }));
  const last = batches.at(-1)!;
  const summary = JSON.parse(last.find((i) => i.key === 'segments')!.data.toString()) as {
    segments: Info[];
    duration_ms: number;
  };
  return { segments, summary, lastStatus: last[0]!.status };
}

function expectNearSample(found: readonly Info[]) {
  expect(found.map((s) => s.index)).toEqual(SAMPLE_SEGMENTS_MS.map((_, i) => i));
  found.forEach((s, i) => {
    const want = SAMPLE_SEGMENTS_MS[i]!;
    expect(Math.abs(s.start_ms - want.startMs)).toBeLessThanOrEqual(WINDOW_MS);
    expect(Math.abs(s.end_ms - want.endMs)).toBeLessThanOrEqual(WINDOW_MS);
  });
}

const start = () => createHarness(vad);

let h: Harness;
afterEach(async () => {
  expect(h.dataplane.admission.inUse).toBe(0);
  await h.close();
});

describe('vad session mode', () => {
  it('finds the bursts within one window, drops the click and bridges the short gap', async () => {
    h = await start();
    const { segments, summary, lastStatus } = parseSession(await h.runSession(frames(pcm, 320)));
    expectNearSample(segments.map((s) => s.info));
    for (const { info, audio } of segments) {
      // The segment's audio is exactly the input between its start and end.
      expect(audio.equals(pcm.subarray(info.start_ms * 32, info.end_ms * 32))).toBe(true);
    }
    expect(summary.segments).toEqual(segments.map((s) => s.info));
    expect(summary.duration_ms).toBe(SAMPLE_LAYOUT.durationMs);
    expect(lastStatus).toBe(DataStatus.END);
  });

  it('gives the same segments whatever the frame size, odd sizes included', async () => {
    h = await start();
    const runs = await Promise.all([320, 7, 4093, pcm.length].map((size) => h.runSession(frames(pcm, size))));
    const [reference, ...others] = runs.map(parseSession);
    expectNearSample(reference!.segments.map((s) => s.info));
    for (const other of others) {
      expect(other.summary).toEqual(reference!.summary);
      expect(other.segments.map((s) => s.audio.toString('base64'))).toEqual(reference!.segments.map((s) => s.audio.toString('base64')));
    }
  });

  it('emits a segment as soon as it closes, before the input ends', async () => {
    h = await start();
    const session = await h.session();
    let resolveFirst!: (info: Info) => void;
    const first = new Promise<Info>((resolve) => (resolveFirst = resolve));
    const batches: DataItem[][] = [];
    const reading = (async () => {
      for await (const r of session.results) {
        const info = r.items.find((i) => i.key === 'info');
        if (info !== undefined && batches.length === 0) resolveFirst(JSON.parse(info.data.toString()) as Info);
        if (r.items.length > 0) batches.push(r.items);
      }
    })();
    const all = frames(pcm, 320); // 10 ms each; the first segment closes at 800 + 200 ms
    const cut = 120;
    for (const frame of all.slice(0, cut)) await session.write(frame);
    const info = await first;
    // It arrived with only 1200 ms of the 3800 ms written.
    expect(info.index).toBe(0);
    expect(Math.abs(info.start_ms - SAMPLE_SEGMENTS_MS[0]!.startMs)).toBeLessThanOrEqual(WINDOW_MS);
    expect(Math.abs(info.end_ms - SAMPLE_SEGMENTS_MS[0]!.endMs)).toBeLessThanOrEqual(WINDOW_MS);
    for (const frame of all.slice(cut)) await session.write(frame);
    await session.end();
    await reading;
    const { segments, lastStatus } = parseSession(batches);
    expect(segments).toHaveLength(SAMPLE_SEGMENTS_MS.length);
    expect(lastStatus).toBe(DataStatus.END);
  });

  it('ends with an empty summary when no audio was sent', async () => {
    h = await start();
    const { segments, summary, lastStatus } = parseSession(await h.runSession([]));
    expect(segments).toEqual([]);
    expect(summary).toEqual({ segments: [], duration_ms: 0 });
    expect(lastStatus).toBe(DataStatus.END);
  });

  it('applies min_speech_ms and min_silence_ms', async () => {
    h = await start();
    const loose = parseSession(await h.runSession(frames(pcm, 640), { min_speech_ms: '0', min_silence_ms: '50' }));
    const spans = loose.summary.segments.map((s) => [s.start_ms, s.end_ms]);
    // The 100 ms gap now splits the third burst, and the 40 ms click is kept.
    expect(spans).toHaveLength(5);
    expect(Math.abs(spans[2]![1]! - 2400)).toBeLessThanOrEqual(WINDOW_MS);
    expect(Math.abs(spans[4]![0]! - 3300)).toBeLessThanOrEqual(WINDOW_MS);
    expect(Math.abs(spans[4]![1]! - 3340)).toBeLessThanOrEqual(WINDOW_MS);
  });

  it('reads sample_rate from the first frame', async () => {
    h = await start();
    const pcm8k = synthesize(SAMPLE_LAYOUT, 8000);
    const { summary } = parseSession(await h.runSession(frames(pcm8k, 333, { sample_rate: '8000' })));
    expectNearSample(summary.segments);
    expect(summary.duration_ms).toBe(SAMPLE_LAYOUT.durationMs);
  });
});

describe('vad once mode', () => {
  it('segments a whole buffer like a session does', async () => {
    h = await start();
    const out = await h.infer([audio(pcm, { attributes: { sample_rate: '16000' } })]);
    expect(out.map((i) => i.key)).toEqual(['segments']);
    expect(out[0]!.encoding).toBe('json');
    const summary = JSON.parse(out[0]!.data.toString()) as { segments: Info[]; duration_ms: number };
    expectNearSample(summary.segments);
    const session = parseSession(await h.runSession(frames(pcm, 320)));
    expect(summary).toEqual(session.summary);
  });
});

describe('vad rejects bad requests', () => {
  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => 'resolved',
      (err: { aigesCode?: number }) => err.aigesCode,
    );

  it('rejects params outside the schema', async () => {
    h = await start();
    expect(await codeOf(h.session({ threshold_db: '5' }))).toBe(10107);
    expect(await codeOf(h.infer([audio(pcm)], { threshold_db: '5' }))).toBe(10107);
    expect(await codeOf(h.session({ min_silence_ms: '-1' }))).toBe(10107);
    expect(await codeOf(h.session({ window_ms: '5' }))).toBe(10107);
    expect(await codeOf(h.session({ window_ms: 'abc' }))).toBe(10106);
    expect(await codeOf(h.session({ loudness: '1' }))).toBe(10106);
  });

  it('rejects an encoding other than pcm_s16le', async () => {
    h = await start();
    expect(await codeOf(h.infer([audio(pcm, { encoding: 'mp3' })]))).toBe(10107);
    const opus = audio(pcm.subarray(0, 320), { encoding: 'opus', status: DataStatus.BEGIN });
    await expect(h.runSession([[opus]])).rejects.toMatchObject({ aigesCode: 10107 });
  });

  it('rejects stereo, bad sample rates and a rate change mid-session', async () => {
    h = await start();
    expect(await codeOf(h.infer([audio(pcm, { attributes: { channels: '2' } })]))).toBe(10107);
    expect(await codeOf(h.infer([audio(pcm, { attributes: { sample_rate: '16k' } })]))).toBe(10107);
    const change = [
      [audio(pcm.subarray(0, 320), { status: DataStatus.BEGIN })],
      [audio(pcm.subarray(320, 640), { attributes: { sample_rate: '8000' } })],
    ];
    await expect(h.runSession(change)).rejects.toMatchObject({ aigesCode: 10107, message: /sample_rate changed/ });
  });
});
