/**
 * One look at a loader's load: opens its WatchLoad stream, takes the first report (sent at once)
 * and cancels. For `aiges services ls`; balancers keep the stream open instead. `open` makes the
 * client (default: plaintext, unsigned; the CLI's dials TLS loaders over TLS and signs).
 */
import * as grpc from '@grpc/grpc-js';
import { loadLoaderProto } from '../../proto/load.js';
import type { LoadReport__Output } from '../../proto/gen/aiges/v1/LoadReport.js';
import type { LoaderClient } from '../../proto/gen/aiges/v1/Loader.js';
import type { InstanceLoad } from './services-ls.js';

const FETCH_TIMEOUT_MS = 2_000;

export function fetchLoad(address: string, open: (address: string) => LoaderClient = plaintext): Promise<InstanceLoad | undefined> {
  const client = open(address);
  return new Promise<InstanceLoad | undefined>((resolve) => {
    const call = client.WatchLoad({}, { deadline: Date.now() + FETCH_TIMEOUT_MS });
    const done = (load: InstanceLoad | undefined) => {
      resolve(load);
      call.cancel();
      client.close();
    };
    call.once('data', (r: LoadReport__Output) =>
      done({ inflight: r.inflight, sessions: r.sessions, capacity: r.capacity, ready: r.ready }),
    );
    call.on('error', () => done(undefined));
    call.once('end', () => done(undefined));
  });
}

function plaintext(address: string): LoaderClient {
  const Loader = loadLoaderProto().aiges.v1.Loader;
  return new Loader(address, grpc.credentials.createInsecure());
}
