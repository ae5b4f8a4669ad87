/**
 * `aiges call`: one once call or one whole session against a loader, with inputs from text or
 * files; prints each response as a JSON line (text items inline, other data as byte counts, or
 * written to --out).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { aigesCodeOf, createLoaderClient, infer, runSession } from '../tools/client.js';
import type { DataItem } from '../../proto/gen/aiges/v1/DataItem.js';
import type { DataItem__Output } from '../../proto/gen/aiges/v1/DataItem.js';
import { DATA_TYPE_BY_NAME, DataStatus, DataType, type DataTypeName } from '../../plugins/types.js';
import { sliceFrames } from '../tools/frames.js';
import { intArg } from './serve.js';

interface CallFlags {
  mode: 'once' | 'session';
  param: string[];
  text: string[];
  file: string[];
  encoding: string[];
  attr: string[];
  frameBytes?: number;
  intervalMs?: number;
  timeoutMs?: number;
  out?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function pair(value: string, what: string): [string, string] {
  const cut = value.indexOf('=');
  if (cut <= 0) throw new InvalidArgumentError(`${what} expects key=value, got "${value}"`);
  return [value.slice(0, cut), value.slice(cut + 1)];
}

function typeOf(name: string): DataType {
  const type = DATA_TYPE_BY_NAME[name as DataTypeName];
  if (type === undefined) throw new InvalidArgumentError(`unknown item type "${name}" (text|audio|image|video|other)`);
  return type;
}

/** Builds the request's items from --text, --file, --encoding and --attr. */
export function buildItems(flags: Pick<CallFlags, 'text' | 'file' | 'encoding' | 'attr'>): DataItem[] {
  const items = new Map<string, DataItem>();
  for (const spec of flags.text) {
    const [key, value] = pair(spec, '--text');
    items.set(key, { key, type: DataType.TEXT, status: DataStatus.ONCE, encoding: 'utf8', data: Buffer.from(value) });
  }
  for (const spec of flags.file) {
    const [key, rest] = pair(spec, '--file');
    const m = /^(.*?)(?::(text|audio|image|video|other))?$/.exec(rest) as RegExpExecArray;
    const path = m[1] as string;
    items.set(key, { key, type: typeOf(m[2] ?? 'other'), status: DataStatus.ONCE, encoding: '', data: readFileSync(path) });
  }
  for (const spec of flags.encoding) {
    const [key, encoding] = pair(spec, '--encoding');
    const item = items.get(key);
    if (item === undefined) throw new InvalidArgumentError(`--encoding names key "${key}", which has no --text or --file`);
    item.encoding = encoding;
  }
  for (const spec of flags.attr) {
    const [name, value] = pair(spec, '--attr');
    const dot = name.indexOf('.');
    const item = items.get(name.slice(0, dot));
    if (dot <= 0 || item === undefined)
      throw new InvalidArgumentError(`--attr expects <key>.<attribute>=value for a given key, got "${spec}"`);
    item.attributes = { ...item.attributes, [name.slice(dot + 1)]: value };
  }
  return [...items.values()];
}

function describeItems(items: DataItem__Output[], out: string | undefined, counter: { n: number }) {
  return items.map((i) => {
    const shown: Record<string, unknown> = {
      key: i.key,
      type: i.type,
      status: i.status,
      encoding: i.encoding,
      attributes: i.attributes,
      bytes: i.data.length,
    };
    if (i.type === DataType.TEXT) shown['text'] = i.data.toString('utf8');
    if (out !== undefined) {
      mkdirSync(out, { recursive: true });
      const file = join(out, `${counter.n++}-${i.key}.bin`);
      writeFileSync(file, i.data);
      shown['file'] = file;
    }
    return shown;
  });
}

export function callCommand(): Command {
  return new Command('call')
    .description('Call a loader once, or run one session, over gRPC (aiges.v1).')
    .argument('<address>', 'loader address, host:port')
    .argument('<service>', 'service id')
    .addOption(new Option('-m, --mode <mode>', 'once or session').choices(['once', 'session']).default('once'))
    .option('-p, --param <k=v>', 'request param (repeatable)', collect, [])
    .option('-t, --text <key=value>', 'text input item (repeatable)', collect, [])
    .option('-f, --file <key=path[:type]>', 'input item from a file; type text|audio|image|video|other (repeatable)', collect, [])
    .option('-e, --encoding <key=encoding>', 'encoding of an input item (repeatable)', collect, [])
    .option('-a, --attr <key.name=value>', 'attribute of an input item, e.g. audio.sample_rate=16000 (repeatable)', collect, [])
    .option('--frame-bytes <n>', 'session mode: bytes per frame (default: one frame)', intArg)
    .option('--interval-ms <n>', 'session mode: pause between frames', intArg)
    .option('--timeout-ms <n>', 'call deadline', intArg)
    .option('-o, --out <dir>', 'write each output item to a file in this folder')
    .addHelpText(
      'after',
      '\nExamples:\n  aiges call 127.0.0.1:5090 echo --text text=hello\n' +
        '  aiges call 127.0.0.1:5090 vad --mode session --file audio=sample.pcm:audio -e audio=pcm_s16le --frame-bytes 3200',
    )
    .action(async (address: string, service: string, flags: CallFlags) => {
      const client = createLoaderClient(address);
      try {
        const params = Object.fromEntries(flags.param.map((p) => pair(p, '--param')));
        const items = buildItems(flags);
        const counter = { n: 0 };
        if (flags.mode === 'once') {
          const res = await infer(client, { service, params, items }, flags.timeoutMs);
          process.stdout.write(`${JSON.stringify({ items: describeItems(res.items, flags.out, counter) })}\n`);
        } else {
          const frames =
            flags.frameBytes === undefined ? [items.map((i) => ({ ...i, status: DataStatus.END }))] : sliceFrames(items, flags.frameBytes);
          const interval = flags.intervalMs;
          await runSession(client, { service, params }, frames, {
            ...(flags.timeoutMs === undefined ? {} : { timeoutMs: flags.timeoutMs }),
            ...(interval === undefined ? {} : { frameDelay: () => sleep(interval) }),
            onResponse: (r) =>
              process.stdout.write(
                `${JSON.stringify({ sid: r.sid, status: r.status, items: describeItems(r.items, flags.out, counter) })}\n`,
              ),
          });
        }
      } catch (err) {
        const e = err as { code?: number; details?: string; message: string };
        const code = aigesCodeOf(err);
        const grpcName = e.code === undefined ? '' : ` (${GrpcStatus[e.code] ?? e.code})`;
        process.stderr.write(`aiges call: error ${code ?? '-'}${grpcName}: ${e.details ?? e.message}\n`);
        process.exitCode = 1;
      } finally {
        client.close();
      }
    });
}
