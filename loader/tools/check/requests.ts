/**
 * Turns declared samples into requests: every file read up front (a missing file is a samples
 * error before the plugin loads), then items typed by the plugin's schema, and for sessions the
 * input sliced into frames with AIGes statuses (BEGIN, CONTINUE..., END; loader/tools/frames.ts).
 */
import { DATA_TYPE_BY_NAME, DataStatus, type DataItem, type WrapperSchema } from '../../../plugins/types.js';
import { sliceFrames } from '../frames.js';
import type { InputSpec, SampleSpec, SamplesFile } from './samples.js';

export interface PreparedInput {
  key: string;
  spec: InputSpec;
  data: Buffer;
}

export interface PreparedSample {
  spec: SampleSpec;
  inputs: PreparedInput[];
  params: Record<string, string>;
  /** Expected bytes per key: the last value (`output`) or the joined stream (`stream`). */
  output: Map<string, Buffer>;
  stream: Map<string, Buffer>;
}

export function prepareSamples(file: SamplesFile): PreparedSample[] {
  return file.samples.map((spec) => {
    const where = `sample "${spec.name}"`;
    const expected = (table: Record<string, string | { file: string }> | undefined, what: string) =>
      new Map(
        Object.entries(table ?? {}).map(([key, v]) => [
          key,
          typeof v === 'string' ? Buffer.from(v, 'utf8') : file.read(v.file, `${where} expect.${what}.${key}`),
        ]),
      );
    return {
      spec,
      inputs: Object.entries(spec.input).map(([key, input]) => ({
        key,
        spec: input,
        data: input.file !== undefined ? file.read(input.file, `${where} input.${key}`) : Buffer.from(input.text ?? '', 'utf8'),
      })),
      params: Object.fromEntries(Object.entries(spec.params).map(([k, v]) => [k, String(v)])),
      output: expected(spec.expect.output, 'output'),
      stream: expected(spec.expect.stream, 'stream'),
    };
  });
}

/** A whole input as a once item, typed by the sample, else by the schema, else by its source. */
function item(input: PreparedInput, schema: WrapperSchema): DataItem {
  const declared = schema.input[input.key]?.type;
  const type = input.spec.type ?? declared ?? (input.spec.text !== undefined ? 'text' : 'other');
  return {
    key: input.key,
    type: DATA_TYPE_BY_NAME[type],
    status: DataStatus.ONCE,
    encoding: input.spec.encoding ?? '',
    attributes: input.spec.attributes ?? {},
    data: input.data,
  };
}

export function onceItems(sample: PreparedSample, schema: WrapperSchema): DataItem[] {
  return sample.inputs.map((input) => item(input, schema));
}

/** Session frames: the inputs sliced by `frame_bytes` (one frame without it), as `aiges call` slices them. */
export function sessionFrames(sample: PreparedSample, schema: WrapperSchema): DataItem[][] {
  return sliceFrames(onceItems(sample, schema), sample.spec.frame_bytes);
}
