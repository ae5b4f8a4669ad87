/**
 * What `aiges config` and `aiges console` both read of a service's config and both wait on: a
 * rollout until it is decided, what each instance a version was tried on reported, and what each
 * live instance runs. One place, so the terminal and the page say the same thing.
 */
import type { ApplyStatus, ConfigVersion, Polaris } from '../store/types.js';

/** How often a waiting push looks at the rollout. */
const POLL_MS = 200;

/** Settles the rollout until it is decided (its deadline bounds the wait); returns the version as decided. */
export async function awaitRollout(polaris: Polaris, service: string, started: ConfigVersion): Promise<ConfigVersion> {
  const deadline = Date.parse(started.deadline ?? new Date().toISOString());
  for (;;) {
    const live = (await polaris.discovery.list(service)).map((r) => r.id);
    await polaris.config.settle(service, live);
    const version = (await polaris.config.get(service, { version: started.version })) ?? started;
    if (version.state !== 'trial' || Date.now() > deadline + 2 * POLL_MS) return version;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export interface TriedOn {
  instance: string;
  /** null: the instance did not report. */
  ok: boolean | null;
  /** "applied", "no report" or "failed: <error>". */
  result: string;
  /** The version it runs now; null: its startup config, or it is gone. */
  running: number | null;
  error?: string;
}

/** What each instance the version was tried on reported, and what it runs now. */
export async function triedOn(polaris: Polaris, service: string, version: ConfigVersion): Promise<TriedOn[]> {
  const statuses = await polaris.config.status(service);
  return (version.results ?? []).map((r) => {
    const now = statuses.find((s) => s.instance === r.instance);
    return {
      instance: r.instance,
      ok: r.ok ?? null,
      result: r.ok === undefined ? 'no report' : r.ok ? 'applied' : `failed: ${r.error ?? ''}`,
      running: now === undefined ? null : (now.running ?? null),
      ...(r.error === undefined ? {} : { error: r.error }),
    };
  });
}

export interface InstanceConfig {
  instance: string;
  /** The version it runs (null: its startup config, or no report yet). */
  running: number | null;
  /** The version it is pointed at (its gray override, else the trial, else current); null: none. */
  target: number | null;
  /** Its last report, absent before the first. */
  status?: ApplyStatus;
}

/** The service's current version and, for every live instance (and every one that reported), what it runs and should run. */
export async function configStatus(polaris: Polaris, service: string): Promise<{ current: number | null; instances: InstanceConfig[] }> {
  const [current, statuses, instances] = await Promise.all([
    polaris.config.current(service),
    polaris.config.status(service),
    polaris.discovery.list(service),
  ]);
  const ids = [...new Set([...instances.map((i) => i.id), ...statuses.map((s) => s.instance)])].sort();
  const rows = await Promise.all(
    ids.map(async (id) => {
      const reported = statuses.find((s) => s.instance === id);
      const wanted = await polaris.config.get(service, { instance: id });
      return {
        instance: id,
        running: reported === undefined ? null : (reported.running ?? null),
        target: wanted?.version ?? null,
        ...(reported === undefined ? {} : { status: reported }),
      };
    }),
  );
  return { current: current?.version ?? null, instances: rows };
}
