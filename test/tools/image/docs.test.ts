/** docs/images.md lists exactly the `aiges image` error codes the code has, and has the sections the hints name. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BUILDAH } from '../../../loader/tools/image/argv.js';
import { ImageCodes } from '../../../loader/tools/image/errors.js';
import { offlineHint, storeHint } from '../../../loader/tools/image/upstream.js';
import { ROOT } from '../../cli/serve-process.js';

describe('docs/images.md', () => {
  it('documents every IMAGE_* code, and no other', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'images.md'), 'utf8');
    const documented = [...doc.matchAll(/^\| `(IMAGE_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.values(ImageCodes).sort());
  });

  it('has the sections the IMAGE_BUILD_FAILED hints send readers to', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'images.md'), 'utf8');
    const headings = [...doc.matchAll(/^#+ (.+)$/gm)].map((m) => m[1]);
    const hints = [offlineHint('cpu', {}), offlineHint('cuda', {}), storeHint(DEFAULT_BUILDAH)].join('\n');
    const named = [...hints.matchAll(/docs\/images\.md, "([^"]+)"/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    for (const section of named)
      expect(
        headings.some((h) => h?.startsWith(section as string)),
        section,
      ).toBe(true);
  });
});
