// status.upstream from real git, through the local adapter (the same reconciler the controller
// runs): up to date after a publish, behind by the upstream revisions published since, and since
// when (the first one's commit time); a Manual variant stays behind until its draft is published.
import { afterAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import type { PackageVariant } from '../../api/v1alpha1/index.ts';
import { runGit } from '../../lib/git/exec.ts';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { reconcileLocally } from '../local.ts';
import { blueprint, packageVariant, repository, TestRepo } from '../testing/fixtures.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

async function world() {
  const root = tempDir('pv-upstream-status-');
  dirs.push(root);
  const cacheDir = join(root, 'cache');
  const upstream = await TestRepo.create(root, 'blueprints');
  const deploy = await TestRepo.create(root, 'deploy');
  const run = async (pv: PackageVariant) => {
    const objects = [repository('blueprints', upstream.url), repository('deploy', deploy.url, true), pv];
    const result = await reconcileLocally(objects, { cacheDir });
    return result.variants.find((v) => v.metadata?.name === pv.metadata?.name)!;
  };
  /** Publishes the variant's pending draft, as `pvctl rpkg approve` does. */
  const approve = async (workspace: string) => {
    const store = deploy.store(join(root, `approver-${workspace}`));
    await store.refresh();
    const [approved] = await store.batch().approve({ packageName: 'east', workspace }).push();
    store.close();
    expect(approved?.status).toBe('created');
  };
  const commitTime = async (commit: string) =>
    new Date((await runGit(['--git-dir', upstream.bare, 'log', '-1', '--format=%cI', commit])).stdout.toString().trim())
      .toISOString()
      .replace('.000Z', 'Z');
  return { upstream, deploy, run, approve, commitTime };
}

const east = (extra: Partial<NonNullable<PackageVariant['spec']>> = {}) =>
  packageVariant('east', {
    upstream: { repo: 'blueprints', package: 'nginx' },
    downstream: { repo: 'deploy', package: 'east' },
    ...extra,
  });

describe('status.upstream (local mode, real git)', () => {
  it('Manual: only latest before a publish; up to date after; behind 2 since v2 while its draft waits', async () => {
    const { upstream, run, approve, commitTime } = await world();
    const v1 = await upstream.publish('nginx', blueprint('nginx'), 1);
    const cloned = await run(east());
    expect(cloned.status?.upstream).toEqual({ latest: { ref: 'nginx/v1', revision: 1, commit: v1 } });

    await approve('packagevariant-1');
    const published = await run(east());
    expect(published.status?.upstream).toEqual({
      latest: { ref: 'nginx/v1', revision: 1, commit: v1 },
      locked: { ref: 'nginx/v1', revision: 1, commit: v1 },
      behind: 0,
    });

    const v2 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
    const v3 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.28' }), 3);
    const behind = await run(east());
    expect(behind.status?.downstreamTargets?.[0]).toMatchObject({ lifecycle: 'Draft', upstreamCommit: v3 });
    expect(behind.status?.upstream).toEqual({
      latest: { ref: 'nginx/v3', revision: 3, commit: v3 },
      locked: { ref: 'nginx/v1', revision: 1, commit: v1 },
      behind: 2,
      behindSince: await commitTime(v2),
    });

    await approve('packagevariant-2');
    expect((await run(east())).status?.upstream).toMatchObject({ locked: { revision: 3, commit: v3 }, behind: 0 });
  });

  it('Automatic: the revision published in the same pass is the lock, so the variant is up to date', async () => {
    const { upstream, run } = await world();
    const v1 = await upstream.publish('nginx', blueprint('nginx'), 1);
    expect((await run(east({ publishPolicy: 'Automatic' }))).status?.upstream).toMatchObject({
      locked: { revision: 1, commit: v1 },
      behind: 0,
    });
    await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
    const v3 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.28' }), 3);
    const upgraded = await run(east({ publishPolicy: 'Automatic' }));
    expect(upgraded.status?.downstreamTargets?.[0]).toMatchObject({ lifecycle: 'Published', ref: 'east/v2' });
    expect(upgraded.status?.upstream).toMatchObject({
      latest: { revision: 3, commit: v3 },
      locked: { revision: 3, commit: v3 },
      behind: 0,
    });
  });

  it('suspended: observed and reported behind, nothing written', async () => {
    const { upstream, deploy, run } = await world();
    const v1 = await upstream.publish('nginx', blueprint('nginx'), 1);
    await run(east({ publishPolicy: 'Automatic' }));
    const v2 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
    const tags = await deploy.refs('refs/tags');
    const suspended = await run(east({ publishPolicy: 'Automatic', suspend: true }));
    expect(suspended.status?.upstream).toMatchObject({
      latest: { revision: 2, commit: v2 },
      locked: { revision: 1, commit: v1 },
      behind: 1,
      behindSince: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    expect(await deploy.refs('refs/tags')).toEqual(tags);
  });
});
