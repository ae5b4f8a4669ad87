/**
 * Pre-processing: PNG bytes → the model's input, FP32 NCHW [1, 3, size, size] in [0, 1].
 * Decoding is pngjs's; resizing (area averaging) and the layout are ours.
 */
import { PNG } from 'pngjs';
import { pluginError } from 'aiges-ts';

/** An RGBA image, 8 bits a channel, row-major. */
export interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Decodes PNG bytes (any PNG colour type and bit depth pngjs reads); anything else is 10009. */
export function decodePng(bytes: Uint8Array): Rgba {
  try {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { width: png.width, height: png.height, data: png.data };
  } catch (err) {
    throw pluginError('invalid-data', `image is not a readable PNG: ${(err as Error).message}`);
  }
}

/**
 * For each of `to` output positions along an axis of `from` source positions, the source
 * positions it covers and the fraction of it each covers (area averaging: each output pixel is
 * the mean of the source area under it; upscaling repeats the nearest source pixels).
 */
function areaWeights(from: number, to: number): { index: number; weight: number }[][] {
  const scale = from / to;
  const out: { index: number; weight: number }[][] = [];
  for (let o = 0; o < to; o++) {
    const start = o * scale;
    const end = start + scale;
    const taps: { index: number; weight: number }[] = [];
    for (let s = Math.floor(start); s < Math.min(Math.ceil(end), from); s++) {
      const overlap = Math.min(end, s + 1) - Math.max(start, s);
      if (overlap > 0) taps.push({ index: s, weight: overlap / scale });
    }
    out.push(taps);
  }
  return out;
}

/**
 * The image resized to `size` × `size` (area averaging; alpha is ignored) as FP32 NCHW
 * [1, 3, size, size], each channel value / 255.
 */
export function toTensor(image: Rgba, size: number): Float32Array {
  const xs = areaWeights(image.width, size);
  const ys = areaWeights(image.height, size);
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let oy = 0; oy < size; oy++) {
    for (let ox = 0; ox < size; ox++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const y of ys[oy] ?? []) {
        for (const x of xs[ox] ?? []) {
          const w = y.weight * x.weight;
          const at = (y.index * image.width + x.index) * 4;
          r += w * (image.data[at] as number);
          g += w * (image.data[at + 1] as number);
          b += w * (image.data[at + 2] as number);
        }
      }
      const p = oy * size + ox;
      out[p] = r / 255;
      out[plane + p] = g / 255;
      out[2 * plane + p] = b / 255;
    }
  }
  return out;
}
