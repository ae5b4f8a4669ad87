/** The input flags of `aiges call` and `aiges xtest`: one parser, one rule set, the tool's error codes. */
import { describe, expect, it } from 'vitest';
import { parseInputFlags, parseParams } from '../../loader/tools/input-flags.js';
import { XTEST_INPUTS } from '../../loader/tools/xtest/options.js';
import { XtestCodes } from '../../loader/tools/xtest/errors.js';
import { DataType } from '../../plugins/types.js';

const noFlags = { text: [], file: [], encoding: [], attr: [] };

describe('parseInputFlags', () => {
  it('builds specs from --text, --file (typed), --encoding and --attr', () => {
    const specs = parseInputFlags(
      {
        text: ['text=hello=world'],
        file: ['audio=/data/a.pcm:audio', 'blob=/data/b.bin', 'odd=/data/c:d'],
        encoding: ['audio=pcm_s16le'],
        attr: ['audio.sample_rate=16000'],
      },
      XTEST_INPUTS,
    );
    expect(specs).toEqual([
      { key: 'text', source: { text: 'hello=world' }, type: DataType.TEXT, encoding: 'utf8', attributes: {} },
      {
        key: 'audio',
        source: { path: '/data/a.pcm' },
        type: DataType.AUDIO,
        typed: true,
        encoding: 'pcm_s16le',
        attributes: { sample_rate: '16000' },
      },
      { key: 'blob', source: { path: '/data/b.bin' }, type: DataType.OTHER, typed: false, encoding: '', attributes: {} },
      // A suffix that names no type is part of the path.
      { key: 'odd', source: { path: '/data/c:d' }, type: DataType.OTHER, typed: false, encoding: '', attributes: {} },
    ]);
  });

  it.each([
    [{ ...noFlags, text: ['novalue'] }, /^--text expects key=value, got "novalue"$/],
    [{ ...noFlags, text: ['=x'] }, /^--text expects key=value/],
    [{ ...noFlags, file: ['data='] }, /^--file expects key=path\[:type\], got "data="$/],
    [{ ...noFlags, text: ['a=1', 'a=2'] }, /^input key "a" is given twice \(by --text or --file\); give each key once$/],
    [{ ...noFlags, text: ['a=1'], file: ['a=/x'] }, /input key "a" is given twice/],
    [{ ...noFlags, encoding: ['a=utf8'] }, /^--encoding "a=utf8" names key "a", which has no --text or --file$/],
    [{ ...noFlags, text: ['a=1'], encoding: ['a'] }, /^--encoding expects key=encoding/],
    [{ ...noFlags, text: ['a=1'], attr: ['a=1'] }, /^--attr expects key.name=value/],
    [{ ...noFlags, text: ['a=1'], attr: ['a.=1'] }, /^--attr expects key.name=value/],
    [{ ...noFlags, text: ['a=1'], attr: ['b.x=1'] }, /names key "b", which has no --text or --file/],
  ])("refuses bad flags with the tool's code (%#)", (flags, message) => {
    expect(() => parseInputFlags(flags, XTEST_INPUTS)).toThrow(
      expect.objectContaining({ code: XtestCodes.INVALID_OPTION, exitCode: 2, message: expect.stringMatching(message) }),
    );
    expect(() => parseInputFlags(flags, { invalid: 'CALL_INVALID_FLAG' })).toThrow(expect.objectContaining({ code: 'CALL_INVALID_FLAG' }));
  });

  it('lets the last --encoding and --attr of a key win', () => {
    const [spec] = parseInputFlags({ text: ['a=1'], file: [], encoding: ['a=x', 'a=y'], attr: ['a.n=1', 'a.n=2', 'a.m=3'] }, XTEST_INPUTS);
    expect(spec).toMatchObject({ encoding: 'y', attributes: { n: '2', m: '3' } });
  });
});

describe('parseParams', () => {
  it('parses params, a later flag winning', () => {
    expect(parseParams(['a=1', 'b=x=y', 'a=2'], XTEST_INPUTS)).toEqual({ a: '2', b: 'x=y' });
    expect(() => parseParams(['oops'], XTEST_INPUTS)).toThrow(
      expect.objectContaining({ code: XtestCodes.INVALID_OPTION, message: '--param expects name=value, got "oops"' }),
    );
  });
});
