// The controller in-process against the test API server, with real git repositories on disk: one
// fresh namespace, temp dir, cache dir and manager per test.
import { afterEach, beforeEach } from '@jest/globals';
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { join } from 'node:path';
import { pino } from 'pino';
import type { PackageVariant } from '../api/v1alpha1/index.ts';
import { Manager, type ManagerOptions } from '../controllers/manager.ts';
import { repository, TestRepo } from '../controllers/testing/fixtures.ts';
import { removeDir, tempDir } from '../lib/git/testing/repos.ts';
import { getCondition } from '../lib/kube/conditions.ts';
import { mergePatch } from '../lib/kube/client.ts';
import {
  adminClients,
  adminKubeConfig,
  describeObject,
  eventually,
  GROUP,
  useTestNamespace,
  VERSION,
} from './helpers.ts';

export interface ControllerEnv {
  namespace(): string;
  root(): string;
  manager(): Manager;
  /** Starts the manager (after the test created its repositories); `options` override the test defaults. */
  start(options?: Partial<ManagerOptions>): Promise<Manager>;
  repo(name: string): Promise<TestRepo>;
  createRepository(name: string, url: string, deployment?: boolean): Promise<void>;
  createVariant(name: string, spec: PackageVariant['spec']): Promise<void>;
  patchVariant(name: string, body: object): Promise<void>;
  deleteVariant(name: string): Promise<void>;
  getVariant(name: string): Promise<PackageVariant | undefined>;
  /** Polls until the variant satisfies `check` (which throws or returns false otherwise). */
  waitFor(name: string, check: (pv: PackageVariant) => boolean | void, timeoutMs?: number): Promise<PackageVariant>;
}

export const condition = (pv: PackageVariant | undefined, type: string) => getCondition(pv?.status?.conditions, type);

const PVCTL = join(import.meta.dirname, '..', 'cli', 'pvctl.ts');

/**
 * `pvctl run` as a child process against the test API server, in the test's namespace, polling
 * every second with its cache in the test's temp dir and no listeners; `flags` add or override.
 */
export function spawnPvctlRun(
  env: ControllerEnv,
  flags: Record<string, string> = {},
  stdio: StdioOptions = ['ignore', 'pipe', 'pipe'],
): ChildProcess {
  const all: Record<string, string> = {
    kubeconfig: process.env.TESTENV_KUBECONFIG!,
    namespace: env.namespace(),
    'poll-interval': '1s',
    'cache-dir': join(env.root(), 'controller-cache'),
    'health-probe-bind-address': '0',
    'metrics-bind-address': '0',
    'webhook-bind-address': '0',
    ...flags,
  };
  return spawn(process.execPath, [PVCTL, 'run', ...Object.entries(all).flatMap(([k, v]) => [`--${k}`, v])], { stdio });
}

export function useControllerEnv(): ControllerEnv {
  const namespace = useTestNamespace();
  let root: string | undefined;
  let manager: Manager | undefined;
  const clients = adminClients();
  const ref = (name: string, plural = 'packagevariants') => ({
    group: GROUP,
    version: VERSION,
    namespace: namespace(),
    plural,
    name,
  });

  beforeEach(() => {
    root = tempDir('pv-e2e-');
  });
  afterEach(async () => {
    await manager?.stop();
    manager = undefined;
    if (root) removeDir(root);
    root = undefined;
  });

  const env: ControllerEnv = {
    namespace,
    root: () => root!,
    manager: () => manager!,
    async start(options = {}) {
      manager = new Manager({
        kubeConfig: adminKubeConfig(),
        logger: pino({ level: process.env.E2E_LOG_LEVEL ?? 'silent' }),
        namespace: namespace(),
        concurrency: 4,
        pollIntervalMs: 300,
        cacheDir: join(root!, 'cache'),
        shutdownTimeoutMs: 10_000,
        ...options,
      });
      await manager.start();
      await manager.store.waitForSync(10_000);
      return manager;
    },
    repo: (name) => TestRepo.create(root!, name),
    async createRepository(name, url, deployment = false) {
      const body = repository(name, url, deployment);
      body.metadata!.namespace = namespace();
      await clients.customObjects.createNamespacedCustomObject({ ...ref('', 'repositories'), body });
    },
    async createVariant(name, spec) {
      await clients.customObjects.createNamespacedCustomObject({
        ...ref(''),
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PackageVariant', metadata: { name }, spec },
      });
    },
    async patchVariant(name, body) {
      await clients.customObjects.patchNamespacedCustomObject({ ...ref(name), body }, mergePatch);
    },
    async deleteVariant(name) {
      await clients.customObjects.deleteNamespacedCustomObject(ref(name));
    },
    async getVariant(name) {
      try {
        return (await clients.customObjects.getNamespacedCustomObject(ref(name))) as PackageVariant;
      } catch (error) {
        if ((error as { code?: number }).code === 404) return undefined;
        throw error;
      }
    },
    async waitFor(name, check, timeoutMs = 20_000) {
      let last: PackageVariant | undefined;
      try {
        return await eventually(
          async () => {
            last = await env.getVariant(name);
            if (!last || check(last) === false) throw new Error('not yet');
            return last;
          },
          timeoutMs,
          100,
        );
      } catch {
        throw new Error(`PackageVariant ${name} never matched; last seen:\n${describeObject(last)}`);
      }
    },
  };
  return env;
}

/** Approves a draft the way a person does (`pvctl rpkg approve`), from another git cache. */
export async function approve(repo: TestRepo, cacheDir: string, packageName: string, workspace: string) {
  const store = repo.store(cacheDir);
  try {
    await store.refresh();
    const [result] = await store.batch().approve({ packageName, workspace }).push();
    if (result?.status !== 'created') throw new Error(`approve ${packageName}/${workspace}: ${result?.status}`);
  } finally {
    store.close();
  }
}
