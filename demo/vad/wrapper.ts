/**
 * vad: energy-based voice-activity detection over 16-bit PCM.
 *
 * Session mode streams audio in frames of any size and gets each speech segment back as soon as
 * it closes (`segment` audio + `info` JSON), then one last result (`segments`, status END) that
 * lists them all. Once mode takes a whole buffer and returns only the `segments` list.
 * The analysis itself lives in segmenter.ts; this file maps it onto the plugin contract.
 */
import { DataStatus, defineWrapper, pluginError, ResultQueue } from 'aiges-ts';
import type { DataItem, OutputItem, Params } from 'aiges-ts';
import { EnergySegmenter, type Segment, type SegmenterOptions } from './segmenter.js';

const PCM = 'pcm_s16le';
const DEFAULT_SAMPLE_RATE = 16000;

interface SegmentInfo {
  index: number;
  start_ms: number;
  end_ms: number;
}

export default defineWrapper({
  id: 'vad',
  version: '1.0.0',
  description: 'Energy-based voice-activity detection: finds speech segments in 16-bit mono PCM.',
  schema: {
    input: {
      audio: {
        type: 'audio',
        encodings: [PCM],
        description: 'Mono PCM s16le; attribute sample_rate (default 16000), channels must be 1 when set.',
      },
    },
    output: {
      segment: { type: 'audio', encodings: [PCM], description: 'Session mode: the samples of one speech segment.' },
      info: {
        type: 'text',
        encodings: ['json'],
        description: 'Session mode: {index, start_ms, end_ms} of that segment, newline-terminated.',
      },
      segments: {
        type: 'text',
        encodings: ['json'],
        description: 'Last result: {segments: [{index, start_ms, end_ms}], duration_ms}.',
      },
    },
    params: {
      threshold_db: {
        type: 'number',
        minimum: -90,
        maximum: 0,
        default: -35,
        description: 'A window is speech at or above this RMS level (dBFS).',
      },
      window_ms: { type: 'integer', minimum: 10, maximum: 30, default: 20, description: 'Analysis window length.' },
      min_speech_ms: {
        type: 'integer',
        minimum: 0,
        maximum: 10_000,
        default: 100,
        description: 'Segments shorter than this are dropped as clicks.',
      },
      min_silence_ms: {
        type: 'integer',
        minimum: 0,
        maximum: 10_000,
        default: 200,
        description: 'Silence that closes a segment (the hangover); shorter gaps stay inside it.',
      },
      max_segment_ms: {
        type: 'integer',
        minimum: 1000,
        maximum: 600_000,
        default: 30_000,
        description: 'Longer speech is split into segments of this length.',
      },
    },
  },

  exec(request) {
    // The schema makes `audio` required in once mode.
    const audio = request.items.find((i) => i.key === 'audio') as DataItem;
    const rate = sampleRateOf(audio) ?? DEFAULT_SAMPLE_RATE;
    const segmenter = new EnergySegmenter(segmenterOptions(request.params, rate));
    const found = [...segmenter.push(audio.data), ...segmenter.flush()];
    return [
      summaryItem(
        found.map((s) => infoOf(s, segmenter.sampleRate)),
        segmenter,
      ),
    ];
  },

  session: {
    create(params) {
      const results = new ResultQueue();
      const found: SegmentInfo[] = [];
      // Made on the first audio item, whose attributes fix the sample rate for the session.
      let segmenter: EnergySegmenter | undefined;
      let finished = false;

      /** Queues each closed segment as its own result, waiting while the queue is full. */
      const emit = async (segments: readonly Segment[], rate: number) => {
        for (const s of segments) {
          const info = infoOf(s, rate);
          found.push(info);
          await results.push([
            { key: 'segment', data: s.audio, attributes: { sample_rate: String(rate), channels: '1' } },
            // One object per line: where a protocol merges several results of a key (the HTTP
            // route does between two client requests), the merged `info` reads as JSON Lines.
            { key: 'info', data: `${JSON.stringify(info)}\n` },
          ]);
        }
      };

      /** Flushes the open segment and sends the END result; runs once (END frame or input end). */
      const finish = async () => {
        if (finished) return;
        finished = true;
        if (segmenter !== undefined) await emit(segmenter.flush(), segmenter.sampleRate);
        await results.push([{ ...summaryItem(found, segmenter), status: DataStatus.END }]);
        results.close();
      };

      return {
        results,
        end: finish,
        async write(items) {
          if (finished) throw pluginError('invalid-param', 'audio received after the END frame');
          for (const item of items) {
            // Frames after the first may omit sample_rate; a different one is an error.
            const rate = sampleRateOf(item);
            segmenter ??= new EnergySegmenter(segmenterOptions(params, rate ?? DEFAULT_SAMPLE_RATE));
            if (rate !== undefined && rate !== segmenter.sampleRate) {
              const was = segmenter.sampleRate;
              throw pluginError('invalid-value', `sample_rate changed from ${was} to ${rate} mid-session`);
            }
            await emit(segmenter.push(item.data), segmenter.sampleRate);
          }
          if (items.some((i) => i.status === DataStatus.END || i.status === DataStatus.ONCE)) await finish();
        },
      };
    },
  },
});

/** The segmenter settings from validated params (the schema guarantees types and ranges). */
function segmenterOptions(params: Params, sampleRate: number): SegmenterOptions {
  return {
    sampleRate,
    thresholdDb: Number(params['threshold_db']),
    windowMs: Number(params['window_ms']),
    minSpeechMs: Number(params['min_speech_ms']),
    minSilenceMs: Number(params['min_silence_ms']),
    maxSegmentMs: Number(params['max_segment_ms']),
  };
}

/**
 * The item's `sample_rate` attribute, or undefined when it has none. Rejects (10107) a rate that
 * is not an integer from 8000 to 192000, and any `channels` other than 1.
 */
function sampleRateOf(item: DataItem): number | undefined {
  const channels = item.attributes['channels'];
  if (channels !== undefined && channels !== '1') {
    throw pluginError('invalid-value', `audio must be mono (channels=1), got channels=${channels}`);
  }
  const raw = item.attributes['sample_rate'];
  if (raw === undefined || raw === '') return undefined;
  const rate = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(rate >= 8000 && rate <= 192_000)) {
    throw pluginError('invalid-value', `audio sample_rate must be an integer from 8000 to 192000, got "${raw}"`);
  }
  return rate;
}

const msOf = (samples: number, rate: number) => Math.round((samples * 1e6) / rate) / 1000;

function infoOf(s: Segment, rate: number): SegmentInfo {
  return { index: s.index, start_ms: msOf(s.startSample, rate), end_ms: msOf(s.endSample, rate) };
}

function summaryItem(found: readonly SegmentInfo[], segmenter: EnergySegmenter | undefined): OutputItem {
  const durationMs = segmenter === undefined ? 0 : msOf(segmenter.samplesSeen, segmenter.sampleRate);
  return { key: 'segments', data: JSON.stringify({ segments: found, duration_ms: durationMs }) };
}
