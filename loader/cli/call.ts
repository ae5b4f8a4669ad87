/**
 * `aiges call`: one once call or one whole session against a loader, with inputs from text or
 * files; prints each response as a JSON line (text items inline, other data as byte counts, or
 * written to --out). The input flags and their rules are those of `aiges xtest`
 * (loader/tools/input-flags.ts), but one file per key: a directory is refused.
 *
 * Exit codes: 0 the call succeeded; 1 it failed (stderr: `aiges call: error <aiges-code> (<gRPC
 * status>): <message>`); 2 it could not be made as asked, nothing was called (stderr:
 * `aiges call: [<CODE>] <message>`, CallCodes).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { aigesCodeOf, createLoaderClient, infer, type LoaderClient, metadata, runSession } from '../tools/client.js';
import { type ClientTls, hasTlsFiles, parseGrpcTarget, readClientTls } from '../tools/client-tls.js';
import { type CredentialFlags, credentialOptions, credentialsOf } from '../tools/credentials.js';
import type { DataItem__Output } from '../../proto/gen/aiges/v1/DataItem.js';
import { DataType } from '../../plugins/types.js';
import { isToolError, ToolError } from '../tools/errors.js';
import { sliceFrames } from '../tools/frames.js';
import { applyDeclaredTypes, parseInputFlags, parseParams } from '../tools/input-flags.js';
import { loadInputs, type InputRules } from '../tools/inputs.js';
import { looksLikeTarget, parseTarget } from '../tools/target.js';
import { printError } from './fail.js';
import { intArg } from './serve.js';

interface CallFlags extends CredentialFlags {
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
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** The codes of `aiges call`'s own errors (ToolError, exit 2); a call that fails exits 1. */
export const CallCodes = {
  /** The target, an input flag or --param is malformed, an input key is given twice, or the credentials are incomplete. */
  INVALID_FLAG: 'CALL_INVALID_FLAG',
  /** An input file (or a TLS file) is missing or unreadable, or is a directory. */
  INPUT_UNREADABLE: 'CALL_INPUT_UNREADABLE',
} as const;

/** call's input rules: one payload per key, so a directory is refused. */
const CALL_INPUTS: InputRules = { directories: false, invalid: CallCodes.INVALID_FLAG, unreadable: CallCodes.INPUT_UNREADABLE };

function frameBytesArg(value: string): number {
  const n = intArg(value);
  if (n === 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/**
 * The target argument, written as for `aiges xtest`; call speaks gRPC only, so an HTTP URL is
 * refused, as is a service written before the target.
 */
function grpcAddress(target: string, service: string): string {
  if (!looksLikeTarget(target) && looksLikeTarget(service)) {
    throw new ToolError(CallCodes.INVALID_FLAG, `the target comes first, then the service: aiges call ${service} ${target}`);
  }
  const parsed = parseTarget(target, CallCodes.INVALID_FLAG);
  if (parsed.protocol === 'http') {
    throw new ToolError(
      CallCodes.INVALID_FLAG,
      `aiges call speaks gRPC: give the loader's gRPC address (host:port), not ${target} (aiges xtest takes an HTTP target)`,
    );
  }
  return parsed.address;
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

/** The TLS files of a grpcs:// target, read; TLS files with a plaintext target are refused. */
function clientTlsOf(address: string, flags: CallFlags): ClientTls | undefined {
  if (!hasTlsFiles(flags)) return undefined;
  if (!parseGrpcTarget(address).tls) {
    throw new ToolError(CallCodes.INVALID_FLAG, `--ca-file, --cert-file and --key-file are for TLS: write the address grpcs://${address}`);
  }
  return readClientTls(
    flags,
    (message, unreadable) => new ToolError(unreadable ? CallCodes.INPUT_UNREADABLE : CallCodes.INVALID_FLAG, message),
  );
}

export function callCommand(): Command {
  return credentialOptions(new Command('call'))
    .description('Call a loader once, or run one session, over gRPC (aiges.v1).')
    .argument('<target>', "the loader's (or aiges lb's) gRPC address: host:port, or grpcs://host:port for TLS")
    .argument('<service>', 'service id')
    .addOption(new Option('-m, --mode <mode>', 'once or session').choices(['once', 'session']).default('once'))
    .option('-p, --param <k=v>', 'request param (repeatable)', collect, [])
    .option('-t, --text <key=value>', 'text input item (repeatable)', collect, [])
    .option(
      '-f, --file <key=path[:type]>',
      'input item from a file (not a directory); type text|audio|image|video|other, default the type the service declares (repeatable)',
      collect,
      [],
    )
    .option('-e, --encoding <key=encoding>', 'encoding of an input item (repeatable)', collect, [])
    .option('-a, --attr <key.name=value>', 'attribute of an input item, e.g. audio.sample_rate=16000 (repeatable)', collect, [])
    .option('--frame-bytes <n>', 'session mode: bytes per frame (default: one frame)', frameBytesArg)
    .option('--interval-ms <n>', 'session mode: pause between frames', intArg)
    .option('--timeout-ms <n>', 'call deadline', intArg)
    .option('-o, --out <dir>', 'write each output item to a file in this folder')
    .option('--ca-file <file>', "TLS: CA bundle (PEM) to trust (default: Node's bundled roots); needs grpcs://")
    .option('--cert-file <file>', 'mutual TLS: client certificate (PEM), with --key-file')
    .option('--key-file <file>', 'mutual TLS: client key (PEM)')
    .addHelpText(
      'after',
      '\nExamples:\n  aiges call 127.0.0.1:5090 echo --text text=hello\n' +
        '  aiges call grpcs://loader.example:5090 echo --ca-file ca.pem --text text=hello\n' +
        '  aiges call 127.0.0.1:5090 vad --mode session --file audio=sample.pcm:audio -e audio=pcm_s16le --frame-bytes 3200\n' +
        '  aiges call 127.0.0.1:5090 echo --text text=hello --access-key ak1   # signed; the secret key from $AIGES_SECRET_KEY',
    )
    .action(async (target: string, service: string, flags: CallFlags) => {
      let address: string;
      try {
        address = grpcAddress(target, service);
      } catch (err) {
        printError('call', err);
        process.exitCode = isToolError(err) ? err.exitCode : 2;
        return;
      }
      let client: LoaderClient | undefined;
      try {
        client = createLoaderClient(address, {}, clientTlsOf(address, flags), credentialsOf(flags, CallCodes.INVALID_FLAG));
        const params = parseParams(flags.param, CALL_INPUTS);
        const specs = parseInputFlags(flags, CALL_INPUTS);
        // A file given without a type takes the type the service declares for its key.
        if (specs.some((s) => s.typed === false)) {
          const declared = await metadata(client, service).catch(() => undefined);
          if (declared !== undefined) applyDeclaredTypes(specs, declared.inputs as { key: string; type: DataType }[]);
        }
        const items = loadInputs(specs, CALL_INPUTS).itemsFor(0);
        const counter = { n: 0 };
        if (flags.mode === 'once') {
          const res = await infer(client, { service, params, items }, flags.timeoutMs);
          process.stdout.write(`${JSON.stringify({ items: describeItems(res.items, flags.out, counter) })}\n`);
        } else {
          const frames = sliceFrames(items, flags.frameBytes);
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
        if (isToolError(err)) {
          printError('call', err);
          process.exitCode = err.exitCode;
          return;
        }
        const e = err as { code?: number; details?: string; message: string };
        const code = aigesCodeOf(err);
        const grpcName = e.code === undefined ? '' : ` (${GrpcStatus[e.code] ?? e.code})`;
        process.stderr.write(`aiges call: error ${code ?? '-'}${grpcName}: ${e.details ?? e.message}\n`);
        process.exitCode = 1;
      } finally {
        client?.close();
      }
    });
}
