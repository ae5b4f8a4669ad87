import { describe, expect, it } from 'vitest';
import { createHarness, item } from '../../plugins/testing.js';
import { DataStatus } from '../../plugins/types.js';
import echo from '../../demo/echo/wrapper.js';

describe('echo through the data plane', () => {
  it('once', async () => {
    const h = await createHarness(echo);
    const out = await h.infer([item('text', 'hello')]);
    expect(out[0]?.data.toString()).toBe('hello');
  });
  it('session', async () => {
    const h = await createHarness(echo);
    const out = await h.runSession([[item('text', 'a', { status: DataStatus.BEGIN })], [item('text', 'b', { status: DataStatus.END })]]);
    expect(out.map((b) => b[0]?.data.toString())).toEqual(['a', 'b']);
    expect(h.dataplane.admission.inUse).toBe(0);
  });
});
