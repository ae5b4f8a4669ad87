/**
 * Writes sample PNGs into demo/image-classifier/samples (or the folder given): solid red, green,
 * blue and gray images of odd sizes, and a red image with a blue stripe (still mostly red). Beside
 * them, a labelled set to evaluate the classifier on (`aiges batch` + `aiges eval`): `eval/*.png`,
 * noisy images of each class, some with a stripe of another colour, some dark or washed out, and
 * `eval-labels.csv` (`id,label`: the file name and the colour the image was drawn in). The set is
 * drawn from a seeded generator, so every run writes the same files.
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

/** A small seeded generator (mulberry32): the same set on every run, with no dependency. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The colour each class is drawn in, before brightness and noise. */
const BASE: Record<string, Rgb> = { red: [210, 40, 40], green: [40, 200, 60], blue: [40, 60, 220], gray: [128, 128, 128] };

/** The labelled set: `count` images per class, by file name, each with its label. */
export function evalSet(count = 8): { name: string; label: string; png: () => Buffer }[] {
  const random = seeded(17);
  const classes = Object.keys(BASE);
  const out: { name: string; label: string; png: () => Buffer }[] = [];
  for (const label of classes) {
    for (let n = 0; n < count; n++) {
      const [width, height] = [16 + Math.floor(random() * 64), 16 + Math.floor(random() * 64)];
      // Brightness from dark (0.45) to washed out (1.3); a stripe of another class over up to 40% of the width.
      const gain = 0.45 + random() * 0.85;
      const base = (BASE[label] as Rgb).map((v) => Math.min(255, v * gain)) as unknown as Rgb;
      const other = BASE[classes[Math.floor(random() * classes.length)] as string] as Rgb;
      const stripe = random() < 0.5 ? Math.floor(random() * 0.4 * width) : 0;
      const noise = 20 + random() * 40;
      const pixels = Array.from({ length: width * height }, () => [random(), random(), random()]);
      const colour = (x: number, y: number): Rgb => {
        const c = x < stripe ? other : base;
        const r = pixels[y * width + x] as number[];
        return c.map((v, i) => Math.max(0, Math.min(255, Math.round(v + ((r[i] as number) - 0.5) * noise)))) as unknown as Rgb;
      };
      out.push({ name: `${label}-${n}.png`, label, png: () => pngOf(width, height, colour) });
    }
  }
  return out;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('samples', import.meta.url));
  mkdirSync(dir, { recursive: true });
  for (const [name, make] of Object.entries(SAMPLES)) writeFileSync(join(dir, name), make());
  console.log(`wrote ${Object.keys(SAMPLES).length} images to ${dir}`);
  const set = evalSet();
  mkdirSync(join(dir, 'eval'), { recursive: true });
  for (const { name, png } of set) writeFileSync(join(dir, 'eval', name), png());
  writeFileSync(join(dir, 'eval-labels.csv'), `id,label\n${set.map((s) => `${s.name},${s.label}`).join('\n')}\n`);
  console.log(`wrote ${set.length} labelled images to ${join(dir, 'eval')} and their labels to ${join(dir, 'eval-labels.csv')}`);
}
