/**
 * Which metadata the balancer passes between client and instance: everything the application
 * set (request headers, response headers, trailers such as `aiges-code`), minus the transport
 * headers that grpc-js sets itself on each hop.
 */
import type { Metadata } from '@grpc/grpc-js';

const TRANSPORT_KEYS = [
  'content-type',
  'te',
  'user-agent',
  'grpc-encoding',
  'grpc-accept-encoding',
  'accept-encoding',
  'grpc-timeout',
  'grpc-status',
  'grpc-message',
  'date',
];

/** Removes the transport headers from `metadata` in place and returns it. */
export function applicationMetadata(metadata: Metadata): Metadata {
  for (const key of TRANSPORT_KEYS) metadata.remove(key);
  return metadata;
}

/** The application part of `metadata`, or undefined when nothing is left. */
export function nonEmptyApplicationMetadata(metadata: Metadata | undefined): Metadata | undefined {
  if (metadata === undefined) return undefined;
  applicationMetadata(metadata);
  return Object.keys(metadata.getMap()).length === 0 ? undefined : metadata;
}
