/**
 * proto/load.ts messageEncoder: protobufjs's encoder without proto-loader's fromObject gives the
 * very bytes proto-loader's serializer gives, for the values the loader builds (V2 responses of
 * every kind: raw and typed outputs, parameters, 64-bit values, streamed responses), and they
 * decode back to what was meant.
 */
import { describe, expect, it } from 'vitest';
import { INFERENCE_PROTO, loadInferenceProto, messageEncoder } from '../../proto/load.js';
import type { ModelInferResponse } from '../../proto/gen/inference/ModelInferResponse.js';
import type { ModelStreamInferResponse } from '../../proto/gen/inference/ModelStreamInferResponse.js';

const service = loadInferenceProto().inference.GRPCInferenceService.service;

const raw: ModelInferResponse = {
  modelName: 'echo',
  modelVersion: '1',
  id: 'a1b2',
  parameters: {},
  outputs: [
    { name: 'y', datatype: 'FP32', shape: [1, 3], parameters: { encoding: { stringParam: 'raw' } } },
    { name: 'z', datatype: 'BYTES', shape: [1], parameters: {} },
  ],
  rawOutputContents: [Buffer.from(new Float32Array([1, 2.5, -3]).buffer), Buffer.from([2, 0, 0, 0, 104, 105])],
};

const typed: ModelInferResponse = {
  modelName: 'm',
  modelVersion: '3',
  id: '',
  parameters: {},
  outputs: [
    { name: 'b', datatype: 'BOOL', shape: [2], parameters: {}, contents: { boolContents: [true, false] } },
    { name: 'i', datatype: 'INT32', shape: [3], parameters: {}, contents: { intContents: [-1, 0, 2147483647] } },
    {
      name: 'l',
      datatype: 'INT64',
      shape: [2, 1],
      parameters: {},
      contents: { int64Contents: ['-9223372036854775808', '9007199254740993'] },
    },
    { name: 'u', datatype: 'UINT64', shape: [1], parameters: {}, contents: { uint64Contents: ['18446744073709551615'] } },
    { name: 'f', datatype: 'FP32', shape: [2], parameters: {}, contents: { fp32Contents: [0.5, -1e30] } },
    { name: 'd', datatype: 'FP64', shape: [1], parameters: {}, contents: { fp64Contents: [Math.PI] } },
    {
      name: 's',
      datatype: 'BYTES',
      shape: [2],
      parameters: { k: { stringParam: 'v' } },
      contents: { bytesContents: [Buffer.from('é'), Buffer.alloc(0)] },
    },
  ],
  rawOutputContents: [],
};

describe('messageEncoder', () => {
  it.each([
    ['raw outputs with parameters', raw],
    ['typed outputs of every kind, 64-bit values as decimal strings', typed],
    ['an empty response', { modelName: '', modelVersion: '', id: '', parameters: {}, outputs: [], rawOutputContents: [] }],
    [
      'a shape with dims past 2^31',
      { ...raw, outputs: [{ name: 'y', datatype: 'INT8', shape: [2 ** 33, 0, 7], parameters: {} }], rawOutputContents: [] },
    ],
  ])('ModelInferResponse, %s: the bytes proto-loader makes', (_, value) => {
    const encode = messageEncoder<ModelInferResponse>(INFERENCE_PROTO, 'inference.ModelInferResponse');
    const bytes = encode(value);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(bytes.equals(service.ModelInfer.responseSerialize(value))).toBe(true);
  });

  it('decodes back to the response meant', () => {
    const back = service.ModelInfer.responseDeserialize(
      messageEncoder<ModelInferResponse>(INFERENCE_PROTO, 'inference.ModelInferResponse')(typed),
    );
    expect(back.outputs.map((o) => [o.name, o.shape])).toEqual(typed.outputs!.map((o) => [o.name, o.shape]));
    expect(back.outputs[2]!.contents!.int64Contents).toEqual([-(2 ** 63), 2 ** 53]); // as numbers (proto/load.ts PROTO_OPTIONS longs: Number)
    expect(back.outputs[6]!.parameters).toEqual({ k: { stringParam: 'v', parameterChoice: 'stringParam' } });
    expect(back.outputs[6]!.contents!.bytesContents.map(String)).toEqual(['é', '']);
  });

  it('ModelStreamInferResponse, with and without an error: the bytes proto-loader makes', () => {
    const encode = messageEncoder<ModelStreamInferResponse>(INFERENCE_PROTO, 'inference.ModelStreamInferResponse');
    for (const value of [{ inferResponse: raw }, { errorMessage: 'bad', inferResponse: { ...typed, id: 'x' } }]) {
      expect(encode(value).equals(service.ModelStreamInfer.responseSerialize(value))).toBe(true);
    }
  });
});
