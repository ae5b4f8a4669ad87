/** Input sources of `aiges call` and `aiges xtest`: texts, files, directories to cycle through. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInputs, type InputRules } from '../../loader/tools/inputs.js';
import { XtestCodes } from '../../loader/tools/xtest/errors.js';
import { XTEST_INPUTS } from '../../loader/tools/xtest/options.js';
import { DataStatus, DataType } from '../../plugins/types.js';

const dir = mkdtempSync(join(tmpdir(), 'aiges-inputs-'));
/** `aiges call`'s rules: one payload per key. */
const ONE_FILE: InputRules = { directories: false, invalid: 'CALL_INVALID_FLAG', unreadable: 'CALL_INPUT_UNREADABLE' };

describe('loadInputs', () => {
  it("cycles through a directory's files in name order, skipping dotfiles and folders", () => {
    const set = join(dir, 'set');
    mkdirSync(join(set, 'sub'), { recursive: true });
    writeFileSync(join(set, '2.txt'), 'two');
    writeFileSync(join(set, '1.txt'), 'one');
    writeFileSync(join(set, '.hidden'), 'no');
    writeFileSync(join(set, '3.txt'), 'three');
    const inputs = loadInputs(
      [
        { key: 'data', source: { path: set }, type: DataType.OTHER, encoding: 'raw', attributes: { a: '1' } },
        { key: 'text', source: { text: 'fixed' }, type: DataType.TEXT, encoding: 'utf8', attributes: {} },
      ],
      XTEST_INPUTS,
    );
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
    const inputs = loadInputs(
      [{ key: 'data', source: { path: join(dir, 'one.bin') }, type: DataType.OTHER, encoding: '', attributes: {} }],
      ONE_FILE,
    );
    expect([...(inputs.itemsFor(7)[0]?.data ?? [])]).toEqual([1, 2, 3]);
  });

  it('fails with XTEST_INPUT_UNREADABLE on a missing path or an empty directory, naming the key', () => {
    const missing = { key: 'audio', source: { path: join(dir, 'nope.pcm') }, type: DataType.AUDIO, encoding: '', attributes: {} };
    expect(() => loadInputs([missing], XTEST_INPUTS)).toThrow(
      expect.objectContaining({ code: XtestCodes.INPUT_UNREADABLE, message: expect.stringContaining('input "audio": cannot read') }),
    );
    mkdirSync(join(dir, 'empty'));
    const empty = { ...missing, source: { path: join(dir, 'empty') } };
    expect(() => loadInputs([empty], XTEST_INPUTS)).toThrow(
      expect.objectContaining({ code: XtestCodes.INPUT_UNREADABLE, message: expect.stringContaining('holds no file') }),
    );
  });

  it("refuses a directory where the tool sends one file per key, with the tool's code", () => {
    mkdirSync(join(dir, 'folder'));
    writeFileSync(join(dir, 'folder', 'a.bin'), 'a');
    const spec = { key: 'data', source: { path: join(dir, 'folder') }, type: DataType.OTHER, encoding: '', attributes: {} };
    expect(() => loadInputs([spec], ONE_FILE)).toThrow(
      expect.objectContaining({
        code: 'CALL_INPUT_UNREADABLE',
        message: expect.stringMatching(/^input "data": .*folder is a directory: give a file/),
      }),
    );
    const missing = { ...spec, source: { path: join(dir, 'nope.bin') } };
    expect(() => loadInputs([missing], ONE_FILE)).toThrow(expect.objectContaining({ code: 'CALL_INPUT_UNREADABLE' }));
  });
});
