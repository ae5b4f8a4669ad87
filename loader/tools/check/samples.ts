/**
 * The samples file (`samples/requests.toml` by default): the sample requests `aiges check` runs.
 *
 *   [[sample]]
 *   name = "count a file"              # shown in the report
 *   mode = "once"                      # once (default) | session
 *   params = { min_length = 2 }        # request params (sent as strings, as on the wire)
 *   frame_bytes = 4                    # session: slice every input into frames of this many bytes
 *   timeout_ms = 10000                 # deadline of the call (session: of the whole session)
 *   input.text = { file = "hello.txt", type = "text", encoding = "utf8", attributes = { lang = "en" } }
 *   input.note = { text = "inline UTF-8" }   # `file` (relative to this file) or `text`
 *   expect.output.count = "11"         # once: the key's text; session: its text in the last result carrying it
 *   expect.stream.text = "HELLO"       # session: the key's data joined over every result
 *   expect.output.image = { file = "out.bin" }   # bytes compared with a file
 *   expect.error = 10107               # the call must fail with this aiges code
 *
 * An input's `type` defaults to the plugin schema's type for that key. Every response is also
 * checked against the schema whatever `expect` says (see verify.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { ToolError } from '../errors.js';
import { CheckCodes } from './errors.js';

const fileRef = z.object({ file: z.string().min(1) }).strict();
const expected = z.union([z.string(), fileRef]);

const input = z
  .object({
    file: z.string().min(1).optional(),
    text: z.string().optional(),
    type: z.enum(['text', 'audio', 'image', 'video', 'other']).optional(),
    encoding: z.string().optional(),
    attributes: z.record(z.string(), z.string()).optional(),
  })
  .strict()
  .refine((i) => (i.file === undefined) !== (i.text === undefined), { message: 'give exactly one of `file` or `text`' });

const sample = z
  .object({
    name: z.string().min(1),
    mode: z.enum(['once', 'session']).default('once'),
    params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    frame_bytes: z.number().int().positive().optional(),
    timeout_ms: z.number().int().positive().default(10_000),
    input: z.record(z.string(), input).refine((r) => Object.keys(r).length > 0, { message: 'needs at least one input' }),
    expect: z
      .object({
        error: z.number().int().positive().optional(),
        output: z.record(z.string(), expected).optional(),
        stream: z.record(z.string(), expected).optional(),
      })
      .strict()
      .default({}),
  })
  .strict()
  .refine((s) => s.mode === 'session' || s.frame_bytes === undefined, {
    message: '`frame_bytes` is for session samples',
    path: ['frame_bytes'],
  })
  .refine((s) => s.mode === 'session' || s.expect.stream === undefined, {
    message: '`expect.stream` is for session samples',
    path: ['expect', 'stream'],
  })
  .refine((s) => s.expect.error === undefined || (s.expect.output === undefined && s.expect.stream === undefined), {
    message: '`expect.error` cannot go with `expect.output` or `expect.stream`',
    path: ['expect', 'error'],
  });

const samplesFile = z.object({ sample: z.array(sample).min(1, 'declares no [[sample]]') }).strict();

export type SampleSpec = z.infer<typeof sample>;
export type InputSpec = z.infer<typeof input>;

export interface SamplesFile {
  file: string;
  samples: SampleSpec[];
  /** Reads a file a sample names, relative to the samples file. */
  read(path: string, what: string): Buffer;
}

function fail(file: string, message: string): never {
  throw new ToolError(CheckCodes.SAMPLES, `${file}: ${message}`);
}

const pathText = (path: readonly PropertyKey[]) =>
  path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '') || 'top level';

const quoted = (keys: readonly PropertyKey[]) => keys.map((k) => `"${String(k)}"`).join(', ');

function valueAt(tree: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined), tree);
}

/**
 * The problem to report, named by its key path. A mistyped key makes two issues: an unknown key,
 * and (when the key was required) a missing one, which zod words as "expected record, received
 * undefined"; both are named together, the unknown key first, as the likelier cause.
 */
function describeIssues(issues: readonly z.core.$ZodIssue[], tree: unknown): string {
  const missing = (i: z.core.$ZodIssue) => i.code === 'invalid_type' && valueAt(tree, i.path) === undefined;
  const unknown = issues.find((i) => i.code === 'unrecognized_keys');
  if (unknown !== undefined) {
    const keys = (unknown as z.core.$ZodIssueUnrecognizedKeys).keys;
    const at = pathText(unknown.path);
    const absent = issues
      .filter((i) => missing(i) && i.path.length === unknown.path.length + 1 && pathText(i.path.slice(0, -1)) === at)
      .map((i) => i.path.at(-1) as PropertyKey);
    const also =
      absent.length === 0
        ? ''
        : `, and ${absent.length === 1 ? 'key' : 'keys'} ${quoted(absent)} ${absent.length === 1 ? 'is' : 'are'} missing`;
    return `${at}: unknown ${keys.length === 1 ? 'key' : 'keys'} ${quoted(keys)}${also}`;
  }
  const absent = issues.find(missing);
  if (absent !== undefined) return `${pathText(absent.path.slice(0, -1))}: missing key "${String(absent.path.at(-1))}"`;
  const issue = issues[0] as z.core.$ZodIssue;
  return `${pathText(issue.path)}: ${issue.message}`;
}

export function loadSamples(file: string): SamplesFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    fail(file, 'no samples file: declare sample requests there (see docs/plugins.md, "Sample requests"), or pass --samples');
  }
  let tree: unknown;
  try {
    tree = parseToml(text);
  } catch (err) {
    fail(file, `not valid TOML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!Object.hasOwn(tree as object, 'sample')) {
    const others = Object.keys(tree as object).map((k) => `"${k}"`);
    const seen = others.length === 0 ? '' : ` (unknown ${others.length === 1 ? 'key' : 'keys'} ${others.join(', ')})`;
    fail(file, `declares no [[sample]]${seen}: add one [[sample]] table per sample request`);
  }
  const parsed = samplesFile.safeParse(tree);
  if (!parsed.success) fail(file, describeIssues(parsed.error.issues, tree));
  const base = dirname(resolve(file));
  return {
    file,
    samples: parsed.data.sample,
    read(path, what) {
      try {
        return readFileSync(resolve(base, path));
      } catch (err) {
        return fail(file, `${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    },
  };
}
