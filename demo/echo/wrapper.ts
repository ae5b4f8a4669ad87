/**
 * echo: returns every input item unchanged, in once mode and in session mode.
 * The smallest complete wrapper; copy it to start a new plugin.
 */
import { defineWrapper, ResultQueue } from 'aiges-ts';

const any = { type: 'other', required: false } as const;

export default defineWrapper({
  id: 'echo',
  version: '1.0.0',
  description: 'Returns every input item unchanged.',
  schema: {
    input: { text: { type: 'text', required: false }, audio: { type: 'audio', required: false }, data: any },
    output: { text: { type: 'text' }, audio: { type: 'audio' }, data: { type: 'other' } },
    params: {
      delay_ms: { type: 'integer', minimum: 0, maximum: 60_000, default: 0, description: 'Wait this long before answering.' },
    },
  },

  async exec(request, ctx) {
    const delay = Number(request.params['delay_ms']);
    if (delay > 0) await sleep(delay, ctx.signal);
    return request.items;
  },

  session: {
    create() {
      const results = new ResultQueue();
      return {
        write: (items) => results.push(items),
        end: () => results.close(),
        results,
      };
    },
  },
});

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
