// The no-change pass of local mode: a variant whose inputs did not move since a run that wrote
// nothing for it is decided from refs and trees (its remembered outcome), and anything that
// decides a reconcile makes it compute again: an upstream release, a spec change, a person's
// commit on the draft, an injection source, a lost memo.
import { afterAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { RECONCILE_REQUEST_ANNOTATION, type KubeObject, type PackageVariant } from '../api/v1alpha1/index.ts';
import { removeDir, tempDir } from '../lib/git/testing/repos.ts';
import { reconcileLocally } from './local.ts';
import { MEMO_FILE } from './packagevariant/memo.ts';
import { blueprint, packageVariant, repository, TestRepo } from './testing/fixtures.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const variant = (name: string, spec: Partial<NonNullable<PackageVariant['spec']>> = {}) =>
  packageVariant(name, {
    upstream: { repo: 'blueprints', package: 'nginx' },
    downstream: { repo: 'deploy', package: name },
    ...spec,
  });

async function world() {
  const root = tempDir('pv-memo-');
  dirs.push(root);
  const upstream = await TestRepo.create(root, 'blueprints');
  const deploy = await TestRepo.create(root, 'deploy');
  await upstream.publish('nginx', blueprint('nginx'), 1);
  const cacheDir = join(root, 'cache');
  const run = async (...objects: KubeObject[]) => {
    const result = await reconcileLocally(
      [repository('blueprints', upstream.url), repository('deploy', deploy.url, true), ...objects],
      { cacheDir },
    );
    const statusOf = (name: string) => result.variants.find((v) => v.metadata?.name === name)!.status!;
    return { ...result, statusOf };
  };
  return { root, cacheDir, upstream, deploy, run };
}

describe('local mode: a pass with nothing changed', () => {
  it('is decided from refs and trees once a pass wrote nothing, with the same status', async () => {
    const { run } = await world();
    const first = await run(variant('east'), variant('west'));
    expect([first.pushes, first.unchanged]).toEqual([1, 0]);
    const second = await run(variant('east'), variant('west')); // computes, writes nothing, remembers
    expect([second.pushes, second.unchanged]).toEqual([0, 0]);
    const third = await run(variant('east'), variant('west'));
    expect([third.pushes, third.unchanged]).toEqual([0, 2]);
    for (const name of ['east', 'west']) {
      const { conditions: a, ...restA } = second.statusOf(name);
      const { conditions: b, ...restB } = third.statusOf(name);
      expect(restB).toEqual(restA);
      expect(b?.map(({ type, status, reason, message }) => [type, status, reason, message])).toEqual(
        a?.map(({ type, status, reason, message }) => [type, status, reason, message]),
      );
    }
  });

  it('computes again after an upstream release, and carries it', async () => {
    const { upstream, run, deploy } = await world();
    await run(variant('east'));
    await run(variant('east'));
    expect((await run(variant('east'))).unchanged).toBe(1);
    const v2 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
    const after = await run(variant('east'));
    expect(after.unchanged).toBe(0);
    expect(after.statusOf('east').downstreamTargets![0]).toMatchObject({ upstreamCommit: v2 });
    expect(await deploy.show('drafts/east/packagevariant-1', 'east/deployment.yaml')).toContain('nginx:1.27');
  });

  it('computes again when the spec changes, or when a person commits to the draft', async () => {
    const { run, deploy } = await world();
    await run(variant('east'));
    await run(variant('east'));
    const labelled = await run(variant('east', { labels: { tier: 'gold' } }));
    expect([labelled.unchanged, labelled.pushes]).toEqual([0, 1]);
    expect(await deploy.show('drafts/east/packagevariant-1', 'east/Kptfile')).toContain('tier: gold');
    await run(variant('east', { labels: { tier: 'gold' } }));
    expect((await run(variant('east', { labels: { tier: 'gold' } }))).unchanged).toBe(1);

    await deploy.work.git('fetch', '-q', 'origin');
    await deploy.work.git('checkout', '-q', '-b', 'edit', 'origin/drafts/east/packagevariant-1');
    const edited = (await deploy.show('drafts/east/packagevariant-1', 'east/deployment.yaml')).replace(
      'replicas: 1',
      'replicas: 7',
    );
    deploy.work.write('east/deployment.yaml', edited);
    await deploy.work.commitAll('a person scales east');
    await deploy.work.git('push', '-q', 'origin', 'HEAD:drafts/east/packagevariant-1');
    const after = await run(variant('east', { labels: { tier: 'gold' } }));
    expect(after.unchanged).toBe(0);
    expect(await deploy.show('drafts/east/packagevariant-1', 'east/deployment.yaml')).toContain('replicas: 7');
  });

  it('computes again when an injection source changes, and injects it', async () => {
    const { upstream, run, deploy } = await world();
    const injectable = blueprint('nginx');
    injectable.set(
      'site.yaml',
      Buffer.from(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: site\n  annotations:\n    kpt.dev/config-injection: required\ndata:\n  region: unset\n',
      ),
    );
    await upstream.publish('nginx', injectable, 2);
    const site = (region: string) =>
      ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'site', namespace: 'default' },
        data: { region },
      }) as KubeObject;
    const pv = variant('east', { injectors: [{ kind: 'ConfigMap', name: 'site' }] });
    await run(pv, site('eu-west'));
    await run(pv, site('eu-west'));
    expect((await run(pv, site('eu-west'))).unchanged).toBe(1);
    const moved = await run(pv, site('us-east'));
    expect(moved.unchanged).toBe(0);
    expect(await deploy.show('drafts/east/packagevariant-1', 'east/site.yaml')).toContain('region: us-east');
  });

  it('computes in full when the memo is gone, and a request to reconcile is not answered from it', async () => {
    const { run, cacheDir } = await world();
    await run(variant('east'));
    await run(variant('east'));
    rmSync(join(cacheDir, MEMO_FILE));
    expect((await run(variant('east'))).unchanged).toBe(0);
    expect((await run(variant('east'))).unchanged).toBe(1);
    const requested = variant('east');
    requested.metadata!.annotations = { [RECONCILE_REQUEST_ANNOTATION]: '2026-12-02T00:00:00Z' };
    expect((await run(requested)).unchanged).toBe(0);
  });
});
