import { AigesError, Codes } from '../loader/errors.js';

export { AigesError, Codes };

/**
 * Makes an error a plugin throws to reject a request as the client's fault: `invalid-param`
 * (10106, e.g. a malformed input) or `invalid-value` (10107, a value out of range). Anything else
 * a plugin throws is reported as a plugin failure (109xx) with the error's message.
 */
export function pluginError(kind: 'invalid-param' | 'invalid-value' | 'invalid-data', message: string): AigesError {
  const code = kind === 'invalid-param' ? Codes.INVALID_PARAM : kind === 'invalid-value' ? Codes.INVALID_PARAM_VALUE : Codes.INVALID_DATA;
  return new AigesError(code, message);
}
