/**
 * `[plugin] isolation = "process"`: the plugin runs in a supervised child process (a plugin
 * process, child.ts), loaded there by its own kind, so that a segfault, an abort() or a hang costs
 * the calls in flight there (10109) and a restart, never the loader.
 *
 * The registry gets an ordinary wrapper: its id, version, description and schema are the plugin's
 * (the plugin process reports them when it has loaded the plugin); `init` starts the set's plugin
 * process and inits the plugin there (the process that loaded it for the description serves the
 * first set); exec, session.create and fini go to that process. Each instance set has its own
 * process, so a hot [wrapper] change inits a new process beside the old one and then retires the
 * old one, for every kind (native libraries included: their process-wide state is per process).
 */
import { defineWrapper } from '../../../plugins/define.js';
import type { Wrapper } from '../../../plugins/types.js';
import { AigesError, Codes } from '../../errors.js';
import { withTimeout } from '../../lib/timeout.js';
import type { Isolation } from '../isolation.js';
import { CompiledSchema } from '../schema.js';
import { ChildConnection } from './connection.js';
import { PluginProcess } from './supervisor.js';

export const processIsolation: Isolation = {
  name: 'process',
  async load({ location, settings, log, initTimeoutMs, finiTimeoutMs, onCrash }) {
    const spec = { location, settings, log };
    let first: ChildConnection | undefined = ChildConnection.spawn(spec);
    const starting = first;
    // Loading is bounded like init: a plugin process that hangs while loading is ended.
    const plugin = await withTimeout(starting.loaded, initTimeoutMs, () => {
      starting.kill();
      return new AigesError(Codes.PLUGIN_INIT, `plugin process did not load ${location.entry} within ${initTimeoutMs} ms`);
    });
    try {
      // NOTE: checked here as the registry would check it, because a set is never made of a wrapper
      // with a bad schema, so nothing would claim (and end) the process just started.
      new CompiledSchema(plugin.schema);
    } catch (err) {
      first.kill();
      throw new AigesError(Codes.PLUGIN_INIT, `plugin ${plugin.id} has an invalid schema: ${(err as Error).message}`);
    }
    const supervisor = (state: unknown) => state as PluginProcess;
    const wrapper = defineWrapper<PluginProcess>({
      id: plugin.id,
      version: plugin.version,
      description: plugin.description,
      schema: plugin.schema,
      ...(plugin.batching !== undefined ? { batching: plugin.batching } : {}),
      init(config, ctx) {
        const connection = first;
        first = undefined;
        return PluginProcess.start({ spec, config, initTimeoutMs, finiTimeoutMs, onCrash, meter: ctx.meter }, connection, ctx.signal);
      },
      fini: (state) => supervisor(state).stop(),
      ...(plugin.exec ? { exec: (request, ctx) => supervisor(ctx.state).exec(request, ctx) } : {}),
      ...(plugin.session ? { session: { create: (params, ctx) => supervisor(ctx.state).openSession(params, ctx) } } : {}),
    }) as Wrapper;
    return {
      wrapper,
      releaseOutput: (data) => void ChildConnection.releaseOutput(data),
      sideBySide: true,
      attach: (instance) => supervisor(instance.state).attach(instance),
    };
  },
};
