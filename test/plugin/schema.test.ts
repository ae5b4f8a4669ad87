import { describe, expect, it } from 'vitest';
import { CompiledSchema, paramsJsonSchema } from '../../loader/plugin/schema.js';
import { Codes } from '../../loader/errors.js';
import { item } from '../../plugins/testing.js';
import { DataStatus, DataType, type WrapperSchema } from '../../plugins/types.js';

const schema = new CompiledSchema({
  input: {
    text: { type: 'text' },
    audio: { type: 'audio', encodings: ['raw', 'speex'] },
    extra: { type: 'other', required: false },
  },
  output: {
    text: { type: 'text' },
    audio: { type: 'audio', encodings: ['speex', 'raw'] },
  },
  params: {
    rate: { type: 'integer', minimum: 8000, maximum: 48000, default: 16000 },
    gain: { type: 'number', minimum: 0 },
    punct: { type: 'boolean', default: false },
    lang: { type: 'string', enum: ['en', 'zh'], default: 'zh' },
    code: { type: 'string', pattern: '^[A-Z]{3}$' },
    name: { type: 'string', minLength: 2, maxLength: 4 },
  },
});

const withRequired = new CompiledSchema({
  input: { text: { type: 'text' } },
  output: { text: { type: 'text' } },
  params: {
    model: { type: 'string', required: true },
    // Required but with a default: never missing.
    beam: { type: 'integer', required: true, default: 4 },
  },
});

const error = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
};

describe('CompiledSchema.params', () => {
  it('coerces wire strings to declared types and fills defaults', () => {
    expect(schema.params({ rate: '44100', gain: '0.5', punct: 'true', sid: 's1' })).toEqual({
      rate: 44100,
      gain: 0.5,
      punct: true,
      lang: 'zh',
      sid: 's1',
    });
    expect(schema.params({})).toEqual({ rate: 16000, punct: false, lang: 'zh' });
    expect(schema.params({ punct: 'false' })).toMatchObject({ punct: false });
    expect(schema.params({ rate: '16000' })['rate']).toBe(16000);
  });

  it('a number param is finite; the published schema does not show the check', () => {
    expect(error(() => schema.params({ gain: 'Infinity' }))).toMatchObject({ message: 'param "gain" must be a finite number' });
    expect(schema.params({ gain: '1e300' })['gain']).toBe(1e300);
    const any = new CompiledSchema({ input: {}, output: {}, params: { '*': { type: 'number' } } });
    expect(error(() => any.params({ level: '-1e999' }))).toMatchObject({ aigesCode: Codes.INVALID_PARAM_VALUE });
    expect(JSON.stringify(schema.paramsSchema)).not.toContain('finite');
  });

  it('does not change the caller’s object', () => {
    const raw = { rate: '8000' };
    schema.params(raw);
    expect(raw).toEqual({ rate: '8000' });
  });

  it.each([
    ['above maximum', { rate: '96000' }, 'rate'],
    ['below minimum', { rate: '100' }, 'rate'],
    ['below a number minimum', { gain: '-1' }, 'gain'],
    ['not in enum', { lang: 'fr' }, 'lang'],
    ['not matching pattern', { code: 'abc' }, 'code'],
    ['too short', { name: 'a' }, 'name'],
    ['too long', { name: 'abcde' }, 'name'],
    ['Infinity', { gain: 'Infinity' }, 'gain'],
    ['1e400 (Infinity once read)', { gain: '1e400' }, 'gain'],
    ['-Infinity', { gain: '-Infinity' }, 'gain'],
    ['an infinite integer', { rate: 'Infinity' }, 'rate'],
  ])('a value %s → 10107 naming the param', (_name, raw, param) => {
    expect(error(() => schema.params(raw))).toMatchObject({
      aigesCode: Codes.INVALID_PARAM_VALUE,
      message: expect.stringContaining(`param "${param}"`),
      detail: { param },
    });
  });

  it.each([
    ['a non-numeric integer', { rate: 'fast' }, 'rate'],
    ['a fractional integer', { rate: '16000.5' }, 'rate'],
    ['a non-boolean boolean', { punct: 'maybe' }, 'punct'],
    ['a non-numeric number', { gain: 'loud' }, 'gain'],
  ])('a wrong type (%s) → 10106 naming the param', (_name, raw, param) => {
    expect(error(() => schema.params(raw))).toMatchObject({
      aigesCode: Codes.INVALID_PARAM,
      message: expect.stringContaining(`param "${param}"`),
    });
  });

  it('an unknown param → 10106 naming it', () => {
    expect(error(() => schema.params({ colour: 'red' }))).toMatchObject({
      aigesCode: Codes.INVALID_PARAM,
      message: 'unknown param "colour"',
      detail: { param: 'colour' },
    });
  });

  it('a missing required param → 10106 naming it; a required param with a default is filled', () => {
    expect(error(() => withRequired.params({}))).toMatchObject({
      aigesCode: Codes.INVALID_PARAM,
      message: 'missing param "model"',
    });
    expect(withRequired.params({ model: 'big' })).toEqual({ model: 'big', beam: 4 });
  });

  it('publishes a JSON Schema with sid, the declared constraints, and no "required" flags inside properties', () => {
    const json = paramsJsonSchema(withRequired.schema.params);
    expect(json).toEqual({
      type: 'object',
      properties: {
        sid: { type: 'string', description: expect.any(String) },
        model: { type: 'string' },
        beam: { type: 'integer', default: 4 },
      },
      required: ['model'],
      additionalProperties: false,
    });
    expect(schema.paramsSchema['properties']).toMatchObject({ rate: { minimum: 8000, maximum: 48000, default: 16000 } });
  });

  it('a schema with no params accepts only sid', () => {
    const bare = new CompiledSchema({ input: {}, output: {} });
    expect(bare.params({ sid: 'x' })).toEqual({ sid: 'x' });
    expect(error(() => bare.params({ a: '1' }))).toMatchObject({ aigesCode: Codes.INVALID_PARAM });
  });

  it('an unknown data type in a schema is a clear construction error', () => {
    expect(() => new CompiledSchema({ input: { x: { type: 'tensor' } }, output: {} } as unknown as WrapperSchema)).toThrow(
      /schema\.input\.x\.type must be one of text, audio, image, video, other/,
    );
  });

  it('a tensor declaration no tensor could meet is a clear construction error', () => {
    const schema = (spec: object) => ({ input: { x: { type: 'other', ...spec } }, output: {} }) as unknown as WrapperSchema;
    expect(() => new CompiledSchema(schema({ datatype: 'FP8' }))).toThrow(/schema\.input\.x\.datatype must be one of BOOL, /);
    expect(() => new CompiledSchema(schema({ shape: [1] }))).toThrow(/schema\.input\.x\.shape needs a datatype/);
    expect(() => new CompiledSchema(schema({ datatype: 'FP32', shape: [-2] }))).toThrow(/shape must be a list of sizes/);
    expect(() => new CompiledSchema(schema({ datatype: 'FP32', shape: [-1, 3] }))).not.toThrow();
  });
});

describe('CompiledSchema.inputItems', () => {
  const ok = [item('text', 'hi'), item('audio', 'pcm', { type: 'audio', encoding: 'raw' })];

  it('accepts a complete, well-typed request (optional keys may be absent)', () => {
    expect(() => schema.inputItems(ok, true)).not.toThrow();
    expect(() => schema.inputItems([...ok, item('extra', 'x', { type: 'other' })], true)).not.toThrow();
  });

  it('an unknown key → 10106', () => {
    expect(error(() => schema.inputItems([...ok, item('video', 'x', { type: 'video' })], true))).toMatchObject({
      aigesCode: Codes.INVALID_PARAM,
      message: 'unknown input key "video"',
      detail: { key: 'video' },
    });
  });

  it('a duplicate key → 10106 in a once request; allowed in a session frame', () => {
    const twice = [...ok, item('text', 'again')];
    expect(error(() => schema.inputItems(twice, true))).toMatchObject({
      aigesCode: Codes.INVALID_PARAM,
      message: 'input key "text" given twice',
    });
    expect(() => schema.inputItems(twice, false)).not.toThrow();
  });

  it('many items: a repeat or a missing key is found as among a few', () => {
    const open = new CompiledSchema({ input: { text: { type: 'text' }, '*': { type: 'other', required: false } }, output: {} });
    const many = [item('text', 'hi'), ...Array.from({ length: 12 }, (_, i) => item(`k${i}`, 'x', { type: 'other' }))];
    expect(() => open.inputItems(many, true)).not.toThrow();
    expect(error(() => open.inputItems([...many, item('k3', 'y', { type: 'other' })], true))).toMatchObject({
      aigesCode: Codes.INVALID_PARAM,
      message: 'input key "k3" given twice',
    });
    expect(error(() => open.inputItems(many.slice(1), true))).toMatchObject({
      aigesCode: Codes.INVALID_PARAM,
      detail: { missing: ['text'] },
    });
  });

  it('a wrong type → 10106 naming both types', () => {
    expect(error(() => schema.inputItems([item('text', 'x', { type: 'image' })], false))).toMatchObject({
      aigesCode: Codes.INVALID_PARAM,
      message: 'input "text" must have type text, got image',
    });
    const odd = { ...item('text', 'x'), type: 9 as DataType };
    expect(error(() => schema.inputItems([odd], false))).toMatchObject({ message: expect.stringContaining('got 9') });
  });

  it('an encoding not allowed → 10107; an empty encoding is accepted', () => {
    expect(error(() => schema.inputItems([item('text', 'x'), item('audio', 'x', { type: 'audio', encoding: 'mp3' })], true))).toMatchObject(
      {
        aigesCode: Codes.INVALID_PARAM_VALUE,
        message: 'input "audio" encoding "mp3" is not one of: raw, speex',
      },
    );
    expect(() => schema.inputItems([item('text', 'x'), item('audio', 'x', { type: 'audio', encoding: '' })], true)).not.toThrow();
  });

  it('missing required keys → 10106 only for a complete (once) request', () => {
    expect(error(() => schema.inputItems([item('extra', 'x', { type: 'other' })], true))).toMatchObject({
      aigesCode: Codes.INVALID_PARAM,
      message: 'missing input key(s): text, audio',
      detail: { missing: ['text', 'audio'] },
    });
    expect(() => schema.inputItems([item('text', 'x')], false)).not.toThrow();
    expect(() => schema.inputItems([], false)).not.toThrow();
  });
});

describe('CompiledSchema.outputItems', () => {
  it('fills type, status and encoding from the schema', () => {
    const [t, a] = schema.outputItems(
      [
        { key: 'text', data: 'hi' },
        { key: 'audio', data: Buffer.from([1, 2]) },
      ],
      DataStatus.ONCE,
    );
    expect(t).toEqual({ key: 'text', type: DataType.TEXT, status: DataStatus.ONCE, encoding: '', attributes: {}, data: Buffer.from('hi') });
    expect(a).toMatchObject({ key: 'audio', type: DataType.AUDIO, status: DataStatus.ONCE, encoding: 'speex' });
  });

  it('keeps what the plugin set: status, encoding, attributes, tensor', () => {
    const [t] = schema.outputItems(
      [
        {
          key: 'audio',
          data: '',
          status: DataStatus.END,
          encoding: 'raw',
          attributes: { sample_rate: '16000' },
          tensor: { datatype: 'FP32', shape: [1] },
        },
      ],
      DataStatus.CONTINUE,
    );
    expect(t).toMatchObject({
      status: DataStatus.END,
      encoding: 'raw',
      attributes: { sample_rate: '16000' },
      tensor: { datatype: 'FP32', shape: [1] },
    });
  });

  it('string and Uint8Array data become Buffers; a Buffer or Uint8Array is not copied', () => {
    const buffer = Buffer.from('buf');
    const bytes = new Uint8Array([9, 8, 7, 6]).subarray(1, 3);
    const [s, u, b, n] = schema.outputItems(
      [
        { key: 'text', data: 'héllo' },
        { key: 'audio', data: bytes },
        { key: 'text', data: buffer },
        { key: 'text', data: undefined as unknown as string },
      ],
      DataStatus.CONTINUE,
    );
    expect(Buffer.isBuffer(s?.data)).toBe(true);
    expect(s?.data.toString('utf8')).toBe('héllo');
    expect(Buffer.isBuffer(u?.data)).toBe(true);
    expect([...(u?.data ?? [])]).toEqual([8, 7]);
    expect(u?.data.buffer).toBe(bytes.buffer);
    expect(b?.data).toBe(buffer);
    expect(n?.data.length).toBe(0);
  });

  it.each([
    ['not an array', { key: 'text', data: 'x' }, 'must be an array'],
    ['undefined', undefined, 'must be an array'],
    ['an item without a key', [{ data: 'x' }], 'string key'],
    ['a null item', [null], 'string key'],
    ['an undeclared key', [{ key: 'video', data: 'x' }], 'undeclared output key "video"'],
    ['data of a wrong type', [{ key: 'text', data: 42 }], 'must be a Buffer, Uint8Array or string'],
  ])('%s → 10203', (_name, output, message) => {
    expect(error(() => schema.outputItems(output, DataStatus.ONCE))).toMatchObject({
      aigesCode: Codes.INVALID_OUTPUT,
      message: expect.stringContaining(message),
    });
  });
});
