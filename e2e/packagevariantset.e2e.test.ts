// The PackageVariantSet controller in a cluster: the manager in-process against the real API
// server, real git repositories on disk. A set over repositories selected by label, relabelling
// (the Repository watch Porch lacks), and deletion through the set's finalizer.
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import {
  PACKAGE_VARIANT_FINALIZER,
  PACKAGE_VARIANT_SET_FINALIZER,
  PACKAGE_VARIANT_SET_LABEL,
  type PackageVariantSetSpec,
} from '../api/v1alpha1/index.ts';
import { mergePatch } from '../lib/kube/client.ts';
import { adminClients, eventually } from './helpers.ts';
import { condition } from './packagevariant-env.ts';
import { setCondition, useSetEnv } from './packagevariantset-env.ts';

// Jest's per-project testTimeout is not applied; each spec says how long it may take.
const TIMEOUT_MS = 45_000;

describe('PackageVariantSet controller (cluster, real git)', () => {
  const env = useSetEnv();

  const upstream = { repo: 'blueprints', package: 'nginx', revision: -1 };

  it(
    'a set over 3 repositories selected by label: 3 variants, 3 drafts, counted in the set status',
    async () => {
      const { repos } = await env.setupSites({
        'edge-1': { fleet: 'edge' },
        'edge-2': { fleet: 'edge' },
        'edge-3': { fleet: 'edge' },
        'core-1': { fleet: 'core' },
      });
      await env.createSet('edge', {
        upstream,
        targets: [
          {
            repositorySelector: { matchLabels: { fleet: 'edge' } },
            template: {
              downstream: { packageExpr: "'nginx-' + target.name" },
              labelExprs: [{ key: 'site', valueExpr: 'repository.name' }],
            },
          },
        ],
      });
      const pvs = await env.waitForSet('edge', (s) => s.status?.variants?.draftPending === 3);
      expect(pvs.metadata?.finalizers).toContain(PACKAGE_VARIANT_SET_FINALIZER);
      expect(pvs.status?.observedGeneration).toBe(1);
      expect(pvs.status?.variants).toEqual({
        total: 3,
        upToDate: 0,
        waiting: 0,
        draftPending: 3,
        conflicted: 0,
        failed: 0,
      });
      expect(setCondition(pvs, 'Ready')).toMatchObject({ status: 'True', reason: 'Reconciled' });
      expect(setCondition(pvs, 'Stalled')).toMatchObject({ status: 'False' });
      expect(setCondition(pvs, 'Reconciling')).toMatchObject({ status: 'True', reason: 'VariantsPending' });

      const variants = await env.variants();
      expect([...variants.keys()].sort()).toEqual([
        'edge-edge-1-nginx-edge-1',
        'edge-edge-2-nginx-edge-2',
        'edge-edge-3-nginx-edge-3',
      ]);
      for (const pv of variants.values()) {
        expect(pv.metadata?.labels?.[PACKAGE_VARIANT_SET_LABEL]).toBe(pvs.metadata?.uid);
        expect(pv.metadata?.ownerReferences).toEqual([
          expect.objectContaining({
            kind: 'PackageVariantSet',
            name: 'edge',
            uid: pvs.metadata?.uid,
            controller: true,
          }),
        ]);
        expect(pv.metadata?.finalizers).toContain(PACKAGE_VARIANT_FINALIZER);
        expect(condition(pv, 'Ready')).toMatchObject({ status: 'True' });
      }
      for (const site of ['edge-1', 'edge-2', 'edge-3']) {
        const repo = repos[site]!;
        expect(await repo.refs('refs/heads/drafts')).toEqual([`refs/heads/drafts/nginx-${site}/packagevariant-1`]);
        const kptfile = parse(await repo.show(`drafts/nginx-${site}/packagevariant-1`, `nginx-${site}/Kptfile`));
        expect(kptfile.metadata.labels).toEqual({ site });
      }
      expect(await repos['core-1']!.refs('refs/heads/drafts')).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it(
    'relabelling a repository adds a variant, and removes one whose draft its deletion policy cleans up',
    async () => {
      const { repos } = await env.setupSites({ a: { fleet: 'edge' }, b: { fleet: 'edge' }, c: { fleet: 'core' } });
      await env.createSet('edge', {
        upstream,
        targets: [{ repositorySelector: { matchLabels: { fleet: 'edge' } }, template: { deletionPolicy: 'delete' } }],
      });
      await env.waitForSet('edge', (s) => s.status?.variants?.draftPending === 2);
      expect(await repos.b!.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/nginx/packagevariant-1']);

      // c joins the fleet: a variant and a draft.
      await env.relabelRepository('c', { fleet: 'edge' });
      const grown = await env.waitForSet('edge', (s) => s.status?.variants?.draftPending === 3);
      expect(grown.status?.variants?.total).toBe(3);
      expect([...(await env.variants()).keys()].sort()).toEqual(['edge-a-nginx', 'edge-b-nginx', 'edge-c-nginx']);
      expect(await repos.c!.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/nginx/packagevariant-1']);

      // b leaves it: its variant goes, and its deletionPolicy (delete) removes its draft first.
      await env.relabelRepository('b', { fleet: null });
      await eventually(async () => expect((await env.variants()).has('edge-b-nginx')).toBe(false), 20_000);
      expect(await repos.b!.refs('refs/heads/drafts')).toEqual([]);
      const shrunk = await env.waitForSet('edge', (s) => s.status?.variants?.total === 2);
      expect(shrunk.status?.variants).toMatchObject({ total: 2, draftPending: 2 });
      expect([...(await env.variants()).keys()].sort()).toEqual(['edge-a-nginx', 'edge-c-nginx']);
      expect(await repos.a!.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/nginx/packagevariant-1']);
    },
    TIMEOUT_MS,
  );

  it(
    'objectSelector targets: a ConfigMap labelled into the selection adds a variant, one labelled out removes it',
    async () => {
      const { core } = adminClients();
      const namespace = env.namespace();
      const configMap = (name: string, labels: Record<string, string>) =>
        core.createNamespacedConfigMap({ namespace, body: { metadata: { name, namespace, labels } } });
      await configMap('site-a', { fleet: 'edge' });
      const { repos } = await env.setupSites({ deploy: {} });
      await env.createSet('sites', {
        upstream,
        targets: [
          {
            objectSelector: { apiVersion: 'v1', kind: 'ConfigMap', matchLabels: { fleet: 'edge' } },
            template: { downstream: { repo: 'deploy', packageExpr: 'target.name' }, deletionPolicy: 'delete' },
          },
        ],
      });
      await env.waitForSet('sites', (s) => s.status?.variants?.draftPending === 1);
      expect([...(await env.variants()).keys()]).toEqual(['sites-deploy-site-a']);

      // The watch on the selected kind: a new ConfigMap in the selection is a new variant.
      await configMap('site-b', { fleet: 'edge' });
      await env.waitForSet('sites', (s) => s.status?.variants?.draftPending === 2);
      expect([...(await env.variants()).keys()].sort()).toEqual(['sites-deploy-site-a', 'sites-deploy-site-b']);
      expect(await repos.deploy!.refs('refs/heads/drafts')).toEqual([
        'refs/heads/drafts/site-a/packagevariant-1',
        'refs/heads/drafts/site-b/packagevariant-1',
      ]);

      await core.patchNamespacedConfigMap(
        { namespace, name: 'site-a', body: { metadata: { labels: { fleet: null } } } },
        mergePatch,
      );
      await eventually(async () => expect([...(await env.variants()).keys()]).toEqual(['sites-deploy-site-b']), 20_000);
      expect(await repos.deploy!.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/site-b/packagevariant-1']);
      await env.waitForSet('sites', (s) => s.status?.variants?.total === 1);
    },
    TIMEOUT_MS,
  );

  it(
    'deleting the set deletes its variants through the set finalizer (no garbage collector here)',
    async () => {
      const { repos } = await env.setupSites({ a: {}, b: {} });
      const spec: PackageVariantSetSpec = { upstream, targets: [{ repositories: [{ name: 'a' }, { name: 'b' }] }] };
      await env.createSet('pair', spec);
      await env.waitForSet('pair', (s) => s.status?.variants?.draftPending === 2);
      expect([...(await env.variants()).keys()].sort()).toEqual(['pair-a-nginx', 'pair-b-nginx']);

      await env.deleteSet('pair');
      await eventually(async () => expect(await env.getSet('pair')).toBeUndefined(), 20_000);
      expect(await env.variants()).toEqual(new Map());
      // The variants' own finalizers ran first (deletionPolicy delete by default): no drafts left.
      expect(await repos.a!.refs('refs/heads/drafts')).toEqual([]);
      expect(await repos.b!.refs('refs/heads/drafts')).toEqual([]);
    },
    TIMEOUT_MS,
  );
});
