// A PackageVariantSet in local mode against real git repositories: the set expands into variants,
// the variants make drafts, the rollout holds and releases waves, Automatic publishes.
import { afterAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  API_VERSION,
  PACKAGE_VARIANT_SET_LABEL,
  type KubeObject,
  type PackageVariantSet,
  type PackageVariantSetSpec,
} from '../../api/v1alpha1/index.ts';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { getCondition } from '../../lib/kube/conditions.ts';
import { reconcileLocally } from '../local.ts';
import { blueprint, packageVariant, repository, TestRepo } from '../testing/fixtures.ts';

// Each test builds its own repositories (no test depends on another having run).
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** A blueprints repository with nginx v1 published, and an empty deployment repository per site. */
async function world(...siteNames: string[]) {
  const root = tempDir('pvset-local-');
  dirs.push(root);
  const upstream = await TestRepo.create(root, 'blueprints');
  await upstream.publish('nginx', blueprint('nginx'), 1);
  const sites: Record<string, TestRepo> = {};
  for (const name of siteNames) sites[name] = await TestRepo.create(root, name);
  const labelled = (name: string, labels: Record<string, string>): KubeObject => {
    const repo = repository(name, sites[name]!.url, true);
    repo.metadata!.labels = labels;
    return repo;
  };
  return { root, upstream, sites, labelled };
}

const set = (name: string, spec: Partial<PackageVariantSetSpec>): PackageVariantSet => ({
  apiVersion: API_VERSION,
  kind: 'PackageVariantSet',
  metadata: { name, namespace: 'default' },
  spec: { upstream: { repo: 'blueprints', package: 'nginx', revision: -1 }, targets: [], ...spec },
});

describe('PackageVariantSet in local mode (real git)', () => {
  it('a set over 3 repositories selected by label yields 3 variants and 3 drafts', async () => {
    const { root, upstream, sites, labelled } = await world('edge-1', 'edge-2', 'edge-3', 'core-1');
    const result = await reconcileLocally(
      [
        repository('blueprints', upstream.url),
        labelled('edge-1', { fleet: 'edge' }),
        labelled('edge-2', { fleet: 'edge' }),
        labelled('edge-3', { fleet: 'edge' }),
        labelled('core-1', { fleet: 'core' }),
        set('edge', {
          targets: [
            {
              repositorySelector: { matchLabels: { fleet: 'edge' } },
              template: {
                downstream: { packageExpr: "'nginx-' + target.name" },
                labelExprs: [{ key: 'site', valueExpr: 'repository.name' }],
              },
            },
          ],
        }),
      ],
      { cacheDir: join(root, 'cache-1') },
    );
    expect(result.errors).toEqual(new Map());
    const names = result.variants.map((v) => v.metadata?.name).sort();
    expect(names).toEqual(['edge-edge-1-nginx-edge-1', 'edge-edge-2-nginx-edge-2', 'edge-edge-3-nginx-edge-3']);
    const [pvs] = result.sets;
    for (const pv of result.variants) {
      expect(pv.metadata?.labels?.[PACKAGE_VARIANT_SET_LABEL]).toBe(pvs!.metadata!.uid);
      expect(getCondition(pv.status?.conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'NoErrors' });
    }
    for (const site of ['edge-1', 'edge-2', 'edge-3']) {
      const refs = await sites[site]!.refs('refs/heads/drafts');
      expect(refs).toEqual([`refs/heads/drafts/nginx-${site}/packagevariant-1`]);
      const kptfile = parse(await sites[site]!.show(`drafts/nginx-${site}/packagevariant-1`, `nginx-${site}/Kptfile`));
      expect(kptfile.metadata.labels).toEqual({ site });
    }
    expect(await sites['core-1']!.refs('refs/heads/drafts')).toEqual([]);
    expect(pvs!.status?.variants).toEqual({
      total: 3,
      upToDate: 0,
      waiting: 0,
      draftPending: 3,
      conflicted: 0,
      failed: 0,
    });
    expect(getCondition(pvs!.status?.conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'Reconciled' });
    expect(getCondition(pvs!.status?.conditions, 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'VariantsPending',
    });
  });

  /** A canary site and three prod sites; `fleet(rollout)` is the objects of a set over them. */
  async function rolloutWorld() {
    const w = await world('canary-1', 'prod-1', 'prod-2', 'prod-3');
    const fleet = (rollout: PackageVariantSetSpec['rollout']) => [
      repository('blueprints', w.upstream.url),
      w.labelled('canary-1', { tier: 'canary' }),
      w.labelled('prod-1', { tier: 'prod' }),
      w.labelled('prod-2', { tier: 'prod' }),
      w.labelled('prod-3', { tier: 'prod' }),
      set('web', {
        targets: [{ repositorySelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } }],
        rollout,
      }),
    ];
    return { ...w, fleet };
  }
  const stages = [
    { name: 'canary', selector: { matchLabels: { tier: 'canary' } } },
    { name: 'prod', selector: { matchLabels: { tier: 'prod' } } },
  ];

  it('Manual rollout: only the first wave gets a draft; the rest is held and says why', async () => {
    const { root, sites, fleet } = await rolloutWorld();
    const result = await reconcileLocally(fleet({ stages, maxConcurrent: 1 }), { cacheDir: join(root, 'cache-2') });
    expect(await sites['canary-1']!.refs('refs/heads/drafts')).toHaveLength(1);
    for (const prod of ['prod-1', 'prod-2', 'prod-3']) expect(await sites[prod]!.refs('refs/heads/drafts')).toEqual([]);
    const prod1 = result.variants.find((v) => v.metadata?.name === 'web-prod-1-nginx')!;
    expect(getCondition(prod1.status?.conditions, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'UpgradeHeld',
      message: 'clone waits: the rollout of PackageVariantSet web: stage "prod" waits for stage "canary"',
    });
    expect(result.sets[0]!.status?.rollout).toMatchObject({ currentStage: 'canary', released: ['web-canary-1-nginx'] });
    expect(result.sets[0]!.status?.variants).toMatchObject({ draftPending: 1, waiting: 3 });
  });

  it('Automatic rollout: waves publish one after another until the fleet is up to date', async () => {
    const { root, sites, fleet } = await rolloutWorld();
    const result = await reconcileLocally(fleet({ stages, maxConcurrent: 2, publishPolicy: 'Automatic' }), {
      cacheDir: join(root, 'cache-3'),
    });
    expect(result.errors).toEqual(new Map());
    for (const site of ['canary-1', 'prod-1', 'prod-2', 'prod-3']) {
      // The canary's and prod's drafts were published: tag v1, no draft left.
      expect(await sites[site]!.refs('refs/tags')).toEqual(['refs/tags/nginx/v1']);
      expect(await sites[site]!.refs('refs/heads/drafts')).toEqual([]);
    }
    const [pvs] = result.sets;
    expect(pvs!.status?.variants).toMatchObject({ total: 4, upToDate: 4 });
    expect(pvs!.status?.rollout).toMatchObject({ halted: false, message: 'complete: 4 variant(s) up to date' });
    expect(getCondition(pvs!.status?.conditions, 'Reconciling')).toMatchObject({ status: 'False' });
    // Wave by wave: the canary first, then prod two at a time (prod-3 waited for a free slot).
    const published = result.store.events.filter((e) => e.reason === 'DraftPublished').map((e) => e.name);
    expect(published[0]).toBe('web-canary-1-nginx');
    expect(published.slice(1, 3).sort()).toEqual(['web-prod-1-nginx', 'web-prod-2-nginx']);
    expect(published[3]).toBe('web-prod-3-nginx');
    const canary = result.variants.find((v) => v.metadata?.name === 'web-canary-1-nginx')!;
    expect(canary.status?.downstreamTargets).toEqual([
      expect.objectContaining({ lifecycle: 'Published', ref: 'nginx/v1' }),
    ]);
  });

  it('a new upstream revision: the canary gets the upgrade draft, prod reports its upgrade as held', async () => {
    const { root, upstream, sites, fleet } = await rolloutWorld();
    // First the whole fleet runs v1: an Automatic rollout publishes it everywhere.
    const rolledOut = await reconcileLocally(fleet({ stages, maxConcurrent: 2, publishPolicy: 'Automatic' }), {
      cacheDir: join(root, 'cache-3'),
    });
    expect(rolledOut.sets[0]!.status?.variants).toMatchObject({ total: 4, upToDate: 4 });
    const v2 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
    const result = await reconcileLocally(fleet({ stages, maxConcurrent: 1 }), { cacheDir: join(root, 'cache-3') });
    expect(result.errors).toEqual(new Map());
    const canary = result.variants.find((v) => v.metadata?.name === 'web-canary-1-nginx')!;
    expect(canary.status?.downstreamTargets).toEqual([
      expect.objectContaining({ lifecycle: 'Draft', upstreamCommit: v2, ref: 'drafts/nginx/packagevariant-2' }),
    ]);
    expect(await sites['canary-1']!.show('drafts/nginx/packagevariant-2', 'nginx/deployment.yaml')).toContain(
      'image: nginx:1.27',
    );
    for (const prod of ['prod-1', 'prod-2', 'prod-3']) {
      expect(await sites[prod]!.refs('refs/heads/drafts')).toEqual([]);
      const pv = result.variants.find((v) => v.metadata?.name === `web-${prod}-nginx`)!;
      expect(getCondition(pv.status?.conditions, 'Ready')).toMatchObject({
        reason: 'UpgradeHeld',
        message: 'upgrade waits: the rollout of PackageVariantSet web: stage "prod" waits for stage "canary"',
      });
      // Still reported: the published revision it runs now.
      expect(pv.status?.downstreamTargets).toEqual([expect.objectContaining({ lifecycle: 'Published' })]);
    }
    expect(result.sets[0]!.status?.variants).toMatchObject({ draftPending: 1, waiting: 3 });
  });
});

describe('PackageVariantSet whose upstream does not exist (real git)', () => {
  async function ghostWorld() {
    const w = await world('edge-1', 'edge-2');
    const fleet = (upstreamSpec: PackageVariantSetSpec['upstream']) => [
      repository('blueprints', w.upstream.url),
      w.labelled('edge-1', { fleet: 'edge' }),
      w.labelled('edge-2', { fleet: 'edge' }),
      set('ghost', { upstream: upstreamSpec, targets: [{ repositorySelector: { matchLabels: { fleet: 'edge' } } }] }),
    ];
    return { ...w, fleet };
  }

  it.each([
    [
      'a package the repository does not hold',
      { repo: 'blueprints', package: 'nope', revision: -1 },
      "could not find upstream package revision 'nope/latest' in repo 'blueprints': package nope not found at main",
    ],
    [
      'a revision that was never published',
      { repo: 'blueprints', package: 'nginx', revision: 7 },
      "could not find upstream package revision 'nginx/7' in repo 'blueprints': revision 7 of package nginx not found",
    ],
    [
      'a workspace that does not exist',
      { repo: 'blueprints', package: 'nginx', workspaceName: 'nowhere' },
      "could not find upstream package revision 'nginx/nowhere' in repo 'blueprints': no revision with workspace nowhere",
    ],
  ])('%s: the set is Stalled with UpstreamNotFound and renders no variant', async (_, spec, message) => {
    const { root, sites, fleet } = await ghostWorld();
    const before = await Promise.all(['edge-1', 'edge-2'].map((site) => sites[site]!.refs()));
    const result = await reconcileLocally(fleet(spec), { cacheDir: join(root, 'cache-ghost') });
    const [pvs] = result.sets;
    for (const type of ['Stalled', 'Ready'] as const) {
      const condition = getCondition(pvs!.status?.conditions, type);
      expect(condition).toMatchObject({ status: type === 'Stalled' ? 'True' : 'False', reason: 'UpstreamNotFound' });
      expect(condition?.message).toContain(message);
    }
    expect(result.variants).toEqual([]);
    expect(await Promise.all(['edge-1', 'edge-2'].map((site) => sites[site]!.refs()))).toEqual(before);
  });

  it('the same set with an upstream that exists is Ready and renders its variants', async () => {
    const { root, fleet } = await ghostWorld();
    const result = await reconcileLocally(fleet({ repo: 'blueprints', package: 'nginx', revision: 1 }), {
      cacheDir: join(root, 'cache-ghost'),
    });
    expect(getCondition(result.sets[0]!.status?.conditions, 'Stalled')).toMatchObject({ status: 'False' });
    expect(result.variants.map((v) => v.metadata?.name).sort()).toEqual(['ghost-edge-1-nginx', 'ghost-edge-2-nginx']);
  });
});

describe('PackageVariant publishPolicy Automatic (real git)', () => {
  it('publishes a clean draft, and leaves one whose readiness gates are not True', async () => {
    const { root, upstream } = await world();
    const gated = blueprint('gated');
    const kptfile = gated.get('Kptfile')!.toString() + 'info:\n  readinessGates:\n    - conditionType: tested\n';
    gated.set('Kptfile', Buffer.from(kptfile.replace('info:\n  description: gated blueprint\n', '')));
    await upstream.publish('gated', gated, 1);
    const deploy = await TestRepo.create(root, 'single');
    const result = await reconcileLocally(
      [
        repository('blueprints', upstream.url),
        repository('single', deploy.url, true),
        packageVariant('plain', {
          upstream: { repo: 'blueprints', package: 'nginx' },
          downstream: { repo: 'single', package: 'plain' },
          publishPolicy: 'Automatic',
        }),
        packageVariant('gated', {
          upstream: { repo: 'blueprints', package: 'gated' },
          downstream: { repo: 'single', package: 'gated' },
          publishPolicy: 'Automatic',
        }),
      ],
      { cacheDir: join(root, 'cache-single') },
    );
    expect(result.errors).toEqual(new Map());
    expect(await deploy.refs('refs/tags')).toEqual(['refs/tags/plain/v1']);
    expect(await deploy.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/gated/packagevariant-1']);
    const draftKptfile = parse(await deploy.show('drafts/gated/packagevariant-1', 'gated/Kptfile'));
    expect(draftKptfile.info.readinessGates).toEqual([{ conditionType: 'tested' }]);
    const byName = (name: string) => result.variants.find((v) => v.metadata?.name === name)!;
    expect(byName('plain').status?.downstreamTargets).toEqual([
      expect.objectContaining({ lifecycle: 'Published', ref: 'plain/v1' }),
    ]);
    expect(byName('gated').status?.downstreamTargets).toEqual([expect.objectContaining({ lifecycle: 'Draft' })]);
    expect(result.store.events.filter((e) => e.reason === 'DraftPublished').map((e) => e.name)).toEqual(['plain']);
  });
});
