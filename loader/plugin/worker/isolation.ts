/**
 * `[plugin] isolation = "worker"`: a TS plugin (kind ts) runs on a pool of worker threads
 * (threads.ts), so a CPU-bound plugin uses every core and never blocks the loader's event loop
 * (health, metrics, other services). The registry gets an ordinary Wrapper whose id and schema
 * a thread read from the plugin, and whose methods speak to the threads: the data plane sees the
 * same interface as for a plugin in the loader's thread.
 *
 * What differs for the plugin (docs/plugins.md): `init` runs in every thread, each with its own
 * state; `fini` too. Module globals are per thread. Input Buffers that own their memory are moved
 * to the thread (the loader's copy reads empty afterwards), slices are copied once; outputs come
 * back moved.
 */
import { AigesError, Codes } from '../../errors.js';
import { WRAPPER_BRAND, type Wrapper } from '../../../plugins/types.js';
import type { IsolatedPlugin, Isolation } from '../isolation.js';
import { CompiledSchema } from '../schema.js';

export const workerIsolation: Isolation = {
  name: 'worker',
  async load(request): Promise<IsolatedPlugin> {
    const { kind, location } = request;
    if (kind.name !== 'ts') {
      throw new AigesError(
        Codes.PLUGIN_INIT,
        `plugin isolation "worker" runs TS plugins (kind ts) only; ${location.entry} is a ${kind.name} plugin: ` +
          'use isolation "none" or "process"',
      );
    }
    // Loaded on first use: the config schema imports every isolation, and most commands start no threads.
    const { PluginThreads } = await import('./threads.js');
    const threads = new PluginThreads(request);
    const plugin = await threads.loaded();
    try {
      new CompiledSchema(plugin.schema);
    } catch (err) {
      await threads.close();
      throw new AigesError(Codes.PLUGIN_INIT, `plugin ${plugin.id} has an invalid schema: ${(err as Error).message}`);
    }
    const wrapper = {
      id: plugin.id,
      version: plugin.version,
      description: plugin.description,
      schema: plugin.schema,
      batching: plugin.batching,
      // Always: every thread needs each instance set, whether or not the plugin has an init.
      init: (config, ctx) => threads.init(config, ctx),
      exec: plugin.exec ? (req, ctx) => threads.exec(req, ctx) : undefined,
      session: plugin.session ? { create: (params, ctx) => threads.openSession(params, ctx) } : undefined,
      fini: (state) => threads.fini(state),
      [WRAPPER_BRAND]: true,
    } satisfies Wrapper as Wrapper;
    request.log.info({ plugin: location.entry, threads: threads.size }, 'plugin runs on worker threads');
    return { wrapper, sideBySide: true, attach: (instance) => threads.attach(instance) };
  },
};
