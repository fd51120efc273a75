// Throwaway PKI for TLS tests, made with the openssl command line at test time in a temp dir
// (removed by cleanup()): a CA, a second unrelated CA, server certificates (valid for
// 127.0.0.1/localhost, expired, issued for another host name only) and a client certificate.
// Leaf certificates are issued with `openssl ca`, whose -startdate/-enddate set any validity
// window: that is how the expired one is made (openssl 3.0 has no x509 -not_before/-not_after).
// Own minimal config files keep the result independent of the system openssl.cnf.
// Test-only code.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

export const OPENSSL = fs.existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : 'openssl';

export interface Pki {
  dir: string;
  /** PEM file paths. */
  caCrt: string;
  otherCaCrt: string;
  serverCrt: string;
  serverKey: string;
  expiredCrt: string;
  wrongHostCrt: string;
  clientCrt: string;
  clientKey: string;
  /** File contents, for the client's tls options. */
  read(file: string): Buffer;
  /** openssl version line. */
  version: string;
  cleanup(): void;
}

function run(dir: string, args: string[]): string {
  const r = spawnSync(OPENSSL, args, { cwd: dir, encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.error?.message || r.stderr}`);
  return r.stdout;
}

/** True when the openssl binary runs. */
export function haveOpenssl(): string | null {
  const r = spawnSync(OPENSSL, ['version'], { encoding: 'utf8' });
  return r.status === 0 ? null : `openssl not runnable: ${r.error?.message || r.stderr}`;
}

// EC P-256 keys: generated in milliseconds (RSA 2048 takes far longer on a small machine).
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function caConfig(name: string): string {
  return `[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = ${name}
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ ca ]
default_ca = this_ca
[ this_ca ]
dir = .
database = ./index.txt
serial = ./serial
new_certs_dir = ./issued
certificate = ./ca.crt
private_key = ./ca.key
default_md = sha256
policy = anything
copy_extensions = none
unique_subject = no
[ anything ]
commonName = supplied
[ server ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[ server_elsewhere ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:broker.elsewhere.example
[ client ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
`;
}

function makeCa(dir: string, name: string): void {
  fs.mkdirSync(path.join(dir, 'issued'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'openssl.cnf'), caConfig(name));
  fs.writeFileSync(path.join(dir, 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'serial'), '1000\n');
  run(dir, ['req', '-config', 'openssl.cnf', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt',
    '-days', '2', '-extensions', 'v3_ca']);
}

/** Issues a leaf certificate from the CA in `dir`; `dates` = [notBefore, notAfter] as YYYYMMDDHHMMSSZ. */
function issue(dir: string, name: string, cn: string, ext: string, dates?: [string, string]): void {
  run(dir, ['req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  const when = dates ? ['-startdate', dates[0], '-enddate', dates[1]] : ['-days', '2'];
  run(dir, ['ca', '-config', 'openssl.cnf', '-batch', '-notext', '-in', `${name}.csr`, '-out', `${name}.crt`,
    '-extensions', ext, ...when]);
}

export function makePki(): Pki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcu-mqtt-pki-'));
  try {
    const ca = path.join(dir, 'ca');
    const other = path.join(dir, 'other');
    makeCa(ca, 'mcu-mqtt test CA');
    makeCa(other, 'unrelated test CA');
    issue(ca, 'server', 'localhost', 'server');
    // Valid for one day in 2020: long expired, signed by the right CA, right names.
    issue(ca, 'expired', 'localhost', 'server', ['20200101000000Z', '20200102000000Z']);
    issue(ca, 'elsewhere', 'broker.elsewhere.example', 'server_elsewhere');
    issue(ca, 'client', 'sensor-1', 'client');
    const version = run(dir, ['version']).trim();
    return {
      dir,
      caCrt: path.join(ca, 'ca.crt'),
      otherCaCrt: path.join(other, 'ca.crt'),
      serverCrt: path.join(ca, 'server.crt'),
      serverKey: path.join(ca, 'server.key'),
      expiredCrt: path.join(ca, 'expired.crt'),
      wrongHostCrt: path.join(ca, 'elsewhere.crt'),
      clientCrt: path.join(ca, 'client.crt'),
      clientKey: path.join(ca, 'client.key'),
      read: (f) => fs.readFileSync(f),
      version,
      cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Key file that belongs to a certificate file made by makePki (same base name). */
export function keyOf(crt: string): string {
  return crt.replace(/\.crt$/, '.key');
}
