/**
 * Readiness, owned by the loader (a plugin never marks itself ready): not ready while starting,
 * ready once the plugin is initialised, not ready again from the start of a drain.
 */
export type ServingState = 'starting' | 'serving' | 'draining' | 'stopped';

export class HealthState {
  #state: ServingState = 'starting';
  readonly #listeners = new Set<(state: ServingState) => void>();

  get state(): ServingState {
    return this.#state;
  }

  /** Live: the process answers (true from listen to exit). */
  get live(): boolean {
    return this.#state !== 'stopped';
  }

  /** Ready: the plugin is initialised and the loader takes new calls. */
  get ready(): boolean {
    return this.#state === 'serving';
  }

  set(state: ServingState): void {
    if (state === this.#state) return;
    this.#state = state;
    for (const listener of this.#listeners) listener(state);
  }

  onChange(listener: (state: ServingState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
