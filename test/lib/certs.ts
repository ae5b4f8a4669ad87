/**
 * Certificates for the TLS tests, made with `openssl` at test time in a temp folder: a CA, and
 * leaf certificates it signs (for 127.0.0.1 and localhost, usable by servers and clients alike).
 * P-256 keys: quick to make on a loaded machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';

export interface TestCa {
  name: string;
  dir: string;
  /** The CA certificate (PEM): what a peer is told to trust. */
  caFile: string;
  caKeyFile: string;
}

export interface TestCert {
  certFile: string;
  keyFile: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A temp folder for one test file's certificates. */
export function certDir(): string {
  return mkdtempSync(join(tmpdir(), 'aiges-tls-'));
}

/** A self-signed CA named `name` in `dir`. */
export function makeCa(dir: string, name: string): TestCa {
  const caFile = join(dir, `${name}.pem`);
  const caKeyFile = join(dir, `${name}.key`);
  openssl([
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    caKeyFile,
    '-out',
    caFile,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { name, dir, caFile, caKeyFile };
}

let serial = 1;

/**
 * A certificate signed by `ca`, for `name` (its file names and CN), valid for 127.0.0.1 and
 * localhost as a server and as a client.
 */
export function makeCert(ca: TestCa, name: string, sans = 'IP:127.0.0.1,DNS:localhost'): TestCert {
  const certFile = join(ca.dir, `${name}.pem`);
  const keyFile = join(ca.dir, `${name}.key`);
  const csr = join(ca.dir, `${name}.csr`);
  const ext = join(ca.dir, `${name}.ext`);
  writeFileSync(ext, `subjectAltName=${sans}\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n`);
  openssl(['req', ...EC_KEY, '-keyout', keyFile, '-out', csr, '-subj', `/CN=${name}`]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.caFile,
    '-CAkey',
    ca.caKeyFile,
    '-set_serial',
    String(Date.now() * 1000 + serial++),
    '-days',
    '2',
    '-extfile',
    ext,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile };
}

export interface TestPki<Name extends string> {
  dir: string;
  ca: TestCa;
  /** Certificates signed by `ca`, by name (each its own CN). */
  certs: Record<Name, TestCert>;
  /** Another CA, and a certificate it signed: what a peer of `ca` must refuse. */
  otherCa: TestCa;
  stranger: TestCert;
}

/** A temp folder with a CA named `name`, a certificate of it for each of `names`, and a stranger. */
export function makePki<Name extends string>(name: string, names: readonly Name[]): TestPki<Name> {
  const dir = certDir();
  const ca = makeCa(dir, name);
  const certs = Object.fromEntries(names.map((n) => [n, makeCert(ca, n)])) as Record<Name, TestCert>;
  const otherCa = makeCa(dir, 'other-ca');
  return { dir, ca, certs, otherCa, stranger: makeCert(otherCa, 'stranger') };
}

/** The CN of the certificate a new TLS connection to 127.0.0.1:`port` is served (trusting `caFile`). */
export function servedCn(port: number, caFile: string, alpn = 'h2'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(caFile), ALPNProtocols: [alpn] }, () => {
      const cn = socket.getPeerCertificate().subject.CN;
      socket.end();
      resolve(String(cn));
    });
    socket.once('error', reject);
  });
}
