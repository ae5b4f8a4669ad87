/**
 * Checks a sample's responses, in the spirit of AIGes's `run()` self-test: every output item
 * against the plugin's declared schema (the data plane already refuses undeclared keys; here the
 * declared type and encodings, which it fills in but does not enforce), the final status, and the
 * sample's expectations. Returns the first problem as a sentence, or undefined.
 */
import { ANY_KEY } from '../../plugin/schema.js';
import { DATA_TYPE_BY_NAME, DataStatus, type DataItem, type WrapperSchema } from '../../../plugins/types.js';
import type { PreparedSample } from './requests.js';

const TYPE_NAME = Object.fromEntries(Object.entries(DATA_TYPE_BY_NAME).map(([n, v]) => [v, n])) as Record<number, string>;
const STATUS_NAME: Record<number, string> = { 0: 'BEGIN', 1: 'CONTINUE', 2: 'END', 3: 'ONCE' };

export function schemaProblem(items: readonly DataItem[], schema: WrapperSchema): string | undefined {
  for (const item of items) {
    const decl = schema.output[item.key];
    if (decl === undefined) {
      if (schema.output[ANY_KEY] === undefined) return `output key "${item.key}" is not declared in the schema`;
      continue;
    }
    if (item.type !== DATA_TYPE_BY_NAME[decl.type]) {
      return `output "${item.key}" has type ${TYPE_NAME[item.type] ?? item.type}, the schema declares ${decl.type}`;
    }
    const encodings = decl.encodings ?? [];
    if (encodings.length > 0 && !encodings.includes(item.encoding)) {
      return `output "${item.key}" has encoding "${item.encoding}", the schema declares ${encodings.join(' | ')}`;
    }
  }
  return undefined;
}

/** A once response must be final: every item ONCE or END. */
export function onceStatusProblem(items: readonly DataItem[]): string | undefined {
  const open = items.find((i) => i.status !== DataStatus.ONCE && i.status !== DataStatus.END);
  if (open === undefined) return undefined;
  return `no final status: once output "${open.key}" has status ${STATUS_NAME[open.status] ?? open.status} (expected ONCE or END)`;
}

function show(data: Buffer): string {
  const text = data.toString('utf8');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what makes bytes unprintable
  const printable = Buffer.from(text, 'utf8').equals(data) && !/[\u0000-\u0008\u000e-\u001f]/.test(text);
  if (!printable) return `${data.length} bytes`;
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

function compare(what: string, got: Buffer | undefined, want: Buffer): string | undefined {
  if (got === undefined) return `${what} is missing, expected ${show(want)}`;
  return got.equals(want) ? undefined : `${what} is ${show(got)}, expected ${show(want)}`;
}

/** Compares the responses (one batch for once, every result batch for a session) with `expect`. */
export function expectationProblem(sample: PreparedSample, batches: readonly (readonly DataItem[])[]): string | undefined {
  const all = batches.flat();
  for (const [key, want] of sample.output) {
    const last = all.filter((i) => i.key === key).at(-1);
    const problem = compare(`output "${key}"`, last?.data, want);
    if (problem !== undefined) return problem;
  }
  for (const [key, want] of sample.stream) {
    const parts = all.filter((i) => i.key === key).map((i) => i.data);
    const problem = compare(`stream "${key}"`, parts.length === 0 ? undefined : Buffer.concat(parts), want);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
