/**
 * The progress bar `aiges xtest` draws on stderr while it runs (cli-progress). Drawn only on a
 * terminal: a pipe or a file gets no control characters. It reads the run's live counts a few
 * times a second and never touches the calls.
 */
import cliProgress from 'cli-progress';
import type { XtestRun } from './runner.js';

const STEPS = 1000;

/** Starts drawing; the function returned erases nothing and ends the bar's line. */
export function showProgress(run: XtestRun, stream: NodeJS.WriteStream): () => void {
  if (!stream.isTTY) return () => undefined;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'xtest [{bar}] {percentage}% | {calls} calls, {failed} failed | {rate}/s | {duration_formatted}',
      hideCursor: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const payload = () => {
    const p = run.progress();
    const rate = p.elapsedMs > 0 ? Math.round((p.done / p.elapsedMs) * 1000) : 0;
    return { value: Math.floor(p.fraction * STEPS), payload: { calls: p.done, failed: p.failed, rate } };
  };
  const first = payload();
  bar.start(STEPS, first.value, first.payload);
  const timer = setInterval(() => {
    const next = payload();
    bar.update(next.value, next.payload);
  }, 200);
  return () => {
    clearInterval(timer);
    const last = payload();
    bar.update(last.value, last.payload);
    bar.stop();
  };
}
