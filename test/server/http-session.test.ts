/**
 * Session mode over the AIGes JSON route: header.status 0 opens, 1 continues, 2 ends, all with
 * the sid of the opening answer; each answer carries the results produced since the last.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Loader } from '../../loader/loader.js';
import { b64, call, expectError, gate, startLoader, unb64, useGates } from './http-helpers.js';

const frame = (status: number, text: string | undefined, sid?: string) => ({
  header: { app_id: 'test', status, ...(sid === undefined ? {} : { sid }) },
  payload: text === undefined ? {} : { text: { encoding: 'utf8', status, text: b64(text) } },
});

let echo: Loader;
beforeAll(async () => {
  echo = await startLoader({ limits: { capacity: 2 } });
});
afterAll(async () => {
  await echo.stop();
});

describe('HTTP sessions', () => {
  it('streams begin → continue → end with one sid, holding one slot until the end', async () => {
    const first = await call(echo, frame(0, 'a'));
    expect(first.status).toBe(200);
    const sid = first.body.header.sid as string;
    expect(sid).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.body.header).toMatchObject({ code: 0, status: 1 });
    expect(unb64(first.body.payload.text.text)).toBe('a');
    expect(first.body.payload.text.seq).toBe(0);
    expect(echo.dataplane.admission.sessions).toBe(1);

    const second = await call(echo, frame(1, 'b', sid));
    expect(second.body.header).toMatchObject({ code: 0, sid, status: 1 });
    expect(unb64(second.body.payload.text.text)).toBe('b');
    expect(second.body.payload.text.seq).toBe(1);

    const last = await call(echo, frame(2, 'c', sid));
    expect(last.body.header).toMatchObject({ code: 0, sid, status: 2 });
    expect(unb64(last.body.payload.text.text)).toBe('c');
    expect(last.body.payload.text.status).toBe(2);
    expect(echo.dataplane.admission.inUse).toBe(0);

    // The session is over: its sid is unknown now.
    expect(expectError(await call(echo, frame(1, 'd', sid)), 400, 10003)).toContain(sid);
  });

  it('makes the sid itself (random), refusing one the client chose, and ends with an empty last frame', async () => {
    expect(expectError(await call(echo, frame(0, 'x', 'client-session-1')), 400, 10009)).toContain('the loader makes one');
    const withParam = { ...frame(0, 'x'), parameter: { echo: { sid: 'client-session-2' } } };
    expect(expectError(await call(echo, withParam), 400, 10009)).toContain('param sid');
    expect(echo.dataplane.admission.inUse).toBe(0);
    const sids = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const sid = (await call(echo, frame(0, 'x'))).body.header.sid as string;
      expect(sid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      sids.add(sid);
      const end = await call(echo, frame(2, undefined, sid));
      expect(end.body).toMatchObject({ header: { code: 0, sid, status: 2 }, payload: {} });
    }
    expect(sids.size).toBe(2);
    expect(echo.dataplane.admission.inUse).toBe(0);
  });

  it('refuses an unknown sid and a missing sid with 10003', async () => {
    expect(expectError(await call(echo, frame(1, 'x', 'nobody')), 400, 10003)).toContain('nobody');
    expect(expectError(await call(echo, frame(2, 'x')), 400, 10003)).toContain('header.sid');
  });

  it('a session holds a capacity slot: past capacity calls get 429 / 10110', async () => {
    const a = (await call(echo, frame(0, 'a'))).body.header.sid as string;
    const b = (await call(echo, frame(0, 'b'))).body.header.sid as string;
    expect(echo.dataplane.admission.inUse).toBe(2);
    expectError(await call(echo, frame(0, 'c')), 429, 10110);
    expectError(await call(echo, { payload: { text: { text: b64('once') } } }), 429, 10110);
    await call(echo, frame(2, undefined, a));
    await call(echo, frame(2, undefined, b));
    expect(echo.dataplane.admission.inUse).toBe(0);
  });

  it('bad input mid-session fails the session and frees its slot', async () => {
    const sid = (await call(echo, frame(0, 'ok'))).body.header.sid as string;
    const bad = { header: { status: 1, sid }, payload: { image: { image: b64('?') } } };
    expect(expectError(await call(echo, bad), 400, 10106)).toContain('"image"');
    await vi.waitFor(() => expect(echo.dataplane.admission.inUse).toBe(0));
    expectError(await call(echo, frame(1, 'more', sid)), 400, 10003);
  });

  it('the opening aiges-timeout-ms is the session deadline: past it the session ends with 10102', async () => {
    const sid = (await call(echo, frame(0, 'a'), { headers: { 'aiges-timeout-ms': '50' } })).body.header.sid as string;
    expect(echo.dataplane.admission.inUse).toBe(1);
    await vi.waitFor(() => expect(echo.dataplane.admission.inUse).toBe(0));
    expect(expectError(await call(echo, frame(1, 'late', sid)), 504, 10102)).toContain('deadline');
    expectError(await call(echo, frame(2, undefined, sid)), 400, 10003);
  });

  it('an opening aiges-timeout-ms longer than a Node timer waits (3,000,000,000 ms) keeps the session open', async () => {
    const sid = (await call(echo, frame(0, 'a'), { headers: { 'aiges-timeout-ms': '3000000000' } })).body.header.sid as string;
    // NOTE: a fixed wait: a timer set past its limit fires after 1 ms.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await call(echo, frame(1, 'b', sid))).body.header).toMatchObject({ code: 0, sid, status: 1 });
    expect((await call(echo, frame(2, undefined, sid))).body.header).toMatchObject({ code: 0, sid, status: 2 });
    expect(echo.dataplane.admission.inUse).toBe(0);
  });
});

describe('HTTP sessions with a plugin that stalls', () => {
  let gated: Loader;
  const exec = gate();
  beforeAll(async () => {
    gated = await startLoader({ plugin: { path: 'test/fixtures/plugins/http-gated.ts' }, wrapper: useGates({ exec }) });
  });
  afterAll(async () => {
    exec.open();
    await gated.stop();
  });

  it('a later request past its aiges-timeout-ms ends the session with 504 / 10102', async () => {
    const sid = (await call(gated, frame(0, 'a'), { service: 'gated' })).body.header.sid as string;
    expect(gated.dataplane.admission.sessions).toBe(1);
    // The plugin's end waits on a gate that stays shut: the end request must give up.
    const res = await call(gated, frame(2, undefined, sid), { service: 'gated', headers: { 'aiges-timeout-ms': '50' } });
    expect(expectError(res, 504, 10102)).toContain(sid);
    expect(res.body.header.sid).toBe(sid);
    await vi.waitFor(() => expect(gated.dataplane.admission.inUse).toBe(0));
    expect((exec.entered[0] as AbortSignal).aborted).toBe(true);
  });

  it('a client that disconnects while waiting cancels the session', async () => {
    const sid = (await call(gated, frame(0, 'a'), { service: 'gated' })).body.header.sid as string;
    const controller = new AbortController();
    const pending = call(gated, frame(2, undefined, sid), { service: 'gated', signal: controller.signal });
    await vi.waitFor(() => expect(exec.entered).toHaveLength(2));
    controller.abort();
    await expect(pending).rejects.toThrow();
    await vi.waitFor(() => expect(gated.dataplane.admission.inUse).toBe(0));
    expect(((exec.entered[1] as AbortSignal).reason as { aigesCode?: number }).aigesCode).toBe(10202);
    expectError(await call(gated, frame(1, 'b', sid), { service: 'gated' }), 400, 10003);
  });
});

describe('HTTP sessions on a once-only plugin', () => {
  let throws: Loader;
  beforeAll(async () => {
    throws = await startLoader({ plugin: { path: 'test/fixtures/plugins/http-throws.ts' } });
  });
  afterAll(async () => {
    await throws.stop();
  });

  it('answers 501 / 10004', async () => {
    const res = await call(throws, frame(0, 'x'), { service: 'throws' });
    expect(expectError(res, 501, 10004)).toContain('no session mode');
    expect(throws.dataplane.admission.inUse).toBe(0);
  });
});

describe('one result per key per answer (the JSON answer has one entry per key)', () => {
  let split: Loader;
  beforeAll(async () => {
    split = await startLoader({ plugin: { path: 'test/fixtures/plugins/http-split.ts' } });
  });
  afterAll(async () => {
    await split.stop();
  });

  it('a request that yields several results of one key gets the first; the next requests get the rest, in order', async () => {
    const first = await call(split, frame(0, 'abc'), { service: 'split' });
    const sid = first.body.header.sid as string;
    expect(first.body.header).toMatchObject({ code: 0, status: 1 });
    expect([unb64(first.body.payload.text.text), first.body.payload.text.seq]).toEqual(['a', 0]);
    // No new input: the held results come one per answer.
    const second = await call(split, frame(1, undefined, sid), { service: 'split' });
    expect([unb64(second.body.payload.text.text), second.body.payload.text.seq]).toEqual(['b', 1]);
    // The end request: the last result comes with it, and the answer is the last (status 2).
    const last = await call(split, frame(2, undefined, sid), { service: 'split' });
    expect(last.body.header).toMatchObject({ code: 0, sid, status: 2 });
    expect([unb64(last.body.payload.text.text), last.body.payload.text.seq]).toEqual(['c', 2]);
    expect(split.dataplane.admission.inUse).toBe(0);
  });

  it('a session that ends with several results of one key held stays until the client took them all', async () => {
    const first = await call(split, frame(0, 'x'), { service: 'split' });
    const sid = first.body.header.sid as string;
    const ending = await call(split, frame(2, 'yz', sid), { service: 'split' });
    expect(ending.body.header).toMatchObject({ code: 0, sid, status: 1 }); // over, but 'z' still waits
    expect(unb64(ending.body.payload.text.text)).toBe('y');
    expect(split.dataplane.admission.inUse).toBe(0); // the session itself is over
    const last = await call(split, frame(2, undefined, sid), { service: 'split' });
    expect(last.body.header).toMatchObject({ code: 0, sid, status: 2 });
    expect(unb64(last.body.payload.text.text)).toBe('z');
    expect(expectError(await call(split, frame(1, undefined, sid), { service: 'split' }), 400, 10003)).toContain(sid);
  });

  it('a once answer that repeats a key cannot be sent as AIGes JSON: 500 / 10203, naming the key', async () => {
    const res = await call(split, { payload: { text: { text: b64('ab') } } }, { service: 'split' });
    expect(expectError(res, 500, 10203)).toContain('output key "text" appears more than once');
  });
});
