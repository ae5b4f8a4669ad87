/**
 * An energy-based voice-activity segmenter over 16-bit little-endian mono PCM.
 *
 * The stream is cut into fixed analysis windows (`windowMs`, counted from sample 0, so window
 * boundaries never depend on how the bytes were framed). A window is voiced when its RMS level
 * in dBFS reaches `thresholdDb`. A segment opens at the first voiced window and stays open
 * through silent gaps shorter than `minSilenceMs` (the hangover); it closes after `minSilenceMs`
 * of silence, at `maxSegmentMs`, or at `flush`. A closed segment spans its first to its last
 * voiced window; one shorter than `minSpeechMs` is dropped as a click.
 */

export interface SegmenterOptions {
  sampleRate: number;
  windowMs: number;
  thresholdDb: number;
  minSpeechMs: number;
  minSilenceMs: number;
  maxSegmentMs: number;
}

export interface Segment {
  /** 0, 1, 2, … in the order segments close (dropped clicks take no index). */
  index: number;
  /** First sample of the segment, counted from the start of the stream. */
  startSample: number;
  /** One past the last sample. */
  endSample: number;
  /** The segment's PCM bytes (a fresh Buffer the caller owns). */
  audio: Buffer;
}

/** dBFS reported for a window of digital silence (log10(0) is -Infinity). */
const SILENCE_DB = -120;

/** RMS level of `count` int16 samples at `bytes[offset…]`, in dB relative to full scale. */
export function windowDbfs(bytes: Buffer, offset: number, count: number): number {
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const s = bytes.readInt16LE(offset + 2 * i);
    sum += s * s;
  }
  const rms = Math.sqrt(sum / Math.max(1, count)) / 32768;
  return rms > 0 ? Math.max(SILENCE_DB, 20 * Math.log10(rms)) : SILENCE_DB;
}

export class EnergySegmenter {
  readonly windowSamples: number;
  readonly #opts: SegmenterOptions;
  readonly #minSpeech: number;
  readonly #minSilence: number;
  readonly #maxSegment: number;
  /** Bytes of the window being filled (always fewer than one window, may be odd). */
  #pending: Buffer = Buffer.alloc(0);
  /** Samples consumed so far, in whole windows. */
  #position = 0;
  #nextIndex = 0;
  // The open segment, if any.
  #open = false;
  #start = 0;
  #lastVoicedEnd = 0;
  #silence = 0;
  #chunks: Buffer[] = [];
  #voicedChunks = 0;

  constructor(options: SegmenterOptions) {
    this.#opts = options;
    const samples = (ms: number) => Math.round((options.sampleRate * ms) / 1000);
    this.windowSamples = Math.max(1, samples(options.windowMs));
    this.#minSpeech = samples(options.minSpeechMs);
    this.#minSilence = samples(options.minSilenceMs);
    this.#maxSegment = Math.max(this.windowSamples, samples(options.maxSegmentMs));
  }

  get sampleRate(): number {
    return this.#opts.sampleRate;
  }

  /** Samples received so far, including a partial window. */
  get samplesSeen(): number {
    return this.#position + Math.floor(this.#pending.length / 2);
  }

  /**
   * Feeds bytes of any length (odd counts and partial windows are carried to the next call).
   * Returns the segments that closed on this input, in order. Does not keep `bytes`.
   */
  push(bytes: Buffer): Segment[] {
    const closed: Segment[] = [];
    const windowBytes = 2 * this.windowSamples;
    let offset = 0;
    if (this.#pending.length > 0) {
      const take = Math.min(windowBytes - this.#pending.length, bytes.length);
      this.#pending = Buffer.concat([this.#pending, bytes.subarray(0, take)]);
      offset = take;
      if (this.#pending.length < windowBytes) return closed;
      this.#window(this.#pending, 0, this.windowSamples, closed);
      this.#pending = Buffer.alloc(0);
    }
    for (; offset + windowBytes <= bytes.length; offset += windowBytes) {
      this.#window(bytes, offset, this.windowSamples, closed);
    }
    if (offset < bytes.length) this.#pending = Buffer.from(bytes.subarray(offset));
    return closed;
  }

  /**
   * End of stream: analyses the last partial window (an odd trailing byte is dropped) and closes
   * the open segment. Returns the segments that closed. The segmenter must not be used after.
   */
  flush(): Segment[] {
    const closed: Segment[] = [];
    const samples = Math.floor(this.#pending.length / 2);
    if (samples > 0) this.#window(this.#pending, 0, samples, closed);
    this.#pending = Buffer.alloc(0);
    if (this.#open) this.#close(closed);
    return closed;
  }

  /** Classifies one window and advances the segment state machine. */
  #window(bytes: Buffer, offset: number, samples: number, closed: Segment[]): void {
    const voiced = windowDbfs(bytes, offset, samples) >= this.#opts.thresholdDb;
    const start = this.#position;
    this.#position += samples;
    if (!this.#open) {
      if (!voiced) return;
      this.#open = true;
      this.#start = start;
      this.#chunks = [];
    }
    // NOTE: copy the window: the input belongs to the caller once `push` returns.
    this.#chunks.push(Buffer.from(bytes.subarray(offset, offset + 2 * samples)));
    if (voiced) {
      this.#lastVoicedEnd = this.#position;
      this.#voicedChunks = this.#chunks.length;
      this.#silence = 0;
    } else {
      this.#silence += samples;
    }
    const quiet = !voiced && this.#silence >= this.#minSilence;
    if (quiet || this.#position - this.#start >= this.#maxSegment) this.#close(closed);
  }

  #close(closed: Segment[]): void {
    const length = this.#lastVoicedEnd - this.#start;
    if (length >= this.#minSpeech) {
      closed.push({
        index: this.#nextIndex++,
        startSample: this.#start,
        endSample: this.#lastVoicedEnd,
        audio: Buffer.concat(this.#chunks.slice(0, this.#voicedChunks)),
      });
    }
    this.#open = false;
    this.#chunks = [];
    this.#voicedChunks = 0;
    this.#silence = 0;
  }
}
