/**
 * Runs each prepared sample through the data plane, one at a time, and judges it: PASS, or FAIL
 * with the first problem. A sample never throws: a plugin error, a timeout or a broken contract
 * becomes its FAIL reason, and the next sample still runs.
 */
import type { DataItem, WrapperSchema } from '../../../plugins/types.js';
import type { Dataplane } from '../../dataplane/dataplane.js';
import type { Session } from '../../dataplane/session.js';
import { ResultBuffer } from '../../dataplane/results.js';
import { AigesError, Codes, toAigesError } from '../../errors.js';
import { withTimeout } from '../../lib/timeout.js';
import { onceItems, sessionFrames, type PreparedSample } from './requests.js';
import { expectationProblem, onceStatusProblem, schemaProblem } from './verify.js';

export interface SampleResult {
  name: string;
  mode: 'once' | 'session';
  ok: boolean;
  /** Why it failed. */
  reason?: string;
  ms: number;
  /** Output batches (once: one), for the JSON report. */
  outputs: { key: string; type: number; status: number; bytes: number; attributes?: Record<string, string>; text?: string }[][];
}

/** What a call came to: its output batches, the loader's error, or a broken contract found on the way. */
type Outcome = { batches: DataItem[][] } | { error: AigesError } | { problem: string };

async function once(dataplane: Dataplane, service: string, sample: PreparedSample, schema: WrapperSchema): Promise<Outcome> {
  const deadline = Date.now() + sample.spec.timeout_ms;
  try {
    const items = await dataplane.infer({ service, params: sample.params, headers: {}, items: onceItems(sample, schema) }, { deadline });
    return { batches: [items] };
  } catch (err) {
    return { error: toAigesError(err) };
  }
}

/**
 * A whole session: results read while frames are written; after the input ends the results must
 * end (an END item, or the plugin closing them) within the sample's timeout, else the session is
 * cancelled and the sample fails for having no final status.
 */
async function session(dataplane: Dataplane, service: string, sample: PreparedSample, schema: WrapperSchema): Promise<Outcome> {
  const ms = sample.spec.timeout_ms;
  let s: Session;
  try {
    s = await dataplane.openSession({ service, params: sample.params, headers: {} }, { deadline: Date.now() + 2 * ms });
  } catch (err) {
    return { error: toAigesError(err) };
  }
  const results = new ResultBuffer();
  results.onResume(() => s.resume());
  s.start(results);
  const batches: DataItem[][] = [];
  const reading = (async () => {
    for await (const r of results) if (r.items.length > 0) batches.push(r.items);
  })();
  reading.catch(() => undefined); // awaited below; a failure while writing is reported by the write
  try {
    for (const frame of sessionFrames(sample, schema)) await s.write(frame);
    await s.end();
  } catch (err) {
    // NOTE: a plugin may end the session (an END result) before its input is all written: a later
    // write is refused although the session succeeded.
    const ended = await reading.then(
      () => true,
      () => false,
    );
    return ended ? { batches } : { error: toAigesError(err) };
  }
  const late = new AigesError(Codes.CANCELLED, 'aiges check: the session did not end');
  try {
    await withTimeout(reading, ms, () => late);
  } catch (err) {
    if (err !== late) return { error: toAigesError(err) };
    s.abort(late);
    return {
      problem: `no final status: the session's results did not end within ${ms} ms of the input's end (send an item with status END, or close the results)`,
    };
  }
  return { batches };
}

function judge(sample: PreparedSample, outcome: Outcome, schema: WrapperSchema): string | undefined {
  const wanted = sample.spec.expect.error;
  if ('problem' in outcome) return outcome.problem;
  if ('error' in outcome) {
    const { aigesCode, message } = outcome.error;
    if (aigesCode === wanted) return undefined;
    return `error ${aigesCode}: ${message}${wanted === undefined ? '' : ` (expected error ${wanted})`}`;
  }
  if (wanted !== undefined) return `succeeded, expected error ${wanted}`;
  for (const batch of outcome.batches) {
    const problem = schemaProblem(batch, schema);
    if (problem !== undefined) return problem;
  }
  if (sample.spec.mode === 'once') {
    const problem = onceStatusProblem(outcome.batches[0] ?? []);
    if (problem !== undefined) return problem;
  }
  return expectationProblem(sample, outcome.batches);
}

function describe(items: readonly DataItem[]): SampleResult['outputs'][number] {
  return items.map((i) => {
    const text = i.data.toString('utf8');
    const utf8 = Buffer.from(text, 'utf8').equals(i.data);
    const attributes = Object.keys(i.attributes).length > 0 ? { attributes: i.attributes } : {};
    return { key: i.key, type: i.type, status: i.status, bytes: i.data.length, ...attributes, ...(utf8 ? { text } : {}) };
  });
}

export async function runSamples(
  dataplane: Dataplane,
  schema: WrapperSchema,
  service: string,
  samples: readonly PreparedSample[],
): Promise<SampleResult[]> {
  const results: SampleResult[] = [];
  for (const sample of samples) {
    const started = performance.now();
    const run = sample.spec.mode === 'once' ? once : session;
    const outcome = await run(dataplane, service, sample, schema);
    const reason = judge(sample, outcome, schema);
    results.push({
      name: sample.spec.name,
      mode: sample.spec.mode,
      ok: reason === undefined,
      ...(reason === undefined ? {} : { reason }),
      ms: Math.round(performance.now() - started),
      outputs: 'batches' in outcome ? outcome.batches.map(describe) : [],
    });
  }
  return results;
}
