/**
 * The balancer's RelayFrame codec (polaris/relay-frame.ts) against the loader's (proto-loader's,
 * from loader.proto): what one side writes, the other reads.
 */
import { describe, expect, it } from 'vitest';
import { loadLoaderProto } from '../../../proto/load.js';
import { callFrame, cancelFrame, decodeReply, MessageSplitter } from '../../../polaris/balancer/relay-frame.js';

const relay = loadLoaderProto().aiges.v1.Loader.service.Relay;
const unframed = (b: Buffer) => {
  expect(b[0]).toBe(0);
  expect(b.readUInt32BE(1)).toBe(b.length - 5);
  return b.subarray(5);
};

describe('RelayFrame codec', () => {
  it('call and cancel frames read back as the loader decodes them', () => {
    const request = Buffer.from('an InferRequest, as bytes');
    expect(relay.requestDeserialize(unframed(callFrame(4_000_000_000, request, 250)))).toMatchObject({
      id: 4_000_000_000,
      request,
      timeoutMs: 250,
      cancel: false,
    });
    expect(relay.requestDeserialize(unframed(callFrame(1, request, 0)))).toMatchObject({ id: 1, timeoutMs: 0 });
    expect(relay.requestDeserialize(unframed(cancelFrame(9)))).toMatchObject({ id: 9, cancel: true });
  });

  it("reads the loader's replies: a response, a failure", () => {
    const response = Buffer.from([1, 2, 3, 0, 255]);
    expect(decodeReply(relay.responseSerialize({ id: 12, response }))).toEqual({
      id: 12,
      response,
      grpcStatus: 0,
      grpcMessage: '',
      aigesCode: 0,
    });
    expect(decodeReply(relay.responseSerialize({ id: 3, grpcStatus: 8, grpcMessage: 'capacity … full', aigesCode: 10110 }))).toMatchObject({
      id: 3,
      response: Buffer.alloc(0),
      grpcStatus: 8,
      grpcMessage: 'capacity … full',
      aigesCode: 10110,
    });
    expect(() => decodeReply(Buffer.from([0x2a, 0x05, 1]))).toThrow(/past the end/);
  });

  it('splits a byte stream into messages whatever the chunk boundaries', () => {
    const messages = [Buffer.alloc(0), Buffer.from('one'), Buffer.alloc(70_000, 7), Buffer.from('last')];
    const framedAll = Buffer.concat(
      messages.map((m) => {
        const prefix = Buffer.alloc(5);
        prefix.writeUInt32BE(m.length, 1);
        return Buffer.concat([prefix, m]);
      }),
    );
    for (const step of [1, 2, 5, 7, 4096, framedAll.length]) {
      const splitter = new MessageSplitter();
      const got: Buffer[] = [];
      for (let i = 0; i < framedAll.length; i += step) splitter.push(framedAll.subarray(i, i + step), (m) => got.push(Buffer.from(m)));
      expect(got.length).toBe(messages.length);
      expect(got.every((m, i) => m.equals(messages[i]!))).toBe(true);
    }
  });

  it('refuses a compressed message (none is asked for)', () => {
    const splitter = new MessageSplitter();
    expect(() => splitter.push(Buffer.from([1, 0, 0, 0, 1, 9]), () => undefined)).toThrow(/compressed/);
  });

  it('refuses a message whose length prefix is over its limit, from the prefix alone', () => {
    const splitter = new MessageSplitter(16);
    const got: Buffer[] = [];
    splitter.push(Buffer.from([0, 0, 0, 0, 16, ...Buffer.alloc(16, 1)]), (m) => got.push(m));
    expect(got).toHaveLength(1);
    // 4 GiB promised, five bytes sent: refused before anything is buffered.
    expect(() => splitter.push(Buffer.from([0, 0xff, 0xff, 0xff, 0xff]), () => undefined)).toThrow(
      'a Relay frame of 4294967295 bytes is over the limit of 16',
    );
  });
});
