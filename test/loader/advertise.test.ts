/** What a loader registers in polaris: its id, the host others dial, the record. */
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { advertiseHost, hostPort, instanceRecord, newInstanceId } from '../../loader/polaris/advertise.js';

describe('advertise', () => {
  it('ids are <hostname>-<pid>-<random>, safe as etcd key parts, and differ per loader', () => {
    const id = newInstanceId();
    expect(id).toMatch(new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]*-${process.pid}-[0-9a-f]{6}$`));
    expect(newInstanceId()).not.toBe(id);
  });

  it('advertises the configured host, else a specific bound one, else the first non-internal IPv4', () => {
    expect(advertiseHost('0.0.0.0', 'loader-1.svc')).toBe('loader-1.svc');
    expect(advertiseHost('127.0.0.1')).toBe('127.0.0.1');
    expect(advertiseHost('10.1.2.3')).toBe('10.1.2.3');
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a?.family === 'IPv4' && !a.internal)?.address;
    expect(advertiseHost('0.0.0.0')).toBe(external ?? '127.0.0.1');
    expect(advertiseHost('::')).toBe(external ?? '127.0.0.1');
  });

  it('builds the record with both addresses (IPv6 in brackets)', () => {
    expect(hostPort('::1', 5090)).toBe('[::1]:5090');
    const record = instanceRecord({
      id: 'h-1-abcdef',
      service: 'echo',
      version: '2',
      host: '10.0.0.5',
      grpcPort: 5090,
      httpPort: 8080,
      capacity: 16,
      labels: { zone: 'a' },
      startedAt: new Date(0),
    });
    expect(record).toEqual({
      id: 'h-1-abcdef',
      service: 'echo',
      version: '2',
      address: '10.0.0.5:5090',
      httpAddress: '10.0.0.5:8080',
      protocols: ['grpc', 'http'],
      capacity: 16,
      labels: { zone: 'a' },
      startedAt: '1970-01-01T00:00:00.000Z',
    });
    // A plaintext loader's record has no tls field (as before TLS existed); a TLS one says so.
    const inputs = {
      id: 'h',
      service: 'echo',
      version: '1',
      host: 'h',
      grpcPort: 1,
      httpPort: 2,
      capacity: 1,
      labels: {},
      startedAt: new Date(0),
    };
    expect(instanceRecord({ ...inputs, tls: false })).not.toHaveProperty('tls');
    expect(instanceRecord({ ...inputs, tls: true })).toMatchObject({ tls: true, address: 'h:1' });
  });
});
