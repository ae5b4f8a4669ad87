/**
 * Writes sample PNGs into demo/image-classifier/samples (or the folder given): solid red, green,
 * blue and gray images of odd sizes, and a red image with a blue stripe (still mostly red).
 *
 *   npx tsx demo/image-classifier/make-samples.ts [folder]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';

type Rgb = readonly [number, number, number];

/** PNG bytes of a `width` × `height` image whose pixel (x, y) is `colour(x, y)` (opaque). */
export function pngOf(width: number, height: number, colour: (x: number, y: number) => Rgb): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 4;
      png.data.set([...colour(x, y), 255], at);
    }
  }
  return PNG.sync.write(png);
}

/** The samples by file name. */
export const SAMPLES: Record<string, () => Buffer> = {
  'red.png': () => pngOf(64, 48, () => [220, 30, 40]),
  'green.png': () => pngOf(40, 40, () => [20, 200, 60]),
  'blue.png': () => pngOf(100, 30, () => [30, 60, 230]),
  'gray.png': () => pngOf(33, 33, () => [128, 128, 128]),
  'red-blue-stripe.png': () => pngOf(64, 64, (x) => (x < 48 ? [230, 20, 20] : [20, 20, 230])),
};

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('samples', import.meta.url));
  mkdirSync(dir, { recursive: true });
  for (const [name, make] of Object.entries(SAMPLES)) writeFileSync(join(dir, name), make());
  console.log(`wrote ${Object.keys(SAMPLES).length} images to ${dir}`);
}
