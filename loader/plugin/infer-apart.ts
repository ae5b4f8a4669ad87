/**
 * `ctx.infer` where a plugin runs apart from the data plane and the call is not relayed to the
 * loader (yet): from sessions on worker threads (an exec's is relayed, worker/thread.ts; a plugin
 * process relays both, process/child.ts).
 */
import { AigesError, Codes } from '../../plugins/errors.js';
import type { ServiceResponse } from '../../plugins/types.js';

export function inferApart(): Promise<ServiceResponse> {
  return Promise.reject(
    new AigesError(Codes.INVALID_OP, 'ctx.infer is not available in a session on worker threads (an exec may call it)'),
  );
}
