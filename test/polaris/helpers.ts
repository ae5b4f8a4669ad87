/**
 * Shared helpers of the polaris tests: in-process loaders serving the configurable fixture with a
 * captured log, one call through the data plane, and temp TOML files.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../loader/config/load.js';
import { Loader } from '../../loader/loader.js';
import type { Polaris } from '../../polaris/store/types.js';
import { item } from '../../plugins/testing.js';

export const CONFIGURABLE = 'test/fixtures/plugins/polaris-configurable.ts';

type Sections = Record<string, Record<string, unknown>>;

export interface TestLoader {
  loader: Loader;
  /** Every log line so far, parsed. */
  logs: Record<string, unknown>[];
  /** Resolves with the first log line (past or future) whose msg is `msg` and that matches `fields`. */
  waitForLog(msg: string, fields?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/**
 * Starts (unless `start: false`) a loader on free ports serving the configurable fixture at log
 * level info, its log captured; `overrides` merge per section.
 */
export async function startTestLoader(overrides: Sections = {}, options: { polaris?: Polaris; start?: boolean } = {}): Promise<TestLoader> {
  const base: Sections = {
    server: { host: '127.0.0.1', grpc_port: 0, http_port: 0 },
    plugin: { path: CONFIGURABLE },
    log: { level: 'info' },
  };
  for (const [section, values] of Object.entries(overrides)) base[section] = { ...base[section], ...values };
  const logs: Record<string, unknown>[] = [];
  const waiters: { test: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        for (const w of waiters.filter((w) => w.test(entry))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(entry);
        }
      }
      done();
    },
  });
  const loader = new Loader(loadConfig({ overrides: base }), {
    defaultMetrics: false,
    logDestination: destination,
    ...(options.polaris === undefined ? {} : { polaris: options.polaris }),
  });
  if (options.start !== false) await loader.start();
  return {
    loader,
    logs,
    waitForLog(msg, fields = {}) {
      const test = (l: Record<string, unknown>) => l['msg'] === msg && Object.entries(fields).every(([k, v]) => l[k] === v);
      const seen = logs.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ test, resolve }));
    },
  };
}

/** One once call to the configurable fixture through the data plane; resolves with the answer text. */
export async function ask(loader: Loader, text: string, params: Record<string, string> = {}): Promise<string> {
  const out = await loader.dataplane.infer({ service: 'configurable', params, headers: {}, items: [item('text', text)] });
  return out[0]?.data.toString() ?? '';
}

/** The aiges code of a rejected call (undefined when it resolved). */
export async function codeOf(call: Promise<unknown>): Promise<number | undefined> {
  try {
    await call;
    return undefined;
  } catch (err) {
    return (err as { aigesCode?: number }).aigesCode;
  }
}

let tomlDir: string | undefined;
let tomlSeq = 0;

/** Writes a TOML file in a temp folder and returns its path. */
export function tomlFile(text: string): string {
  tomlDir ??= mkdtempSync(join(tmpdir(), 'aiges-polaris-'));
  const file = join(tomlDir, `config-${++tomlSeq}.toml`);
  writeFileSync(file, text);
  return file;
}
