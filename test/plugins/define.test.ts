import { describe, expect, it } from 'vitest';
import { defineWrapper, describeProblems, isWrapper } from '../../plugins/define.js';
import { pluginError } from '../../plugins/errors.js';
import { Codes } from '../../loader/errors.js';
import { WRAPPER_BRAND, type WrapperDefinition } from '../../plugins/types.js';

const schema = { input: { text: { type: 'text' } }, output: { text: { type: 'text' } } } as const;
const good: WrapperDefinition = { id: 'ok', schema, exec: () => [] };

/** defineWrapper with a deliberately broken definition. */
const define = (def: unknown) => () => defineWrapper(def as WrapperDefinition);

describe('defineWrapper', () => {
  it('returns a frozen, branded copy with every field of the definition', () => {
    const init = () => 1;
    const w = defineWrapper({ ...good, version: '2.0.0', init });
    expect(isWrapper(w)).toBe(true);
    expect(w[WRAPPER_BRAND]).toBe(true);
    expect(Object.isFrozen(w)).toBe(true);
    expect(w).toMatchObject({ id: 'ok', version: '2.0.0', schema });
    expect(w.init).toBe(init);
    expect(() => {
      (w as { id: string }).id = 'other';
    }).toThrow(TypeError);
  });

  it('accepts session-only and once-only wrappers', () => {
    expect(isWrapper(defineWrapper({ id: 's', schema, session: { create: () => ({ write() {}, results: [] as never }) } }))).toBe(true);
    expect(isWrapper(defineWrapper({ id: 'a.b_c-1', schema, exec: () => [] }))).toBe(true);
    const older = { input: { n: { type: 'other', datatype: 'INT32' } }, output: {} } as const;
    const versioned = defineWrapper({ id: 'v', schema, exec: () => [], versions: ['1', '2'], versionSchemas: { '1': older } });
    expect(versioned.versionSchemas).toEqual({ '1': older });
  });

  it.each([
    ['no id', { schema, exec: () => [] }, /id must be a non-empty string/],
    ['an empty id', { id: '', schema, exec: () => [] }, /id must be/],
    ['an id with a space', { id: 'my service', schema, exec: () => [] }, /letters, digits, "\.", "_" or "-"/],
    ['an id with a slash', { id: 'a/b', schema, exec: () => [] }, /id must be/],
    ['an id starting with a dot', { id: '.hidden', schema, exec: () => [] }, /id must be/],
    ['a non-string id', { id: 42, schema, exec: () => [] }, /id must be/],
    ['no schema', { id: 'x', exec: () => [] }, /schema is required/],
    ['no schema.input', { id: 'x', schema: { output: {} }, exec: () => [] }, /schema\.input is required/],
    ['no schema.output', { id: 'x', schema: { input: {} }, exec: () => [] }, /schema\.output is required/],
    ['neither exec nor session', { id: 'x', schema }, /define exec, session, or both/],
    ['a non-function exec', { id: 'x', schema, exec: 'run' }, /exec must be a function/],
    ['a non-function init', { id: 'x', schema, exec: () => [], init: {} }, /init must be a function/],
    ['a non-function fini', { id: 'x', schema, exec: () => [], fini: 1 }, /fini must be a function/],
    ['a session without create', { id: 'x', schema, session: {} }, /session\.create must be a function/],
    [
      'a version schema for a version not served',
      { id: 'x', schema, exec: () => [], versions: ['1', '2'], versionSchemas: { '3': schema } },
      /versionSchemas names version "3", which versions does not list/,
    ],
    [
      'a version schema without output',
      { id: 'x', schema, exec: () => [], versions: ['1', '2'], versionSchemas: { '1': { input: {} } } },
      /versionSchemas\["1"\] needs input and output/,
    ],
  ])('rejects %s with a clear message', (_name, def, message) => {
    expect(define(def)).toThrow(TypeError);
    expect(define(def)).toThrow(/^invalid wrapper definition: /);
    expect(define(def)).toThrow(message);
  });

  it('lists every problem at once', () => {
    expect(describeProblems({ id: '', schema: undefined, exec: 3 } as unknown as WrapperDefinition)).toEqual([
      'id must be a non-empty string of letters, digits, ".", "_" or "-"',
      'schema is required',
      'exec must be a function',
    ]);
    expect(describeProblems(good)).toEqual([]);
  });

  it('rejects a definition that is not an object', () => {
    expect(define(null)).toThrow('invalid wrapper definition: the definition must be an object');
    expect(define('echo')).toThrow(/must be an object/);
  });
});

describe('isWrapper', () => {
  const wrapper = defineWrapper(good);

  it('is false for plain definitions and non-objects', () => {
    expect(isWrapper(good)).toBe(false);
    expect(isWrapper(null)).toBe(false);
    expect(isWrapper(undefined)).toBe(false);
    expect(isWrapper('ok')).toBe(false);
    expect(isWrapper({ ...good, [Symbol('aiges.wrapper.v1')]: true })).toBe(false); // a private symbol is not the brand
  });

  it('recognises the brand made by another copy of the SDK (Symbol.for, not identity)', () => {
    // What a plugin that bundles its own SDK copy exports: same registered symbol, different module.
    const foreign = { ...good, [Symbol.for('aiges.wrapper.v1')]: true };
    expect(isWrapper(foreign)).toBe(true);
    expect(isWrapper({ ...good, [Symbol.for('aiges.wrapper.v1')]: 'yes' })).toBe(false);
  });

  it('the brand survives a spread copy (own enumerable symbol), but not JSON', () => {
    // A shallow copy of a valid wrapper is still that wrapper: module interop layers make such copies.
    expect(Object.getOwnPropertySymbols(wrapper)).toContain(WRAPPER_BRAND);
    expect(Object.getOwnPropertyDescriptor(wrapper, WRAPPER_BRAND)?.enumerable).toBe(true);
    expect(isWrapper({ ...wrapper })).toBe(true);
    expect(isWrapper(Object.assign({}, wrapper))).toBe(true);
    expect(isWrapper(JSON.parse(JSON.stringify(wrapper)))).toBe(false);
  });

  it('the brand only attests that defineWrapper ran: a copy altered afterwards is not re-checked', () => {
    // NOTE: documents current behaviour; loaders that need a valid definition must call describeProblems.
    const broken = { ...wrapper, exec: undefined };
    expect(isWrapper(broken)).toBe(true);
    expect(describeProblems(broken)).toEqual(['define exec, session, or both']);
  });
});

describe('pluginError', () => {
  it.each([
    ['invalid-param', Codes.INVALID_PARAM],
    ['invalid-value', Codes.INVALID_PARAM_VALUE],
    ['invalid-data', Codes.INVALID_DATA],
  ] as const)('%s → %i', (kind, code) => {
    expect(pluginError(kind, 'why')).toMatchObject({ aigesCode: code, message: 'why' });
  });
});
