/**
 * ctx.infer from a plugin apart from the loader's thread: in a plugin process (`[plugin] isolation
 * = "process"`: plugin/process/child.ts → connection.ts) and on worker threads (`"worker"`:
 * worker/thread.ts for execs, thread-session.ts for sessions). The plugin hands each call to the
 * loader, which makes it under the calling exec or session. Real loaders on port 0; the caller
 * serves the pipe-caller fixture isolated, the callee tensor-scale.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { infer, runSession } from '../../loader/tools/client.js';
import { Codes, DataStatus } from '../../plugins/index.js';
import { PROCESS_START_MS } from '../plugin/process-helpers.js';
import { expectGrpcError, FIXTURES, textItem } from '../server/grpc-helpers.js';
import { closedAfterEach, floats, servedIn, x } from './helpers.js';

const CALLER = `${FIXTURES}/pipe-caller.ts`;
const SCALE = `${FIXTURES}/tensor-scale.ts`;

const running = closedAfterEach();
const served = (overrides: Record<string, Record<string, unknown>>) => servedIn(running, overrides);

describe.each(['process', 'worker'])('ctx.infer under isolation = "%s"', { timeout: 2 * PROCESS_START_MS }, (isolation) => {
  async function pair() {
    const callee = await served({ plugin: { path: SCALE } });
    const caller = await served({ plugin: { path: CALLER, isolation }, wrapper: { address: callee.address } });
    return { callee, caller };
  }

  it('an exec calls another loader: tensors and items cross over and back', async () => {
    const { caller } = await pair();
    const res = await infer(caller.client, { service: 'pipe-caller', params: { tensor: 'true' }, items: [x([1, 2, 3])] });
    expect(floats(res.items[0])).toEqual([10, 20, 30]);
    // Items as they came (no tensor inputs): the callee's declared type applies to them.
    const asItems = await infer(caller.client, { service: 'pipe-caller', items: [x([4])] });
    expect(floats(asItems.items.find((i) => i.key === 'y'))).toEqual([40]);
  });

  it("a session's context calls it for each frame", async () => {
    const { caller } = await pair();
    const frames = [[x([1])], [x([2])], [x([3])]].map((f) => f.map((i) => ({ ...i, status: DataStatus.CONTINUE })));
    const { responses } = await runSession(caller.client, { service: 'pipe-caller', params: { service: 'tensor-scale' } }, frames);
    const ys = responses.filter((r) => r.items.length > 0).map((r) => floats(r.items[0]));
    expect(ys).toEqual([[10], [20], [30]]);
  });

  it("the callee's refusal comes back with its code", async () => {
    const { caller } = await pair();
    const details = await expectGrpcError(
      infer(caller.client, { service: 'pipe-caller', params: { service: 'absent', tensor: 'true' }, items: [x([1])] }),
      grpc.status.NOT_FOUND,
      Codes.SERVICE_NOT_FOUND,
    );
    expect(details).toMatch(/absent/);
  });

  it('a loop through its own loader ends with 10211 (each step crosses over and back)', async () => {
    const caller = await served({ plugin: { path: CALLER, isolation, concurrency: 16 } });
    await expectGrpcError(
      infer(caller.client, { service: 'pipe-caller', params: { service: 'pipe-caller' }, items: [textItem('x')] }),
      grpc.status.FAILED_PRECONDITION,
      Codes.PIPELINE_DEPTH,
    );
  });
});
