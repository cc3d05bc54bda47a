// The PackageVariant reconciler against real git repositories on disk, through the local adapter.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { PackageVariant } from '../../api/v1alpha1/index.ts';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { getCondition } from '../../lib/kube/conditions.ts';
import { reconcileLocally } from '../local.ts';
import { blueprint, packageVariant, repository, TestRepo } from '../testing/fixtures.ts';

let root: string;
let cacheDir: string;
let upstream: TestRepo;
let deploy: TestRepo;

beforeAll(async () => {
  root = tempDir('pv-reconcile-');
  cacheDir = join(root, 'cache');
  upstream = await TestRepo.create(root, 'blueprints');
  deploy = await TestRepo.create(root, 'deploy');
});
afterAll(() => removeDir(root));

const variant = (name: string, extra: Partial<NonNullable<PackageVariant['spec']>> = {}) =>
  packageVariant(name, {
    upstream: { repo: 'blueprints', package: 'nginx' },
    downstream: { repo: 'deploy', package: name },
    labels: { team: 'edge' },
    ...extra,
  });

async function run(...variants: PackageVariant[]) {
  const objects = [repository('blueprints', upstream.url), repository('deploy', deploy.url, true), ...variants];
  const result = await reconcileLocally(objects, { cacheDir });
  return { ...result, byName: (name: string) => result.variants.find((v) => v.metadata?.name === name)! };
}

const ready = (pv: PackageVariant) => getCondition(pv.status?.conditions, 'Ready');

describe('PackageVariant reconcile (local mode, real git)', () => {
  it('clones the latest published upstream revision into a draft that records its owner and upstream', async () => {
    const v1 = await upstream.publish('nginx', blueprint('nginx'), 1);
    const { byName, pushes } = await run(variant('east'));
    const pv = byName('east');
    expect(ready(pv)).toMatchObject({ status: 'True', reason: 'NoErrors' });
    expect(pv.status?.observedGeneration).toBe(1);
    expect(pv.status?.downstreamTargets).toEqual([
      expect.objectContaining({
        name: 'deploy.east.packagevariant-1',
        lifecycle: 'Draft',
        ref: 'drafts/east/packagevariant-1',
        upstreamCommit: v1,
      }),
    ]);
    expect(pushes).toBe(1);
    const kptfile = parse(await deploy.show('drafts/east/packagevariant-1', 'east/Kptfile'));
    expect(kptfile.metadata).toMatchObject({ name: 'east', labels: { team: 'edge' } });
    expect(kptfile.upstream.git).toMatchObject({ directory: 'nginx', ref: 'nginx/v1' });
    expect(kptfile.upstreamLock.git.commit).toBe(v1);
    const context = parse(await deploy.show('drafts/east/packagevariant-1', 'east/package-context.yaml'));
    expect(context.data).toEqual({ name: 'east', 'package-path': 'east' });
    const message = await deploy.message('drafts/east/packagevariant-1');
    expect(message).toMatch(/^Creating new revision by cloning/);
    expect(message).toContain('Packagevariant-Owner: default/east');
  });

  it('is idempotent: a second pass writes nothing and keeps one draft', async () => {
    const before = await deploy.refs('refs/heads/drafts');
    const { byName, pushes } = await run(variant('east'));
    expect(ready(byName('east'))?.status).toBe('True');
    expect(pushes).toBe(0);
    expect(await deploy.refs('refs/heads/drafts')).toEqual(before);
  });

  it('updates the pending draft in place when the mutations change', async () => {
    await run(variant('east', { labels: { team: 'edge', tier: 'gold' } }));
    expect(await deploy.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/east/packagevariant-1']);
    const kptfile = parse(await deploy.show('drafts/east/packagevariant-1', 'east/Kptfile'));
    expect(kptfile.metadata.labels).toEqual({ team: 'edge', tier: 'gold' });
  });

  it('upgrades a published downstream, keeping the customizations published after the clone', async () => {
    // Publish the draft, then a person publishes a customization (replicas 5) as the next revision.
    const store = deploy.store(join(root, 'approver-cache'));
    await store.refresh();
    const [approved] = await store.batch().approve({ packageName: 'east', workspace: 'packagevariant-1' }).push();
    expect(approved?.status).toBe('created');
    await deploy.work.git('pull', '-q', 'origin', 'main');
    const customized = (await deploy.show('main', 'east/deployment.yaml')).replace('replicas: 1', 'replicas: 5');
    await deploy.publish(
      'east',
      new Map(
        [...(await store.readPackage({ packageName: 'east' }))].map(([p, c]) => [
          p,
          p === 'deployment.yaml' ? Buffer.from(customized) : c,
        ]),
      ),
      2,
    );
    store.close();

    // Upstream publishes a new image and port.
    const v2 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.27', port: 8080 }), 2);
    const { byName } = await run(variant('east', { labels: { team: 'edge', tier: 'gold' } }));
    const pv = byName('east');
    expect(ready(pv)?.message).toBe('successfully ensured downstream package variant');
    const [target] = pv.status!.downstreamTargets!;
    expect(target).toMatchObject({ lifecycle: 'Draft', upstreamCommit: v2 });
    const deployment = await deploy.show(target!.ref!, 'east/deployment.yaml');
    expect(deployment).toContain('image: nginx:1.27');
    expect(deployment).toContain('containerPort: 8080');
    expect(deployment).toContain('replicas: 5 # scale per site');
    expect(deployment).toContain('# The nginx workload.');
    expect(await deploy.message(target!.ref!)).toMatch(/^Upgrading revision/);
  });

  it('reports an invalid spec as Stalled naming the field, and a missing Repository', async () => {
    const { byName } = await run(
      packageVariant('bad', { upstream: { repo: 'blueprints' }, downstream: { repo: 'deploy', package: 'bad' } }),
      variant('lost', { downstream: { repo: 'nowhere', package: 'lost' } }),
    );
    expect(getCondition(byName('bad').status?.conditions, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'ValidationError',
      message: 'spec.upstream.package: Required value',
    });
    expect(getCondition(byName('lost').status?.conditions, 'Stalled')).toMatchObject({
      reason: 'RepositoryNotFound',
      message: 'Repository default/nowhere (spec.downstream.repo) not found',
    });
  });

  it('refuses to take over a package it did not create unless told to adopt', async () => {
    await deploy.publish('foreign', blueprint('foreign'), 1);
    const first = await run(variant('foreign'));
    expect(getCondition(first.byName('foreign').status?.conditions, 'Stalled')?.reason).toBe('DownstreamNotOwned');
    const adopted = await run(variant('foreign', { adoptionPolicy: 'adoptExisting' }));
    expect(ready(adopted.byName('foreign'))?.status).toBe('True');
    expect(await deploy.refs('refs/heads/drafts/foreign')).toHaveLength(1);
  });
});
