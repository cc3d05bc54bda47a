// Crash safety: `pvctl reconcile` is killed (SIGKILL) at random points of a 100-variant upgrade and
// run again; the end state must equal an uninterrupted run on a copy of the same repositories — the
// same drafts with the same contents, none twice, nothing lost.
import { spawn } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { runGit } from '../../lib/git/exec.ts';
import { GitStore } from '../../lib/git/store.ts';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { loadManifestFile } from '../../lib/kube/manifests.ts';
import type { KubeObject } from '../../api/v1alpha1/index.ts';
import { reconcileLocally } from '../local.ts';
import { blueprint, packageVariant, repository, TestRepo } from '../testing/fixtures.ts';

const VARIANTS = 100;
const SITES = ['site-a', 'site-b', 'site-c', 'site-d'];
const pvctl = join(import.meta.dirname, '..', '..', 'cli', 'pvctl.ts');

let root: string;

/** A seeded generator, so that a failing run can be repeated (the seed is in the test name). */
function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

function manifests(dir: string): string {
  const objects = [
    repository('blueprints', `file://${dir}/blueprints.git`),
    ...SITES.map((site) => repository(site, `file://${dir}/${site}.git`, true)),
    ...Array.from({ length: VARIANTS }, (_, i) =>
      packageVariant(`app-${i}`, {
        upstream: { repo: 'blueprints', package: 'nginx' },
        downstream: { repo: SITES[i % SITES.length]!, package: `app-${i}` },
        labels: { index: String(i) },
      }),
    ),
  ];
  const file = join(dir, 'fleet.yaml');
  writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  return file;
}

/** Every draft ref of the site repositories with the tree of its package: what must match. */
async function drafts(dir: string): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  for (const site of SITES) {
    const gitDir = join(dir, `${site}.git`);
    const out = (
      await runGit(['--git-dir', gitDir, 'for-each-ref', '--format=%(refname)', 'refs/heads/drafts'])
    ).stdout.toString();
    for (const ref of out.split('\n').filter(Boolean)) {
      const pkg = ref.split('/')[3]!;
      const tree = (await runGit(['--git-dir', gitDir, 'rev-parse', `${ref}:${pkg}`])).stdout.toString().trim();
      state.set(`${site}:${ref}`, tree);
    }
  }
  return state;
}

function runUntilKilled(file: string, cacheDir: string, killAfterMs: number): Promise<'killed' | 'finished'> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [pvctl, 'reconcile', '-f', file, '--cache-dir', cacheDir, '--concurrency', '8'],
      {
        stdio: 'ignore',
      },
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve(signal === 'SIGKILL' ? 'killed' : 'finished');
    });
  });
}

beforeAll(async () => {
  // The fleet before the upgrade: every variant cloned from nginx v1 and published.
  root = tempDir('pv-crash-');
  const fleet = join(root, 'fleet');
  const blueprints = await TestRepo.create(fleet, 'blueprints');
  await blueprints.publish('nginx', blueprint('nginx'), 1);
  for (const site of SITES) await TestRepo.create(fleet, site);
  const objects = loadManifestFile(manifests(fleet)).objects.map((o) => o.object as KubeObject);
  const cloned = await reconcileLocally(objects, { cacheDir: join(root, 'setup-cache') });
  expect(cloned.errors.size).toBe(0);
  for (const site of SITES) {
    const store = new GitStore({ url: `file://${fleet}/${site}.git`, cacheDir: join(root, 'setup-cache') });
    await store.refresh();
    const batch = store.batch();
    for (const r of await store.listRevisions()) {
      if (r.lifecycle === 'Draft') batch.approve({ packageName: r.packageName, workspace: r.workspace });
    }
    const results = await batch.push();
    expect(results.every((r) => r.status === 'created')).toBe(true);
    store.close();
  }
  await blueprints.publish('nginx', blueprint('nginx', { image: 'nginx:1.27', port: 8080 }), 2);
}, 120_000);
afterAll(() => removeDir(root));

describe('crash safety', () => {
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);

  it(`an upgrade killed at random points ends as an uninterrupted one (seed ${seed})`, async () => {
    // The uninterrupted run happens in place (so repository URLs, and so Kptfile locks, are the same),
    // then the fleet is put back as it was before the upgrade for the interrupted run.
    const fleet = join(root, 'fleet');
    const pristine = join(root, 'pristine');
    cpSync(fleet, pristine, { recursive: true });
    const file = manifests(fleet);
    const started = performance.now();
    expect(await runUntilKilled(file, join(root, 'reference-cache'), 120_000)).toBe('finished');
    const uninterruptedMs = performance.now() - started;
    const expected = await drafts(fleet);
    expect(expected.size).toBe(VARIANTS);
    rmSync(fleet, { recursive: true });
    cpSync(pristine, fleet, { recursive: true });
    expect((await drafts(fleet)).size).toBe(0);

    const next = random(seed);
    let kills = 0;
    const partial: number[] = [];
    for (let round = 0; round < 6; round++) {
      // Anywhere from process start-up to the last pushes of an uninterrupted run.
      const killAfter = Math.floor(next() * uninterruptedMs);
      if ((await runUntilKilled(file, join(root, 'crash-cache'), killAfter)) === 'killed') kills++;
      partial.push((await drafts(fleet)).size);
    }
    expect(await runUntilKilled(file, join(root, 'crash-cache'), 120_000)).toBe('finished');
    const actual = await drafts(fleet);

    // One draft per variant, each with exactly the contents of the uninterrupted run.
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
    expect(kills).toBeGreaterThan(0);
    console.log(
      `uninterrupted ${Math.round(uninterruptedMs)} ms; ${kills} kills; drafts after each round: ${partial.join(', ')}`,
    );
  }, 300_000);
});
