// PackageVariantSet rollouts in a cluster (beyond Porch): stages with maxConcurrent, pause and
// resume, and publishPolicy Automatic holding back a conflicted draft. The manager runs in-process
// against the real API server; git repositories are bare repositories on disk.
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import type { PackageVariant, PackageVariantSetSpec } from '../api/v1alpha1/index.ts';
import { blueprint, type TestRepo } from '../controllers/testing/fixtures.ts';
import { approve, condition } from './packagevariant-env.ts';
import { setCondition, useSetEnv } from './packagevariantset-env.ts';

// Jest's per-project testTimeout is not applied; each spec says how long it may take.
const TIMEOUT_MS = 60_000;

const upstreamSpec = { repo: 'blueprints', package: 'nginx', revision: -1 };
const draftOf = (pv: PackageVariant | undefined) => pv?.status?.downstreamTargets?.find((t) => t.lifecycle === 'Draft');

describe('PackageVariantSet rollouts (cluster, real git)', () => {
  const env = useSetEnv();

  const drafts = async (repos: Record<string, TestRepo>) =>
    Object.fromEntries(
      await Promise.all(
        Object.entries(repos).map(async ([name, repo]) => [name, await repo.refs('refs/heads/drafts')]),
      ),
    ) as Record<string, string[]>;
  /** A person approves the variant's pending draft. */
  const approveDraft = async (repo: TestRepo, variant: string) => {
    const pv = await env.waitFor(variant, (pv) => draftOf(pv) !== undefined);
    const workspace = draftOf(pv)!.ref!.split('/').pop()!;
    await approve(repo, join(env.root(), 'person'), 'nginx', workspace);
  };

  it(
    'stages with maxConcurrent 1: an upstream change reaches the fleet one stage (and one variant) at a time',
    async () => {
      const { upstream, repos } = await env.setupSites({
        canary: { tier: 'canary' },
        'prod-1': { tier: 'prod' },
        'prod-2': { tier: 'prod' },
      });
      const stages = [
        { name: 'canary', selector: { matchLabels: { tier: 'canary' } } },
        { name: 'prod', selector: { matchLabels: { tier: 'prod' } } },
      ];
      const targets: PackageVariantSetSpec['targets'] = [
        { repositorySelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } },
      ];
      // The fleet first runs v1, published automatically wave by wave.
      await env.createSet('web', {
        upstream: upstreamSpec,
        targets,
        rollout: { stages, maxConcurrent: 1, publishPolicy: 'Automatic' },
      });
      await env.waitForSet('web', (s) => s.status?.variants?.upToDate === 3, 30_000);
      for (const repo of Object.values(repos)) expect(await repo.refs('refs/tags')).toEqual(['refs/tags/nginx/v1']);
      // From now on a person publishes.
      await env.patchSet('web', { spec: { rollout: { publishPolicy: 'Manual' } } });
      const complete = await env.waitForSet(
        'web',
        (s) => s.status?.observedGeneration === 2 && setCondition(s, 'Reconciling')?.status === 'False',
      );
      expect(complete.status?.rollout).toMatchObject({ halted: false, message: 'complete: 3 variant(s) up to date' });

      const v2 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
      // Stage canary: the canary's upgrade draft; prod reports its upgrade as held.
      let pvs = await env.waitForSet(
        'web',
        (s) => s.status?.variants?.draftPending === 1 && !s.status.variants.upToDate,
      );
      expect(pvs.status?.rollout).toMatchObject({ currentStage: 'canary', released: ['web-canary-nginx'] });
      expect(pvs.status?.variants).toMatchObject({ total: 3, draftPending: 1, waiting: 2 });
      expect(setCondition(pvs, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RolloutInProgress' });
      expect(pvs.status?.rollout?.message).toBe('stage "canary" (1/2): 0/1 up to date, 1 in flight, 0 waiting');
      const canary = await env.waitFor('web-canary-nginx', (pv) => draftOf(pv)?.upstreamCommit === v2);
      expect(await repos.canary!.show(draftOf(canary)!.ref!, 'nginx/deployment.yaml')).toContain('image: nginx:1.27');
      const held = await env.waitFor('web-prod-1-nginx', (pv) => condition(pv, 'Ready')?.reason === 'UpgradeHeld');
      expect(condition(held, 'Ready')?.message).toBe(
        'upgrade waits: the rollout of PackageVariantSet web: stage "prod" waits for stage "canary"',
      );
      expect(await drafts(repos)).toEqual({
        canary: ['refs/heads/drafts/nginx/packagevariant-2'],
        'prod-1': [],
        'prod-2': [],
      });

      // The canary is published: stage prod starts, one variant at a time.
      await approveDraft(repos.canary!, 'web-canary-nginx');
      pvs = await env.waitForSet(
        'web',
        (s) => s.status?.rollout?.currentStage === 'prod' && !!s.status.variants?.draftPending,
      );
      expect(pvs.status?.variants).toMatchObject({ upToDate: 1, draftPending: 1, waiting: 1 });
      expect(pvs.status?.rollout).toMatchObject({ released: ['web-prod-1-nginx'] });
      expect(pvs.status?.rollout?.message).toBe('stage "prod" (2/2): 0/2 up to date, 1 in flight, 1 waiting');
      await env.waitFor('web-prod-1-nginx', (pv) => draftOf(pv)?.upstreamCommit === v2);
      expect(await drafts(repos)).toEqual({
        canary: [],
        'prod-1': ['refs/heads/drafts/nginx/packagevariant-2'],
        'prod-2': [],
      });

      await approveDraft(repos['prod-1']!, 'web-prod-1-nginx');
      pvs = await env.waitForSet('web', (s) => s.status?.variants?.upToDate === 2 && !!s.status.variants.draftPending);
      expect(pvs.status?.rollout).toMatchObject({ currentStage: 'prod', released: ['web-prod-2-nginx'] });
      await env.waitFor('web-prod-2-nginx', (pv) => draftOf(pv)?.upstreamCommit === v2);
      expect(await drafts(repos)).toEqual({
        canary: [],
        'prod-1': [],
        'prod-2': ['refs/heads/drafts/nginx/packagevariant-2'],
      });

      await approveDraft(repos['prod-2']!, 'web-prod-2-nginx');
      pvs = await env.waitForSet('web', (s) => s.status?.variants?.upToDate === 3);
      expect(setCondition(pvs, 'Reconciling')).toMatchObject({ status: 'False' });
      expect(pvs.status?.rollout).toMatchObject({ halted: false, message: 'complete: 3 variant(s) up to date' });
      for (const repo of Object.values(repos)) {
        expect(await repo.refs('refs/tags')).toEqual(['refs/tags/nginx/v1', 'refs/tags/nginx/v2']);
      }
    },
    TIMEOUT_MS,
  );

  it(
    'paused: the variants hold their drafts; unpausing releases them',
    async () => {
      const { repos } = await env.setupSites({ a: { fleet: 'edge' }, b: { fleet: 'edge' } });
      await env.createSet('edge', {
        upstream: upstreamSpec,
        targets: [{ repositorySelector: { matchLabels: { fleet: 'edge' } } }],
        rollout: { paused: true },
      });
      for (const name of ['edge-a-nginx', 'edge-b-nginx']) {
        const pv = await env.waitFor(name, (pv) => condition(pv, 'Ready')?.reason === 'UpgradeHeld');
        expect(condition(pv, 'Ready')?.message).toBe('clone waits: the rollout of PackageVariantSet edge is paused');
      }
      const paused = await env.waitForSet('edge', (s) => s.status?.variants?.waiting === 2);
      expect(setCondition(paused, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RolloutPaused' });
      expect(paused.status?.rollout).toMatchObject({ released: [], message: 'paused' });
      expect(await drafts(repos)).toEqual({ a: [], b: [] });

      await env.patchSet('edge', { spec: { rollout: { paused: false } } });
      const resumed = await env.waitForSet('edge', (s) => s.status?.variants?.draftPending === 2);
      expect(setCondition(resumed, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RolloutInProgress' });
      expect(resumed.status?.rollout?.released).toEqual(['edge-a-nginx', 'edge-b-nginx']);
      expect(await drafts(repos)).toEqual({
        a: ['refs/heads/drafts/nginx/packagevariant-1'],
        b: ['refs/heads/drafts/nginx/packagevariant-1'],
      });
    },
    TIMEOUT_MS,
  );

  it(
    'publishPolicy Automatic: a target whose merge conflicts is held back, not published, and reported',
    async () => {
      const { upstream, repos } = await env.setupSites({ a: { fleet: 'edge' }, b: { fleet: 'edge' } });
      await env.createSet('edge', {
        upstream: upstreamSpec,
        targets: [{ repositorySelector: { matchLabels: { fleet: 'edge' } } }],
        rollout: { publishPolicy: 'Automatic' },
      });
      await env.waitForSet('edge', (s) => s.status?.variants?.upToDate === 2);
      for (const repo of Object.values(repos)) expect(await repo.refs('refs/tags')).toEqual(['refs/tags/nginx/v1']);

      // A person customizes a's deployment (replicas 5) and publishes it as v2.
      const a = repos.a!;
      await a.work.git('pull', '-q', 'origin', 'main');
      const files = new Map<string, Buffer>();
      for (const file of ['Kptfile', 'deployment.yaml', 'service.yaml', 'package-context.yaml']) {
        const content = await a.show('main', `nginx/${file}`);
        files.set(
          file,
          Buffer.from(file === 'deployment.yaml' ? content.replace('replicas: 1', 'replicas: 5') : content),
        );
      }
      await a.publish('nginx', files, 2);
      await env.waitFor('edge-a-nginx', (pv) => pv.status?.downstreamTargets?.[0]?.ref === 'nginx/v2');

      // The upstream changes the same field: a conflicts, b does not.
      const v2 = await upstream.publish('nginx', blueprint('nginx', { replicas: 3 }), 2);
      const pvs = await env.waitForSet(
        'edge',
        (s) => s.status?.variants?.conflicted === 1 && s.status.variants.upToDate === 1,
      );
      expect(pvs.status?.variants).toEqual({
        total: 2,
        upToDate: 1,
        waiting: 0,
        draftPending: 0,
        conflicted: 1,
        failed: 0,
      });
      expect(setCondition(pvs, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RolloutInProgress' });
      expect(pvs.status?.rollout?.message).toBe('stage "all" (1/1): 1/2 up to date, 1 in flight, 0 waiting');

      // b's upgrade was published automatically; a's waits as a draft that reports its conflict.
      expect(await repos.b!.refs('refs/tags')).toEqual(['refs/tags/nginx/v1', 'refs/tags/nginx/v2']);
      expect(await repos.b!.refs('refs/heads/drafts')).toEqual([]);
      expect(await a.refs('refs/tags')).toEqual(['refs/tags/nginx/v1', 'refs/tags/nginx/v2']);
      const conflicted = await env.waitFor('edge-a-nginx', (pv) => draftOf(pv)?.upstreamCommit === v2);
      const draft = draftOf(conflicted)!;
      expect(await a.refs('refs/heads/drafts')).toEqual([`refs/heads/${draft.ref}`]);
      expect(draft.conflicts).toEqual([
        expect.objectContaining({ file: 'deployment.yaml', field: 'spec.replicas', local: '5', updated: '3' }),
      ]);
      expect(await a.show(draft.ref!, 'nginx/deployment.yaml')).toContain('replicas: 3');
    },
    TIMEOUT_MS,
  );
});
