/**
 * A loader's polaris records for its repository models: each model that serves is a service of
 * its own (`polaris/services/<model>/<version>/<instance-id>`, the loader's instance id and
 * address), so `aiges lb` routes V2 calls to it by model name like any plugin's. Records are
 * written once the loader is ready (`open`), as a model comes, and removed as it goes (before
 * its calls drain) and at the loader's stop (`close`, before the drain). Config is not followed
 * per model: a model's config is its config.toml.
 */
import type { InstanceRecord, Polaris, Registration } from '../../polaris/store/types.js';
import { withTimeout } from '../lib/timeout.js';
import type { Logger } from '../log.js';

/** How long a deregistration waits for etcd (the record then expires with its lease). */
const DEREGISTER_TIMEOUT_MS = 2_000;

export class ModelRecords {
  readonly #registrations = new Map<string, Promise<Registration | undefined>>();
  #open = false;

  constructor(
    private readonly polaris: Polaris,
    private readonly log: Logger,
    /** The record of a model's service. */
    private readonly recordOf: (service: string) => InstanceRecord,
  ) {}

  /** The loader is ready: registers the models serving now, and each model that comes later. */
  open(serving: readonly string[]): void {
    this.#open = true;
    for (const name of serving) this.add(name);
  }

  /** A model serves: its record is written (now, or at `open`). */
  add(name: string): void {
    if (!this.#open || this.#registrations.has(name)) return;
    const record = this.recordOf(name);
    const registering = this.polaris.registry.register(record).then(
      (registration) => {
        if (registration.state === 'registered') this.log.info({ service: name, instance: record.id }, 'model registered in polaris');
        else this.log.warn({ service: name, err: registration.error }, 'model not registered in polaris yet; trying again');
        return registration;
      },
      (err: unknown) => {
        this.log.warn({ service: name, err }, 'could not register the model in polaris');
        return undefined;
      },
    );
    this.#registrations.set(name, registering);
  }

  /** A model goes: its record is removed. */
  async remove(name: string): Promise<void> {
    const registering = this.#registrations.get(name);
    if (registering === undefined) return;
    this.#registrations.delete(name);
    const registration = await registering;
    if (registration === undefined) return;
    await withTimeout(registration.deregister(), DEREGISTER_TIMEOUT_MS, () => new Error('no answer')).then(
      () => this.log.info({ service: name }, 'model deregistered from polaris'),
      (err: unknown) => this.log.warn({ service: name, err }, 'could not deregister the model; its record expires with its lease'),
    );
  }

  /** The loader stops: every record goes, and no new one is written. */
  async close(): Promise<void> {
    this.#open = false;
    await Promise.all([...this.#registrations.keys()].map((name) => this.remove(name)));
  }
}
