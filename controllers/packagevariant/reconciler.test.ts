// The PackageVariant reconciler against real git repositories on disk, through the local adapter.
import { afterAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { PackageVariant } from '../../api/v1alpha1/index.ts';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { getCondition } from '../../lib/kube/conditions.ts';
import { reconcileLocally } from '../local.ts';
import { blueprint, packageVariant, repository, TestRepo } from '../testing/fixtures.ts';

// Each test builds the repositories it needs (no test depends on another having run).
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const variant = (name: string, extra: Partial<NonNullable<PackageVariant['spec']>> = {}) =>
  packageVariant(name, {
    upstream: { repo: 'blueprints', package: 'nginx' },
    downstream: { repo: 'deploy', package: name },
    labels: { team: 'edge' },
    ...extra,
  });

/** A blueprints repository and a deployment repository; `published`: nginx v1 is published upstream. */
async function world(options: { published?: boolean } = {}) {
  const root = tempDir('pv-reconcile-');
  dirs.push(root);
  const cacheDir = join(root, 'cache');
  const upstream = await TestRepo.create(root, 'blueprints');
  const deploy = await TestRepo.create(root, 'deploy');
  const v1 = options.published ? await upstream.publish('nginx', blueprint('nginx'), 1) : undefined;
  const run = async (...variants: PackageVariant[]) => {
    const objects = [repository('blueprints', upstream.url), repository('deploy', deploy.url, true), ...variants];
    const result = await reconcileLocally(objects, { cacheDir });
    return { ...result, byName: (name: string) => result.variants.find((v) => v.metadata?.name === name)! };
  };
  return { root, upstream, deploy, v1, run };
}

const ready = (pv: PackageVariant) => getCondition(pv.status?.conditions, 'Ready');

describe('PackageVariant reconcile (local mode, real git)', () => {
  it('clones the latest published upstream revision into a draft that records its owner and upstream', async () => {
    const { upstream, deploy, run } = await world();
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
    const { deploy, run } = await world({ published: true });
    await run(variant('east'));
    const before = await deploy.refs('refs/heads/drafts');
    const { byName, pushes } = await run(variant('east'));
    expect(ready(byName('east'))?.status).toBe('True');
    expect(pushes).toBe(0);
    expect(await deploy.refs('refs/heads/drafts')).toEqual(before);
  });

  it('updates the pending draft in place when the mutations change', async () => {
    const { deploy, run } = await world({ published: true });
    await run(variant('east'));
    await run(variant('east', { labels: { team: 'edge', tier: 'gold' } }));
    expect(await deploy.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/east/packagevariant-1']);
    const kptfile = parse(await deploy.show('drafts/east/packagevariant-1', 'east/Kptfile'));
    expect(kptfile.metadata.labels).toEqual({ team: 'edge', tier: 'gold' });
  });

  it('upgrades a published downstream, keeping the customizations published after the clone', async () => {
    const { root, upstream, deploy, run } = await world({ published: true });
    await run(variant('east'));
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
    const { run } = await world();
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
    const { deploy, run } = await world({ published: true });
    await deploy.publish('foreign', blueprint('foreign'), 1);
    const first = await run(variant('foreign'));
    expect(getCondition(first.byName('foreign').status?.conditions, 'Stalled')?.reason).toBe('DownstreamNotOwned');
    const adopted = await run(variant('foreign', { adoptionPolicy: 'adoptExisting' }));
    expect(ready(adopted.byName('foreign'))?.status).toBe('True');
    expect(await deploy.refs('refs/heads/drafts/foreign')).toHaveLength(1);
  });
});

describe('beyond Porch (local mode, real git)', () => {
  /** blueprints (nginx v1 published), plain (a repository without revisions) and sites (deployment). */
  async function beyond() {
    const dir = tempDir('pv-beyond-');
    dirs.push(dir);
    const cache = join(dir, 'cache');
    const blueprints = await TestRepo.create(dir, 'blueprints');
    const plain = await TestRepo.create(dir, 'plain');
    const sites = await TestRepo.create(dir, 'sites');
    await blueprints.publish('nginx', blueprint('nginx'), 1);
    const pass = async (variants: PackageVariant[], cacheDir = cache) => {
      const objects = [
        repository('blueprints', blueprints.url),
        repository('plain', plain.url),
        repository('sites', sites.url, true),
        ...variants,
      ];
      const result = await reconcileLocally(objects, { cacheDir });
      return { ...result, byName: (name: string) => result.variants.find((v) => v.metadata?.name === name)! };
    };
    /** Commits package `web` on plain's main (no tag: not a published revision). */
    const commitWeb = async (files = blueprint('web'), message = 'web') => {
      await plain.work.git('pull', '-q', 'origin', 'main');
      plain.work.writePackage('web', files);
      await plain.work.commitAll(message);
      await plain.work.git('push', '-q', 'origin', 'main');
    };
    return { dir, blueprints, plain, sites, pass, commitWeb };
  }
  const site = (name: string, extra: Partial<NonNullable<PackageVariant['spec']>> = {}) =>
    packageVariant(name, {
      upstream: { repo: 'blueprints', package: 'nginx' },
      downstream: { repo: 'sites', package: name },
      ...extra,
    });

  it('recomputes a pending draft in place when the upstream moves again, instead of blocking', async () => {
    const { blueprints, sites, pass } = await beyond();
    await pass([site('pending')]);
    const first = await sites.refs('refs/heads/drafts/pending');
    expect(first).toEqual(['refs/heads/drafts/pending/packagevariant-1']);
    const before = await sites.message('drafts/pending/packagevariant-1');
    const v2 = await blueprints.publish('nginx', blueprint('nginx', { image: 'nginx:1.26' }), 2);
    const { byName } = await pass([site('pending')]);
    expect(await sites.refs('refs/heads/drafts/pending')).toEqual(first);
    expect(await sites.show('drafts/pending/packagevariant-1', 'pending/deployment.yaml')).toContain(
      'image: nginx:1.26',
    );
    expect(byName('pending').status?.downstreamTargets?.[0]).toMatchObject({ upstreamCommit: v2, lifecycle: 'Draft' });
    expect(await sites.message('drafts/pending/packagevariant-1')).not.toBe(before);
  });

  it('never makes two drafts for one change when two controllers race', async () => {
    const { dir, sites, pass } = await beyond();
    const racers = await Promise.all([
      pass([site('raced')], join(dir, 'cache-a')),
      pass([site('raced')], join(dir, 'cache-b')),
    ]);
    expect(await sites.refs('refs/heads/drafts/raced')).toHaveLength(1);
    // The loser saw its create refused and retries; its next look finds the winner's draft.
    const readyCount = racers.filter((r) => ready(r.byName('raced'))?.status === 'True').length;
    expect(readyCount).toBeGreaterThanOrEqual(1);
    const after = await pass([site('raced')], join(dir, 'cache-b'));
    expect(ready(after.byName('raced'))?.status).toBe('True');
    expect(await sites.refs('refs/heads/drafts/raced')).toHaveLength(1);
  });

  it('reports merge conflicts in status, in an event and in the draft commit message', async () => {
    const { dir, blueprints, sites, pass } = await beyond();
    await pass([site('conflicted')]);
    const store = sites.store(join(dir, 'approver'));
    await store.refresh();
    await store.batch().approve({ packageName: 'conflicted', workspace: 'packagevariant-1' }).push();
    const published = await store.readPackage({ packageName: 'conflicted' });
    store.close();
    const local = new Map(published);
    local.set(
      'deployment.yaml',
      Buffer.from(published.get('deployment.yaml')!.toString().replace('replicas: 1', 'replicas: 5')),
    );
    await sites.publish('conflicted', local, 2);
    await blueprints.publish('nginx', blueprint('nginx', { image: 'nginx:1.26', replicas: 3 }), 3);

    const { byName, store: objects } = await pass([site('conflicted')]);
    const target = byName('conflicted').status!.downstreamTargets![0]!;
    expect(target.conflicts).toEqual([
      expect.objectContaining({
        file: 'deployment.yaml',
        field: 'spec.replicas',
        original: '1',
        updated: '3',
        local: '5',
        winner: 'upstream',
      }),
    ]);
    expect(objects.events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'conflicted', type: 'Warning', reason: 'MergeConflicts' }),
      ]),
    );
    const message = await sites.message(target.ref!);
    expect(message).toContain('Merge conflicts (1)');
    expect(message).toMatch(
      /deployment\.yaml .* spec\.replicas: original "1", upstream "3", local "5" -> upstream wins/,
    );
    // The next pass writes nothing and keeps the conflicts of the unchanged draft.
    const again = await pass([site('conflicted')]);
    expect(again.pushes).toBe(0);
  });

  it('follows a branch of an unregistered git upstream (spec.upstream.git) and ignores commits that do not touch the package', async () => {
    const { plain, sites, pass, commitWeb } = await beyond();
    await commitWeb();
    const variant = packageVariant('from-git', {
      upstream: { git: { repo: plain.url, ref: 'main', directory: 'web' } },
      downstream: { repo: 'sites', package: 'from-git' },
    });
    const first = await pass([variant]);
    expect(ready(first.byName('from-git'))?.status).toBe('True');
    const kptfile = parse(await sites.show('drafts/from-git/packagevariant-1', 'from-git/Kptfile'));
    expect(kptfile.upstream.git).toMatchObject({ ref: 'main', directory: 'web' });
    const draftHead = await sites.message('drafts/from-git/packagevariant-1');

    plain.work.write('README.md', 'unrelated change\n');
    await plain.work.commitAll('docs');
    await plain.work.git('push', '-q', 'origin', 'main');
    const unrelated = await pass([variant]);
    expect(unrelated.pushes).toBe(0);
    expect(await sites.message('drafts/from-git/packagevariant-1')).toBe(draftHead);

    await commitWeb(blueprint('web', { image: 'web:2' }), 'web v2');
    await pass([variant]);
    expect(await sites.show('drafts/from-git/packagevariant-1', 'from-git/deployment.yaml')).toContain('image: web:2');
  });

  it('follows the branch of a registered repository that has no published revisions', async () => {
    const { sites, pass, commitWeb } = await beyond();
    await commitWeb();
    const { byName } = await pass([
      packageVariant('branchy', {
        upstream: { repo: 'plain', package: 'web' },
        downstream: { repo: 'sites', package: 'branchy' },
      }),
    ]);
    expect(ready(byName('branchy'))?.status).toBe('True');
    expect(parse(await sites.show('drafts/branchy/packagevariant-1', 'branchy/Kptfile')).upstream.git.ref).toBe('main');
  });
});
