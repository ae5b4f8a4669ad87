/**
 * A loader killed with SIGKILL takes its plugin processes with it: an idle one sees its channel
 * end, a busy one (its JS thread never free to see that) is killed by the kernel's parent-death
 * signal. `aiges serve` from dist/ (npm run build) with `[plugin] isolation = "process"`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { b64 } from '../server/http-helpers.js';
import { type CliProcess, runCli } from '../cli/serve-process.js';
import { pluginProcesses, running } from './process-helpers.js';

let cli: CliProcess | undefined;
afterEach(() => {
  cli?.proc.kill('SIGKILL');
  cli = undefined;
});

describe('a loader killed with SIGKILL', () => {
  it('takes its plugin process with it', async () => {
    cli = runCli(['serve', '-c', 'demo/native-echo/aiges.toml', '--grpc-port', '0', '--http-port', '0'], {
      AIGES_PLUGIN_ISOLATION: 'process',
    });
    await cli.waitForLog('ready');
    const children = pluginProcesses(cli.proc.pid);
    expect(children).toHaveLength(1);
    cli.proc.kill('SIGKILL');
    await cli.exited;
    await vi.waitFor(() => expect(running(children[0]!)).toBe(false));
  });

  it('takes a plugin process whose JS thread is stuck in the plugin with it', async () => {
    cli = runCli(['serve', 'test/fixtures/plugins/process-faults.ts', '--grpc-port', '0', '--http-port', '0'], {
      AIGES_PLUGIN_ISOLATION: 'process',
    });
    const listening = await cli.waitForLog('listening');
    await cli.waitForLog('ready');
    const [child] = pluginProcesses(cli.proc.pid);
    // Not awaited: the call never ends.
    void fetch(`http://127.0.0.1:${listening['http_port']}/v1/private/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: { text: { text: b64('busy') } } }),
    }).catch(() => undefined);
    await cli.waitForLog('busy');
    cli.proc.kill('SIGKILL');
    await cli.exited;
    await vi.waitFor(() => expect(running(child!)).toBe(false));
  });
});
