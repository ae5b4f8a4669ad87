/**
 * Deciding a config rollout (types.ts has the layout): a version tried on some instances becomes
 * good when every one of them that is still live reported it applied it, and failed as soon as one
 * reported it could not, or when its deadline passes with some still silent. Both config centers
 * (etcd, memory) decide with this one function.
 */
import type { ApplyStatus, ConfigVersion, TrialResult } from './types.js';

/** How long the instances of a rollout have to report, unless the push says otherwise. */
export const ROLLOUT_TIMEOUT_MS = 30_000;

export type Verdict = { decided: false } | { decided: true; ok: true } | { decided: true; ok: false; reason: string };

/**
 * The verdict on `version`, tried on `triedOn` (the live instances it was pointed at: every live
 * instance for a full push, the one for a gray push), from their `statuses`, at `now` (epoch ms).
 */
export function judge(version: ConfigVersion, triedOn: readonly string[], statuses: readonly ApplyStatus[], now: number): Verdict {
  if (version.instance !== undefined && triedOn.length === 0) {
    return { decided: true, ok: false, reason: `instance ${version.instance} is no longer live` };
  }
  const silent: string[] = [];
  const failed: string[] = [];
  for (const id of triedOn) {
    const report = statuses.find((s) => s.instance === id && s.version === version.version);
    if (report === undefined) silent.push(id);
    else if (!report.ok) failed.push(`instance ${id}: ${report.error ?? 'not applied'}`);
  }
  if (failed.length > 0) return { decided: true, ok: false, reason: failed.join('; ') };
  if (silent.length === 0) return { decided: true, ok: true };
  const deadline = version.deadline === undefined ? Number.POSITIVE_INFINITY : Date.parse(version.deadline);
  if (now >= deadline) return { decided: true, ok: false, reason: `no report by the deadline from instance(s) ${silent.join(', ')}` };
  return { decided: false };
}

/**
 * A version as it is stored once decided, with what each instance it was tried on (`triedOn`)
 * reported in `statuses`.
 */
export function decided(
  version: ConfigVersion,
  verdict: Verdict & { decided: true },
  triedOn: readonly string[] = [],
  statuses: readonly ApplyStatus[] = [],
): ConfigVersion {
  const { deadline: _deadline, ...rest } = version;
  const results: TrialResult[] = triedOn.map((instance) => {
    const report = statuses.find((s) => s.instance === instance && s.version === version.version);
    return { instance, ok: report?.ok, ...(report?.error === undefined ? {} : { error: report.error }) };
  });
  const outcome = { ...rest, ...(results.length > 0 ? { results } : {}) };
  return verdict.ok ? { ...outcome, state: 'good' } : { ...outcome, state: 'failed', failure: verdict.reason };
}

/** Whether a version may be pointed at (a failed one never is). */
export function runnable(version: ConfigVersion | undefined): version is ConfigVersion {
  return version !== undefined && version.state !== 'failed';
}
