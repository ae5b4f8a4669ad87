/**
 * One look at a loader's load: opens its WatchLoad stream, takes the first report (sent at once)
 * and cancels. For `aiges services ls` (a LoadSource); balancers keep the stream open instead.
 */
import * as grpc from '@grpc/grpc-js';
import { loadLoaderProto } from '../../proto/load.js';
import type { LoadReport__Output } from '../../proto/gen/aiges/v1/LoadReport.js';
import type { InstanceLoad, LoadSource } from './services-ls.js';

const FETCH_TIMEOUT_MS = 2_000;

export const fetchLoad: LoadSource = (address) => {
  const Loader = loadLoaderProto().aiges.v1.Loader;
  const client = new Loader(address, grpc.credentials.createInsecure());
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
};
