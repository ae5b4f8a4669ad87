/**
 * A lean aiges.v1.Loader/Session client for the session load: the open message and the frame
 * message are encoded once (with the loader's own .proto definition), sent as bytes, and
 * answers arrive as bytes. Only a session's first answer and its END are decoded and checked in
 * full; every other answer must have the first one's length. This keeps the load generator's
 * protobuf work out of the measurement: on a 2-CPU machine the client shares the CPUs with the
 * server under test, and the same client drives both servers.
 */
import type * as grpc from '@grpc/grpc-js';
import { loadLoaderProto } from '../../proto/load.js';
import type { SessionResponse__Output } from '../../proto/gen/aiges/v1/SessionResponse.js';

const AUDIO = 1;
const CONTINUE = 1;
const END = 2;
const identity = (b: Buffer) => b;

export interface WireStream {
  /** Writes the pre-encoded frame. */
  send(): void;
  /** Half-closes; resolves once the server has ended the stream. */
  end(): Promise<void>;
}

export interface WireSession {
  /** Opens a stream (writes the open message); `onFrame` runs once per echoed frame, in order. */
  open(client: grpc.Client, onFrame: () => void, onError: (err: Error) => void): WireStream;
}

export function wireSession(frame: Buffer): WireSession {
  const method = loadLoaderProto().aiges.v1.Loader.service.Session;
  const openBytes = method.requestSerialize({ service: 'echo', params: {}, headers: {}, items: [] });
  const frameBytes = method.requestSerialize({
    items: [{ key: 'audio', type: AUDIO, status: CONTINUE, encoding: 'pcm_s16le', attributes: {}, data: frame }],
  });
  const decode = (b: Buffer) => method.responseDeserialize(b) as SessionResponse__Output;
  /** Why a decoded answer is wrong, or undefined when it is the echo of `frame`. */
  const wrongEcho = (r: SessionResponse__Output) =>
    r.status === CONTINUE && r.items.length === 1 && r.items[0]?.key === 'audio' && r.items[0].data.equals(frame)
      ? undefined
      : `answered status ${r.status} with ${r.items.length} items, not the frame's echo`;

  return {
    open(client, onFrame, onError) {
      const call = client.makeBidiStreamRequest(method.path, identity, identity);
      /** Byte length of this session's echo, learnt from its first (fully checked) answer. */
      let echoBytes = -1;
      let ended = false;
      const done = new Promise<void>((resolve) => call.on('end', resolve));
      call.on('error', onError);
      call.on('data', (b: Buffer) => {
        if (b.length === echoBytes) return onFrame();
        const r = decode(b);
        if (echoBytes === -1 && r.items.length > 0) {
          const why = wrongEcho(r);
          if (why !== undefined) return onError(new Error(`session ${why}`));
          echoBytes = b.length;
          return onFrame();
        }
        if (r.status === END && r.items.length === 0 && !ended) {
          ended = true;
          return undefined;
        }
        return onError(
          new Error(`session answered ${b.length} bytes (status ${r.status}, ${r.items.length} items), expected ${echoBytes}`),
        );
      });
      call.write(openBytes);
      return {
        send: () => call.write(frameBytes),
        async end() {
          call.end();
          await done;
          if (!ended) throw new Error('session stream ended without its END message');
        },
      };
    },
  };
}
