// The PackageVariant controller in a cluster: the manager in-process against the real API server,
// real git repositories on disk. Drafts, upgrades, edits, deletion policies and adoption.
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PACKAGE_VARIANT_FINALIZER } from '../api/v1alpha1/index.ts';
import { blueprint } from '../controllers/testing/fixtures.ts';
import { adminClients, eventually } from './helpers.ts';
import { approve, condition, useControllerEnv } from './packagevariant-env.ts';

// Jest's per-project testTimeout is not applied; each spec says how long it may take.
const TIMEOUT_MS = 45_000;

describe('PackageVariant controller (cluster, real git)', () => {
  const env = useControllerEnv();

  async function setup() {
    const upstream = await env.repo('blueprints');
    const deploy = await env.repo('deploy');
    const v1 = await upstream.publish('nginx', blueprint('nginx'), 1);
    await env.createRepository('blueprints', upstream.url);
    await env.createRepository('deploy', deploy.url, true);
    await env.start();
    return { upstream, deploy, v1 };
  }
  const spec = (name: string, extra: object = {}) => ({
    upstream: { repo: 'blueprints', package: 'nginx' },
    downstream: { repo: 'deploy', package: name },
    labels: { team: 'edge' },
    ...extra,
  });

  it(
    'creates a draft and reports Ready with observedGeneration and downstreamTargets; a label change updates the draft',
    async () => {
      const { deploy, v1 } = await setup();
      await env.createVariant('east', spec('east'));
      const pv = await env.waitFor('east', (pv) => condition(pv, 'Ready')?.status === 'True');
      expect(pv.metadata?.finalizers).toContain(PACKAGE_VARIANT_FINALIZER);
      expect(pv.status?.observedGeneration).toBe(1);
      expect(condition(pv, 'Stalled')).toMatchObject({ status: 'False' });
      expect(pv.status?.downstreamTargets).toEqual([
        expect.objectContaining({ lifecycle: 'Draft', ref: 'drafts/east/packagevariant-1', upstreamCommit: v1 }),
      ]);
      expect(parse(await deploy.show('drafts/east/packagevariant-1', 'east/Kptfile')).metadata.labels).toEqual({
        team: 'edge',
      });
      const events = await eventually(async () => {
        const list = await adminClients().core.listNamespacedEvent({ namespace: env.namespace() });
        const created = list.items.filter((e) => e.reason === 'DraftCreated');
        expect(created).toHaveLength(1);
        return created;
      });
      expect(events[0]).toMatchObject({
        type: 'Normal',
        involvedObject: { kind: 'PackageVariant', name: 'east' },
        source: { component: 'packagevariant-controller' },
      });

      await env.patchVariant('east', { spec: { labels: { team: 'edge', tier: 'gold' } } });
      await env.waitFor('east', (pv) => pv.status?.observedGeneration === 2);
      await eventually(async () =>
        expect(parse(await deploy.show('drafts/east/packagevariant-1', 'east/Kptfile')).metadata.labels).toEqual({
          team: 'edge',
          tier: 'gold',
        }),
      );
      expect(await deploy.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/east/packagevariant-1']);
    },
    TIMEOUT_MS,
  );

  it(
    'makes an upgrade draft when the upstream publishes, keeping the downstream customizations',
    async () => {
      const { upstream, deploy } = await setup();
      await env.createVariant('east', spec('east'));
      await env.waitFor('east', (pv) => pv.status?.downstreamTargets?.[0]?.lifecycle === 'Draft');
      // A person approves the draft (noticed by the downstream poll), then publishes a customization.
      await approve(deploy, join(env.root(), 'person'), 'east', 'packagevariant-1');
      await env.waitFor('east', (pv) => pv.status?.downstreamTargets?.[0]?.lifecycle === 'Published');
      await deploy.work.git('pull', '-q', 'origin', 'main');
      const files = new Map<string, Buffer>();
      for (const file of ['Kptfile', 'deployment.yaml', 'service.yaml', 'package-context.yaml']) {
        const content = await deploy.show('main', `east/${file}`);
        files.set(
          file,
          Buffer.from(file === 'deployment.yaml' ? content.replace('replicas: 1', 'replicas: 5') : content),
        );
      }
      await deploy.publish('east', files, 2);

      const v2 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.27', port: 8080 }), 2);
      const pv = await env.waitFor('east', (pv) => pv.status?.downstreamTargets?.[0]?.upstreamCommit === v2);
      const [target] = pv.status!.downstreamTargets!;
      expect(target).toMatchObject({ lifecycle: 'Draft' });
      const deployment = await deploy.show(target!.ref!, 'east/deployment.yaml');
      expect(deployment).toContain('image: nginx:1.27');
      expect(deployment).toContain('containerPort: 8080');
      expect(deployment).toContain('replicas: 5 # scale per site');
      expect(await deploy.message(target!.ref!)).toMatch(/^Upgrading revision/);
    },
    TIMEOUT_MS,
  );

  it(
    'deletionPolicy delete: deletes drafts, proposes published revisions for deletion, then lets the variant go',
    async () => {
      const { deploy } = await setup();
      await env.createVariant('east', spec('east', { deletionPolicy: 'delete' }));
      await env.waitFor('east', (pv) => pv.status?.downstreamTargets?.[0]?.lifecycle === 'Draft');
      await approve(deploy, join(env.root(), 'person'), 'east', 'packagevariant-1');
      await env.waitFor('east', (pv) => pv.status?.downstreamTargets?.[0]?.lifecycle === 'Published');
      // A label change on a published package: an edit draft.
      await env.patchVariant('east', { spec: { labels: { team: 'edge', tier: 'gold' } } });
      const edited = await env.waitFor(
        'east',
        (pv) => pv.status?.observedGeneration === 2 && pv.status?.downstreamTargets?.[0]?.lifecycle === 'Draft',
      );
      const editRef = edited.status!.downstreamTargets![0]!.ref!;
      expect(editRef).toBe('drafts/east/packagevariant-2');
      expect(await deploy.message(editRef)).toMatch(/edit/i);

      await env.deleteVariant('east');
      await eventually(async () => expect(await env.getVariant('east')).toBeUndefined(), 20_000);
      expect(await deploy.refs('refs/heads/drafts')).toEqual([]);
      expect(await deploy.refs('refs/heads/deletionProposed')).toEqual(['refs/heads/deletionProposed/east/v1']);
      expect(await deploy.refs('refs/tags/east')).toEqual(['refs/tags/east/v1']);
    },
    TIMEOUT_MS,
  );

  it(
    'deletionPolicy orphan: removes the finalizer and leaves git alone',
    async () => {
      const { deploy } = await setup();
      await env.createVariant('west', spec('west', { deletionPolicy: 'orphan' }));
      await env.waitFor('west', (pv) => pv.status?.downstreamTargets?.[0]?.lifecycle === 'Draft');
      const before = await deploy.refs('refs/');
      await env.deleteVariant('west');
      await eventually(async () => expect(await env.getVariant('west')).toBeUndefined(), 20_000);
      expect(await deploy.refs('refs/')).toEqual(before);
      expect(before).toContain('refs/heads/drafts/west/packagevariant-1');
    },
    TIMEOUT_MS,
  );

  it(
    'adoption: adoptNone reports DownstreamNotOwned, adoptExisting takes the package over',
    async () => {
      const { deploy } = await setup();
      await deploy.publish('foreign', blueprint('foreign'), 1);
      await env.createVariant('foreign', spec('foreign', { adoptionPolicy: 'adoptNone' }));
      const stalled = await env.waitFor('foreign', (pv) => condition(pv, 'Stalled')?.status === 'True');
      expect(condition(stalled, 'Stalled')).toMatchObject({ reason: 'DownstreamNotOwned' });
      expect(condition(stalled, 'Ready')).toMatchObject({ status: 'False' });
      expect(await deploy.refs('refs/heads/drafts')).toEqual([]);

      await env.patchVariant('foreign', { spec: { adoptionPolicy: 'adoptExisting' } });
      const adopted = await env.waitFor('foreign', (pv) => condition(pv, 'Ready')?.status === 'True');
      expect(adopted.status?.observedGeneration).toBe(2);
      expect(await deploy.refs('refs/heads/drafts/foreign')).toHaveLength(1);
    },
    TIMEOUT_MS,
  );
});
