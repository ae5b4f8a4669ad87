/** docs/images.md lists exactly the `aiges image` error codes the code has. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImageCodes } from '../../../loader/tools/image/errors.js';
import { ROOT } from '../../cli/serve-process.js';

describe('docs/images.md', () => {
  it('documents every IMAGE_* code, and no other', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'images.md'), 'utf8');
    const documented = [...doc.matchAll(/^\| `(IMAGE_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.values(ImageCodes).sort());
  });
});
