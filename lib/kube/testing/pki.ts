// Certificates for the test control plane, made with the openssl command line (argument arrays,
// no shell): a serving CA and serving certificate for 127.0.0.1/localhost, a client CA with one
// client certificate per user, and a service-account signing key pair.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const OPENSSL = process.env.OPENSSL ?? 'openssl';
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: string[]): void {
  const result = spawnSync(OPENSSL, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error) throw new Error(`cannot run ${OPENSSL}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr.trim()}`);
}

export interface KeyPair {
  certFile: string;
  keyFile: string;
}

export interface TestUser {
  name: string;
  groups: string[];
}

function makeCa(dir: string, name: string): KeyPair {
  const pair = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  openssl([
    'req', '-x509', ...EC_KEY, '-days', '7', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', pair.keyFile, '-out', pair.certFile,
  ]); // prettier-ignore
  return pair;
}

function issue(dir: string, name: string, ca: KeyPair, subject: string, extensions: string[]): KeyPair {
  const pair = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  openssl([
    'req', '-x509', ...EC_KEY, '-days', '7', '-subj', subject,
    '-CA', ca.certFile, '-CAkey', ca.keyFile,
    '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'keyUsage=critical,digitalSignature',
    ...extensions.flatMap((e) => ['-addext', e]),
    '-keyout', pair.keyFile, '-out', pair.certFile,
  ]); // prettier-ignore
  return pair;
}

/** `/O=g1/O=g2/CN=name`, escaping the characters openssl treats specially. */
function subjectFor(user: TestUser): string {
  const escape = (s: string) => s.replace(/[\\/=+,]/g, (c) => `\\${c}`);
  return [...user.groups.map((g) => `/O=${escape(g)}`), `/CN=${escape(user.name)}`].join('');
}

export interface ControlPlanePki {
  servingCa: KeyPair;
  serving: KeyPair;
  clientCa: KeyPair;
  serviceAccountKey: KeyPair;
  /** Issues a client certificate for `user` from the client CA. */
  issueClient(user: TestUser): KeyPair;
}

export function makePki(dir: string, host: string): ControlPlanePki {
  const servingCa = makeCa(dir, 'serving-ca');
  const serving = issue(dir, 'apiserver', servingCa, '/CN=kube-apiserver', [
    'extendedKeyUsage=serverAuth',
    `subjectAltName=IP:${host},DNS:localhost`,
  ]);
  const clientCa = makeCa(dir, 'client-ca');
  const serviceAccountKey = { certFile: join(dir, 'sa.pub'), keyFile: join(dir, 'sa.key') };
  openssl([
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-out',
    serviceAccountKey.keyFile,
  ]);
  openssl(['pkey', '-in', serviceAccountKey.keyFile, '-pubout', '-out', serviceAccountKey.certFile]);
  let serial = 0;
  return {
    servingCa,
    serving,
    clientCa,
    serviceAccountKey,
    issueClient: (user) => issue(dir, `user-${++serial}`, clientCa, subjectFor(user), ['extendedKeyUsage=clientAuth']),
  };
}

/** A kubeconfig for one user of the test API server, with everything embedded. */
export function writeKubeconfig(file: string, server: string, caFile: string, user: TestUser, pair: KeyPair): void {
  const b64 = (path: string) => readFileSync(path).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'testenv', cluster: { server, 'certificate-authority-data': b64(caFile) } }],
    users: [
      {
        name: user.name,
        user: { 'client-certificate-data': b64(pair.certFile), 'client-key-data': b64(pair.keyFile) },
      },
    ],
    contexts: [{ name: 'testenv', context: { cluster: 'testenv', user: user.name, namespace: 'default' } }],
    'current-context': 'testenv',
  };
  writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
}
