/** Shared helpers of the HTTP adapter tests: real loaders on port 0 and a small JSON client. */
import { loadConfig } from '../../loader/config/load.js';
import { Loader, type LoaderOptions } from '../../loader/loader.js';

type Sections = Record<string, Record<string, unknown>>;

/** Starts a real loader (echo by default) on free ports; `overrides` merge per config section. */
export async function startLoader(
  overrides: Sections = {},
  options: { start?: boolean; logDestination?: LoaderOptions['logDestination'] } = {},
): Promise<Loader> {
  const base: Sections = {
    server: { host: '127.0.0.1', grpc_port: 0, http_port: 0 },
    plugin: { path: 'demo/echo' },
    log: { level: 'silent' },
  };
  for (const [section, values] of Object.entries(overrides)) base[section] = { ...base[section], ...values };
  const loader = new Loader(loadConfig({ overrides: base }), {
    defaultMetrics: false,
    ...(options.logDestination === undefined ? {} : { logDestination: options.logDestination }),
  });
  if (options.start !== false) await loader.start();
  return loader;
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: any;
}

export function url(loader: Loader, path: string): string {
  return `http://127.0.0.1:${loader.httpPort}${path}`;
}

/** POSTs to `/v1/private/<service>`; `body` is JSON-encoded unless it is a string. */
export async function call(
  loader: Loader,
  body: unknown,
  options: { service?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<JsonResponse> {
  const res = await fetch(url(loader, `/v1/private/${options.service ?? 'echo'}`), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

export async function get(loader: Loader, path: string): Promise<JsonResponse> {
  const res = await fetch(url(loader, path));
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

export const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
export const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/** A text-once request body for echo. */
export function textBody(text: string, extra: { params?: Record<string, unknown>; header?: Record<string, unknown> } = {}) {
  return {
    header: { app_id: 'test', uid: 'u1', status: 3, ...extra.header },
    parameter: { echo: { ...extra.params } },
    payload: { text: { encoding: 'utf8', status: 3, seq: 0, text: b64(text) } },
  };
}

const GATES = Symbol.for('aiges-ts.test.gates');
let gateSeq = 0;

/**
 * Registers gates for the http-gated fixture and returns the `[wrapper]` config that selects them.
 */
export function useGates(gates: { init?: Gate; exec?: Gate }): { gates: string } {
  const registry = ((globalThis as { [GATES]?: Map<string, unknown> })[GATES] ??= new Map());
  const name = `gates-${process.pid}-${++gateSeq}`;
  registry.set(name, { init: gates.init?.fn, exec: gates.exec?.fn });
  return { gates: name };
}

export interface Gate {
  /** Lets every waiting and later caller through. */
  open(): void;
  /** What the plugin awaits; rejects with the call's abort reason. */
  fn(signal: AbortSignal): Promise<void>;
  /** The signal of each call that reached the gate, in order. */
  entered: AbortSignal[];
}

/** A promise the test resolves by hand, to hold a plugin at a point until an event. */
export function gate(): Gate {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const entered: AbortSignal[] = [];
  return {
    open,
    entered,
    fn(signal) {
      entered.push(signal);
      return new Promise<void>((resolve, reject) => {
        void opened.then(resolve);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    },
  };
}

/** Asserts the AIGes error shape and returns the code. */
export function expectError(res: JsonResponse, http: number, code: number): string {
  if (res.status !== http || res.body?.header?.code !== code || res.headers.get('aiges-code') !== String(code)) {
    throw new Error(`expected HTTP ${http} / code ${code}, got HTTP ${res.status} ${JSON.stringify(res.body)}`);
  }
  if (typeof res.body.header.message !== 'string' || typeof res.body.header.sid !== 'string') {
    throw new Error(`error body lacks message or sid: ${JSON.stringify(res.body)}`);
  }
  return res.body.header.message as string;
}
