/**
 * Shared parts of the pipeline tests: FP32 tensor items (the tensor-scale fixture takes `x`,
 * answers `y`), and loaders started for one test and stopped after it.
 */
import { afterEach } from 'vitest';
import type { DataItem, DataItem__Output } from '../../proto/gen/aiges/v1/DataItem.js';
import { type Served, serve } from '../server/grpc-helpers.js';

/** Input `x`: an FP32 tensor of `values` (type OTHER, status ONCE). */
export const x = (values: number[]): DataItem => ({
  key: 'x',
  type: 4,
  status: 3,
  encoding: '',
  data: Buffer.from(new Float32Array(values).buffer),
  datatype: 'FP32',
  shape: [values.length],
});

/** An answered item's FP32 values. */
export const floats = (item: DataItem__Output | undefined): number[] => [...new Float32Array(new Uint8Array(item?.data ?? []).buffer)];

/** Things to close after each test of the file that calls this (at its top level). */
export function closedAfterEach(): { close(): Promise<void> }[] {
  const running: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
  });
  return running;
}

/** Serves a loader on port 0 (a short drain grace: a hung exec would hold its stop), closed in `running`. */
export async function servedIn(running: { close(): Promise<void> }[], overrides: Record<string, Record<string, unknown>>): Promise<Served> {
  const s = await serve({ limits: { drain_grace_ms: 100 }, ...overrides });
  running.push(s);
  return s;
}
