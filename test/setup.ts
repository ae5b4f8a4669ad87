/**
 * Test-wide setup. vi.waitFor polls for a condition that an event will make true; its default
 * bound (1 s) is too tight when every test file runs at once on a 2-core machine, so the bound
 * is raised. Conditions still resolve as soon as they hold.
 */
import { vi } from 'vitest';

const waitFor = vi.waitFor.bind(vi);
vi.waitFor = ((callback, options) =>
  waitFor(callback, typeof options === 'number' ? options : { timeout: 10_000, interval: 20, ...options })) as typeof vi.waitFor;
