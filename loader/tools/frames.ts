/**
 * A client's side of session input: whole items cut into the frames a session sends
 * (`aiges call --frame-bytes`, `aiges xtest --frame-bytes`, a sample's `frame_bytes` in
 * `aiges check`). Works on the wire's DataItem and the SDK's alike: only `data` (bytes) and
 * `status` are touched.
 *
 * The rule: frame f carries bytes f·n… of every input that still has bytes there, all inputs in
 * step; every input is in the first frame, an empty one included, so that the session opens with
 * every key. Statuses are per frame: BEGIN, CONTINUE…, END; a single frame is END. Without a frame
 * size everything goes in that single frame.
 */
import { DataStatus } from '../../plugins/types.js';

type Framed<T> = T & { status: DataStatus; data: Buffer };

/** `frameBytes`: a positive integer, or undefined for one frame. */
export function sliceFrames<T extends { data?: unknown }>(items: readonly T[], frameBytes: number | undefined): Framed<T>[][] {
  if (frameBytes !== undefined && !(Number.isSafeInteger(frameBytes) && frameBytes > 0)) {
    throw new RangeError(`frame bytes must be a positive integer, got ${frameBytes}`);
  }
  const size = frameBytes ?? Number.MAX_SAFE_INTEGER;
  const lengthOf = (i: T) => (i.data as Buffer).length;
  const count = Math.max(1, ...items.map((i) => Math.ceil(lengthOf(i) / size)));
  const frames: Framed<T>[][] = [];
  for (let f = 0; f < count; f++) {
    const status = f === count - 1 ? DataStatus.END : f === 0 ? DataStatus.BEGIN : DataStatus.CONTINUE;
    frames.push(
      items
        .filter((i) => f === 0 || f * size < lengthOf(i))
        .map((i) => ({ ...i, status, data: (i.data as Buffer).subarray(f * size, (f + 1) * size) })),
    );
  }
  return frames;
}
