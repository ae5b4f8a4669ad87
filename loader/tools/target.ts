/**
 * The loader a tool is pointed at, written one way for `aiges call` and `aiges xtest` (both take
 * `<target> <service>`): `host:port` is the loader's gRPC address (`grpcs://host:port` over TLS,
 * kept as written: client-tls.ts reads it), an `http://` or `https://` URL its HTTP base URL (a
 * path in it is kept as a prefix).
 */
import { parseGrpcTarget } from './client-tls.js';
import { ToolError } from './errors.js';

export type LoaderTarget = { protocol: 'grpc'; address: string } | { protocol: 'http'; url: string };

/** What a target argument may look like, for messages. */
export const TARGET_FORMS = 'host:port or grpcs://host:port (gRPC) or an http:// or https:// URL (HTTP)';

/** Checks a target; a malformed one is a ToolError with code `invalid`. */
export function checkTarget(target: LoaderTarget, invalid: string): void {
  if (target.protocol === 'grpc') {
    if (!/^[^\s/]+:\d+$/.test(parseGrpcTarget(target.address).address)) {
      throw new ToolError(invalid, `gRPC target must be host:port or grpcs://host:port, got "${target.address}"`);
    }
    return;
  }
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    throw new ToolError(invalid, `HTTP target must be a URL such as http://127.0.0.1:8080, got "${target.url}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ToolError(invalid, `HTTP target must be an http:// or https:// URL, got "${target.url}"`);
  }
}

/** A target argument: `grpc://` / `grpcs://` or no scheme is gRPC, another URL (`scheme://…`) HTTP. */
export function parseTarget(text: string, invalid: string): LoaderTarget {
  const http = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text) && !/^grpcs?:\/\//.test(text);
  const target: LoaderTarget = http ? { protocol: 'http', url: text } : { protocol: 'grpc', address: text };
  try {
    checkTarget(target, invalid);
  } catch {
    throw new ToolError(invalid, `the target must be ${TARGET_FORMS}, got "${text}"`);
  }
  return target;
}

/** Whether a string reads as a target (to tell a user who wrote the service first). */
export function looksLikeTarget(text: string): boolean {
  try {
    parseTarget(text, 'x');
    return true;
  } catch {
    return false;
  }
}
