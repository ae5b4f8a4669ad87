/**
 * `ctx.infer` where a plugin runs apart from the data plane (worker threads, plugin processes).
 * NOTE: not relayed to the loader yet: the call would cross the thread or process boundary twice
 * (request and answer) beside the plugin's own call, and nest under it on the loader's side.
 */
import { AigesError, Codes } from '../../plugins/errors.js';
import type { ServiceResponse } from '../../plugins/types.js';

export function inferApart(isolation: 'worker' | 'process'): Promise<ServiceResponse> {
  return Promise.reject(
    new AigesError(Codes.INVALID_OP, `ctx.infer is only available with [plugin] isolation = "none", not "${isolation}"`),
  );
}
