/**
 * The in-memory registry, discovery and config center (unit tier): the contract the etcd ones keep,
 * over one MemoryStore, including an unavailable store and a lost lease.
 */
import { describe, expect, it, vi } from 'vitest';
import { HotConfigError, parseHotConfig } from '../../../loader/config/hot.js';
import { MemoryPolaris } from '../../../polaris/store/polaris-memory.js';
import type { InstanceRecord, RegistrationState } from '../../../polaris/store/types.js';

function record(id: string, service = 'svc'): InstanceRecord {
  return {
    id,
    service,
    version: '1',
    address: `127.0.0.1:${id.length}`,
    httpAddress: '127.0.0.1:1',
    protocols: ['grpc', 'http'],
    capacity: 4,
    labels: {},
    startedAt: new Date(0).toISOString(),
  };
}

describe('memory registry and discovery', () => {
  it('lists and watches the full list of a service on every change', async () => {
    const polaris = new MemoryPolaris();
    const seen: string[][] = [];
    const watcher = await polaris.discovery.watch('svc', (list) => seen.push(list.map((r) => r.id)));
    const a = await polaris.registry.register(record('a'));
    await polaris.registry.register(record('b'));
    await polaris.registry.register(record('x', 'other'));
    await a.update({ capacity: 9 });
    expect((await polaris.discovery.list('svc')).map((r) => [r.id, r.capacity])).toEqual([
      ['a', 9],
      ['b', 4],
    ]);
    expect((await polaris.discovery.list()).map((r) => r.id)).toEqual(['x', 'a', 'b']);
    await a.deregister();
    await vi.waitFor(() => expect(seen.at(-1)).toEqual(['b']));
    expect(seen.slice(0, 3)).toEqual([[], ['a'], ['a', 'b']]);
    watcher.close();
    await polaris.close();
    expect(await polaris.discovery.list()).toEqual([]);
  });

  it('registers pending while the store is unavailable, and when it answers again', async () => {
    const polaris = new MemoryPolaris();
    polaris.store.setAvailable(false);
    const registration = await polaris.registry.register(record('a'));
    expect(registration.state).toBe('pending');
    expect(registration.error?.message).toMatch(/unavailable/);
    const states: RegistrationState[] = [];
    registration.onState((s) => states.push(s));
    polaris.store.setAvailable(true);
    expect(registration.state).toBe('registered');
    // A lost lease: the record vanishes and is written again.
    polaris.store.expire('a');
    expect(await polaris.discovery.list()).toEqual([]);
    await vi.waitFor(() => expect(registration.state).toBe('registered'));
    expect(states).toEqual(['registered', 'pending', 'registered']);
    expect((await polaris.discovery.list()).map((r) => r.id)).toEqual(['a']);
  });
});

describe('memory config center', () => {
  it('validates pushes with the validator it is given (the loader config check): only hot sections and keys, passing the schema', async () => {
    const { config } = new MemoryPolaris(undefined, { validateConfig: parseHotConfig });
    await expect(config.push('svc', '[server]\nhost = "x"\n')).rejects.toThrow(/key "server" cannot be pushed/);
    await expect(config.push('svc', '[limits]\nmax_message_bytes = 10\n')).rejects.toThrow(/"limits.max_message_bytes" cannot be pushed/);
    await expect(config.push('svc', '[limits]\ncapacity = 0\n')).rejects.toThrow(/invalid config key "limits.capacity"/);
    await expect(config.push('svc', '[log]\nlevl = "debug"\n')).rejects.toThrow(/unknown config key "log.levl"/);
    await expect(config.push('svc', 'not toml [')).rejects.toBeInstanceOf(HotConfigError);
    expect(await config.history('svc')).toEqual([]);
  });

  it('stores any text when opened without a validator (the store knows nothing of the loader config)', async () => {
    const { config } = new MemoryPolaris();
    expect((await config.push('svc', 'anything at all')).version).toBe(1);
  });

  it('a push is a trial until settled: good → current; a failed one never becomes what an instance runs', async () => {
    const polaris = new MemoryPolaris();
    const { config } = polaris;
    const seenA: (number | undefined)[] = [];
    await config.watch('svc', 'a', (v) => seenA.push(v?.version));
    await vi.waitFor(() => expect(seenA).toEqual([undefined]));
    await polaris.registry.register(record('a'));
    const report = (version: number, ok: boolean, running?: number) =>
      config.reportStatus('svc', {
        instance: 'a',
        version,
        ok,
        ...(ok ? {} : { error: 'init failed' }),
        ...(running === undefined ? {} : { running }),
        appliedAt: new Date().toISOString(),
      });

    const v1 = await config.push('svc', '[limits]\ncapacity = 2\n', { note: 'one' });
    expect(v1).toMatchObject({ version: 1, state: 'trial', deadline: expect.any(String) });
    expect((await config.get('svc', { instance: 'a' }))?.version).toBe(1); // instances try it
    expect(await config.current('svc')).toBeUndefined(); // not current yet
    await config.settle('svc', ['a']);
    expect((await config.get('svc', { version: 1 }))?.state).toBe('trial'); // a has not reported
    await report(1, true, 1);
    await config.settle('svc', ['a']);
    expect(await config.get('svc', { version: 1 })).toMatchObject({ state: 'good' });
    expect((await config.current('svc'))?.version).toBe(1);

    await config.push('svc', '[limits]\ncapacity = 3\n');
    expect((await config.get('svc', { instance: 'a' }))?.version).toBe(2);
    await report(2, false, 1);
    await config.settle('svc', ['a']);
    expect(await config.get('svc', { version: 2 })).toMatchObject({ state: 'failed', failure: 'instance a: init failed' });
    expect((await config.current('svc'))?.version).toBe(1);
    // The instance is pointed back at current; a failed version is never pointed at, nor rolled back to.
    expect((await config.get('svc', { instance: 'a' }))?.version).toBe(1);
    await expect(config.rollback('svc', 2)).rejects.toThrow(/failed .*never run again/);
    expect(seenA).toEqual([undefined, 1, 2, 1]);
  });

  it('gray pushes try one instance; a newer push supersedes a trial; a trial past its deadline fails; rollback', async () => {
    const polaris = new MemoryPolaris();
    const { config } = polaris;
    await config.push('svc', '[limits]\ncapacity = 2\n');
    await config.settle('svc', []); // no live instance: nothing to try it on
    expect((await config.current('svc'))?.version).toBe(1);

    await config.push('svc', '[limits]\ncapacity = 3\n', { instance: 'a' });
    expect((await config.get('svc', { instance: 'a' }))?.version).toBe(2);
    expect((await config.get('svc', { instance: 'b' }))?.version).toBe(1);
    expect((await config.get('svc', { version: 2 }))?.instance).toBe('a');
    // Its instance is gone before reporting: the gray version fails and the override goes.
    await config.settle('svc', ['b']);
    expect(await config.get('svc', { version: 2 })).toMatchObject({ state: 'failed', failure: 'instance a is no longer live' });
    expect((await config.get('svc', { instance: 'a' }))?.version).toBe(1);

    await config.push('svc', '[limits]\ncapacity = 4\n');
    await config.push('svc', '[limits]\ncapacity = 5\n', { timeoutMs: 1 });
    expect(await config.get('svc', { version: 3 })).toMatchObject({ state: 'failed', failure: 'superseded by version 4' });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 10); // past version 4's 1 ms deadline
      await config.settle('svc', ['b']);
    } finally {
      vi.useRealTimers();
    }
    expect(await config.get('svc', { version: 4 })).toMatchObject({
      state: 'failed',
      failure: 'no report by the deadline from instance(s) b',
    });
    expect((await config.current('svc'))?.version).toBe(1);

    await config.push('svc', '[limits]\ncapacity = 6\n');
    await config.rollback('svc', 1);
    expect(await config.get('svc', { version: 5 })).toMatchObject({ state: 'failed', failure: 'rolled back to version 1' });
    await expect(config.rollback('svc', 9)).rejects.toThrow(/no config version 9/);
    expect((await config.history('svc')).map((v) => [v.version, v.state])).toEqual([
      [1, 'good'],
      [2, 'failed'],
      [3, 'failed'],
      [4, 'failed'],
      [5, 'failed'],
    ]);
  });

  it('keeps status under the instance registration: written when registered, gone when it goes', async () => {
    const polaris = new MemoryPolaris();
    const status = { instance: 'a', version: 1, ok: true, appliedAt: new Date(0).toISOString() };
    await expect(polaris.config.reportStatus('svc', status)).rejects.toThrow(/not registered/);
    polaris.store.setAvailable(false);
    const registration = await polaris.registry.register(record('a'));
    await polaris.config.reportStatus('svc', status);
    polaris.store.setAvailable(true);
    expect(await polaris.config.status('svc')).toEqual([status]);
    await registration.deregister();
    expect(await polaris.config.status('svc')).toEqual([]);
  });
});
