/**
 * Writes the VAD demo's sample audio: `npx tsx demo/vad/make-sample.ts [out.pcm]`
 * (default demo/vad/sample.pcm). The file is raw PCM s16le, 16 kHz, mono, and always the same
 * bytes (see signal.ts); it is generated, not committed.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SAMPLE_LAYOUT, SAMPLE_SEGMENTS_MS, synthesize } from './signal.js';

const out = process.argv[2] ?? fileURLToPath(new URL('./sample.pcm', import.meta.url));
const pcm = synthesize(SAMPLE_LAYOUT, 16000);
writeFileSync(out, pcm);
console.log(`wrote ${out}: ${pcm.length} bytes, ${SAMPLE_LAYOUT.durationMs} ms of 16 kHz mono pcm_s16le`);
console.log(`expected speech segments (ms): ${SAMPLE_SEGMENTS_MS.map((s) => `${s.startMs}-${s.endMs}`).join(', ')}`);
