// `pvctl reconcile --dry-run`: every draft computed, nothing pushed, and the previewed diff equal to
// what the real pass then pushes (real git, file:// remotes).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runGit } from '../../lib/git/exec.ts';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { blueprint, packageVariant, repository, TestRepo } from '../../controllers/testing/fixtures.ts';
import { reconcileLocally } from '../../controllers/local.ts';
import type { KubeObject } from '../../api/v1alpha1/index.ts';
import { CONFLICTS_EXIT, runReconcile } from './reconcile.ts';

let root: string;
let blueprints: TestRepo;
let east: TestRepo;
let west: TestRepo;
let objects: KubeObject[];
let manifests: string;

const allRefs = async (repo: TestRepo) =>
  (await runGit(['--git-dir', repo.bare, 'for-each-ref', '--format=%(refname) %(objectname)'])).stdout.toString();

async function run(args: Partial<Parameters<typeof runReconcile>[0]>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runReconcile(
    { filename: [manifests], cacheDir: join(root, 'cache'), ...args },
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  root = tempDir('pvctl-dry-run-');
  blueprints = await TestRepo.create(root, 'blueprints');
  await blueprints.publish('nginx', blueprint('nginx'), 1);
  east = await TestRepo.create(root, 'east');
  west = await TestRepo.create(root, 'west');
  const westRepo = repository('west', west.url, true);
  westRepo.metadata!.labels = { tier: 'edge' };
  objects = [
    repository('blueprints', blueprints.url),
    repository('east', east.url, true),
    westRepo,
    packageVariant('east-nginx', {
      upstream: { repo: 'blueprints', package: 'nginx', revision: 1 },
      downstream: { repo: 'east', package: 'nginx' },
      labels: { site: 'east' },
    }),
    {
      apiVersion: 'packagevariant.dev/v1alpha1',
      kind: 'PackageVariantSet',
      metadata: { name: 'edge', namespace: 'default' },
      spec: {
        upstream: { repo: 'blueprints', package: 'nginx', revision: 1 },
        targets: [{ repositorySelector: { matchLabels: { tier: 'edge' } } }],
      },
    },
  ];
  manifests = join(root, 'fleet.yaml');
  writeFileSync(manifests, objects.map((o) => stringify(o)).join('---\n'));
});
afterAll(() => removeDir(root));

describe('pvctl reconcile --dry-run', () => {
  it('pushes nothing, and previews exactly what the real pass then pushes', async () => {
    const before = [await allRefs(east), await allRefs(west)];
    const preview = await reconcileLocally(objects, { cacheDir: join(root, 'cache'), dryRun: true });
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
    const real = await reconcileLocally(objects, { cacheDir: join(root, 'cache') });
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
    for (const repo of [east, west]) {
      const store = repo.store(join(root, 'approver'));
      await store.refresh();
      const [draft] = (await store.listRevisions()).filter((r) => r.lifecycle === 'Draft');
      await store.batch().approve({ packageName: draft!.packageName, workspace: draft!.workspace }).push();
      store.close();
    }
    await blueprints.publish('nginx', blueprint('nginx', { image: 'nginx:1.26' }), 2);
    const upgrade = objects.map((o) =>
      o.kind === 'Repository'
        ? o
        : {
            ...o,
            spec: { ...(o as { spec: object }).spec, upstream: { repo: 'blueprints', package: 'nginx', revision: 2 } },
          },
    ) as KubeObject[];
    writeFileSync(manifests, upgrade.map((o) => stringify(o)).join('---\n'));
    const eastBefore = await allRefs(east);
    const diff = await run({ dryRun: true, output: 'diff' });
    expect(diff.code).toBe(0);
    expect(diff.out).toMatch(
      /^# default\/east-nginx: file:\/\/.*east\.git refs\/heads\/drafts\/nginx\/packagevariant-2 \(2 file\(s\)\)$/m,
    );
    expect(diff.out).toContain('-          image: nginx:1.25');
    expect(diff.out).toContain('+          image: nginx:1.26');
    expect(diff.err).toMatch(
      /dry run: nothing pushed; 2 ref\(s\) would be written and 0 deleted in 2 repository\(ies\)/,
    );
    const tableRun = await run({ dryRun: true });
    expect(tableRun.out).toMatch(/CONFLICTS\s+FILES/);
    // the set's variants, with what would happen to each (the input holds none of them)
    expect(tableRun.out).toMatch(
      /CHANGE\s+PACKAGEVARIANT\s+PACKAGEVARIANTSET\s+DOWNSTREAM\ncreate\s+default\/edge-west-nginx\s+default\/edge\s+nginx/,
    );
    expect(tableRun.out).toMatch(/default\s+east-nginx\s+True\s+\S+\s+\S+\s+Draft\s+0\s+[1-9]/);
    expect(await allRefs(east)).toBe(eastBefore);
  });

  it('-o diff needs --dry-run', async () => {
    await expect(run({ output: 'diff' })).rejects.toThrow('-o diff shows what a push would change: it needs --dry-run');
  });

  it('--fail-on-conflicts exits 3 when a draft would carry conflicts', async () => {
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
    await blueprints.publish('nginx', blueprint('nginx', { image: 'nginx:1.26', replicas: 3 }), 3);
    const upgrade = objects.map((o) =>
      o.kind === 'Repository'
        ? o
        : {
            ...o,
            spec: { ...(o as { spec: object }).spec, upstream: { repo: 'blueprints', package: 'nginx', revision: 3 } },
          },
    ) as KubeObject[];
    writeFileSync(manifests, upgrade.map((o) => stringify(o)).join('---\n'));
    const eastBefore = await allRefs(east);
    const preview = await run({ dryRun: true, failOnConflicts: true });
    expect(preview.code).toBe(CONFLICTS_EXIT);
    expect(preview.out).toMatch(/default\s+east-nginx\s+True\s+\S+\s+\S+\s+Draft\s+1\s/);
    expect(await allRefs(east)).toBe(eastBefore);
    expect((await run({ dryRun: true })).code).toBe(0);
  });
});
