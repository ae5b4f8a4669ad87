/**
 * `aiges eval`: scores predictions (the predictions.jsonl of `aiges batch`, or any JSONL of
 * {"id", "prediction"}) against labels (CSV id,label or JSONL {"id", "label"}) for a
 * classification, regression or speech recognition task; prints a report (text, or JSON with
 * --json), optionally writes it as an HTML page. The metrics are loader/tools/eval/.
 *
 * Exit codes: 0 scored, every threshold holds and no id is on one side only (or --allow-missing);
 * 1 scored, but a threshold failed or ids are missing (a line on stderr names each); 2 could not
 * score as asked (EvalCodes).
 */
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { isToolError, ToolError } from '../tools/errors.js';
import { EvalCodes } from '../tools/eval/errors.js';
import { evalHtml } from '../tools/eval/html.js';
import { EVAL_TASKS, type EvalTask, evaluate, failures, formatEval } from '../tools/eval/report.js';
import { parseThreshold } from '../tools/eval/thresholds.js';
import { printError } from './fail.js';

interface EvalFlags {
  pred: string;
  labels: string;
  task: EvalTask;
  json?: boolean;
  html?: string;
  threshold: string[];
  allowMissing?: boolean;
  lowercase?: boolean;
  stripPunct?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

async function run(f: EvalFlags): Promise<number> {
  const thresholds = f.threshold.map((t) => parseThreshold(t, f.task));
  const report = await evaluate({
    pred: f.pred,
    labels: f.labels,
    task: f.task,
    thresholds,
    normalisation: { lowercase: f.lowercase === true, stripPunct: f.stripPunct === true },
    allowMissing: f.allowMissing === true,
  });
  process.stdout.write(f.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatEval(report));
  if (f.html !== undefined) {
    try {
      writeFileSync(f.html, evalHtml(report));
    } catch (err) {
      throw new ToolError(EvalCodes.FILE_UNREADABLE, `--html ${f.html}: cannot write it (${(err as Error).message})`);
    }
  }
  for (const line of failures(report)) process.stderr.write(`aiges eval: ${line}\n`);
  return report.passed ? 0 : 1;
}

export function evalCommand(): Command {
  return new Command('eval')
    .description('Score predictions against labels: classification, regression or speech recognition (WER/CER).')
    .requiredOption(
      '--pred <file>',
      'predictions: JSONL of {"id","prediction"} (aiges batch writes predictions.jsonl), or CSV id,prediction',
    )
    .requiredOption('--labels <file>', 'labels: CSV with columns id,label, or JSONL of {"id","label"}')
    .addOption(new Option('--task <task>', 'what the predictions are').choices(EVAL_TASKS).makeOptionMandatory())
    .option('--json', 'print the report as JSON (schemaVersion 1, see docs/batch.md)')
    .option('--html <file>', 'also write the report as a self-contained HTML page')
    .option(
      '--threshold <metric=value>',
      'fail (exit 1) unless the metric holds: accuracy=0.9 (at least), wer<=0.2 (at most); also >=, <, > (repeatable)',
      collect,
      [],
    )
    .option('--allow-missing', 'ids with a label but no prediction (or the reverse) are reported, not an error')
    .option('--lowercase', 'asr: lowercase reference and hypothesis before aligning')
    .option('--strip-punct', 'asr: remove punctuation before aligning')
    .addHelpText(
      'after',
      '\nExamples:\n  aiges eval --pred out/predictions.jsonl --labels labels.csv --task classification --threshold accuracy=0.9\n' +
        '  aiges eval --pred out/predictions.jsonl --labels labels.jsonl --task regression --json\n' +
        '  aiges eval --pred asr.jsonl --labels refs.jsonl --task asr --lowercase --strip-punct --threshold "wer<=0.2" --html wer.html',
    )
    .action(async (flags: EvalFlags) => {
      try {
        process.exitCode = await run(flags);
      } catch (err) {
        if (!isToolError(err)) throw err;
        printError('eval', err);
        process.exitCode = err.exitCode;
      }
    });
}
