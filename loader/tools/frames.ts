/**
 * A client's side of session input: whole items cut into the frames a session sends
 * (`aiges call --frame-bytes`, `aiges xtest --frame-bytes`). Works on the wire's DataItem and the
 * SDK's alike: only `data` (bytes) and `status` are touched.
 */
import { DataStatus } from '../../plugins/types.js';

type Framed<T> = T & { status: DataStatus; data: Buffer };

/** Slices every item into frames of `frameBytes` (BEGIN, CONTINUE…, END), in parallel across keys. */
export function sliceFrames<T extends { data?: unknown }>(items: T[], frameBytes: number): Framed<T>[][] {
  const sizes = items.map((i) => (i.data as Buffer).length);
  const count = Math.max(1, ...sizes.map((n) => Math.ceil(n / frameBytes)));
  const frames: Framed<T>[][] = [];
  for (let f = 0; f < count; f++) {
    const status = count === 1 ? DataStatus.END : f === 0 ? DataStatus.BEGIN : f === count - 1 ? DataStatus.END : DataStatus.CONTINUE;
    frames.push(
      items
        .filter((i) => f * frameBytes < (i.data as Buffer).length || (f === count - 1 && (i.data as Buffer).length === 0))
        .map((i) => ({ ...i, status, data: (i.data as Buffer).subarray(f * frameBytes, (f + 1) * frameBytes) })),
    );
  }
  return frames;
}
