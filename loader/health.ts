/**
 * Readiness, owned by the loader (a plugin never marks itself ready): not ready while starting,
 * ready once the plugin is initialised, not ready again from the start of a drain — and not ready
 * while anything blocks it (a plugin set that cannot serve: every exec slot stuck, its process
 * down), each block with the reason it reports.
 */
export type ServingState = 'starting' | 'serving' | 'draining' | 'stopped';

export class HealthState {
  #state: ServingState = 'starting';
  readonly #blocks = new Map<string, string>();
  readonly #listeners = new Set<(state: ServingState) => void>();

  get state(): ServingState {
    return this.#state;
  }

  /** Live: the process answers (true from listen to exit). */
  get live(): boolean {
    return this.#state !== 'stopped';
  }

  /** Ready: the plugin is initialised, the loader takes new calls, and nothing blocks it. */
  get ready(): boolean {
    return this.#state === 'serving' && this.#blocks.size === 0;
  }

  /** Why the loader is not ready, beside its state (empty when nothing blocks it). */
  get reasons(): string[] {
    return [...this.#blocks.values()];
  }

  set(state: ServingState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#notify();
  }

  /** Marks the loader not ready for `reason`; `key` names the cause, so `unblock(key)` lifts it. */
  block(key: string, reason: string): void {
    if (this.#blocks.get(key) === reason) return;
    this.#blocks.set(key, reason);
    this.#notify();
  }

  unblock(key: string): void {
    if (this.#blocks.delete(key)) this.#notify();
  }

  /** Called on every change of state or readiness, with the state. */
  onChange(listener: (state: ServingState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(): void {
    for (const listener of this.#listeners) listener(this.#state);
  }
}
