// Set reconciliation through the local adapter: create, update, delete, retarget, collisions,
// conditions, finalizer and rollout holds.
import { describe, expect, it } from '@jest/globals';
import {
  API_VERSION,
  PACKAGE_VARIANT_FINALIZER,
  PACKAGE_VARIANT_SET_FINALIZER,
  PACKAGE_VARIANT_SET_LABEL,
  ROLLOUT_HOLD_ANNOTATION,
  type KubeObject,
  type PackageVariant,
  type PackageVariantSet,
  type PackageVariantSetSpec,
  type PackageVariantSetStatus,
  type PackageVariantStatus,
} from '../../api/v1alpha1/index.ts';
import { getCondition } from '../../lib/kube/conditions.ts';
import { ConflictError } from '../errors.ts';
import { LocalObjectStore } from '../local-store.ts';
import type { ObjectKey, OwnedKind, OwnedStatus, StoredKinds } from '../store.ts';
import { PackageVariantSetReconciler, type SetObservation, type SetReconcilerOptions } from './reconciler.ts';

class CountingStore extends LocalObjectStore {
  readonly calls: string[] = [];
  override async create(kind: 'PackageVariant', pv: PackageVariant) {
    this.calls.push(`create ${pv.metadata?.name}`);
    return super.create(kind, pv);
  }
  override async update(kind: 'PackageVariant', pv: PackageVariant) {
    this.calls.push(`update ${pv.metadata?.name}`);
    return super.update(kind, pv);
  }
  override async delete(kind: 'PackageVariant', key: ObjectKey) {
    this.calls.push(`delete ${key.name}`);
    return super.delete(kind, key);
  }
  override async patchStatus<K extends OwnedKind>(kind: K, obj: StoredKinds[K], status: OwnedStatus[K]) {
    if (kind === 'PackageVariantSet') this.calls.push(`status ${obj.metadata?.name}`);
    return super.patchStatus(kind, obj, status);
  }
  take(): string[] {
    return this.calls.splice(0).sort();
  }
}

const repo = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'Repository',
  metadata: { name, namespace: 'default', labels },
  spec: { git: { repo: `https://example.com/${name}.git` } },
});

const set = (spec: Partial<PackageVariantSetSpec>, name = 'my-pvs'): PackageVariantSet => ({
  apiVersion: API_VERSION,
  kind: 'PackageVariantSet',
  metadata: { name, namespace: 'default' },
  spec: { upstream: { repo: 'up', package: 'up', revision: -1 }, ...spec },
});

const NOW = '2026-01-01T00:00:00Z';

function setup(objects: KubeObject[], options: Pick<SetReconcilerOptions, 'findUpstream' | 'celLimits'> = {}) {
  const store = new CountingStore([repo('up'), ...objects]);
  const observed = new Map<string, SetObservation | undefined>();
  /** What the reconciler reported for the metrics: set key → rollout halted. */
  const rollouts = new Map<string, boolean | undefined>();
  const reconciler = new PackageVariantSetReconciler({
    objects: store,
    now: () => NOW,
    observe: (key, o) => observed.set(key, o),
    metrics: { rolloutState: (key, halted) => rollouts.set(key, halted) },
    ...options,
  });
  const pvsKey = { namespace: 'default', name: 'my-pvs' };
  return {
    store,
    observed,
    rollouts,
    reconcile: () => reconciler.reconcile('default/my-pvs'),
    getSet: async () => (await store.get('PackageVariantSet', pvsKey))!,
    variants: async () =>
      (await store.list('PackageVariant', 'default')).sort((a, b) =>
        a.metadata!.name!.localeCompare(b.metadata!.name!),
      ),
    update: async (spec: Partial<PackageVariantSetSpec>) => {
      const current = (await store.get('PackageVariantSet', pvsKey))!;
      store.put({
        ...current,
        spec: { ...current.spec, ...spec },
        metadata: { ...current.metadata, generation: current.metadata!.generation! + 1 },
      });
    },
  };
}

const condition = (status: PackageVariantSetStatus | undefined, type: string) => getCondition(status?.conditions, type);

describe('PackageVariantSet reconcile (local adapter)', () => {
  it('creates one owned variant per target with the finalizer, label and controller owner reference', async () => {
    const t = setup([
      repo('dnrepo1'),
      repo('dnrepo2'),
      set({ targets: [{ repositories: [{ name: 'dnrepo1' }, { name: 'dnrepo2', packageNames: ['a', 'b'] }] }] }),
    ]);
    await t.reconcile();
    const pvs = await t.getSet();
    expect(pvs.metadata?.finalizers).toEqual([PACKAGE_VARIANT_SET_FINALIZER]);
    const variants = await t.variants();
    expect(variants.map((v) => v.metadata?.name)).toEqual([
      'my-pvs-dnrepo1-up',
      'my-pvs-dnrepo2-a',
      'my-pvs-dnrepo2-b',
    ]);
    expect(variants[0]!.metadata).toMatchObject({
      labels: { [PACKAGE_VARIANT_SET_LABEL]: pvs.metadata!.uid },
      finalizers: [PACKAGE_VARIANT_FINALIZER],
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: 'PackageVariantSet',
          name: 'my-pvs',
          uid: pvs.metadata!.uid,
          controller: true,
        },
      ],
    });
    expect(variants[0]!.metadata?.annotations).toBeUndefined();
    expect(variants[0]!.spec).toEqual({
      upstream: { repo: 'up', package: 'up', revision: -1 },
      downstream: { repo: 'dnrepo1', package: 'up' },
    });
    expect(pvs.status).toMatchObject({
      observedGeneration: 1,
      variants: { total: 3, waiting: 3, upToDate: 0, draftPending: 0, conflicted: 0, failed: 0 },
    });
    expect(condition(pvs.status, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'Reconciled',
      message: 'package variants successfully reconciled',
      observedGeneration: 1,
    });
    expect(condition(pvs.status, 'Stalled')).toMatchObject({ status: 'False', reason: 'Valid' });
    expect(condition(pvs.status, 'Reconciling')).toMatchObject({ status: 'True', reason: 'VariantsPending' });
    expect(t.observed.get('default/my-pvs')).toEqual({
      repositories: true,
      objectKinds: [],
      variants: ['default/my-pvs-dnrepo1-up', 'default/my-pvs-dnrepo2-a', 'default/my-pvs-dnrepo2-b'],
    });
  });

  it('an upstream revision that went missing stalls the set, keeps its variants and looks again later', async () => {
    const lookup: { missing?: string } = {};
    const t = setup([repo('r1'), repo('r2'), set({ targets: [{ repositories: [{ name: 'r1' }, { name: 'r2' }] }] })], {
      findUpstream: async (pvs, repository) => {
        expect([pvs.metadata?.name, repository.metadata?.name]).toEqual(['my-pvs', 'up']);
        return lookup.missing;
      },
    });
    expect(await t.reconcile()).toBeUndefined();
    t.store.take();
    const missing = "could not find upstream package revision 'up/3' in repo 'up'";
    lookup.missing = missing;
    expect(await t.reconcile()).toEqual({ requeueAfterMs: 60_000 });
    const status = (await t.getSet()).status;
    for (const type of ['Stalled', 'Ready']) {
      expect(condition(status, type)).toMatchObject({ reason: 'UpstreamNotFound', message: missing });
    }
    expect(t.store.take()).toEqual(['status my-pvs']);
    expect((await t.variants()).map((v) => v.metadata?.name)).toEqual(['my-pvs-r1-up', 'my-pvs-r2-up']);
  });

  it('Porch TestEnsurePackageVariants: deletes, updates (only when changed) and creates by identity', async () => {
    const long = 'supersupersuperloooooooooooooooooooooooooooooooooooooooooooooooooongpkgname';
    const t = setup([
      repo('dnrepo1'),
      repo('dnrepo2'),
      repo('dnrepo3'),
      repo('dnrepo4'),
      set({
        targets: [
          {
            repositories: [
              { name: 'dnrepo1', packageNames: ['dnpkg1'] },
              { name: 'dnrepo2', packageNames: ['dnpkg2'] },
            ],
          },
        ],
      }),
    ]);
    await t.reconcile();
    t.store.take();
    await t.update({
      targets: [
        {
          repositories: [
            { name: 'dnrepo2', packageNames: ['dnpkg2'] },
            { name: 'dnrepo3', packageNames: ['dnpkg3'] },
            { name: 'dnrepo4', packageNames: [long] },
          ],
          template: { labels: { tier: 'gold' } },
        },
      ],
    });
    await t.reconcile();
    expect(t.store.take()).toEqual([
      'create my-pvs-dnrepo3-dnpkg3',
      'create my-pvs-dnrepo4-supersupersuperlooooooooooooooooooooooo-bec36506',
      'delete my-pvs-dnrepo1-dnpkg1',
      'status my-pvs',
      'update my-pvs-dnrepo2-dnpkg2',
    ]);
    const updated = (await t.variants()).find((v) => v.metadata?.name === 'my-pvs-dnrepo2-dnpkg2')!;
    expect(updated.spec?.labels).toEqual({ tier: 'gold' });
    expect(updated.metadata?.generation).toBe(2);
    // Nothing changed: no writes at all, not even status.
    await t.reconcile();
    expect(t.store.take()).toEqual([]);
  });

  it('keys existing variants by the identity in their spec, not by their name', async () => {
    const t = setup([repo('r1'), set({ targets: [{ repositories: [{ name: 'r1' }] }] })]);
    await t.reconcile();
    const [pv] = await t.variants();
    // Someone renamed it (a restored backup): same labels and owner, another name; it is still the r1 variant.
    await t.store.delete('PackageVariant', { namespace: 'default', name: pv!.metadata!.name! });
    await t.store.setFinalizers('PackageVariant', pv!, []);
    t.store.put({ ...pv!, metadata: { ...pv!.metadata, name: 'restored', finalizers: [] } });
    t.store.take();
    await t.reconcile();
    expect(t.store.take()).toEqual([]);
  });

  it('retargeting an entry deletes the old variant and creates the new one', async () => {
    const t = setup([
      repo('r1'),
      repo('r2'),
      set({ targets: [{ repositories: [{ name: 'r1' }], template: { downstream: { package: 'old' } } }] }),
    ]);
    await t.reconcile();
    t.store.take();
    await t.update({ targets: [{ repositories: [{ name: 'r1' }], template: { downstream: { package: 'new' } } }] });
    await t.reconcile();
    expect(t.store.take()).toEqual(['create my-pvs-r1-new', 'delete my-pvs-r1-old', 'status my-pvs']);
    // The old variant has the PV finalizer: it is terminating until its own reconciler cleans up.
    const old = (await t.variants()).find((v) => v.metadata?.name === 'my-pvs-r1-old');
    expect(old?.metadata?.deletionTimestamp).toBeDefined();
  });

  it('reports colliding identities in status instead of merging them', async () => {
    const t = setup([
      repo('a'),
      repo('a-b'),
      set({
        targets: [
          { repositories: [{ name: 'a-b', packageNames: ['c'] }] },
          { repositories: [{ name: 'a', packageNames: ['b-c'] }] },
          {
            repositories: [
              { name: 'a', packageNames: ['x'] },
              { name: 'a', packageNames: ['x'] },
            ],
          },
        ],
      }),
    ]);
    await t.reconcile();
    const pvs = await t.getSet();
    expect(pvs.status?.collisions).toEqual([
      { name: 'my-pvs-a-b-c', targets: ['targets[0]: a-b/c', 'targets[1]: a/b-c'] },
      { name: 'my-pvs-a-x', targets: ['targets[2]: a/x', 'targets[2]: a/x'] },
    ]);
    expect(condition(pvs.status, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'TargetCollision',
      message: 'my-pvs-a-b-c: targets[0]: a-b/c and targets[1]: a/b-c; my-pvs-a-x: targets[2]: a/x and targets[2]: a/x',
    });
    expect(condition(pvs.status, 'Ready')).toMatchObject({ status: 'False', reason: 'TargetCollision' });
    // The first of each collision is kept; nothing is merged silently.
    expect((await t.variants()).map((v) => v.spec?.downstream)).toEqual([
      { repo: 'a-b', package: 'c' },
      { repo: 'a', package: 'x' },
    ]);
  });

  it('reports validation errors, a missing upstream and template errors with Porch reasons', async () => {
    const t = setup([repo('r1'), set({ targets: [{ repositories: [{ name: '' }] }] })]);
    await t.reconcile();
    let status = (await t.getSet()).status;
    expect(condition(status, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'ValidationError',
      message: 'spec.targets[0].repositories[0].name: Required value: cannot be empty',
    });
    expect(condition(status, 'Ready')).toMatchObject({ status: 'False', reason: 'ValidationError' });
    expect(condition(status, 'Reconciling')).toMatchObject({ status: 'False', reason: 'ValidationError' });

    await t.update({
      upstream: { repo: 'missing', package: 'up', revision: -1 },
      targets: [{ repositories: [{ name: 'r1' }] }],
    });
    await t.reconcile();
    status = (await t.getSet()).status;
    expect(condition(status, 'Stalled')).toMatchObject({
      reason: 'UpstreamNotFound',
      message: 'could not find upstream Repository "missing" in namespace default',
    });
    expect(status?.observedGeneration).toBe(2);

    await t.update({
      upstream: { repo: 'up', package: 'up', revision: -1 },
      targets: [{ repositories: [{ name: 'r1' }], template: { labelExprs: [{ key: 'a', valueExpr: 'nope' }] } }],
    });
    await t.reconcile();
    expect(condition((await t.getSet()).status, 'Stalled')).toMatchObject({
      reason: 'UnexpectedError',
      message: "spec.targets[0].template.labelExprs[0].valueExpr: <input>:1:1: undeclared reference to 'nope'",
    });
    expect(await t.variants()).toEqual([]);
  });

  it('a nested comprehension: refused by its estimated cost (Stalled), or retried when it ran out of time', async () => {
    const ten = '[1,2,3,4,5,6,7,8,9,10]';
    let expr = "'x'";
    for (const v of ['a', 'b', 'c', 'd', 'e', 'f']) expr = `${ten}.map(${v}, ${expr})`;
    const spec = { targets: [{ repositories: [{ name: 'r1' }], template: { downstream: { packageExpr: expr } } }] };
    const t = setup([repo('r1'), set(spec)]);
    await t.reconcile();
    expect(condition((await t.getSet()).status, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'ValidationError',
      message: expect.stringContaining(
        'spec.targets[0].template.downstream.packageExpr: Invalid value: "[1,2,3,4,5,6,7,8,9,10].map(f, ',
      ),
    });

    // Let the estimate through: the evaluation's time limit ends it; the error is retried, not stalled.
    const limits = { costLimit: Number.MAX_SAFE_INTEGER, timeLimitMs: 2 };
    const u = setup([repo('r1'), set(spec)], { celLimits: limits });
    await expect(u.reconcile()).rejects.toThrow(
      'spec.targets[0].template.downstream.packageExpr: time limit exceeded: evaluation took more than 2 ms',
    );
    const status = (await u.getSet()).status;
    expect(condition(status, 'Stalled')).toMatchObject({ status: 'False' });
    expect(condition(status, 'Ready')).toMatchObject({ status: 'False', reason: 'UnexpectedError' });
    expect(await u.variants()).toEqual([]);
  });

  it('lets the event loop turn while it renders a large fleet of costly expressions', async () => {
    const ten = '[1,2,3,4,5,6,7,8,9,10]';
    const five = '[1,2,3,4,5]';
    const packageExpr = `${ten}.all(a, ${ten}.all(b, ${five}.all(c, a + b + c > 0))) ? target.name : 'x'`;
    const sites = Array.from({ length: 400 }, (_, i) => repo(`site-${i}`, { fleet: 'edge' }));
    const t = setup([
      ...sites,
      set({
        targets: [
          { repositorySelector: { matchLabels: { fleet: 'edge' } }, template: { downstream: { packageExpr } } },
        ],
      }),
    ]);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    try {
      await t.reconcile();
    } finally {
      clearInterval(timer);
    }
    const tookMs = performance.now() - started;
    expect(await t.variants()).toHaveLength(400);
    // 400 × 610 iterations, seconds here: without a turn between targets the timer never fires.
    expect(tookMs).toBeGreaterThan(100);
    expect(ticks).toBeGreaterThanOrEqual(10);
  });

  it('selects Repositories by label and objects by kind; observes the kinds to watch', async () => {
    const team = (name: string, region: string): KubeObject => ({
      apiVersion: 'hr.example.com/v1alpha1',
      kind: 'Team',
      metadata: { name, namespace: 'default', labels: { region } },
    });
    const t = setup([
      repo('edge-1', { fleet: 'edge' }),
      repo('edge-2', { fleet: 'edge' }),
      repo('core', { fleet: 'core' }),
      repo('teams'),
      team('alpha', 'eu'),
      team('beta', 'us'),
      set({
        targets: [
          { repositorySelector: { matchLabels: { fleet: 'edge' } } },
          {
            objectSelector: { apiVersion: 'hr.example.com/v1alpha1', kind: 'Team', matchLabels: { region: 'eu' } },
            template: { downstream: { repo: 'teams', packageExpr: "target.name + '-' + target.labels['region']" } },
          },
        ],
      }),
    ]);
    await t.reconcile();
    expect((await t.variants()).map((v) => v.metadata?.name)).toEqual([
      'my-pvs-edge-1-up',
      'my-pvs-edge-2-up',
      'my-pvs-teams-alpha-eu',
    ]);
    expect(t.observed.get('default/my-pvs')?.objectKinds).toEqual([
      { apiVersion: 'hr.example.com/v1alpha1', kind: 'Team' },
    ]);
    // A newly labelled Repository joins the fleet on the next reconcile (the manager watches Repositories).
    t.store.put(repo('edge-3', { fleet: 'edge' }));
    await t.reconcile();
    expect((await t.variants()).map((v) => v.metadata?.name)).toContain('my-pvs-edge-3-up');
  });

  it('deleting the set deletes its variants first, then releases the set', async () => {
    const t = setup([repo('r1'), repo('r2'), set({ targets: [{ repositories: [{ name: 'r1' }, { name: 'r2' }] }] })]);
    await t.reconcile();
    await t.store.deletePackageVariantSet({ namespace: 'default', name: 'my-pvs' });
    expect(await t.reconcile()).toEqual({ requeueAfterMs: 5000 });
    const terminating = await t.variants();
    expect(terminating.map((v) => !!v.metadata?.deletionTimestamp)).toEqual([true, true]);
    // The PackageVariant reconciler's finalizer runs (here: removed by hand), then the set goes.
    for (const pv of terminating) await t.store.setFinalizers('PackageVariant', pv, []);
    expect(await t.reconcile()).toBeUndefined();
    expect(await t.store.get('PackageVariantSet', { namespace: 'default', name: 'my-pvs' })).toBeUndefined();
    expect(t.observed.get('default/my-pvs')).toBeUndefined();
  });

  it('ignores variants it does not own', async () => {
    const foreign: PackageVariant = {
      apiVersion: API_VERSION,
      kind: 'PackageVariant',
      metadata: { name: 'other', namespace: 'default', labels: { [PACKAGE_VARIANT_SET_LABEL]: 'someone-else' } },
      spec: { upstream: { repo: 'up', package: 'up' }, downstream: { repo: 'r1', package: 'x' } },
    };
    const t = setup([repo('r1'), foreign, set({ targets: [{ repositories: [{ name: 'r1' }] }] })]);
    await t.reconcile();
    expect(t.store.take()).toEqual(['create my-pvs-r1-up', 'status my-pvs']);
    expect((await t.variants()).map((v) => v.metadata?.name)).toEqual(['my-pvs-r1-up', 'other']);
  });
});

describe('PackageVariantSet reconcile: write conflicts', () => {
  it('a variant changed since it was read (a conflict) fails the reconcile without an error status or event', async () => {
    const t = setup([repo('r1'), set({ targets: [{ repositories: [{ name: 'r1' }] }] })]);
    await t.reconcile();
    const before = (await t.getSet()).status;
    await t.update({ targets: [{ repositories: [{ name: 'r1' }], template: { labels: { tier: 'gold' } } }] });
    const update = t.store.update.bind(t.store);
    t.store.update = async () => {
      throw new ConflictError('Operation cannot be fulfilled: the object has been modified');
    };
    await expect(t.reconcile()).rejects.toBeInstanceOf(ConflictError);
    const pvs = await t.getSet();
    expect(condition(pvs.status, 'Ready')).toEqual(condition(before, 'Ready'));
    expect(t.store.events.filter((e) => e.reason === 'ReconcileFailed')).toEqual([]);
    // The retry goes through.
    t.store.update = update;
    await t.reconcile();
    expect((await t.variants())[0]!.spec?.labels).toEqual({ tier: 'gold' });
    expect(condition((await t.getSet()).status, 'Ready')).toMatchObject({ status: 'True', observedGeneration: 2 });
  });
});

describe('PackageVariantSet rollout (local adapter)', () => {
  const readyStatus = (pv: PackageVariant, extra: Partial<PackageVariantStatus> = {}, reason = 'NoErrors') => ({
    observedGeneration: pv.metadata!.generation!,
    conditions: [
      { type: 'Ready', status: 'True' as const, reason, message: '', lastTransitionTime: NOW },
      { type: 'Stalled', status: 'False' as const, reason: 'Valid', message: '', lastTransitionTime: NOW },
    ],
    ...extra,
  });

  it('holds later stages and limits drafts in flight; publish policy reaches every variant', async () => {
    const t = setup([
      repo('canary-1', { tier: 'canary' }),
      repo('prod-1', { tier: 'prod' }),
      repo('prod-2', { tier: 'prod' }),
      repo('prod-3', { tier: 'prod' }),
      repo('lab', {}),
      set({
        targets: [{ repositorySelector: {} }],
        rollout: {
          stages: [
            { name: 'canary', selector: { matchLabels: { tier: 'canary' } } },
            { name: 'prod', selector: { matchLabels: { tier: 'prod' } } },
          ],
          maxConcurrent: 2,
          publishPolicy: 'Automatic',
        },
      }),
    ]);
    await t.reconcile();
    const holds = async () =>
      Object.fromEntries(
        (await t.variants()).map((v) => [
          v.metadata!.name!.replace('my-pvs-', ''),
          v.metadata?.annotations?.[ROLLOUT_HOLD_ANNOTATION],
        ]),
      );
    expect(await holds()).toEqual({
      'canary-1-up': undefined,
      'lab-up': 'the rollout of PackageVariantSet my-pvs: stage "unstaged" waits for stage "canary"',
      'prod-1-up': 'the rollout of PackageVariantSet my-pvs: stage "prod" waits for stage "canary"',
      'prod-2-up': 'the rollout of PackageVariantSet my-pvs: stage "prod" waits for stage "canary"',
      'prod-3-up': 'the rollout of PackageVariantSet my-pvs: stage "prod" waits for stage "canary"',
      'up-up': 'the rollout of PackageVariantSet my-pvs: stage "unstaged" waits for stage "canary"',
    });
    expect((await t.variants()).every((v) => v.spec?.publishPolicy === 'Automatic')).toBe(true);
    let status = (await t.getSet()).status;
    expect(status?.rollout).toMatchObject({ currentStage: 'canary', released: ['my-pvs-canary-1-up'], halted: false });
    expect(t.rollouts.get('default/my-pvs')).toBe(false);
    expect(condition(status, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RolloutInProgress' });

    // The canary publishes (up to date): prod is released two at a time.
    const report = async (name: string, status: PackageVariantStatus) => {
      const pv = (await t.store.get('PackageVariant', { namespace: 'default', name }))!;
      await t.store.patchStatus('PackageVariant', pv, status);
    };
    const pv = async (name: string) => (await t.store.get('PackageVariant', { namespace: 'default', name }))!;
    await report('my-pvs-canary-1-up', readyStatus(await pv('my-pvs-canary-1-up')));
    await t.reconcile();
    expect(await holds()).toMatchObject({
      'canary-1-up':
        'the rollout of PackageVariantSet my-pvs: stage "canary" is complete; the rollout is in stage "prod"',
      'prod-1-up': undefined,
      'prod-2-up': undefined,
      'prod-3-up': 'the rollout of PackageVariantSet my-pvs: stage "prod" has 2 variant(s) in flight (maxConcurrent)',
    });

    // prod-1 has a draft pending, prod-2 failed: with the default budget (0) the rollout halts.
    const draft = { downstreamTargets: [{ name: 'prod-1.up.packagevariant-1', lifecycle: 'Draft' as const }] };
    await report('my-pvs-prod-1-up', readyStatus(await pv('my-pvs-prod-1-up'), draft));
    await report('my-pvs-prod-2-up', {
      observedGeneration: (await pv('my-pvs-prod-2-up')).metadata!.generation!,
      conditions: [
        { type: 'Stalled', status: 'True', reason: 'RepositoryNotFound', message: 'x', lastTransitionTime: NOW },
      ],
    });
    await t.reconcile();
    status = (await t.getSet()).status;
    expect(status?.variants).toEqual({ total: 6, upToDate: 1, waiting: 3, draftPending: 1, conflicted: 0, failed: 1 });
    expect(status?.rollout).toMatchObject({
      halted: true,
      message: 'halted: 1 failed variant(s) exceed maxFailures 0: my-pvs-prod-2-up',
      released: ['my-pvs-prod-1-up', 'my-pvs-prod-2-up'],
    });
    expect(condition(status, 'Reconciling')).toMatchObject({ status: 'False', reason: 'RolloutHalted' });
    expect(t.rollouts.get('default/my-pvs')).toBe(true);
    // A set with a failed variant is not Ready (the set itself is valid: not Stalled).
    expect(condition(status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'VariantsFailed',
      message: '1 of 6 variant(s) failed: my-pvs-prod-2-up',
    });
    expect(condition(status, 'Stalled')).toMatchObject({ status: 'False', reason: 'Valid' });
    expect((await holds())['prod-3-up']).toBe(
      'the rollout of PackageVariantSet my-pvs is halted: 1 failed variant(s) exceed maxFailures 0',
    );

    // Pausing holds everything not already in flight.
    await t.update({ rollout: { ...(await t.getSet()).spec!.rollout!, paused: true, maxFailures: 5 } });
    await t.reconcile();
    status = (await t.getSet()).status;
    expect(condition(status, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RolloutPaused' });
    expect(t.rollouts.get('default/my-pvs')).toBe(false); // within maxFailures 5 now: paused, not halted
    expect((await holds())['prod-3-up']).toBe('the rollout of PackageVariantSet my-pvs is paused');
  });

  it('without spec.rollout nothing is held (Porch behaviour)', async () => {
    const t = setup([repo('r1'), repo('r2'), set({ targets: [{ repositories: [{ name: 'r1' }, { name: 'r2' }] }] })]);
    await t.reconcile();
    expect((await t.variants()).map((v) => v.metadata?.annotations?.[ROLLOUT_HOLD_ANNOTATION])).toEqual([
      undefined,
      undefined,
    ]);
    expect((await t.getSet()).status?.rollout).toBeUndefined();
    expect(t.rollouts.has('default/my-pvs')).toBe(true);
    expect(t.rollouts.get('default/my-pvs')).toBeUndefined();
  });
});
