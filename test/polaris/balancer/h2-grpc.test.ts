/**
 * The balancer's gRPC-on-HTTP/2 helpers: the first message of a body however it is chunked,
 * compressed messages, size limits, grpc-timeout and grpc-message encoding.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { deadlineOf, downstreamHeaders, encodeGrpcMessage, errorHeaders, FirstMessage } from '../../../polaris/balancer/h2-grpc.js';
import { AigesError, Codes } from '../../../loader/errors.js';

function frame(payload: Buffer, compressed = false): Buffer {
  const head = Buffer.alloc(5);
  head[0] = compressed ? 1 : 0;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

describe('FirstMessage', () => {
  it('returns the message once whole, whatever the chunking, and counts the bytes past it', () => {
    const wire = Buffer.concat([frame(Buffer.from('hello')), Buffer.from([0, 0])]);
    const first = new FirstMessage(undefined, 1024);
    expect(first.push(wire.subarray(0, 3))).toBeUndefined();
    expect(first.push(wire.subarray(3, 8))).toBeUndefined();
    expect(first.push(wire.subarray(8))?.toString()).toBe('hello');
    expect(first.trailingBytes).toBe(2);
    expect(Buffer.concat(first.chunks).equals(wire)).toBe(true);
  });

  it('decompresses a gzip message to read it, and refuses an unknown encoding with 10009', () => {
    const gz = frame(gzipSync(Buffer.from('packed')), true);
    expect(new FirstMessage('gzip', 1024).push(gz)?.toString()).toBe('packed');
    expect(() => new FirstMessage('snappy', 1024).push(gz)).toThrow(expect.objectContaining({ aigesCode: Codes.INVALID_DATA }));
    expect(() => new FirstMessage('gzip', 1024).push(frame(Buffer.from('not gzip'), true))).toThrow(
      expect.objectContaining({ aigesCode: Codes.INVALID_DATA }),
    );
  });

  it('reads a message sent a byte at a time, and keeps every byte received for the hop', () => {
    const payload = Buffer.from('x'.repeat(300));
    const wire = frame(payload);
    const first = new FirstMessage(undefined, 1024);
    let message: Buffer | undefined;
    for (let i = 0; i < wire.length; i++) {
      message = first.push(wire.subarray(i, i + 1));
      if (i < wire.length - 1) expect(message).toBeUndefined();
    }
    expect(message?.equals(payload)).toBe(true);
    expect(first.bytes).toBe(wire.length);
    expect(Buffer.concat(first.chunks).equals(wire)).toBe(true);
  });

  it('refuses with 10201 a compressed message that inflates past the limit (a gzip bomb)', () => {
    const bomb = frame(gzipSync(Buffer.alloc(4 * 1024 * 1024)), true);
    expect(bomb.length).toBeLessThan(8 * 1024);
    expect(() => new FirstMessage('gzip', 64 * 1024).push(bomb)).toThrow(expect.objectContaining({ aigesCode: Codes.PAYLOAD_TOO_LARGE }));
    expect(new FirstMessage('gzip', 4 * 1024 * 1024).push(bomb)?.length).toBe(4 * 1024 * 1024);
  });

  it('refuses a message over the limit with 10201 as soon as its length prefix is in', () => {
    const first = new FirstMessage(undefined, 4);
    expect(() => first.push(frame(Buffer.alloc(5)).subarray(0, 5))).toThrow(
      expect.objectContaining({ aigesCode: Codes.PAYLOAD_TOO_LARGE }),
    );
  });
});

describe('headers', () => {
  it('reads grpc-timeout in every unit, and no deadline without one', () => {
    expect(deadlineOf({ 'grpc-timeout': '250m' }, 1_000)).toBe(1_250);
    expect(deadlineOf({ 'grpc-timeout': '2S' }, 0)).toBe(2_000);
    expect(deadlineOf({ 'grpc-timeout': '1M' }, 0)).toBe(60_000);
    expect(deadlineOf({ 'grpc-timeout': '5000u' }, 0)).toBe(5);
    expect(deadlineOf({}, 0)).toBe(Infinity);
    expect(deadlineOf({ 'grpc-timeout': 'soon' }, 0)).toBe(Infinity);
  });

  it('percent-encodes a grpc-message the way gRPC decoders read it', () => {
    const text = 'bad: 100% wrong\nnaïve';
    expect(encodeGrpcMessage(text)).toBe('bad: 100%25 wrong%0Ana%C3%AFve');
    expect(decodeURI(encodeGrpcMessage(text))).toBe(text);
  });

  it('answers an error as trailers-only with status, message and aiges-code', () => {
    const h = errorHeaders(new AigesError(Codes.SERVICE_NOT_FOUND, 'no such service'));
    expect(h).toMatchObject({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'aiges-code': '10200' });
  });

  it('passes response headers on without the hop-specific ones', () => {
    expect(downstreamHeaders({ ':status': '200', date: 'x', 'aiges-code': '0', 'grpc-encoding': 'gzip' }, true)).toEqual({
      ':status': '200',
      'aiges-code': '0',
      'grpc-encoding': 'gzip',
    });
    expect(downstreamHeaders({ ':status': '200', 'grpc-status': '0' }, false)).toEqual({ 'grpc-status': '0' });
  });
});
