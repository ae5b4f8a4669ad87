/**
 * A deterministic synthetic test signal for the VAD demo: bursts of tones and noise separated by
 * silences, over a faint noise floor, as 16-bit little-endian mono PCM. Used by `make-sample.ts`
 * and by the tests, so both see the same bytes.
 */

export interface Burst {
  startMs: number;
  endMs: number;
  kind: 'tone' | 'noise';
  /** Peak amplitude as a fraction of full scale. */
  amplitude: number;
  /** Tone frequency in Hz (tones only). */
  frequency?: number;
}

export interface SignalLayout {
  durationMs: number;
  bursts: readonly Burst[];
  /** Peak amplitude of the background noise (fraction of full scale). */
  noiseFloor: number;
  /** PRNG seed: the same layout and seed always give the same bytes. */
  seed: number;
}

/**
 * The sample: three speech-like regions and a click.
 * - 300–800 ms: 440 Hz tone; 1210–1530 ms: white noise;
 * - 2000–2400 ms and 2500–2900 ms: tones with a 100 ms gap (shorter than the default
 *   min_silence_ms, so one segment);
 * - 3300–3340 ms: a 40 ms click (shorter than the default min_speech_ms, so dropped).
 */
export const SAMPLE_LAYOUT: SignalLayout = {
  durationMs: 3800,
  noiseFloor: 0.0015,
  seed: 20240601,
  bursts: [
    { startMs: 300, endMs: 800, kind: 'tone', amplitude: 0.5, frequency: 440 },
    { startMs: 1210, endMs: 1530, kind: 'noise', amplitude: 0.4 },
    { startMs: 2000, endMs: 2400, kind: 'tone', amplitude: 0.3, frequency: 1000 },
    { startMs: 2500, endMs: 2900, kind: 'tone', amplitude: 0.3, frequency: 700 },
    { startMs: 3300, endMs: 3340, kind: 'tone', amplitude: 0.5, frequency: 2000 },
  ],
};

/** The segments a VAD with default params should find in SAMPLE_LAYOUT, in ms. */
export const SAMPLE_SEGMENTS_MS: readonly { startMs: number; endMs: number }[] = [
  { startMs: 300, endMs: 800 },
  { startMs: 1210, endMs: 1530 },
  { startMs: 2000, endMs: 2900 },
];

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Renders a layout as PCM s16le mono; returns a fresh Buffer of `durationMs` of audio. */
export function synthesize(layout: SignalLayout = SAMPLE_LAYOUT, sampleRate = 16000): Buffer {
  const total = Math.round((layout.durationMs * sampleRate) / 1000);
  const out = Buffer.alloc(2 * total);
  const random = prng(layout.seed);
  for (let i = 0; i < total; i++) {
    const ms = (i * 1000) / sampleRate;
    let v = (random() * 2 - 1) * layout.noiseFloor;
    for (const b of layout.bursts) {
      if (ms < b.startMs || ms >= b.endMs) continue;
      v +=
        b.kind === 'tone'
          ? b.amplitude * Math.sin((2 * Math.PI * (b.frequency ?? 440) * i) / sampleRate)
          : (random() * 2 - 1) * b.amplitude;
    }
    out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32767))), 2 * i);
  }
  return out;
}
