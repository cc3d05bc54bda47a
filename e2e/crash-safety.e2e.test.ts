// Crash safety of the controller in a cluster: `pvctl run` is killed (SIGKILL) at random points of a
// 100-variant upgrade and started again. At the end every variant has exactly one upgrade draft, and
// git is at the fixed point an uninterrupted run reaches: one more reconcile of everything (local mode,
// same objects and UIDs, fresh cache) finds nothing to write.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { KubeObject, PackageVariant } from '../api/v1alpha1/index.ts';
import { reconcileLocally } from '../controllers/local.ts';
import { blueprint, type TestRepo } from '../controllers/testing/fixtures.ts';
import { GitStore } from '../lib/git/store.ts';
import { adminClients, eventually, GROUP, VERSION } from './helpers.ts';
import { condition, spawnPvctlRun, useControllerEnv } from './packagevariant-env.ts';

const VARIANTS = 100;
const SITES = ['site-a', 'site-b', 'site-c', 'site-d'];

function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe('controller crash safety', () => {
  const env = useControllerEnv();
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);

  const startController = (): ChildProcess => spawnPvctlRun(env, { 'log-level': 'warn' }, 'ignore');
  const stop = (child: ChildProcess, signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.on('exit', () => resolve());
      child.kill(signal);
    });
  const variants = async () =>
    (
      (await adminClients().customObjects.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: env.namespace(),
        plural: 'packagevariants',
      })) as { items: PackageVariant[] }
    ).items;
  const allReady = (check: (pv: PackageVariant) => boolean, timeoutMs: number) =>
    eventually(
      async () => {
        const items = await variants();
        const done = items.filter((pv) => condition(pv, 'Ready')?.status === 'True' && check(pv)).length;
        if (items.length !== VARIANTS || done !== VARIANTS) throw new Error(`${done}/${VARIANTS} done`);
        return items;
      },
      timeoutMs,
      250,
    );

  it(`a 100-variant upgrade killed at random points ends at the uninterrupted fixed point (seed ${seed})`, async () => {
    const blueprints = await env.repo('blueprints');
    await blueprints.publish('nginx', blueprint('nginx'), 1);
    await env.createRepository('blueprints', blueprints.url);
    const sites = new Map<string, TestRepo>();
    for (const site of SITES) {
      sites.set(site, await env.repo(site));
      await env.createRepository(site, sites.get(site)!.url, true);
    }
    for (let i = 0; i < VARIANTS; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, VARIANTS - i) }, (_, j) =>
          env.createVariant(`app-${i + j}`, {
            upstream: { repo: 'blueprints', package: 'nginx' },
            downstream: { repo: SITES[(i + j) % SITES.length]!, package: `app-${i + j}` },
          }),
        ),
      );
    }

    // Clone drafts, uninterrupted; then a person publishes them all.
    let controller = startController();
    const started = performance.now();
    await allReady((pv) => pv.status?.downstreamTargets?.[0]?.lifecycle === 'Draft', 120_000);
    const cloneMs = performance.now() - started;
    await stop(controller, 'SIGTERM');
    for (const site of SITES) {
      const store = sites.get(site)!.store(join(env.root(), 'approver'));
      await store.refresh();
      const batch = store.batch();
      for (const r of await store.listRevisions()) {
        if (r.lifecycle === 'Draft') batch.approve({ packageName: r.packageName, workspace: r.workspace });
      }
      expect((await batch.push()).every((r) => r.status === 'created')).toBe(true);
      store.close();
    }

    // The upgrade, with the controller killed at random points.
    const v2 = await blueprints.publish('nginx', blueprint('nginx', { image: 'nginx:1.27', port: 8080 }), 2);
    const next = random(seed);
    for (let round = 0; round < 5; round++) {
      controller = startController();
      await new Promise((resolve) => setTimeout(resolve, 300 + next() * cloneMs));
      await stop(controller, 'SIGKILL');
    }
    controller = startController();
    try {
      await allReady((pv) => pv.status?.downstreamTargets?.[0]?.upstreamCommit === v2, 180_000);
    } finally {
      await stop(controller, 'SIGTERM');
    }

    // Exactly one draft per variant, carrying v2.
    for (const site of SITES) {
      const store = new GitStore({ url: sites.get(site)!.url, cacheDir: join(env.root(), 'checker') });
      await store.refresh();
      const drafts = (await store.listRevisions()).filter((r) => r.lifecycle === 'Draft');
      expect(drafts.length).toBe(VARIANTS / SITES.length);
      expect(new Set(drafts.map((d) => d.packageName)).size).toBe(drafts.length);
      store.close();
    }
    // The fixed point: reconciling everything again (same objects and UIDs) writes nothing.
    const repositories = (
      (await adminClients().customObjects.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: env.namespace(),
        plural: 'repositories',
      })) as { items: KubeObject[] }
    ).items;
    const again = await reconcileLocally([...repositories, ...(await variants())], {
      cacheDir: join(env.root(), 'fixed-point'),
    });
    expect([...again.errors]).toEqual([]);
    expect(again.pushes).toBe(0);
  }, 420_000);
});
