// spec.suspend and reconcile requests, for a PackageVariant and for the variants of a suspended
// PackageVariantSet: against real git repositories on disk, through the local adapter.
import { afterAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import {
  API_VERSION,
  PACKAGE_VARIANT_FINALIZER,
  RECONCILE_REQUEST_ANNOTATION,
  type KubeObject,
  type PackageVariant,
} from '../../api/v1alpha1/index.ts';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { getCondition } from '../../lib/kube/conditions.ts';
import { LocalObjectStore } from '../local-store.ts';
import { reconcileLocally } from '../local.ts';
import { blueprint, packageVariant, repository, TestRepo } from '../testing/fixtures.ts';
import { GitStores } from './git-stores.ts';
import { PushCoalescer } from './push-coalescer.ts';
import { PackageVariantReconciler } from './reconciler.ts';

// Each test builds its repositories (no test depends on another having run).
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const variant = (name: string, extra: Partial<NonNullable<PackageVariant['spec']>> = {}) =>
  packageVariant(name, {
    upstream: { repo: 'blueprints', package: 'nginx' },
    downstream: { repo: 'deploy', package: name },
    ...extra,
  });

/** blueprints (nginx v1 published) and a deployment repository. */
async function world() {
  const root = tempDir('pv-suspend-');
  dirs.push(root);
  const cacheDir = join(root, 'cache');
  const upstream = await TestRepo.create(root, 'blueprints');
  const deploy = await TestRepo.create(root, 'deploy');
  await upstream.publish('nginx', blueprint('nginx'), 1);
  const repositories = () => [repository('blueprints', upstream.url), repository('deploy', deploy.url, true)];
  const run = async (...objects: KubeObject[]) => {
    const result = await reconcileLocally([...repositories(), ...objects], { cacheDir });
    return { ...result, byName: (name: string) => result.variants.find((v) => v.metadata?.name === name)! };
  };
  return { cacheDir, upstream, deploy, repositories, run };
}

const condition = (pv: PackageVariant, type: string) => getCondition(pv.status?.conditions, type);

describe('spec.suspend of a PackageVariant', () => {
  it('observes but writes nothing to git, and says so in status', async () => {
    const { deploy, run } = await world();
    const { byName, pushes } = await run(variant('east', { suspend: true }));
    const pv = byName('east');
    expect(condition(pv, 'Ready')).toMatchObject({ status: 'False', reason: 'Suspended' });
    expect(condition(pv, 'Ready')?.message).toMatch(
      /^suspended \(spec\.suspend\): nothing is written to git; on resume the downstream package east is created from upstream [0-9a-f]{12}$/,
    );
    expect(condition(pv, 'Reconciling')).toMatchObject({ status: 'False', reason: 'Suspended' });
    expect(condition(pv, 'Stalled')?.status).toBe('False');
    expect(pushes).toBe(0);
    expect(await deploy.refs('refs/heads/drafts')).toEqual([]);
  });

  it('resumed, makes its draft; suspended again, leaves an upstream change out of git', async () => {
    const { upstream, deploy, run } = await world();
    await run(variant('east', { suspend: true }));
    const resumed = await run(variant('east', { suspend: false }));
    expect(condition(resumed.byName('east'), 'Ready')).toMatchObject({ status: 'True', reason: 'NoErrors' });
    const draft = 'refs/heads/drafts/east/packagevariant-1';
    expect(await deploy.refs('refs/heads/drafts')).toEqual([draft]);
    const head = await deploy.message(draft);

    const v2 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
    const suspended = await run(variant('east', { suspend: true }));
    expect(suspended.pushes).toBe(0);
    expect(condition(suspended.byName('east'), 'Ready')?.message).toBe(
      `suspended (spec.suspend): nothing is written to git; upstream ${v2.slice(0, 12)} is not in the downstream yet`,
    );
    expect(await deploy.message(draft)).toBe(head);
    expect(await deploy.show(draft, 'east/deployment.yaml')).toContain('image: nginx:1.25');

    const again = await run(variant('east'));
    expect(again.pushes).toBe(1);
    expect(await deploy.show(draft, 'east/deployment.yaml')).toContain('image: nginx:1.27');
  });

  it('is suspended by its PackageVariantSet: a generated variant reads the set it belongs to', async () => {
    const { deploy, run } = await world();
    const set: KubeObject = {
      apiVersion: API_VERSION,
      kind: 'PackageVariantSet',
      metadata: { name: 'fleet', namespace: 'default', uid: 'set-uid' },
      spec: {
        upstream: { repo: 'blueprints', package: 'nginx', revision: -1 },
        targets: [{ repositories: [{ name: 'deploy', packageNames: ['west'] }] }],
        suspend: true,
      },
    };
    const generated = variant('west');
    generated.metadata!.ownerReferences = [
      { apiVersion: API_VERSION, kind: 'PackageVariantSet', name: 'fleet', uid: 'set-uid', controller: true },
    ];
    const { byName, pushes, sets, variants, rejected } = await run(set, generated);
    expect(rejected).toEqual([]);
    expect(pushes).toBe(0);
    // The suspended set created no variant of its own.
    expect(variants.map((v) => v.metadata?.name)).toEqual(['west']);
    expect(condition(byName('west'), 'Ready')).toMatchObject({
      status: 'False',
      reason: 'Suspended',
      message: expect.stringMatching(/^suspended \(PackageVariantSet fleet is suspended\): nothing is written to git/),
    });
    expect(getCondition(sets[0]!.status?.conditions, 'Ready')).toEqual(
      expect.objectContaining({
        status: 'False',
        reason: 'Suspended',
        message:
          'suspended (spec.suspend): no PackageVariant is created, updated or deleted, and its variants write nothing to git; pending: 1 to create',
      }),
    );
    expect(await deploy.refs('refs/heads/drafts/west')).toEqual([]);
  });

  it('deleted while suspended, leaves git alone (orphaned) and says so in an event', async () => {
    const { cacheDir, deploy, repositories, run } = await world();
    await run(variant('east')); // its draft, which the deletion must leave
    const pv = variant('east', { suspend: true, deletionPolicy: 'delete' });
    pv.metadata = {
      ...pv.metadata,
      uid: 'east-uid',
      finalizers: [PACKAGE_VARIANT_FINALIZER],
      deletionTimestamp: '2026-01-01T00:00:00Z',
    };
    const store = new LocalObjectStore([...repositories(), pv]);
    const stores = new GitStores({ objects: store, cacheDir });
    try {
      const reconciler = new PackageVariantReconciler({ objects: store, stores, pushes: new PushCoalescer() });
      const before = await deploy.refs('refs/heads');
      await reconciler.reconcile('default/east');
      expect(await deploy.refs('refs/heads')).toEqual(before);
      expect(before).toContain('refs/heads/drafts/east/packagevariant-1');
      const gone = await store.get('PackageVariant', { namespace: 'default', name: 'east' });
      expect(gone?.metadata?.finalizers ?? []).toEqual([]);
      expect(store.events).toContainEqual(
        expect.objectContaining({
          reason: 'Orphaned',
          message: 'deleted while suspended (spec.suspend): the downstream revisions were left in place',
        }),
      );
    } finally {
      stores.close();
    }
  });
});

describe('a reconcile request (the reconcile-requested-at annotation)', () => {
  it('is recorded in status.lastHandledReconcileAt, and the next request replaces it', async () => {
    const { run } = await world();
    const requested = (value: string) => {
      const pv = variant('east');
      pv.metadata!.annotations = { [RECONCILE_REQUEST_ANNOTATION]: value };
      return pv;
    };
    const first = await run(requested('2026-12-01T10:00:00Z'));
    expect(first.byName('east').status?.lastHandledReconcileAt).toBe('2026-12-01T10:00:00Z');
    const second = await run(requested('2026-12-01T10:05:00Z'));
    expect(second.byName('east').status?.lastHandledReconcileAt).toBe('2026-12-01T10:05:00Z');
    const none = await run(variant('east'));
    expect(none.byName('east').status).not.toHaveProperty('lastHandledReconcileAt');
  });
});
