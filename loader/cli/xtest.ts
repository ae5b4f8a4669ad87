/**
 * `aiges xtest`: load-tests a loader over gRPC (aiges.v1) or its HTTP JSON route, then prints a
 * report (text, or JSON with --json) and optionally writes a latency chart. The engine is
 * loader/tools/xtest/; this file only turns flags into options and results into output and exit code.
 *
 * Exit codes: 0 every call succeeded (or --allow-errors); 1 some call failed; 2 the run could
 * not be made as asked (a bad flag, an unreadable input or pid, an unwritable chart).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { chartFormatOf, writeChart } from '../tools/xtest/chart.js';
import { isToolError } from '../tools/errors.js';
import { type CredentialFlags, credentialOptions, credentialsOf } from '../tools/credentials.js';
import { looksLikeTarget, parseTarget, TARGET_FORMS, type LoaderTarget } from '../tools/target.js';
import { invalidOption, XtestCodes } from '../tools/xtest/errors.js';
import { parseInputFlags, parseParams } from '../tools/input-flags.js';
import { parseDuration, XTEST_INPUTS, type XtestOptionsInput } from '../tools/xtest/options.js';
import { showProgress } from '../tools/xtest/progress.js';
import { formatReport } from '../tools/xtest/report-text.js';
import { startXtest } from '../tools/xtest/runner.js';
import { printError } from './fail.js';

interface XtestFlags extends CredentialFlags {
  mode: 'once' | 'session';
  concurrency: string;
  requests?: string;
  duration?: string;
  rampUp?: string;
  text: string[];
  file: string[];
  encoding: string[];
  attr: string[];
  param: string[];
  frameBytes?: string;
  intervalMs?: string;
  timeoutMs?: string;
  pid?: string;
  sampleMs: string;
  json?: boolean;
  chart?: string;
  allowErrors?: boolean;
  progress: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function int(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw invalidOption(`${flag} expects a whole number, got "${text}"`);
  return Number(text);
}

/** The target argument; a service written first (`aiges xtest echo 127.0.0.1:5090`) is named as such. */
function targetArg(target: string, service: string): LoaderTarget {
  if (!looksLikeTarget(target) && looksLikeTarget(service)) {
    throw invalidOption(`the target comes first, then the service: aiges xtest ${service} ${target}`);
  }
  return parseTarget(target, XtestCodes.INVALID_OPTION);
}

/** Arguments and flags → engine options (every check with an XTEST_* code, from here or resolveOptions). */
export function optionsFromFlags(target: string, service: string, f: XtestFlags): XtestOptionsInput {
  return {
    target: targetArg(target, service),
    service,
    mode: f.mode,
    concurrency: int(f.concurrency, '--concurrency') as number,
    requests: int(f.requests, '--requests'),
    durationMs: f.duration === undefined ? undefined : parseDuration(f.duration, '--duration'),
    rampUpMs: f.rampUp === undefined ? 0 : parseDuration(f.rampUp, '--ramp-up'),
    inputs: parseInputFlags(f, XTEST_INPUTS),
    params: parseParams(f.param, XTEST_INPUTS),
    frameBytes: int(f.frameBytes, '--frame-bytes'),
    frameIntervalMs: int(f.intervalMs, '--interval-ms') ?? 0,
    timeoutMs: int(f.timeoutMs, '--timeout-ms'),
    pid: int(f.pid, '--pid'),
    sampleMs: int(f.sampleMs, '--sample-ms') as number,
    tls: { caFile: f.caFile, certFile: f.certFile, keyFile: f.keyFile },
    credentials: credentialsOf(f, XtestCodes.INVALID_OPTION),
  };
}

async function run(target: string, service: string, flags: XtestFlags): Promise<number> {
  if (flags.chart !== undefined) chartFormatOf(flags.chart);
  const xtest = startXtest(optionsFromFlags(target, service, flags));
  const endProgress = flags.progress ? showProgress(xtest, process.stderr) : () => undefined;
  // First Ctrl-C: stop starting calls and report what ran; a second one quits at once.
  const onSigint = () => {
    process.removeListener('SIGINT', onSigint);
    process.once('SIGINT', () => process.exit(130));
    xtest.stop();
  };
  process.on('SIGINT', onSigint);
  try {
    const report = await xtest.done;
    endProgress();
    process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    if (flags.chart !== undefined) writeChart(flags.chart, report);
    return report.requests.failed > 0 && flags.allowErrors !== true ? 1 : 0;
  } finally {
    endProgress();
    process.removeListener('SIGINT', onSigint);
  }
}

/** NOTE: the target was a flag (--grpc, --http) before it became an argument as in aiges call; they say so. */
function removedTargetFlag(value: string): never {
  throw new InvalidArgumentError(
    `--grpc and --http are gone: the target is the first argument, as in aiges call: aiges xtest ${value} <service>`,
  );
}

export function xtestCommand(): Command {
  return credentialOptions(new Command('xtest'))
    .description('Load-test a loader over gRPC (aiges.v1) or the HTTP JSON route; report throughput, errors and latency.')
    .argument('<target>', `the loader: ${TARGET_FORMS}; HTTP calls POST <url>/v1/private/<service>`)
    .argument('<service>', 'service id')
    .addOption(new Option('-g, --grpc <host:port>').hideHelp().argParser(removedTargetFlag))
    .addOption(new Option('--http <url>').hideHelp().argParser(removedTargetFlag))
    .option('--ca-file <file>', "TLS: CA bundle (PEM) to trust (default: Node's bundled roots)")
    .option('--cert-file <file>', 'mutual TLS: client certificate (PEM), with --key-file')
    .option('--key-file <file>', 'mutual TLS: client key (PEM)')
    .addOption(new Option('-m, --mode <mode>', 'once or session').choices(['once', 'session']).default('once'))
    .option('-c, --concurrency <n>', 'calls in flight at a time', '1')
    .option('-n, --requests <n>', 'stop after this many calls (default 100 when no --duration)')
    .option('-d, --duration <time>', 'stop starting calls after this long, e.g. 30s, 2m')
    .option('--ramp-up <time>', 'start the workers evenly over this time, e.g. 5s')
    .option('-t, --text <key=value>', 'text input item (repeatable)', collect, [])
    .option(
      '-f, --file <key=path[:type]>',
      'input from a file, or a directory to cycle through; type text|audio|image|video|other (repeatable)',
      collect,
      [],
    )
    .option('-e, --encoding <key=encoding>', 'encoding of an input item (repeatable)', collect, [])
    .option('-a, --attr <key.name=value>', 'attribute of an input item, e.g. audio.sample_rate=16000 (repeatable)', collect, [])
    .option('-p, --param <k=v>', 'request param (repeatable)', collect, [])
    .option('--frame-bytes <n>', 'session mode: bytes per frame (default: one frame)')
    .option('--interval-ms <n>', 'session mode: pause between two frames')
    .option('--timeout-ms <n>', 'deadline of each call (of each whole session)')
    .option('--pid <pid>', "sample this process's CPU and RSS (e.g. the loader's), from /proc")
    .option('--sample-ms <n>', 'interval between two --pid samples', '1000')
    .option('--json', 'print the report as JSON (schemaVersion 2, see docs/xtest.md)')
    .option('--chart <file>', 'write latency over time to a .svg or .html file')
    .option('--allow-errors', 'exit 0 even when calls failed')
    .option('--no-progress', 'no progress bar (it is drawn on stderr only when stderr is a terminal)')
    .addHelpText(
      'after',
      '\nExamples:\n  aiges xtest 127.0.0.1:5090 echo -c 8 -n 2000 -t text=hello\n' +
        '  aiges xtest http://127.0.0.1:8080 echo -d 10s -c 4 -f data=samples/ --json\n' +
        '  aiges xtest grpcs://loader.example:5090 echo --ca-file ca.pem -c 8 -n 2000 -t text=hello\n' +
        '  aiges xtest 127.0.0.1:5090 vad -m session -f audio=sample.pcm:audio --frame-bytes 1280 --interval-ms 40 -c 16 -n 64',
    )
    .action(async (target: string, service: string, flags: XtestFlags) => {
      try {
        process.exitCode = await run(target, service, flags);
      } catch (err) {
        if (!isToolError(err)) throw err;
        printError('xtest', err);
        process.exitCode = err.exitCode;
      }
    });
}
