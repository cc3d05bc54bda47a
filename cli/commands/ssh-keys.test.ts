// SSH private keys written for git do not outlive pvctl: `pvctl reconcile` stopped by SIGTERM kills
// git and ssh and removes its keys; after a SIGKILL, the next command sweeps them; in the
// Deployment, keys are written to memory only.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { V1Deployment } from '@kubernetes/client-node';
import { keyDirParent } from '../../lib/git/credentials.ts';
import { processesMatching, waitFor } from '../../lib/git/testing/processes.ts';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { startSshServer, type SshServer } from '../../lib/git/testing/ssh-server.ts';
import { repository } from '../../controllers/testing/fixtures.ts';

const project = join(import.meta.dirname, '..', '..');
let root: string;
let server: SshServer;
let manifests: string;

beforeAll(async () => {
  root = tempDir('pvctl-ssh-keys-');
  server = await startSshServer(join(root, 'sshd'));
  // Every session of this key hangs: git waits for the server's refs forever.
  writeFileSync(join(root, 'sshd', 'authorized_keys'), `command="cat >/dev/null" ${server.clientKey.publicKey}\n`);
  const objects = ['blueprints', 'deploy'].map((name) => {
    const repo = repository(name, server.url(`/srv/${name}.git`), name === 'deploy');
    (repo.spec as { git: Record<string, unknown> }).git.secretRef = { name: 'git-ssh' };
    return repo;
  });
  objects.push(
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'git-ssh', namespace: 'default' },
      type: 'kubernetes.io/ssh-auth',
      stringData: { 'ssh-privatekey': server.clientKey.privateKey, known_hosts: server.knownHosts },
    } as (typeof objects)[number],
    {
      apiVersion: 'packagevariant.dev/v1alpha1',
      kind: 'PackageVariant',
      metadata: { name: 'nginx', namespace: 'default' },
      spec: {
        upstream: { repo: 'blueprints', package: 'nginx', revision: 1 },
        downstream: { repo: 'deploy', package: 'nginx' },
      },
    },
  );
  manifests = join(root, 'fleet.yaml');
  writeFileSync(manifests, objects.map((o) => stringify(o)).join('---\n'));
}, 30_000);

afterAll(async () => {
  await server?.close();
  removeDir(root);
});

function pvctl(tmp: string, ...args: string[]) {
  const child = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', join(project, 'cli', 'pvctl.ts'), ...args],
    {
      env: { ...process.env, TMPDIR: tmp },
      stdio: 'ignore',
    },
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited };
}

/** A TMPDIR of its own for each test, so its key directories are the only ones in it. */
function freshTmp(name: string): string {
  const tmp = join(root, name);
  mkdirSync(tmp);
  return tmp;
}

/** git, ssh and the shell around ssh talking to the server. */
const clients = () => processesMatching(new RegExp(`127\\.0\\.0\\.1:${server.port}/|-p ${server.port} `));
const sshStarted = () => clients().some((p) => p.command.startsWith('ssh '));

function age(dir: string): void {
  const old = new Date(Date.now() - 10 * 60_000);
  utimesSync(dir, old, old);
}

describe('SSH keys of pvctl reconcile', () => {
  it('are removed, and git and ssh killed, when it is stopped by SIGTERM (exit 143)', async () => {
    const tmp = freshTmp('tmp-sigterm');
    const { child, exited } = pvctl(tmp, 'reconcile', '-f', manifests, '--cache-dir', join(root, 'cache-sigterm'));
    try {
      await waitFor('ssh to start', sshStarted);
      expect(readdirSync(keyDirParent(tmp)).length).toBeGreaterThan(0);
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 143, signal: null });
      expect(readdirSync(keyDirParent(tmp))).toEqual([]);
      await waitFor('git and ssh to end', () => clients().length === 0, 2000);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);

  it('left by a SIGKILL are swept by the next command; those of live processes are kept', async () => {
    const tmp = freshTmp('tmp-sigkill');
    const keys = keyDirParent(tmp);
    const { child, exited } = pvctl(tmp, 'reconcile', '-f', manifests, '--cache-dir', join(root, 'cache-sigkill'));
    try {
      await waitFor('ssh to start', sshStarted);
      child.kill('SIGKILL');
      await exited;
      // git and ssh notice that their parent is gone; its keys stay until the next command.
      await waitFor('git and ssh to end', () => clients().length === 0, 3000);
    } finally {
      child.kill('SIGKILL');
    }
    const left = readdirSync(keys);
    expect(left.length).toBeGreaterThan(0);
    expect(left.every((name) => name.startsWith(`${child.pid}-`))).toBe(true);
    for (const name of left) age(join(keys, name));
    mkdirSync(join(keys, `${process.pid}-live`));
    age(join(keys, `${process.pid}-live`));
    const next = spawnSync(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        join(project, 'cli', 'pvctl.ts'),
        'reconcile',
        '-f',
        join(root, 'none.yaml'),
      ],
      { env: { ...process.env, TMPDIR: tmp }, encoding: 'utf8' },
    );
    expect(next.status).toBe(1);
    expect(readdirSync(keys)).toEqual([`${process.pid}-live`]);
  }, 30_000);
});

describe('pvctl run', () => {
  it('sweeps the SSH keys of dead processes when it starts', async () => {
    const tmp = freshTmp('tmp-run');
    const keys = keyDirParent(tmp);
    const stale = join(keys, `${spawnSync('true').pid}-stale`);
    mkdirSync(stale, { recursive: true, mode: 0o700 });
    writeFileSync(join(stale, 'id'), 'PRIVATE KEY', { mode: 0o600 });
    age(stale);
    const kubeconfig = join(root, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'none', cluster: { server: 'https://127.0.0.1:1' } }],
        users: [{ name: 'none', user: { token: 'none' } }],
        contexts: [{ name: 'none', context: { cluster: 'none', user: 'none' } }],
        'current-context': 'none',
      }),
    );
    const { child, exited } = pvctl(
      tmp,
      'run',
      '--kubeconfig',
      kubeconfig,
      '--health-probe-bind-address=0',
      '--metrics-bind-address=0',
      '--webhook-bind-address=0',
    );
    try {
      await waitFor('the sweep', () => readdirSync(keys).length === 0);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  }, 30_000);
});

describe('the Deployment of config/manager', () => {
  it('writes SSH keys (under TMPDIR) to a memory-backed volume with a size limit', () => {
    const deployment = parse(readFileSync(join(project, 'config', 'manager', 'manager.yaml'), 'utf8')) as V1Deployment;
    const pod = deployment.spec!.template.spec!;
    const container = pod.containers[0]!;
    const tmp = container.env?.find((e) => e.name === 'TMPDIR')?.value;
    expect(tmp).toBeDefined();
    const mount = container.volumeMounts?.find((m) => m.mountPath === tmp);
    const volume = pod.volumes?.find((v) => v.name === mount?.name);
    expect(volume?.emptyDir).toMatchObject({ medium: 'Memory', sizeLimit: expect.any(String) });
  });
});
