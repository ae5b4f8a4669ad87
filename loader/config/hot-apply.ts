/**
 * Applies a pushed config version to a running loader (the polaris config center: polaris/README.md):
 *  - [log]: the level, at once (pino children follow their parent's level);
 *  - [limits]: the data plane's limits and admission capacity, at once, for calls admitted from now
 *    on (a capacity drop never cancels an admitted call); a plugin set whose concurrency follows
 *    the capacity gets its exec slots resized;
 *  - [wrapper]: a NEW plugin instance set is initialised with the new config beside the live one
 *    (registry.reinit: same plugin code, fresh init); only when its init succeeds are new calls
 *    switched to it (registry.put), then the old set is retired in the background (idle up to
 *    drain_grace_ms, then finalise). A failed init changes nothing — not even the [limits] and
 *    [log] of the same version — and is reported. Kinds that cannot run two sets at once (native
 *    AIGes C ABI libraries) refuse a [wrapper] change the same way: it needs a restart.
 * Applies never overlap (the caller serialises them).
 */
import { execConcurrency, type LoaderConfig } from './schema.js';
import { applyHotConfig, hotChanges, type HOT_SECTIONS } from './hot.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import type { Logger } from '../log.js';
import type { PluginInstance } from '../plugin/instance.js';
import type { LoadOptions, PluginRegistry } from '../plugin/registry.js';

export type HotSection = (typeof HOT_SECTIONS)[number];

export type ApplyResult = { ok: true; changed: HotSection[] } | { ok: false; error: string };

export interface HotTarget {
  readonly log: Logger;
  readonly dataplane: Dataplane;
  readonly registry: PluginRegistry;
  /** The options a plugin set is loaded with under `config` (the same the loader starts with). */
  loadOptions(config: Readonly<LoaderConfig>): LoadOptions;
  /** The service whose plugin set a [wrapper] change replaces. */
  service(): string;
}

export class HotConfig {
  #effective: Readonly<LoaderConfig>;
  readonly #retiring = new Set<Promise<void>>();
  #closed = false;

  constructor(
    private readonly base: Readonly<LoaderConfig>,
    private readonly target: HotTarget,
  ) {
    this.#effective = base;
  }

  /** The config in effect: the startup config with the last applied version over it. */
  get effective(): Readonly<LoaderConfig> {
    return this.#effective;
  }

  /** Applies a version's TOML (undefined: back to the startup config). Never throws. */
  async apply(toml: string | undefined): Promise<ApplyResult> {
    let next: LoaderConfig;
    try {
      next = applyHotConfig(this.base, toml);
    } catch (err) {
      return { ok: false, error: `invalid config: ${(err as Error).message}` };
    }
    const changed = hotChanges(this.#effective, next);
    if (changed.has('wrapper')) {
      const { registry, log } = this.target;
      let set: PluginInstance;
      try {
        const { config, concurrency, initTimeoutMs, batching } = this.target.loadOptions(next);
        set = await registry.reinit(this.target.service(), { config, concurrency, initTimeoutMs, batching });
      } catch (err) {
        return { ok: false, error: `[wrapper] init failed; the previous plugin set keeps serving: ${(err as Error).message}` };
      }
      if (this.#closed) {
        await set.finalise(next.plugin.fini_timeout_ms);
        return { ok: false, error: 'the loader is stopping' };
      }
      const old = registry.put(set);
      log.info({ service: set.service }, 'new plugin set serving; retiring the previous one');
      if (old !== undefined) this.#retire(old, next);
    }
    if (changed.has('limits')) {
      this.target.dataplane.setLimits(next.limits);
      // A concurrency that follows the capacity (`plugin.concurrency = 0`) follows it here too.
      const slots = execConcurrency(next);
      for (const set of this.target.registry.services()) set.resizeExecSlots(slots);
    }
    if (changed.has('log')) this.target.log.level = next.log.level;
    this.#effective = next;
    return { ok: true, changed: [...changed] };
  }

  /** From now on a set whose init finishes is finalised instead of switched in. */
  close(): void {
    this.#closed = true;
  }

  /** Resolves when every retired set has been finalised. */
  async settled(): Promise<void> {
    while (this.#retiring.size > 0) await Promise.all([...this.#retiring]);
  }

  #retire(old: PluginInstance, config: Readonly<LoaderConfig>): void {
    const retiring = (async () => {
      if (!(await old.idle(config.limits.drain_grace_ms))) {
        this.target.log.warn({ service: old.service, users: old.users }, 'finalising the previous plugin set with calls still running');
      }
      await old.finalise(config.plugin.fini_timeout_ms);
    })();
    this.#retiring.add(retiring);
    void retiring.finally(() => this.#retiring.delete(retiring));
  }
}
