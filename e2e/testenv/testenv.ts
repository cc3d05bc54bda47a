// An envtest-style control plane for the e2e tests: the real etcd and kube-apiserver (built by
// build.sh), on free loopback ports, with RBAC, client-certificate users and service-account keys.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { makePki, writeKubeconfig } from '../../lib/kube/testing/pki.ts';
import type { KeyPair, TestUser } from '../../lib/kube/testing/pki.ts';
import { ManagedProcess, reapStale, recordOwner, registerTempDir, releaseTempDir, TEMP_PREFIX } from './processes.ts';

const HOST = '127.0.0.1';
const HERE = dirname(fileURLToPath(import.meta.url));

export const ADMIN_USER: TestUser = { name: 'testenv-admin', groups: ['system:masters'] };
/** A user with no role bindings at all; tests grant it what they need. */
export const RESTRICTED_USER: TestUser = { name: 'testenv-restricted', groups: ['testenv:restricted'] };

export interface TestEnv {
  /** https://127.0.0.1:<port> */
  server: string;
  /** kubeconfig of a cluster admin (system:masters). */
  kubeconfigPath: string;
  /** kubeconfig of RESTRICTED_USER, which has no permissions unless a test binds some. */
  restrictedKubeconfigPath: string;
  /** Temp dir holding certificates, kubeconfigs, the etcd data dir and the logs (removed by stop()). */
  dir: string;
  kubeConfig(): KubeConfig;
  restrictedKubeConfig(): KubeConfig;
  /**
   * Stops kube-apiserver (SIGTERM, SIGKILL after 3 s) and starts it again on the same port and etcd;
   * resolves when it is ready and serves the installed CRDs.
   */
  restartApiServer(): Promise<void>;
  /** Stops both processes and removes the temp dir; safe to call twice. */
  stop(): Promise<void>;
}

export interface TestEnvOptions {
  /** Directory with `kube-apiserver` and `etcd`; default: TESTENV_BIN_DIR, else build.sh's output. */
  binDir?: string;
  startTimeoutMs?: number;
  /** Keep the temp dir after stop() (also TESTENV_KEEP=1), for reading the logs. */
  keep?: boolean;
}

/** Runs build.sh (which returns at once when the binaries are cached) and returns the bin dir. */
export function ensureBinaries(): string {
  if (process.env.TESTENV_BIN_DIR) return process.env.TESTENV_BIN_DIR;
  const result = spawnSync(join(HERE, 'build.sh'), [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.error) throw new Error(`cannot run e2e/testenv/build.sh: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`e2e/testenv/build.sh failed with status ${result.status}`);
  const binDir = result.stdout.trim().split('\n').at(-1);
  if (!binDir) throw new Error('e2e/testenv/build.sh printed no bin directory');
  return binDir;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

interface Probe {
  url: string;
  tls?: { ca: Buffer; cert: Buffer; key: Buffer };
}

function probeOnce(probe: Probe): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options = { timeout: 2000, ...(probe.tls ?? {}) };
    const req = (probe.tls ? httpsRequest : httpRequest)(probe.url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function waitReady(proc: ManagedProcess, probe: Probe, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (proc.exited !== undefined) {
      throw new Error(`${proc.name} exited (${proc.exited}) before it was ready. Log tail:\n${proc.tail()}`);
    }
    try {
      const { status, body } = await probeOnce(probe);
      if (status === 200) return;
      last = `HTTP ${status}: ${body.slice(0, 500)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${proc.name} not ready after ${timeoutMs} ms (${probe.url}: ${last}). Log tail:\n${proc.tail()}`);
}

export async function startTestEnv(options: TestEnvOptions = {}): Promise<TestEnv> {
  const binDir = options.binDir ?? ensureBinaries();
  const timeoutMs = options.startTimeoutMs ?? Number(process.env.TESTENV_START_TIMEOUT_MS ?? 60_000);
  const keep = options.keep ?? process.env.TESTENV_KEEP === '1';
  reapStale();
  const dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  recordOwner(dir, []);
  if (!keep) registerTempDir(dir);
  const processes: ManagedProcess[] = [];
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const proc of [...processes].reverse()) await proc.stop();
    if (!keep) rmSync(dir, { recursive: true, force: true });
    releaseTempDir(dir);
  };

  try {
    const pkiDir = join(dir, 'pki');
    mkdirSync(pkiDir);
    const pki = makePki(pkiDir, HOST);
    const admin = pki.issueClient(ADMIN_USER);
    const restricted = pki.issueClient(RESTRICTED_USER);

    const [etcdClientPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://${HOST}:${etcdClientPort}`;
    const etcdPeerUrl = `http://${HOST}:${etcdPeerPort}`;
    const etcd = new ManagedProcess(
      'etcd',
      join(binDir, 'etcd'),
      [
        `--name=testenv`,
        `--data-dir=${join(dir, 'etcd-data')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${etcdPeerUrl}`,
        `--initial-advertise-peer-urls=${etcdPeerUrl}`,
        `--initial-cluster=testenv=${etcdPeerUrl}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      join(dir, 'etcd.log'),
      keep ? undefined : dir,
    );
    processes.push(etcd);
    etcd.start();
    recordOwner(dir, processes);
    await waitReady(etcd, { url: `${etcdUrl}/health` }, timeoutMs);

    const server = `https://${HOST}:${apiPort}`;
    const apiServer = new ManagedProcess(
      'kube-apiserver',
      join(binDir, 'kube-apiserver'),
      apiServerArgs({ dir, etcdUrl, apiPort, pki }),
      join(dir, 'kube-apiserver.log'),
      keep ? undefined : dir,
    );
    processes.push(apiServer);
    const readyz: Probe = {
      url: `${server}/readyz`,
      tls: tlsFor(pki.servingCa.certFile, admin),
    };
    const startApiServer = async () => {
      apiServer.start();
      recordOwner(dir, processes);
      await waitReady(apiServer, readyz, timeoutMs);
      // /readyz does not cover custom resources: their handlers are installed a moment later, and
      // until then requests get 503 "before all known HTTP paths have been installed".
      for (const path of await customResourcePaths(server, readyz.tls)) {
        await waitReady(apiServer, { url: `${server}${path}?limit=1`, tls: readyz.tls }, timeoutMs);
      }
    };
    await startApiServer();

    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    const restrictedKubeconfigPath = join(dir, 'restricted.kubeconfig');
    writeKubeconfig(kubeconfigPath, server, pki.servingCa.certFile, ADMIN_USER, admin);
    writeKubeconfig(restrictedKubeconfigPath, server, pki.servingCa.certFile, RESTRICTED_USER, restricted);
    const load = (path: string) => {
      const kc = new KubeConfig();
      kc.loadFromFile(path);
      return kc;
    };

    return {
      server,
      dir,
      kubeconfigPath,
      restrictedKubeconfigPath,
      kubeConfig: () => load(kubeconfigPath),
      restrictedKubeConfig: () => load(restrictedKubeconfigPath),
      restartApiServer: async () => {
        if (stopped) throw new Error('the test environment is stopped');
        // Open watches (HTTP/2 streams) keep a graceful shutdown waiting; do not wait long for them.
        await apiServer.stop(3000);
        await startApiServer();
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A list path for every served version of every CRD, e.g. `/apis/g/v1/widgets`. */
async function customResourcePaths(server: string, tls: Probe['tls']): Promise<string[]> {
  const { status, body } = await probeOnce({
    url: `${server}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`,
    tls,
  });
  if (status !== 200) throw new Error(`cannot list CRDs: HTTP ${status}: ${body.slice(0, 300)}`);
  const list = JSON.parse(body) as {
    items: { spec: { group: string; names: { plural: string }; versions: { name: string; served: boolean }[] } }[];
  };
  return list.items.flatMap(({ spec }) =>
    spec.versions.filter((v) => v.served).map((v) => `/apis/${spec.group}/${v.name}/${spec.names.plural}`),
  );
}

function tlsFor(caFile: string, client: KeyPair) {
  return { ca: readFileSync(caFile), cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) };
}

/** The flags envtest uses, plus the files made by makePki. */
function apiServerArgs(p: { dir: string; etcdUrl: string; apiPort: number; pki: ReturnType<typeof makePki> }) {
  return [
    `--etcd-servers=${p.etcdUrl}`,
    `--cert-dir=${join(p.dir, 'apiserver-certs')}`,
    `--tls-cert-file=${p.pki.serving.certFile}`,
    `--tls-private-key-file=${p.pki.serving.keyFile}`,
    `--client-ca-file=${p.pki.clientCa.certFile}`,
    `--secure-port=${p.apiPort}`,
    `--bind-address=${HOST}`,
    `--advertise-address=${HOST}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    '--authorization-mode=RBAC',
    '--disable-admission-plugins=ServiceAccount',
    `--service-account-issuer=https://${HOST}:${p.apiPort}/`,
    `--service-account-key-file=${p.pki.serviceAccountKey.certFile}`,
    `--service-account-signing-key-file=${p.pki.serviceAccountKey.keyFile}`,
  ];
}
