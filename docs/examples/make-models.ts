/**
 * Writes a small model repository for docs/models.md, built here with onnx-proto (nothing
 * downloaded): `double` (y = 2x, FP32 [N, 3], versions 1 and 2: version 1 multiplies by 1) and
 * `iris` (a 4 → 3 softmax classifier with made-up weights). From the checkout:
 *
 *   npx tsx docs/examples/make-models.ts models/
 */
import { classifierModel, scaleModel, writeModel } from '../../test/lib/onnx-models.js';

const [repo = 'models'] = process.argv.slice(2);
writeModel(repo, 'double', 1, scaleModel(1, 3));
writeModel(repo, 'double', 2, scaleModel(2, 3), 'version_policy = { all = true }\n');
writeModel(repo, 'iris', 1, classifierModel([0.5, -1, 2, 1, 0.25, -0.5, -2, 1, 0.75, 0.1, 0.2, 0.3]));
console.log(`wrote ${repo}/double/1, ${repo}/double/2 and ${repo}/iris/1`);
