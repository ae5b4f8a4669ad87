/**
 * The curl lines of README.md, demo/echo/README.md and docs/v2.md, run as written (with the port of a real
 * `aiges serve demo/echo` on a free port instead of 8080): each must answer as a reader expects,
 * e.g. `curl -d` posts JSON as application/x-www-form-urlencoded, which the loader takes.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startServe } from '../cli/serve-process.js';

const run = promisify(execFile);

/** Every `curl …` command (or pipe into curl) of a markdown file's sh blocks, with its continuation lines joined. */
function curlCommands(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const commands: string[] = [];
  for (const block of blocks) {
    const joined = block.replace(/\\\n\s*/g, '');
    for (const line of joined.split('\n')) {
      const command = line.replace(/\s+#.*$/, '').trim();
      if (command.startsWith('curl ') || command.includes('| curl ')) commands.push(command);
    }
  }
  return commands;
}

let serve: Awaited<ReturnType<typeof startServe>>;
beforeAll(async () => {
  serve = await startServe(['demo/echo']);
}, 60_000);
afterAll(async () => {
  serve.proc.kill('SIGTERM');
  await serve.exited;
});

async function curl(command: string): Promise<unknown> {
  const { stdout } = await run('sh', ['-c', command.replaceAll('localhost:8080', `127.0.0.1:${serve.httpPort}`)]);
  return JSON.parse(stdout);
}

describe.each(['README.md', 'demo/echo/README.md'])('%s curl lines', (file) => {
  const commands = curlCommands(file);

  it('has the JSON call', () => {
    expect(commands.some((c) => c.includes('/v1/private/echo'))).toBe(true);
  });

  it.each(commands)('runs as written: %s', async (command) => {
    const body = (await curl(command)) as Record<string, any>;
    if (command.includes('/v1/private/echo')) {
      expect(body.header).toMatchObject({ code: 0, status: 3 });
      expect(body.payload.text).toMatchObject({ text: 'aGVsbG8=', encoding: 'utf8' });
    } else if (command.includes('/v2/health/ready')) {
      expect(body).toEqual({ ready: true });
    } else if (command.includes('/openapi.json')) {
      expect(body.openapi).toMatch(/^3\./);
    } else throw new Error(`no expectation for ${command}`);
  });
});

describe('docs/v2.md curl lines', () => {
  const commands = curlCommands('docs/v2.md');

  it('has the JSON and the binary infer calls', () => {
    const infers = commands.filter((c) => c.includes('/v2/models/echo/infer'));
    expect(infers.map((c) => c.includes('Inference-Header-Content-Length'))).toEqual([false, true]);
  });

  it.each(commands)('runs as written: %s', async (command) => {
    const body = (await curl(command)) as Record<string, any>;
    if (command.includes('/v2/models/echo/infer')) {
      expect(body.model_name).toBe('echo');
      expect(body.outputs).toHaveLength(1);
      expect(body.outputs[0]).toMatchObject({ datatype: 'BYTES', shape: [1], data: ['hello'] });
    } else if (command.endsWith('/v2/models/stats')) {
      expect(body.model_stats.map((m: { name: string }) => m.name)).toEqual(['echo']);
    } else if (command.includes('/v2/models/echo/stats')) {
      expect(body.model_stats[0]).toMatchObject({ name: 'echo', version: '1.0.0' });
      expect(body.model_stats[0].inference_count).toBeGreaterThan(0);
    } else if (command.includes('/v2/models/echo')) {
      expect(body).toMatchObject({ name: 'echo', versions: ['1.0.0'], platform: 'aiges-ts' });
    } else if (command.endsWith('localhost:8080/v2')) {
      expect(body).toMatchObject({ name: 'aiges-ts', extensions: ['binary_tensor_data', 'statistics', 'model_configuration'] });
    } else throw new Error(`no expectation for ${command}`);
  });
});

describe('docs/http.md', () => {
  it('its request example, posted as written, gets an answer of the documented shape', async () => {
    const doc = readFileSync(join(ROOT, 'docs/http.md'), 'utf8');
    const [request, answer] = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1] as string));
    const res = await fetch(`http://127.0.0.1:${serve.httpPort}/v1/private/echo`, { method: 'POST', body: JSON.stringify(request) });
    const body = (await res.json()) as Record<string, any>;
    expect(res.status).toBe(200);
    expect(Object.keys(body.header).sort()).toEqual(Object.keys(answer.header).sort());
    expect(body.header).toMatchObject({ code: 0, message: 'success', status: 3 });
    expect(body.payload).toEqual(answer.payload);
  });
});
