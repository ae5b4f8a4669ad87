/**
 * The memory a plugin process shares with the loader, so that a large payload crosses the process
 * boundary with one copy: the sender writes it into the region, the receiver reads it there in
 * place. Made (memfd) and mapped by the native host addon (native/host/shared_region.h); one
 * region per plugin process, handed to it as its fd 5.
 *
 * Layout, `ARENA_BYTES` each:
 *
 *   [0, ARENA_BYTES)                   the loader's arena: the bytes of call inputs and session
 *                                      writes, written by the loader, read in place by the plugin
 *                                      process. Each block is followed by one zero byte, so the
 *                                      native host hands a sync wrapper the bytes where they lie
 *                                      (AIGes wrappers read inputs as C strings).
 *   [ARENA_BYTES, 2 * ARENA_BYTES)     the plugin process's arena: output bytes, written by the
 *                                      plugin process, read in place by the loader. The native
 *                                      host copies a wrapper's large outputs straight into it
 *                                      (that copy is the one any native output gets); a TS
 *                                      plugin's outputs are copied into it once.
 *
 * Each arena is written by one side only, and its allocator lives in that side, never in the
 * region: no lock is shared across processes. The loader's is `Arena` (JS); the plugin process's
 * is the native host's (native/host/shared_region.h), since the host's worker threads allocate in
 * it too. A block travels in a message as its offset and length. Who frees what:
 * - an input block: the loader, once the plugin process has answered the call or write that
 *   carried it (it reads nothing of it afterwards);
 * - an output block: the plugin process, when the loader sends `release` for it (a transport has
 *   serialized it, or V8 collected the loader's view of it);
 * - everything: when the plugin process dies, with the region (unmapped once no view is left).
 * A block that does not fit (the arena is full) travels inline in the message instead: slower,
 * never refused, and nothing waits for room.
 */
import { createSharedRegion, mapSharedRegion } from '../../../native/host.js';

/** Bytes of each arena: room for several maximum-size messages at once (pages are touched on use). */
export const ARENA_BYTES = 128 * 1024 * 1024;
/** Items smaller than this travel inline in the message: a shared block is not worth its bookkeeping. */
export const SHARED_MIN_BYTES = 32 * 1024;
/** Offset of the plugin process's arena. */
export const OUTPUT_ARENA_AT = ARENA_BYTES;
const REGION_BYTES = 2 * ARENA_BYTES;
const ALIGN = 64;

/** The loader's side: the region made for one plugin process, and the fd to hand it. */
export function createRegion(): { fd: number; memory: ArrayBuffer } | undefined {
  try {
    return createSharedRegion(REGION_BYTES);
  } catch {
    // No memory files here (or no native host build): every payload travels inline.
    return undefined;
  }
}

/** The plugin process's side: maps the region it was handed. */
export function mapRegion(fd: number): ArrayBuffer {
  return mapSharedRegion(fd, REGION_BYTES);
}

/**
 * A first-fit allocator over the loader's arena: blocks are 64-byte aligned, taken from the lowest
 * address that fits, so a steady stream of calls keeps reusing pages already touched.
 */
export class Arena {
  /** Free extents, sorted by offset, never adjacent (merged on free). */
  readonly #free: { at: number; bytes: number }[];
  /** Blocks handed out: offset → aligned size. */
  readonly #used = new Map<number, number>();
  #usedBytes = 0;

  constructor(at: number, bytes: number) {
    this.#free = [{ at, bytes }];
  }

  get usedBytes(): number {
    return this.#usedBytes;
  }

  get blocks(): number {
    return this.#used.size;
  }

  /** A block of at least `bytes`; its offset in the region, or -1 when none is free. */
  alloc(bytes: number): number {
    const size = Math.ceil(Math.max(1, bytes) / ALIGN) * ALIGN;
    const free = this.#free;
    for (let i = 0; i < free.length; i++) {
      const extent = free[i]!;
      if (extent.bytes < size) continue;
      const at = extent.at;
      if (extent.bytes === size) free.splice(i, 1);
      else {
        extent.at += size;
        extent.bytes -= size;
      }
      this.#used.set(at, size);
      this.#usedBytes += size;
      return at;
    }
    return -1;
  }

  /** Frees the block at `at`; false (and nothing changes) when no block starts there. */
  free(at: number): boolean {
    const size = this.#used.get(at);
    if (size === undefined) return false;
    this.#used.delete(at);
    this.#usedBytes -= size;
    const free = this.#free;
    let i = 0;
    while (i < free.length && free[i]!.at < at) i++;
    const before = i > 0 ? free[i - 1] : undefined;
    const after = free[i];
    if (before !== undefined && before.at + before.bytes === at) {
      before.bytes += size;
      if (after !== undefined && before.at + before.bytes === after.at) {
        before.bytes += after.bytes;
        free.splice(i, 1);
      }
    } else if (after !== undefined && at + size === after.at) {
      after.at = at;
      after.bytes += size;
    } else free.splice(i, 0, { at, bytes: size });
    return true;
  }
}
