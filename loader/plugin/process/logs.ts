/**
 * What a plugin process writes reaches the loader's log: its pino lines (the plugin's `ctx.log`,
 * with `service` and `sid` bound there) are logged again through the loader's logger at their
 * level, so they carry the loader's bindings and obey its level; stdout and stderr lines (a native
 * library's prints, Node's report of an uncaught error) are logged as they are, tagged with their
 * stream. Every line names the plugin process (`plugin_pid`).
 */
import type { Readable } from 'node:stream';
import type { Logger } from '../../log.js';

/** Longer lines are cut: a plugin printing without newlines must not grow the loader's memory. */
const MAX_LINE = 64 * 1024;

/** Calls `onLine` for each line of `stream` (UTF-8, without its newline). */
export function readLines(stream: Readable, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    let text = partial + chunk;
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      onLine(text.slice(0, nl));
      text = text.slice(nl + 1);
      nl = text.indexOf('\n');
    }
    partial = text.length > MAX_LINE ? text.slice(0, MAX_LINE) : text;
  });
  stream.on('end', () => {
    if (partial !== '') onLine(partial);
    partial = '';
  });
}

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Logs one pino line of the plugin process through the loader's logger. */
export function relogLine(log: Logger, pid: number, line: string): void {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    log.info({ plugin_pid: pid, stream: 'log' }, line);
    return;
  }
  const { level, time: _time, msg, ...fields } = entry;
  const name = (typeof level === 'number' ? log.levels.labels[level] : undefined) ?? 'info';
  log[name as Level]({ ...fields, plugin_pid: pid }, typeof msg === 'string' ? msg : '');
}

/** Logs one stdout or stderr line of the plugin process. */
export function logOutputLine(log: Logger, pid: number, service: string | undefined, stream: 'stdout' | 'stderr', line: string): void {
  if (line === '') return;
  const fields = service === undefined ? { plugin_pid: pid, stream } : { service, plugin_pid: pid, stream };
  if (stream === 'stderr') log.warn(fields, line);
  else log.info(fields, line);
}
