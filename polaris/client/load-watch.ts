/**
 * Following a loader's load: its WatchLoad stream (loader/server/grpc-load.ts: one report at once,
 * one per change, a heartbeat each second), for as long as the caller wants it. `aiges services ls`
 * takes the first report (load-fetch.ts); the console keeps the stream open and pushes each report
 * to its pages.
 */
import type { LoadReport__Output } from '../../proto/gen/aiges/v1/LoadReport.js';
import type { LoaderClient } from '../../proto/gen/aiges/v1/Loader.js';
import type { InstanceLoad } from './services-ls.js';

export interface LoadWatch {
  /** Ends the stream and closes the client; `onEnd` is not called. Idempotent. */
  cancel(): void;
}

/**
 * Opens `client`'s WatchLoad stream: `onLoad` hears every report; `onEnd` hears once that the stream
 * ended (the loader stopped, did not answer within `deadlineMs` when given, or failed), after which
 * the client is closed.
 */
export function watchLoad(client: LoaderClient, onLoad: (load: InstanceLoad) => void, onEnd: () => void, deadlineMs?: number): LoadWatch {
  const call = client.WatchLoad({}, deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs });
  let over = false;
  const finish = (notify: boolean) => {
    if (over) return;
    over = true;
    call.cancel();
    client.close();
    if (notify) onEnd();
  };
  call.on('data', (r: LoadReport__Output) => {
    if (!over) onLoad({ inflight: r.inflight, sessions: r.sessions, capacity: r.capacity, ready: r.ready });
  });
  call.on('error', () => finish(true));
  call.once('end', () => finish(true));
  return { cancel: () => finish(false) };
}
