/**
 * A session driven by one stream of messages (dataplane/session-stream.ts), as the gRPC adapter
 * drives it: the first message opens, the half-close ends the input, the sink hears the end once.
 */
import { describe, expect, it, vi } from 'vitest';
import { Codes, type AigesError } from '../../loader/errors.js';
import type { SessionSink } from '../../loader/dataplane/results.js';
import { item } from '../../plugins/testing.js';
import { DataStatus, type SessionResult } from '../../plugins/types.js';
import echo from '../../demo/echo/wrapper.js';
import { makePlane } from './helpers.js';

/** A sink that records what the stream delivers. */
function recorder() {
  const seen = { results: [] as SessionResult[], closes: [] as (AigesError | undefined)[] };
  let closed!: () => void;
  const done = new Promise<void>((resolve) => (closed = resolve));
  const sink: SessionSink = {
    result: (r) => {
      seen.results.push(r);
      return true;
    },
    close: (error) => {
      seen.closes.push(error);
      closed();
    },
  };
  return { seen, sink, done };
}

const message = (data: string, extra: { service?: string; params?: Record<string, string> } = {}) => ({
  service: extra.service ?? 'echo',
  params: extra.params ?? {},
  headers: {},
  items: data === '' ? [] : [item('text', data, { status: DataStatus.CONTINUE })],
});

describe('SessionStream', () => {
  it('opens on the first message, writes every message in order, ends at the half-close', async () => {
    const { dataplane } = await makePlane(echo);
    const { seen, sink, done } = recorder();
    const stream = dataplane.sessionStream(sink);
    await stream.push(message('a', { params: { sid: 's-1' } }));
    await stream.push(message('b'));
    stream.end();
    await done;
    expect(seen.results.map((r) => [r.items.map((i) => i.data.toString()).join(), r.status])).toEqual([
      ['a', DataStatus.CONTINUE],
      ['b', DataStatus.CONTINUE],
      ['', DataStatus.END],
    ]);
    expect(seen.closes).toEqual([undefined]);
    expect(stream.session?.sid).toBe('s-1');
    await vi.waitFor(() => expect(dataplane.admission.inUse).toBe(0));
  });

  it('no open message within the session idle timeout → 10019, with no slot ever taken', async () => {
    const { dataplane } = await makePlane(echo, { limits: { session_idle_timeout_ms: 30 } });
    const { seen, sink, done } = recorder();
    dataplane.sessionStream(sink);
    expect(dataplane.admission.inUse).toBe(0);
    await done;
    expect(seen.closes).toEqual([expect.objectContaining({ aigesCode: Codes.SESSION_TIMEOUT, message: expect.stringContaining('30 ms') })]);
  });

  it('a half-close before the open message → 10003; a cancel → 10202; the sink hears one end', async () => {
    const { dataplane } = await makePlane(echo);
    const ended = recorder();
    const first = dataplane.sessionStream(ended.sink);
    first.end();
    first.end();
    await ended.done;
    expect(ended.seen.closes).toEqual([expect.objectContaining({ aigesCode: Codes.INVALID_OP })]);
    const gone = recorder();
    const second = dataplane.sessionStream(gone.sink);
    second.cancel();
    second.cancel();
    await gone.done;
    expect(gone.seen.closes).toEqual([expect.objectContaining({ aigesCode: Codes.CANCELLED })]);
  });

  it('an open the data plane refuses (unknown service) reaches the sink; a cancel after the open ends the session', async () => {
    const { dataplane } = await makePlane(echo);
    const refused = recorder();
    await dataplane.sessionStream(refused.sink).push(message('x', { service: 'asr' }));
    await refused.done;
    expect(refused.seen.closes).toEqual([expect.objectContaining({ aigesCode: Codes.SERVICE_NOT_FOUND })]);

    const open = recorder();
    const stream = dataplane.sessionStream(open.sink);
    await stream.push(message('a'));
    stream.cancel();
    await open.done;
    expect(open.seen.closes).toEqual([expect.objectContaining({ aigesCode: Codes.CANCELLED })]);
    await vi.waitFor(() => expect(dataplane.admission.inUse).toBe(0));
  });
});
