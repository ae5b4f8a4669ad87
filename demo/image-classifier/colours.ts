/**
 * The colour classifier's fixed parameters, shared by the model builder (make-model.ts), the
 * plugin (its labels and input size) and the tests (which recompute the scores from them).
 *
 * The model is honest about what it does: it averages each channel of the image (values in
 * [0, 1]) and scores four classes linearly from the mean colour, then takes a softmax. A class
 * scores by how much its channel stands above the other two; gray is a constant that wins when no
 * channel does.
 */

/** The model's name in the repository: the service `ctx.infer` calls. */
export const MODEL = 'colour-net';

/** The input's height and width: images are resized to this before the model sees them. */
export const SIZE = 32;

/** The classes, in the order of the model's output. */
export const LABELS = ['red', 'green', 'blue', 'gray'] as const;

/** Gemm weights, [3 channels (r, g, b), 4 classes (red, green, blue, gray)], row-major. */
// biome-ignore format: one row per channel
export const WEIGHTS: readonly number[] = [
  8, -4, -4, 0,
  -4, 8, -4, 0,
  -4, -4, 8, 0,
];

/** Gemm bias, one per class. */
export const BIAS: readonly number[] = [0, 0, 0, 1.5];

/** The reference scores for a mean colour (r, g, b in [0, 1]): softmax(mean · W + B), in plain JS. */
export function scoresOf(mean: readonly [number, number, number]): number[] {
  const logits = LABELS.map((_, c) => (BIAS[c] as number) + mean.reduce((s, v, ch) => s + v * (WEIGHTS[ch * 4 + c] as number), 0));
  const top = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}
