/**
 * The samples file format: every malformed file is refused before the plugin loads, with a
 * message naming the file and the offending key (ToolError E_CHECK_SAMPLES).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckCodes } from '../../../loader/tools/check/errors.js';
import { prepareSamples } from '../../../loader/tools/check/requests.js';
import { loadSamples } from '../../../loader/tools/check/samples.js';

const tmp = mkdtempSync(join(tmpdir(), 'aiges-samples-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function samplesFile(text: string): string {
  const file = join(tmp, `s${n++}.toml`);
  writeFileSync(file, text);
  return file;
}

function refusal(text: string): unknown {
  const file = samplesFile(text);
  try {
    prepareSamples(loadSamples(file));
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message.replace(`${file}: `, '') };
  }
  throw new Error('the samples file was accepted');
}

const ONE = '[[sample]]\nname = "a"\ninput.text = { text = "x" }\n';

describe('samples file', () => {
  it('reads samples with defaults and typed params as strings', () => {
    const file = samplesFile(`${ONE}params = { n = 2, on = true }\n`);
    const [sample] = prepareSamples(loadSamples(file));
    expect(sample?.spec).toMatchObject({ name: 'a', mode: 'once', timeout_ms: 10_000, expect: {} });
    expect(sample?.params).toEqual({ n: '2', on: 'true' });
    expect(sample?.inputs[0]?.data.toString()).toBe('x');
  });

  it.each([
    ['not TOML', '[[sample]\n', /^not valid TOML: /],
    ['no samples', 'title = "x"\n', /^declares no \[\[sample\]\] \(unknown key "title"\): add one/],
    ['an unknown top-level key', `${ONE}[extra]\n`, /^top level: unknown key "extra"$/],
    [
      'a mistyped [[sample]]',
      '[[samples]]\nname = "a"\n',
      /^declares no \[\[sample\]\] \(unknown key "samples"\): add one \[\[sample\]\] table per sample request$/,
    ],
    ['an empty list', 'sample = []\n', /^sample: declares no \[\[sample\]\]/],
    ['a sample without a name', '[[sample]]\ninput.text = { text = "x" }\n', /^sample\[0\]: missing key "name"$/],
    ['an unknown mode', `${ONE}mode = "stream"\n`, /^sample\[0\]\.mode: Invalid option/],
    ['an unknown sample key', `${ONE}inputs = 1\n`, /^sample\[0\]: unknown key "inputs"$/],
    [
      'a mistyped required key, named with the key it stands for',
      '[[sample]]\nname = "a"\ninputs.text = { text = "x" }\n',
      /^sample\[0\]: unknown key "inputs", and key "input" is missing$/,
    ],
    ['a mistyped input key', '[[sample]]\nname = "a"\ninput.text = { txt = "x" }\n', /^sample\[0\]\.input\.text: unknown key "txt"$/],
    ['a mistyped expect key', `${ONE}expect.outputs.text = "x"\n`, /^sample\[0\]\.expect: unknown key "outputs"$/],
    ['no input', '[[sample]]\nname = "a"\ninput = {}\n', /^sample\[0\]\.input: needs at least one input/],
    [
      'both file and text',
      '[[sample]]\nname = "a"\ninput.text = { text = "x", file = "y" }\n',
      /^sample\[0\]\.input\.text: give exactly one of `file` or `text`/,
    ],
    [
      'an unknown item type',
      '[[sample]]\nname = "a"\ninput.text = { text = "x", type = "pdf" }\n',
      /^sample\[0\]\.input\.text\.type: Invalid option/,
    ],
    ['frame_bytes in a once sample', `${ONE}frame_bytes = 2\n`, /^sample\[0\]\.frame_bytes: `frame_bytes` is for session samples/],
    ['a zero frame size', `${ONE}mode = "session"\nframe_bytes = 0\n`, /^sample\[0\]\.frame_bytes: /],
    [
      'expect.stream in a once sample',
      `${ONE}expect.stream.text = "x"\n`,
      /^sample\[0\]\.expect\.stream: `expect\.stream` is for session samples/,
    ],
    [
      'an error with an output',
      `${ONE}expect.error = 10107\nexpect.output.text = "x"\n`,
      /^sample\[0\]\.expect\.error: `expect\.error` cannot go with/,
    ],
    ['an unknown expect key', `${ONE}expect.status = 2\n`, /^sample\[0\]\.expect: unknown key "status"$/],
    [
      'a missing input file',
      '[[sample]]\nname = "a"\ninput.text = { file = "nope.txt" }\n',
      /^sample "a" input\.text: cannot read nope\.txt: ENOENT/,
    ],
    [
      'a missing expected file',
      `${ONE}expect.output.text = { file = "gone.bin" }\n`,
      /^sample "a" expect\.output\.text: cannot read gone\.bin: ENOENT/,
    ],
  ])('refuses %s', (_what, text, message) => {
    expect(refusal(text)).toEqual({ code: CheckCodes.SAMPLES, message: expect.stringMatching(message) });
  });

  it('refuses a missing samples file, saying where samples go', () => {
    expect(() => loadSamples(join(tmp, 'none.toml'))).toThrow(/none\.toml: no samples file: declare sample requests there/);
  });
});
