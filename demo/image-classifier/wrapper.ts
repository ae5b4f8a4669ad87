/**
 * image-classifier: a pipeline in one exec. TS pre-processing (decode the PNG, resize, normalise
 * to FP32 NCHW), the ONNX colour classifier of the same loader's model repository through
 * `ctx.infer` (no network hop), TS post-processing (the top k labels with their softmax scores).
 */
import { defineWrapper } from 'aiges-ts';
import type { DataItem } from 'aiges-ts';
import { LABELS, MODEL, SIZE } from './colours.js';
import { decodePng, toTensor } from './preprocess.js';

export default defineWrapper({
  id: 'image-classifier',
  version: '1.0.0',
  description: 'Classifies the colour of a PNG image (red, green, blue, gray) with an ONNX model of the repository.',
  schema: {
    input: { image: { type: 'image', description: 'PNG bytes, any size.' } },
    output: {
      labels: { type: 'text', encodings: ['json'], description: '{"labels": [{"label", "score"}, …]}, best first.' },
    },
    params: {
      top_k: { type: 'integer', minimum: 1, maximum: LABELS.length, default: 3, description: 'How many labels to answer.' },
    },
  },

  async exec(request, ctx) {
    // The schema makes `image` required.
    const image = request.items.find((i) => i.key === 'image') as DataItem;
    const x = toTensor(decodePng(image.data), SIZE);
    // [wrapper] model names another model of the repository with the same input and output.
    const model = typeof ctx.config['model'] === 'string' ? ctx.config['model'] : MODEL;
    // An error of the model's (unloaded: 10200) rejects with its code; rethrown, the client gets it.
    const answer = await ctx.infer(model, { inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 3, SIZE, SIZE], data: x }] });
    const probs = answer.tensor('probs', 'FP32');
    const ranked = LABELS.map((label, i) => ({ label, score: probs[i] as number })).sort((a, b) => b.score - a.score);
    const k = Number(request.params['top_k'] ?? 3);
    return [{ key: 'labels', data: JSON.stringify({ labels: ranked.slice(0, k) }) }];
  },
});
