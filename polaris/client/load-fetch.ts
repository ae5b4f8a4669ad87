/**
 * One look at a loader's load: opens its WatchLoad stream, takes the first report (sent at once)
 * and cancels. For `aiges services ls`; balancers and the console keep the stream open instead
 * (load-watch.ts). `open` makes the client (default: plaintext, unsigned; the CLI's dials TLS
 * loaders over TLS and signs).
 */
import * as grpc from '@grpc/grpc-js';
import { loadLoaderProto } from '../../proto/load.js';
import type { LoaderClient } from '../../proto/gen/aiges/v1/Loader.js';
import { watchLoad } from './load-watch.js';
import type { InstanceLoad } from './services-ls.js';

const FETCH_TIMEOUT_MS = 2_000;

export function fetchLoad(address: string, open: (address: string) => LoaderClient = plaintext): Promise<InstanceLoad | undefined> {
  return new Promise<InstanceLoad | undefined>((resolve) => {
    const watch = watchLoad(
      open(address),
      (load) => {
        resolve(load);
        watch.cancel();
      },
      () => resolve(undefined),
      FETCH_TIMEOUT_MS,
    );
  });
}

function plaintext(address: string): LoaderClient {
  const Loader = loadLoaderProto().aiges.v1.Loader;
  return new Loader(address, grpc.credentials.createInsecure());
}
