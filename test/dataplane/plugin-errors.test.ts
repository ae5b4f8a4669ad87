/**
 * `[server] expose_plugin_errors`: off, a client told of a plugin fault gets its code and the sid
 * its error is logged under, never the plugin's own text; the log keeps the text. On (the default
 * outside NODE_ENV=production), the text is passed on.
 */
import { describe, expect, it } from 'vitest';
import { exposePluginErrors } from '../../loader/config/schema.js';
import { ConfigSchema } from '../../loader/config/schema.js';
import { Codes } from '../../loader/errors.js';
import { item } from '../../plugins/testing.js';
import { DataStatus } from '../../plugins/types.js';
import throws from '../fixtures/plugins/throws.js';
import { capturingLogger, collect, makePlane } from './helpers.js';

const hidden = (sid: string, _code: number, name: string) => `${name}: the plugin failed; the loader's log has its error under sid ${sid}`;

describe('plugin error text withheld (expose_plugin_errors = false)', () => {
  it('a once call: the code and the sid, the text only in the log', async () => {
    const { lines, log } = capturingLogger();
    const { dataplane } = await makePlane(throws, { log, server: { expose_plugin_errors: false } });
    const err = await dataplane
      .infer({ service: 'throws', params: { where: 'exec', sid: 'once-1' }, headers: {}, items: [item('text', 'x')] })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ aigesCode: Codes.PLUGIN_EXEC, message: hidden('once-1', Codes.PLUGIN_EXEC, 'PLUGIN_EXEC'), sid: 'once-1' });
    expect(JSON.stringify(err)).not.toContain('boom');
    expect(lines.some((l) => l['sid'] === 'once-1' && String(l['msg']).includes('boom in exec'))).toBe(true);
  });

  it.each([
    ['create', Codes.PLUGIN_CREATE, 'PLUGIN_CREATE'],
    ['write', Codes.PLUGIN_WRITE, 'PLUGIN_WRITE'],
    ['results', Codes.PLUGIN_READ, 'PLUGIN_READ'],
  ])('a session whose %s throws: the code and the sid, for every party told', async (where, code, name) => {
    const { lines, log } = capturingLogger();
    const plane = await makePlane(throws, { log, server: { expose_plugin_errors: false } });
    const opening = plane.dataplane.openSession({ service: 'throws', params: { where, sid: `s-${where}` }, headers: {} });
    if (where === 'create') {
      await expect(opening).rejects.toMatchObject({ aigesCode: code, message: hidden(`s-${where}`, code, name) });
    } else {
      const s = await opening;
      const results = collect(s);
      const wrote = s.write([item('text', 'a', { status: DataStatus.CONTINUE })]) ?? Promise.resolve();
      const outcomes = await Promise.allSettled([wrote, results]);
      const told = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason);
      expect(told.length).toBeGreaterThan(0);
      for (const e of told) expect(e).toMatchObject({ aigesCode: code, message: hidden(`s-${where}`, code, name) });
    }
    expect(lines.some((l) => l['sid'] === `s-${where}` && String(l['msg']).includes(`boom in ${where}`))).toBe(true);
  });

  it('client-fault codes a plugin raises (10107) and the loader’s own errors keep their text', async () => {
    const { dataplane } = await makePlane(throws, { server: { expose_plugin_errors: false } });
    await expect(
      dataplane.infer({ service: 'throws', params: { where: 'reject' }, headers: {}, items: [item('text', 'x')] }),
    ).rejects.toMatchObject({ aigesCode: Codes.INVALID_PARAM_VALUE, message: expect.stringContaining('text is not a greeting') });
    await expect(
      dataplane.infer({ service: 'throws', params: { where: 'output' }, headers: {}, items: [item('text', 'x')] }),
    ).rejects.toMatchObject({ aigesCode: Codes.INVALID_OUTPUT, message: expect.stringContaining('undeclared') });
  });
});

describe('expose_plugin_errors default', () => {
  it.each([
    [{}, {}, true],
    [{}, { NODE_ENV: 'production' }, false],
    [{ expose_plugin_errors: true }, { NODE_ENV: 'production' }, true],
    [{ expose_plugin_errors: false }, { NODE_ENV: 'development' }, false],
  ])('server %j with env %j → %s', (server, env, expected) => {
    expect(exposePluginErrors(ConfigSchema.parse({ server }), env)).toBe(expected);
  });

  it('on: the plugin text is passed on', async () => {
    const { dataplane } = await makePlane(throws, { server: { expose_plugin_errors: true } });
    await expect(
      dataplane.infer({ service: 'throws', params: { where: 'exec' }, headers: {}, items: [item('text', 'x')] }),
    ).rejects.toMatchObject({ message: 'plugin exec failed: boom in exec' });
  });
});
