/** Unit tests of input sources and of the CLI's input flags. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { XtestCodes } from '../../../loader/tools/xtest/errors.js';
import { parseInputFlags, parseParams } from '../../../loader/tools/xtest/input-flags.js';
import { loadInputs } from '../../../loader/tools/xtest/inputs.js';
import { DataStatus, DataType } from '../../../plugins/types.js';

const dir = mkdtempSync(join(tmpdir(), 'aiges-xtest-inputs-'));
const noFlags = { text: [], file: [], encoding: [], attr: [] };

describe('parseInputFlags', () => {
  it('builds specs from --text, --file (typed), --encoding and --attr', () => {
    const specs = parseInputFlags({
      text: ['text=hello=world'],
      file: [`audio=${dir}/a.pcm:audio`, `blob=${dir}/b.bin`],
      encoding: ['audio=pcm_s16le'],
      attr: ['audio.sample_rate=16000'],
    });
    expect(specs).toEqual([
      { key: 'text', source: { text: 'hello=world' }, type: DataType.TEXT, encoding: 'utf8', attributes: {} },
      { key: 'audio', source: { path: `${dir}/a.pcm` }, type: DataType.AUDIO, encoding: 'pcm_s16le', attributes: { sample_rate: '16000' } },
      { key: 'blob', source: { path: `${dir}/b.bin` }, type: DataType.OTHER, encoding: '', attributes: {} },
    ]);
  });

  it.each([
    [{ ...noFlags, text: ['novalue'] }, /--text expects name=value/],
    [{ ...noFlags, text: ['=x'] }, /--text expects name=value/],
    [{ ...noFlags, text: ['a=1', 'a=2'] }, /input key "a" is given twice/],
    [{ ...noFlags, encoding: ['a=utf8'] }, /names key "a", which has no --text or --file/],
    [{ ...noFlags, text: ['a=1'], attr: ['a=1'] }, /--attr expects key.attribute=value/],
    [{ ...noFlags, text: ['a=1'], attr: ['a.=1'] }, /--attr expects key.attribute=value/],
  ])('refuses bad flags with XTEST_INVALID_OPTION (%#)', (flags, message) => {
    expect(() => parseInputFlags(flags)).toThrow(
      expect.objectContaining({ code: XtestCodes.INVALID_OPTION, message: expect.stringMatching(message) }),
    );
  });

  it('parses params, a later flag winning', () => {
    expect(parseParams(['a=1', 'b=x=y', 'a=2'])).toEqual({ a: '2', b: 'x=y' });
    expect(() => parseParams(['oops'])).toThrow(expect.objectContaining({ code: XtestCodes.INVALID_OPTION }));
  });
});

describe('loadInputs', () => {
  it("cycles through a directory's files in name order, skipping dotfiles and folders", () => {
    const set = join(dir, 'set');
    mkdirSync(join(set, 'sub'), { recursive: true });
    writeFileSync(join(set, '2.txt'), 'two');
    writeFileSync(join(set, '1.txt'), 'one');
    writeFileSync(join(set, '.hidden'), 'no');
    writeFileSync(join(set, '3.txt'), 'three');
    const inputs = loadInputs([
      { key: 'data', source: { path: set }, type: DataType.OTHER, encoding: 'raw', attributes: { a: '1' } },
      { key: 'text', source: { text: 'fixed' }, type: DataType.TEXT, encoding: 'utf8', attributes: {} },
    ]);
    expect(inputs.variants).toEqual({ data: 3, text: 1 });
    const seen = [0, 1, 2, 3, 4].map((i) => inputs.itemsFor(i).map((item) => item.data.toString()));
    expect(seen).toEqual([
      ['one', 'fixed'],
      ['two', 'fixed'],
      ['three', 'fixed'],
      ['one', 'fixed'],
      ['two', 'fixed'],
    ]);
    expect(inputs.itemsFor(0)[0]).toMatchObject({
      key: 'data',
      type: DataType.OTHER,
      status: DataStatus.ONCE,
      encoding: 'raw',
      attributes: { a: '1' },
    });
  });

  it('reads a single file', () => {
    writeFileSync(join(dir, 'one.bin'), Buffer.from([1, 2, 3]));
    const inputs = loadInputs([
      { key: 'data', source: { path: join(dir, 'one.bin') }, type: DataType.OTHER, encoding: '', attributes: {} },
    ]);
    expect([...(inputs.itemsFor(7)[0]?.data ?? [])]).toEqual([1, 2, 3]);
  });

  it('fails with XTEST_INPUT_UNREADABLE on a missing path or an empty directory, naming the key', () => {
    const missing = { key: 'audio', source: { path: join(dir, 'nope.pcm') }, type: DataType.AUDIO, encoding: '', attributes: {} };
    expect(() => loadInputs([missing])).toThrow(
      expect.objectContaining({ code: XtestCodes.INPUT_UNREADABLE, message: expect.stringContaining('input "audio": cannot read') }),
    );
    mkdirSync(join(dir, 'empty'));
    const empty = { ...missing, source: { path: join(dir, 'empty') } };
    expect(() => loadInputs([empty])).toThrow(
      expect.objectContaining({ code: XtestCodes.INPUT_UNREADABLE, message: expect.stringContaining('holds no file') }),
    );
  });
});
