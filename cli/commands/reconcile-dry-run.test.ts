// `pvctl reconcile --dry-run`: every draft computed, nothing pushed, and the previewed diff equal to
// what the real pass then pushes (real git, file:// remotes).
import { afterAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runGit } from '../../lib/git/exec.ts';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { blueprint, packageVariant, repository, TestRepo } from '../../controllers/testing/fixtures.ts';
import { reconcileLocally } from '../../controllers/local.ts';
import type { KubeObject } from '../../api/v1alpha1/index.ts';
import { CONFLICTS_EXIT, runReconcile } from './reconcile.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const allRefs = async (repo: TestRepo) =>
  (await runGit(['--git-dir', repo.bare, 'for-each-ref', '--format=%(refname) %(objectname)'])).stdout.toString();

/** One variant on east and a set over west, both following nginx `revision` of blueprints (v1 published). */
async function fleet() {
  const root = tempDir('pvctl-dry-run-');
  dirs.push(root);
  const cacheDir = join(root, 'cache');
  const blueprints = await TestRepo.create(root, 'blueprints');
  await blueprints.publish('nginx', blueprint('nginx'), 1);
  const east = await TestRepo.create(root, 'east');
  const west = await TestRepo.create(root, 'west');
  const westRepo = repository('west', west.url, true);
  westRepo.metadata!.labels = { tier: 'edge' };
  const manifests = join(root, 'fleet.yaml');
  const objects = (revision: number): KubeObject[] => [
    repository('blueprints', blueprints.url),
    repository('east', east.url, true),
    westRepo,
    packageVariant('east-nginx', {
      upstream: { repo: 'blueprints', package: 'nginx', revision },
      downstream: { repo: 'east', package: 'nginx' },
      labels: { site: 'east' },
    }),
    {
      apiVersion: 'packagevariant.dev/v1alpha1',
      kind: 'PackageVariantSet',
      metadata: { name: 'edge', namespace: 'default' },
      spec: {
        upstream: { repo: 'blueprints', package: 'nginx', revision },
        targets: [{ repositorySelector: { matchLabels: { tier: 'edge' } } }],
      },
    },
  ];
  /** Writes the manifests for `revision` and runs `pvctl reconcile` on them. */
  const run = async (revision: number, args: Partial<Parameters<typeof runReconcile>[0]> = {}) => {
    writeFileSync(
      manifests,
      objects(revision)
        .map((o) => stringify(o))
        .join('---\n'),
    );
    const out: string[] = [];
    const err: string[] = [];
    const code = await runReconcile(
      { filename: [manifests], cacheDir, ...args },
      (l) => out.push(l),
      (l) => err.push(l),
    );
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  /** The v1 drafts pushed for real and approved, as a person would. */
  const publishV1 = async () => {
    await run(1);
    for (const repo of [east, west]) {
      const store = repo.store(join(root, 'approver'));
      await store.refresh();
      const [draft] = (await store.listRevisions()).filter((r) => r.lifecycle === 'Draft');
      await store.batch().approve({ packageName: draft!.packageName, workspace: draft!.workspace }).push();
      store.close();
    }
  };
  return { root, cacheDir, blueprints, east, west, objects, run, publishV1 };
}

describe('pvctl reconcile --dry-run', () => {
  it('pushes nothing, and previews exactly what the real pass then pushes', async () => {
    const { cacheDir, east, west, objects } = await fleet();
    const before = [await allRefs(east), await allRefs(west)];
    const preview = await reconcileLocally(objects(1), { cacheDir, dryRun: true });
    expect([await allRefs(east), await allRefs(west)]).toEqual(before);
    const byVariant = new Map(preview.previews.map((p) => [p.variant, p]));
    expect([...byVariant.keys()].sort()).toEqual(['default/east-nginx', 'default/edge-west-nginx']);
    expect(byVariant.get('default/east-nginx')).toMatchObject({
      repository: east.url,
      ref: 'refs/heads/drafts/nginx/packagevariant-1',
      files: ['nginx/Kptfile', 'nginx/deployment.yaml', 'nginx/package-context.yaml', 'nginx/service.yaml'],
    });
    expect(byVariant.get('default/east-nginx')!.patch).toContain('+    site: east');

    // The cache the dry run used still mirrors the remotes: the real pass pushes the same drafts.
    const real = await reconcileLocally(objects(1), { cacheDir });
    expect(real.pushes).toBeGreaterThan(0);
    for (const [variant, repo] of [
      ['default/east-nginx', east],
      ['default/edge-west-nginx', west],
    ] as const) {
      const p = byVariant.get(variant)!;
      const pushed = (
        await runGit(['--git-dir', repo.bare, 'diff', '--no-color', '--no-renames', 'main', p.ref, '--', 'nginx'])
      ).stdout.toString();
      expect(p.patch).toBe(pushed);
    }
  });

  it('prints a diff per variant against its published package with -o diff, and FILES in the table', async () => {
    const { blueprints, east, run, publishV1 } = await fleet();
    await publishV1();
    await blueprints.publish('nginx', blueprint('nginx', { image: 'nginx:1.26' }), 2);
    const eastBefore = await allRefs(east);
    const diff = await run(2, { dryRun: true, output: 'diff' });
    expect(diff.code).toBe(0);
    expect(diff.out).toMatch(
      /^# default\/east-nginx: file:\/\/.*east\.git refs\/heads\/drafts\/nginx\/packagevariant-2 \(2 file\(s\)\)$/m,
    );
    expect(diff.out).toContain('-          image: nginx:1.25');
    expect(diff.out).toContain('+          image: nginx:1.26');
    expect(diff.err).toMatch(
      /dry run: nothing pushed; 2 ref\(s\) would be written and 0 deleted in 2 repository\(ies\)/,
    );
    const tableRun = await run(2, { dryRun: true });
    expect(tableRun.out).toMatch(/CONFLICTS\s+FILES/);
    // the set's variants, with what would happen to each (the input holds none of them)
    expect(tableRun.out).toMatch(
      /CHANGE\s+PACKAGEVARIANT\s+PACKAGEVARIANTSET\s+DOWNSTREAM\ncreate\s+default\/edge-west-nginx\s+default\/edge\s+nginx/,
    );
    expect(tableRun.out).toMatch(/default\s+east-nginx\s+True\s+\S+\s+\S+\s+Draft\s+0\s+[1-9]/);
    expect(await allRefs(east)).toBe(eastBefore);
  });

  it('-o diff needs --dry-run', async () => {
    const { run } = await fleet();
    await expect(run(1, { output: 'diff' })).rejects.toThrow(
      '-o diff shows what a push would change: it needs --dry-run',
    );
  });

  it('--fail-on-conflicts exits 3 when a draft would carry conflicts', async () => {
    const { root, blueprints, east, run, publishV1 } = await fleet();
    await publishV1();
    // a person scales east's published package; upstream scales it too
    const store = east.store(join(root, 'approver'));
    await store.refresh();
    const published = await store.readPackage({ packageName: 'nginx' });
    store.close();
    const local = new Map(published);
    local.set(
      'deployment.yaml',
      Buffer.from(published.get('deployment.yaml')!.toString().replace('replicas: 1', 'replicas: 5')),
    );
    await east.publish('nginx', local, 2);
    await blueprints.publish('nginx', blueprint('nginx', { image: 'nginx:1.26', replicas: 3 }), 2);
    const eastBefore = await allRefs(east);
    const preview = await run(2, { dryRun: true, failOnConflicts: true });
    expect(preview.code).toBe(CONFLICTS_EXIT);
    expect(preview.out).toMatch(/default\s+east-nginx\s+True\s+\S+\s+\S+\s+Draft\s+1\s/);
    expect(await allRefs(east)).toBe(eastBefore);
    expect((await run(2, { dryRun: true })).code).toBe(0);
  });
});
