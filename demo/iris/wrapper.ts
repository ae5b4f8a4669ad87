/**
 * iris: classifies iris flowers (setosa, versicolor, virginica) from four measurements in cm,
 * with a softmax regression trained by `train.ts`. Once mode only.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineWrapper, type WrapperConfig } from 'aiges-ts';
import { parseFeatures } from './features.js';
import { argmax, FEATURES, loadModel, probabilities, type IrisModel } from './model.js';

/** How to make the model file; named in the error when it is missing. */
export const TRAIN_COMMAND = 'npx tsx demo/iris/train.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));

interface IrisState {
  model: IrisModel;
}

export default defineWrapper<IrisState>({
  id: 'iris',
  version: '1.0.0',
  description: 'Iris flower classifier (softmax regression on the UCI iris data set).',
  schema: {
    input: {
      features: {
        type: 'text',
        encodings: ['json', 'utf8'],
        description: `One sample [${FEATURES.join(', ')}] in cm, as an array or object, or an array of samples.`,
      },
    },
    output: {
      prediction: {
        type: 'text',
        encodings: ['json'],
        description: 'An array with one {class, probabilities: {<class>: p}} per sample.',
      },
    },
  },

  /** Loads `[wrapper] model` (default model.json; relative paths are relative to this folder). */
  init(config, ctx) {
    const path = modelPath(config);
    if (!existsSync(path)) {
      throw new Error(`iris model ${path} does not exist; train it first: ${TRAIN_COMMAND} ${path}`);
    }
    const model = loadModel(path);
    ctx.log.info({ path, accuracy: model.accuracy }, 'iris model loaded');
    return { model };
  },

  exec(request, ctx) {
    // The schema makes `features` required in once mode.
    const text = request.items.find((i) => i.key === 'features')!.data.toString('utf8');
    const { model } = ctx.state;
    const predictions = parseFeatures(text).map((x) => {
      const p = probabilities(model, x);
      const byClass = Object.fromEntries(model.classes.map((c, k) => [c, Math.round(p[k]! * 1e6) / 1e6]));
      return { class: model.classes[argmax(p)], probabilities: byClass };
    });
    return [{ key: 'prediction', data: JSON.stringify(predictions) }];
  },
});

/** The model file named by `[wrapper] model`, resolved against this folder. */
function modelPath(config: WrapperConfig): string {
  const value = config['model'] ?? 'model.json';
  if (typeof value !== 'string' || value === '') throw new Error('[wrapper] model must be a non-empty path string');
  return isAbsolute(value) ? value : resolve(HERE, value);
}
