/**
 * onContextEnd (loader/dataplane/context.ts): how the isolations hear a call end without an
 * AbortSignal per call. It must report what `ctx.signal` reports, at the same moments: the client's
 * cancel (10202), the deadline (10102); nothing for a once call answered well, after unsubscribing,
 * or for a call that ended before; and it must not make the call's signal.
 */
import { describe, expect, it } from 'vitest';
import type { Cancellable } from '../../loader/dataplane/call.js';
import { onContextEnd } from '../../loader/dataplane/context.js';
import { Codes } from '../../loader/errors.js';
import { defineWrapper } from '../../plugins/index.js';
import { item } from '../../plugins/testing.js';
import type { CallContext, DataItem, RawRequest } from '../../plugins/types.js';
import { gate, makePlane } from './helpers.js';

const text = { input: { text: { type: 'text' } }, output: { text: { type: 'text' } } } as const;
const req = (service: string, items: DataItem[]): RawRequest => ({ service, params: {}, headers: {}, items });

/** A plugin that keeps each call's context and answers when the test says. */
async function held() {
  const contexts: CallContext<unknown>[] = [];
  const started = gate();
  const release = gate();
  const wrapper = defineWrapper({
    id: 'held',
    schema: text,
    async exec(request, ctx) {
      contexts.push(ctx);
      started.open();
      await release.promise;
      return request.items;
    },
  });
  const plane = await makePlane(wrapper, { concurrency: 4 });
  return { ...plane, contexts, started, release };
}

describe('onContextEnd', () => {
  it("reports a client's cancel with its reason, the one ctx.signal reports", async () => {
    const { dataplane, contexts, started, release } = await held();
    let target: Cancellable | undefined;
    const answer = dataplane.infer(req('held', [item('text', 'a')]), { onCancel: (call) => (target = call) });
    await started.promise;
    const heard: unknown[] = [];
    onContextEnd(contexts[0]!, (reason) => heard.push(reason));
    target?.cancel();
    await expect(answer).rejects.toMatchObject({ aigesCode: Codes.CANCELLED });
    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatchObject({ aigesCode: Codes.CANCELLED });
    // The signal, made only now, reports the same reason.
    expect(contexts[0]!.signal.reason).toBe(heard[0]);
    release.open();
  });

  it('reports the deadline (10102), once only', async () => {
    const { dataplane, contexts, started, release } = await held();
    const answer = dataplane.infer(req('held', [item('text', 'a')]), { deadline: Date.now() + 30 });
    await started.promise;
    const heard: unknown[] = [];
    onContextEnd(contexts[0]!, (reason) => heard.push(reason));
    await expect(answer).rejects.toMatchObject({ aigesCode: Codes.EXEC_TIMEOUT });
    expect(heard).toEqual([expect.objectContaining({ aigesCode: Codes.EXEC_TIMEOUT })]);
    release.open();
    await new Promise((r) => setTimeout(r, 10));
    expect(heard).toHaveLength(1);
  });

  it('nothing for a once call answered well (as its signal), after unsubscribing, or for a call already over', async () => {
    const { dataplane, contexts, started, release } = await held();
    const first = dataplane.infer(req('held', [item('text', 'a')]));
    const second = dataplane.infer(req('held', [item('text', 'b')]));
    await started.promise;
    await new Promise((r) => setTimeout(r, 5));
    expect(contexts).toHaveLength(2);
    const kept: unknown[] = [];
    const dropped: unknown[] = [];
    onContextEnd(contexts[0]!, (reason) => kept.push(reason));
    const unsubscribe = onContextEnd(contexts[1]!, (reason) => dropped.push(reason));
    unsubscribe();
    release.open();
    await Promise.all([first, second]);
    expect(kept).toEqual([]);
    expect(contexts[0]!.signal.aborted).toBe(false);
    expect(dropped).toEqual([]);
    const late: unknown[] = [];
    onContextEnd(contexts[0]!, (reason) => late.push(reason))();
    onContextEnd(contexts[1]!, (reason) => late.push(reason));
    expect(late).toEqual([]);
  });

  it('a context the data plane did not make is heard through its signal', () => {
    const controller = new AbortController();
    const ctx = { signal: controller.signal } as CallContext<unknown>;
    const heard: unknown[] = [];
    const unsubscribe = onContextEnd(ctx, (reason) => heard.push(reason));
    controller.abort('why');
    expect(heard).toEqual(['why']);
    const other = new AbortController();
    onContextEnd({ signal: other.signal } as CallContext<unknown>, (reason) => heard.push(reason))();
    other.abort('not heard');
    expect(heard).toEqual(['why']);
    unsubscribe();
  });
});
