/**
 * Unit tier: the balancer's picker (power of two choices), the warm-up ramp, and the routing key
 * read from wire bytes.
 */
import { describe, expect, it } from 'vitest';
import { warmUp, WARMUP_MS } from '../../../polaris/balancer/endpoint.js';
import { pickTwoChoices, type Pickable } from '../../../polaris/balancer/picker.js';
import { ROUTES, serviceOf, stringField } from '../../../polaris/balancer/route.js';
import { loadInferenceProto, loadLoaderProto } from '../../../proto/load.js';

class Fake implements Pickable {
  constructor(
    readonly name: string,
    readonly used: number,
    readonly capacity: number,
  ) {}
  score(): number {
    return this.used / this.capacity;
  }
  full(): boolean {
    return this.used >= this.capacity;
  }
}

describe('pickTwoChoices', () => {
  it('takes the lower load ratio of the two drawn, never the excluded one', () => {
    const busy = new Fake('busy', 6, 8);
    const idle = new Fake('idle', 1, 4);
    for (let i = 0; i < 20; i++) expect(pickTwoChoices([busy, idle])).toBe(idle);
    expect(pickTwoChoices([busy, idle], idle)).toBe(busy);
    expect(pickTwoChoices([idle], idle)).toBeUndefined();
    expect(pickTwoChoices([])).toBeUndefined();
  });

  it('skips full instances while any has room, and picks among full ones only when all are', () => {
    const full = new Fake('full', 4, 4);
    const room = new Fake('room', 7, 8);
    for (let i = 0; i < 20; i++) expect(pickTwoChoices([full, room])).toBe(room);
    const alsoFull = new Fake('also full', 8, 8);
    expect([full, alsoFull]).toContain(pickTwoChoices([full, alsoFull]));
  });

  it('over many instances, steers most picks to the least loaded half', () => {
    const fleet = Array.from({ length: 10 }, (_, i) => new Fake(`i${i}`, i, 10));
    const counts = new Map<string, number>();
    for (let i = 0; i < 5_000; i++) {
      const p = pickTwoChoices(fleet) as Fake;
      counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
    }
    const lower = fleet.slice(0, 5).reduce((n, f) => n + (counts.get(f.name) ?? 0), 0);
    // Power of two choices: P(pick among the k least loaded of n) = 1 - C(n-k,2)/C(n,2) = 35/45.
    expect(lower / 5_000).toBeGreaterThan(0.72);
    expect(counts.get('i9') ?? 0).toBe(0);
  });
});

describe('warm-up', () => {
  it('ramps effective capacity from 10 % to 100 % over the first 10 s', () => {
    expect(warmUp(0)).toBeCloseTo(0.1);
    expect(warmUp(WARMUP_MS / 2)).toBeCloseTo(0.55);
    expect(warmUp(WARMUP_MS)).toBe(1);
    expect(warmUp(WARMUP_MS * 5)).toBe(1);
  });
});

describe('serviceOf', () => {
  const infer = loadLoaderProto().aiges.v1.Loader.service.Infer;

  it('reads the service field from the wire bytes, after or among the payload fields', () => {
    const bytes = infer.requestSerialize({
      service: 'asr-zh',
      params: { a: 'b' },
      items: [{ key: 'audio', type: 1, status: 3, data: Buffer.alloc(100_000, 1) }],
    });
    expect(serviceOf(bytes)).toBe('asr-zh');
    // Field order on the wire is free: the field after a large payload is still found.
    const payloadFirst = Buffer.concat([
      infer.requestSerialize({ items: [{ key: 'k', data: Buffer.alloc(10) }] }),
      infer.requestSerialize({ service: 'late' }),
    ]);
    expect(serviceOf(payloadFirst)).toBe('late');
    expect(serviceOf(infer.requestSerialize({}))).toBe('');
    expect(serviceOf(Buffer.alloc(0))).toBe('');
  });

  it('throws on bytes that are not a protobuf message', () => {
    expect(() => serviceOf(Buffer.from([0x0a, 0x50, 0x41]))).toThrow(/past the end/);
    expect(() => serviceOf(Buffer.from([0x0f, 0x01]))).toThrow(); // wire type 7 does not exist
  });
});

describe('stringField on V2 requests', () => {
  const v2 = loadInferenceProto().inference.GRPCInferenceService.service;
  const fieldOf = (path: string) => ROUTES.get(`/inference.GRPCInferenceService/${path}`)?.field as number;

  it('reads model_name of a ModelInferRequest past its tensors, and name of ModelMetadata/ModelReady/ModelConfig requests', () => {
    const infer = v2.ModelInfer.requestSerialize({
      modelName: 'tensor-echo',
      modelVersion: '3',
      parameters: { a: { stringParam: 'not-me' } },
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }],
      rawInputContents: [Buffer.alloc(100_000, 1)],
    });
    expect(stringField(infer, fieldOf('ModelInfer'))).toBe('tensor-echo');
    expect(stringField(v2.ModelMetadata.requestSerialize({ name: 'echo', version: '1' }), fieldOf('ModelMetadata'))).toBe('echo');
    expect(stringField(v2.ModelReady.requestSerialize({ name: 'echo' }), fieldOf('ModelReady'))).toBe('echo');
    expect(stringField(v2.ModelConfig.requestSerialize({ name: 'echo', version: '1' }), fieldOf('ModelConfig'))).toBe('echo');
    expect(ROUTES.get('/inference.GRPCInferenceService/ModelStreamInfer')).toEqual({ mode: 'stream', field: 1 });
    // The server methods are not forwarded: the balancer answers them.
    expect(ROUTES.has('/inference.GRPCInferenceService/ServerReady')).toBe(false);
    // Nor statistics: one instance's figures are not the model's.
    expect(ROUTES.has('/inference.GRPCInferenceService/ModelStatistics')).toBe(false);
  });
});
