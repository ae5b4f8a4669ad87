/**
 * `aiges batch`: offline inference over a data set (a folder of files, a JSONL of AIGes JSON or V2
 * inference requests, or a CSV) against a plugin in-process, a loader or `aiges lb`, written to an --out
 * folder that a rerun resumes (predictions.jsonl, errors.jsonl, summary.json). The engine is
 * loader/tools/batch/; this file turns flags into options and the summary into output and exit code.
 *
 * Exit codes: 0 every item answered; 1 some item failed (each in errors.jsonl); 2 the job could
 * not start as asked (BatchCodes); 130 Ctrl-C stopped it (what was done is kept; rerun to resume).
 */
import { Command } from 'commander';
import { hasTlsFiles, readClientTls } from '../tools/client-tls.js';
import { type CredentialFlags, credentialOptions, credentialsOf } from '../tools/credentials.js';
import { isToolError, ToolError } from '../tools/errors.js';
import { parseParams } from '../tools/input-flags.js';
import { BatchCodes, invalidBatchOption } from '../tools/batch/errors.js';
import { OutDir } from '../tools/batch/out-dir.js';
import { parsePredictionPath } from '../tools/batch/prediction.js';
import { countItems, showProgress } from '../tools/batch/progress.js';
import { BatchJob } from '../tools/batch/runner.js';
import { folderKey, inputKind, readSource } from '../tools/batch/sources.js';
import { formatSummary } from '../tools/batch/summary.js';
import { openTarget, parseBatchTarget } from '../tools/batch/target.js';
import { TARGET_FORMS } from '../tools/target.js';
import { printError } from './fail.js';

interface BatchFlags extends CredentialFlags {
  input: string;
  out: string;
  concurrency: string;
  key?: string;
  param: string[];
  predictionKey?: string;
  predictionPath?: string;
  outputFiles?: boolean;
  retries: string;
  backoffMs: string;
  timeoutMs?: string;
  json?: boolean;
  progress: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function int(text: string | undefined, flag: string, min = 0): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) throw invalidBatchOption(`${flag} expects a whole number ≥ ${min}, got "${text}"`);
  return Number(text);
}

/** Exit status of a Ctrl-C'd job (128 + SIGINT), as a shell reports one. */
export const STOPPED_EXIT_CODE = 130;

async function run(targetText: string, serviceArg: string | undefined, f: BatchFlags): Promise<number> {
  const spec = parseBatchTarget(targetText, serviceArg);
  const concurrency = int(f.concurrency, '--concurrency', 1) as number;
  const params = parseParams(f.param, { invalid: BatchCodes.INVALID_OPTION });
  const prediction = { key: f.predictionKey, path: parsePredictionPath(f.predictionPath) };
  const kind = await inputKind(f.input);
  if (hasTlsFiles(f) && (spec.kind === 'plugin' || !/^(grpcs|https):\/\//.test(targetText))) {
    throw invalidBatchOption('--ca-file, --cert-file and --key-file are for TLS: give a grpcs:// or https:// target');
  }
  const tls = hasTlsFiles(f)
    ? readClientTls(
        f,
        (message, unreadable) => new ToolError(unreadable ? BatchCodes.INPUT_UNREADABLE : BatchCodes.INVALID_OPTION, message),
      )
    : undefined;
  const opened = await openTarget(spec, serviceArg, {
    concurrency,
    timeoutMs: int(f.timeoutMs, '--timeout-ms', 1),
    tls,
    credentials: credentialsOf(f, BatchCodes.INVALID_OPTION),
  });
  let out: OutDir | undefined;
  try {
    const sourceOptions = { service: opened.service, key: f.key, params, schema: opened.schema };
    if (kind === 'folder') folderKey(sourceOptions);
    out = await OutDir.open(f.out);
    const job = new BatchJob({
      source: readSource(f.input, kind, sourceOptions),
      target: opened.target,
      out,
      concurrency,
      retries: int(f.retries, '--retries') as number,
      backoffMs: int(f.backoffMs, '--backoff-ms') as number,
      prediction,
      outputFiles: f.outputFiles === true,
      describe: { target: opened.describe, service: opened.service, input: { path: f.input, kind } },
    });
    // NOTE: the total is counted only for the progress display: counting reads the whole input
    // a second time, beside the job, which a --no-progress run should not pay for.
    const endProgress = f.progress
      ? showProgress(
          job,
          countItems(f.input, kind).catch(() => undefined),
          process.stderr,
        )
      : () => undefined;
    // First Ctrl-C: start nothing new, finish and write what is in flight; a second one quits at once.
    const onSignal = () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      process.once('SIGINT', () => {
        out?.flush();
        process.exit(STOPPED_EXIT_CODE);
      });
      job.stop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const summary = await job.done;
      endProgress();
      out.summary(summary);
      process.stdout.write(f.json === true ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
      if (summary.stoppedEarly) return STOPPED_EXIT_CODE;
      return summary.items.failed > 0 ? 1 : 0;
    } finally {
      endProgress();
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  } finally {
    out?.close();
    await opened.target.close();
  }
}

export function batchCommand(): Command {
  return credentialOptions(new Command('batch'))
    .description('Offline inference over a data set (folder, JSONL or CSV); resumable, with predictions for aiges eval.')
    .argument('<target>', `a plugin to run in-process (folder, plugin file or aiges.toml), or a loader or aiges lb: ${TARGET_FORMS}`)
    .argument('[service]', "service id (default in-process: the plugin's)")
    .requiredOption(
      '-i, --input <path>',
      'a folder (one request per file), a .jsonl of AIGes JSON or V2 inference requests with "id", or a .csv (id, input columns, param:<name> columns)',
    )
    .requiredOption('-o, --out <dir>', 'output folder: predictions.jsonl, errors.jsonl, summary.json; a rerun skips the ids done')
    .option('-c, --concurrency <n>', 'calls in flight at a time', '4')
    .option('-k, --key <key>', "folder input: the input key each file goes in as (default: the service's only input)")
    .option('-p, --param <k=v>', "request param for every item (repeatable; an item's own params win)", collect, [])
    .option('--prediction-key <key>', 'the output item that is the prediction (default: the only, or first, one)')
    .option('--prediction-path <path>', 'take this field of the JSON output as the prediction, e.g. 0.class (V2: outputs.0.data.0)')
    .option('--output-files', 'also write every output item to <out>/outputs/<key>/<id>')
    .option('--retries <n>', 'tries again after a retryable failure (10110, 10101, UNAVAILABLE, connection lost)', '3')
    .option('--backoff-ms <n>', 'first wait before a retry; doubled each time, with jitter', '200')
    .option('--timeout-ms <n>', 'deadline of each call')
    .option('--json', 'print the summary as JSON (schemaVersion 1, see docs/batch.md)')
    .option('--no-progress', 'no progress (a bar on a terminal, else a line every 5 s, on stderr)')
    .option('--ca-file <file>', "TLS: CA bundle (PEM) to trust (default: Node's bundled roots)")
    .option('--cert-file <file>', 'mutual TLS: client certificate (PEM), with --key-file')
    .option('--key-file <file>', 'mutual TLS: client key (PEM)')
    .addHelpText(
      'after',
      '\nExamples:\n  aiges batch demo/iris --input held-out.csv --out /tmp/iris-out --prediction-path 0.class\n' +
        '  aiges batch 127.0.0.1:5090 echo --input samples/ --out /tmp/echo-out -c 16 --output-files\n' +
        '  aiges batch http://127.0.0.1:8080 iris --input requests.jsonl --out /tmp/iris-http --json',
    )
    .action(async (target: string, service: string | undefined, flags: BatchFlags) => {
      try {
        process.exitCode = await run(target, service, flags);
      } catch (err) {
        if (!isToolError(err)) throw err;
        printError('batch', err);
        process.exitCode = err.exitCode;
      }
    });
}
