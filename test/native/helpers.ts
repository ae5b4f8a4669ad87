/**
 * Shared setup for the native host tests: the built artifacts, a build-if-missing step, the probe
 * addon (test wrappers' counters, Buffer addresses) and item builders.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach } from 'vitest';
import { openLibrary, type NativeItem, type NativeLibrary, type OpenOptions } from '../../native/host.js';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** $AIGES_NATIVE_BUILD_DIR points the tests at another build (e.g. a sanitizer build); set AIGES_NATIVE_HOST too. */
const release = process.env['AIGES_NATIVE_BUILD_DIR'] ?? join(root, 'native', 'build', 'Release');

export const artifacts = {
  host: join(release, 'aiges_host.node'),
  echo: join(release, 'libnative_echo.so'),
  missingExecFree: join(release, 'libmissing_exec_free.so'),
  abiTooNew: join(release, 'libabi_too_new.so'),
  abiNotPositive: join(release, 'libabi_not_positive.so'),
  fidelity: join(release, 'libfidelity.so'),
  crashy: join(release, 'libcrashy.so'),
  usrtagWidgetVoid: join(release, 'libusrtag_widget_void.so'),
  usrtagMacroVoid: join(release, 'libusrtag_macro_void.so'),
  usrtagWidgetChar: join(release, 'libusrtag_widget_char.so'),
  probe: join(release, 'echo_probe.node'),
  addonChecksum: join(release, 'addon_checksum.node'),
};

const LOCK_STALE_MS = 10 * 60_000;

/**
 * Builds native/ with cmake-js unless every artifact exists (`npm run build:native` normally did).
 * Test files run in parallel processes, so the build is guarded by a lock directory.
 */
export async function ensureNativeBuild(): Promise<void> {
  const built = () => Object.values(artifacts).every((p) => existsSync(p));
  if (built()) return;
  mkdirSync(join(root, 'native', 'build'), { recursive: true });
  const lock = join(root, 'native', 'build', '.test-build.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmdirSync(lock);
      // NOTE: polling a lock held by another test process; there is no event to wait on.
      await new Promise((r) => setTimeout(r, 250));
      if (built()) return;
    }
  }
  try {
    if (built()) return;
    const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
    await promisify(execFile)(process.execPath, [cmakeJs, 'build', '--directory', 'native', '--out', 'native/build', '--parallel', '2'], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    });
  } finally {
    rmdirSync(lock);
  }
}

export interface EchoStats {
  liveHandles: number;
  maxOverlap: number;
  running: number;
}
interface Probe {
  stats(path: string): EchoStats;
  reset(path: string): void;
  isLoaded(path: string): boolean;
  /** wrapperRead calls since the last reset. */
  reads(path: string): number;
  bufferAddress(buf: Uint8Array): string;
  /** Runs `int symbol(void)` of a loaded library (test wrappers' counters). */
  call(path: string, symbol: string): number;
}

/** The test-only probe addon (test/native/probe/probe.cc). Call after ensureNativeBuild(). */
export function probe(): Probe {
  return createRequire(import.meta.url)(artifacts.probe) as Probe;
}

export function item(key: string, data: Buffer | string, status = 3, type = 0, desc: Record<string, string> = {}): NativeItem {
  return { key, data: typeof data === 'string' ? Buffer.from(data) : data, type, status, desc };
}

export const Status = { BEGIN: 0, CONTINUE: 1, END: 2, ONCE: 3 } as const;

/** Collects a session's results; `ended` resolves on onResult(null, null), rejects on an error. */
export function collector() {
  const results: NativeItem[][] = [];
  let resolveEnd!: () => void;
  let rejectEnd!: (err: Error) => void;
  const ended = new Promise<void>((res, rej) => {
    resolveEnd = res;
    rejectEnd = rej;
  });
  ended.catch(() => undefined);
  const onResult = (items: NativeItem[] | null, err: Error | null): void => {
    if (err) rejectEnd(err);
    else if (items) results.push(items);
    else resolveEnd();
  };
  return { results, ended, onResult };
}

/**
 * For one test file: opens and initialises libraries, and finalises and closes every one of them
 * after each test.
 */
export function useLibraries(): (path: string, options: OpenOptions, config?: Record<string, string>) => Promise<NativeLibrary> {
  const open: NativeLibrary[] = [];
  afterEach(async () => {
    for (const lib of open.splice(0)) {
      await lib.fini();
      lib.close();
    }
  });
  return async (path, options, config = {}) => {
    const lib = await openLibrary(path, options);
    open.push(lib);
    await lib.init(config);
    return lib;
  };
}
