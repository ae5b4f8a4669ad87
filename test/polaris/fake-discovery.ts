/**
 * An in-memory Discovery for balancer and resolver tests: the test sets each service's instance
 * list and every watcher hears it at once, as from etcd.
 */
import type { Discovery, InstanceRecord, Watcher } from '../../polaris/store/types.js';

export class FakeDiscovery implements Discovery {
  readonly #instances = new Map<string, InstanceRecord[]>();
  readonly #watchers = new Map<string, Set<(instances: InstanceRecord[]) => void>>();

  /** Replaces the instance list of `service` and tells its watchers. */
  set(service: string, instances: InstanceRecord[]): void {
    this.#instances.set(service, instances);
    for (const w of this.#watchers.get(service) ?? []) w([...instances]);
  }

  add(record: InstanceRecord): void {
    this.set(record.service, [...(this.#instances.get(record.service) ?? []), record]);
  }

  remove(service: string, id: string): void {
    this.set(
      service,
      (this.#instances.get(service) ?? []).filter((r) => r.id !== id),
    );
  }

  async list(service?: string): Promise<InstanceRecord[]> {
    if (service !== undefined) return [...(this.#instances.get(service) ?? [])];
    return [...this.#instances.values()].flat();
  }

  async watch(service: string, onChange: (instances: InstanceRecord[]) => void): Promise<Watcher> {
    const set = this.#watchers.get(service) ?? new Set();
    this.#watchers.set(service, set);
    set.add(onChange);
    onChange([...(this.#instances.get(service) ?? [])]);
    return { close: () => set.delete(onChange) };
  }

  async close(): Promise<void> {
    this.#watchers.clear();
  }
}

let seq = 0;

/** An instance record for a loader listening on 127.0.0.1:`grpcPort`. */
export function record(service: string, grpcPort: number, capacity: number, overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    id: `test-${process.pid}-${++seq}`,
    service,
    version: '1.0.0',
    address: `127.0.0.1:${grpcPort}`,
    httpAddress: '',
    protocols: ['grpc'],
    capacity,
    labels: {},
    startedAt: new Date().toISOString(),
    ...overrides,
  };
}
