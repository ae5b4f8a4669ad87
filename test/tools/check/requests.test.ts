/** A sample's inputs as requests: typed by sample, schema or source; sessions sliced by frame_bytes. */
import { describe, expect, it } from 'vitest';
import { onceItems, sessionFrames, type PreparedSample } from '../../../loader/tools/check/requests.js';
import { DataStatus, DataType, type WrapperSchema } from '../../../plugins/types.js';

const schema: WrapperSchema = { input: { audio: { type: 'audio' }, hint: { type: 'text' } }, output: {} };

function sample(frameBytes: number | undefined): PreparedSample {
  return {
    spec: { name: 's', mode: 'session', params: {}, timeout_ms: 1000, input: {}, expect: {}, frame_bytes: frameBytes },
    inputs: [
      { key: 'audio', spec: { file: 'a.pcm', encoding: 'pcm' }, data: Buffer.from('0123456789') },
      { key: 'hint', spec: { text: '' }, data: Buffer.alloc(0) },
      { key: 'raw', spec: { file: 'r.bin', attributes: { n: '1' } }, data: Buffer.from('ab') },
    ],
    params: {},
    output: new Map(),
    stream: new Map(),
  };
}

describe('check requests', () => {
  it('types each input by the sample, else the schema, else its source', () => {
    const items = onceItems(sample(undefined), schema);
    expect(items.map((i) => [i.key, i.type, i.status, i.encoding, i.attributes])).toEqual([
      ['audio', DataType.AUDIO, DataStatus.ONCE, 'pcm', {}],
      ['hint', DataType.TEXT, DataStatus.ONCE, '', {}],
      ['raw', DataType.OTHER, DataStatus.ONCE, '', { n: '1' }],
    ]);
  });

  it('slices a session by frame_bytes; every input, the empty one too, is in the first frame', () => {
    const frames = sessionFrames(sample(4), schema);
    expect(frames.map((f) => f.map((i) => `${i.key}:${i.data.toString()}:${i.status}`))).toEqual([
      [`audio:0123:${DataStatus.BEGIN}`, `hint::${DataStatus.BEGIN}`, `raw:ab:${DataStatus.BEGIN}`],
      [`audio:4567:${DataStatus.CONTINUE}`],
      [`audio:89:${DataStatus.END}`],
    ]);
  });

  it('sends one END frame without frame_bytes', () => {
    const [only, ...rest] = sessionFrames(sample(undefined), schema);
    expect(rest).toEqual([]);
    expect(only?.map((i) => [i.key, i.data.length, i.status])).toEqual([
      ['audio', 10, DataStatus.END],
      ['hint', 0, DataStatus.END],
      ['raw', 2, DataStatus.END],
    ]);
  });
});
