// The CNCF distribution registry (Debian's `docker-registry`, /usr/bin/docker-registry; set
// DOCKER_REGISTRY elsewhere) on a free loopback port for tests: filesystem storage in a temporary
// directory, TLS with a certificate from a CA made here with openssl (optional), and htpasswd basic
// auth (bcrypt, made with `htpasswd -B` from apache2-utils; optional). Both are installed by
// scripts/system-deps.sh.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { removeDir, tempDir } from '../../git/testing/repos.ts';

export const DOCKER_REGISTRY = process.env.DOCKER_REGISTRY ?? '/usr/bin/docker-registry';
const OPENSSL = process.env.OPENSSL ?? 'openssl';
const HTPASSWD = process.env.HTPASSWD ?? 'htpasswd';

export interface RegistryOptions {
  tls?: boolean;
  username?: string;
  password?: string;
}

export interface TestRegistry {
  /** `127.0.0.1:<port>`, the registry part of a reference. */
  host: string;
  /** The CA's certificate (PEM) and its file, with TLS. */
  ca?: string;
  caFile?: string;
  dir: string;
  stop(): Promise<void>;
}

function run(command: string, args: string[], input?: string): void {
  const result = spawnSync(command, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  if (result.error) throw new Error(`cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args[0]} failed: ${result.stderr.trim()}`);
}

/** A CA and a serving certificate for 127.0.0.1 and localhost. */
function makeCertificates(dir: string): { caFile: string; certFile: string; keyFile: string } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const caFile = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  run(OPENSSL, ['req', '-x509', ...ec, '-days', '7', '-subj', '/CN=test registry CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', caKey, '-out', caFile]); // prettier-ignore
  const certFile = join(dir, 'registry.crt');
  const keyFile = join(dir, 'registry.key');
  run(OPENSSL, ['req', '-x509', ...ec, '-days', '7', '-subj', '/CN=127.0.0.1', '-CA', caFile, '-CAkey', caKey,
    '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature',
    '-addext', 'extendedKeyUsage=serverAuth', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyFile, '-out', certFile]); // prettier-ignore
  return { caFile, certFile, keyFile };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits until the registry answers on `/v2/` (any HTTP status). */
async function waitReady(url: string, ca: string | undefined, child: ChildProcess, log: () => string): Promise<void> {
  const request = url.startsWith('https') ? httpsRequest : httpRequest;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${log()}`);
    const up = await new Promise<boolean>((resolve) => {
      const req = request(url, { method: 'GET', ...(ca ? { ca } : {}), timeout: 1000 }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not answer at ${url}: ${log()}`);
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = tempDir('oci-registry-');
  try {
    const lines = ['version: 0.1', 'log:', '  level: warn', '  accesslog:', '    disabled: true'];
    lines.push(
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
    );
    let ca: string | undefined;
    let caFile: string | undefined;
    const http = ['http:', '  addr: 127.0.0.1:PORT', `  secret: ${Math.random().toString(36).slice(2)}`];
    if (options.tls) {
      const certs = makeCertificates(dir);
      caFile = certs.caFile;
      ca = readFileSync(caFile, 'utf8');
      http.push('  tls:', `    certificate: ${certs.certFile}`, `    key: ${certs.keyFile}`);
    }
    lines.push(...http);
    if (options.username !== undefined) {
      const file = join(dir, 'htpasswd');
      run(HTPASSWD, ['-B', '-i', '-c', file, options.username], options.password ?? '');
      lines.push('auth:', '  htpasswd:', '    realm: test-registry', `    path: ${file}`);
    }
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const config = join(dir, 'config.yml');
      writeFileSync(config, `${lines.join('\n').replace('PORT', String(port))}\n`);
      const child = spawn(DOCKER_REGISTRY, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.once('error', () => {});
      const host = `127.0.0.1:${port}`;
      try {
        await waitReady(`${options.tls ? 'https' : 'http'}://${host}/v2/`, ca, child, () => stderr);
      } catch (error) {
        child.kill('SIGKILL');
        await exited;
        if (attempt < 2 && /address already in use/.test(stderr)) continue;
        throw error;
      }
      return {
        host,
        ...(ca ? { ca, caFile: caFile! } : {}),
        dir,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
          removeDir(dir);
        },
      };
    }
  } catch (error) {
    removeDir(dir);
    throw error;
  }
}
