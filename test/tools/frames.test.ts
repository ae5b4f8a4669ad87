/**
 * The one frame-slicing rule of `aiges call`, `aiges xtest` and `aiges check` samples: inputs in
 * step, every input in the first frame (an empty one too), statuses per frame.
 */
import { describe, expect, it } from 'vitest';
import { sliceFrames } from '../../loader/tools/frames.js';
import { DataStatus } from '../../plugins/types.js';

const item = (key: string, text: string) => ({ key, data: Buffer.from(text) });
const shape = (frames: ReturnType<typeof sliceFrames<{ key: string; data: Buffer }>>) =>
  frames.map((f) => f.map((i) => `${i.key}:${i.data.toString()}:${i.status}`));

describe('sliceFrames', () => {
  it('slices every input in step: BEGIN, CONTINUE…, END, an input leaving once its bytes are sent', () => {
    const frames = sliceFrames([item('a', 'abcdefghij'), item('b', 'xyz')], 4);
    expect(shape(frames)).toEqual([
      [`a:abcd:${DataStatus.BEGIN}`, `b:xyz:${DataStatus.BEGIN}`],
      [`a:efgh:${DataStatus.CONTINUE}`],
      [`a:ij:${DataStatus.END}`],
    ]);
  });

  it('puts an empty input in the first frame only, so the session opens with every key', () => {
    const frames = sliceFrames([item('a', 'abcdef'), item('none', '')], 2);
    expect(shape(frames)).toEqual([
      [`a:ab:${DataStatus.BEGIN}`, `none::${DataStatus.BEGIN}`],
      [`a:cd:${DataStatus.CONTINUE}`],
      [`a:ef:${DataStatus.END}`],
    ]);
  });

  it('sends one END frame without a frame size, or when everything fits in one', () => {
    const items = [item('a', 'abc'), item('none', '')];
    const one = [[`a:abc:${DataStatus.END}`, `none::${DataStatus.END}`]];
    expect(shape(sliceFrames(items, undefined))).toEqual(one);
    expect(shape(sliceFrames(items, 3))).toEqual(one);
    expect(shape(sliceFrames([item('none', '')], 4))).toEqual([[`none::${DataStatus.END}`]]);
  });

  it('keeps the fields it does not touch and shares the bytes', () => {
    const data = Buffer.from('abcd');
    const [[first] = []] = sliceFrames([{ key: 'a', type: 3, encoding: 'raw', attributes: { r: '1' }, status: DataStatus.ONCE, data }], 2);
    expect(first).toMatchObject({ key: 'a', type: 3, encoding: 'raw', attributes: { r: '1' }, status: DataStatus.BEGIN });
    expect(first?.data.buffer).toBe(data.buffer);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses frame size %s', (bytes) => {
    expect(() => sliceFrames([item('a', 'abc')], bytes)).toThrow(RangeError);
  });
});
