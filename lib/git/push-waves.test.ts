// A batch bigger than `maxPushRefs` is pushed in atomic waves (git checks every lease against every
// ref, so one push of 10,000 leases takes minutes): the number of pushes, what each wave publishes
// together, and what a refused wave leaves behind. Real repositories; a pre-receive hook refuses refs.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitProcessStats, runGit } from './exec.ts';
import { DEFAULT_GIT_LIMITS, gitLimits, networkTimeoutMs, setGitLimits } from './limits.ts';
import { GitStore } from './store.ts';
import { createRepo, removeDir, samplePackage, tempDir } from './testing/repos.ts';

let root: string;
let bare: string;
let store: GitStore;

async function git(...args: string[]): Promise<string> {
  return (await runGit(['--git-dir', bare, ...args])).stdout.toString('utf8').trim();
}

async function remoteRefs(prefix: string): Promise<string[]> {
  return (await git('for-each-ref', '--format=%(refname)', prefix)).split('\n').filter(Boolean).sort();
}

/** Pushes made while `fn` runs (git processes, not batches). */
async function countPushes<T>(fn: () => Promise<T>): Promise<{ value: T; pushes: number }> {
  const before = gitProcessStats.byCommand.push?.count ?? 0;
  const value = await fn();
  return { value, pushes: (gitProcessStats.byCommand.push?.count ?? 0) - before };
}

/** The remote refuses every ref whose name contains `word`. */
function refuse(word: string): void {
  const hook = join(bare, 'hooks', 'pre-receive');
  writeFileSync(hook, `#!/bin/sh\nwhile read old new ref; do case "$ref" in *${word}*) exit 1;; esac; done\n`);
  chmodSync(hook, 0o755);
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`);

async function createDrafts(packages: string[]) {
  const batch = store.batch();
  for (const name of packages) batch.createDraft({ packageName: name, workspace: 'ws', files: samplePackage(name, 1) });
  return batch.push();
}

beforeEach(async () => {
  root = tempDir();
  let work;
  ({ bare, work } = await createRepo(root, 'deploy'));
  work.write('README.md', 'deployment repo\n');
  await work.commitAll('initial');
  await work.git('push', '-q', 'origin', 'main');
  store = new GitStore({ url: bare, cacheDir: join(root, 'cache') });
  await store.refresh();
});

afterEach(() => {
  store.close();
  setGitLimits(DEFAULT_GIT_LIMITS);
  removeDir(root);
});

describe('push waves', () => {
  it('pushes a batch in waves of at most maxPushRefs ref updates (one kept for the branch), results per op', async () => {
    setGitLimits({ maxPushRefs: 5 });
    const { value: results, pushes } = await countPushes(() => createDrafts(names(12)));
    expect(pushes).toBe(3); // 4 drafts per wave + the branch's slot
    expect(results.map((r) => r.status)).toEqual(Array(12).fill('created'));
    expect(await remoteRefs('refs/heads/drafts')).toHaveLength(12);
    for (const r of results) expect(await git('rev-parse', r.refs[0]!)).toBe(r.commit);
  });

  it('pushes a batch within the limit in one push (the default: 500)', async () => {
    expect(gitLimits().maxPushRefs).toBe(500);
    const { pushes } = await countPushes(() => createDrafts(names(40)));
    expect(pushes).toBe(1);
  });

  it('moves the branch in each wave to its last approval, so every tag is on the branch when pushed', async () => {
    await createDrafts(names(6));
    setGitLimits({ maxPushRefs: 5 }); // an approval is 2 refs (tag, draft deleted): 2 per wave + the branch
    const batch = store.batch();
    for (const name of names(6)) batch.approve({ packageName: name, workspace: 'ws' });
    const { value: results, pushes } = await countPushes(() => batch.push());
    expect(pushes).toBe(3);
    expect(results.map((r) => [r.status, r.revision])).toEqual(Array(6).fill(['created', 1]));
    expect(await git('rev-parse', 'main')).toBe(results[5]!.commit);
    expect(await git('rev-list', '--count', '--merges', 'main')).toBe('6');
    for (const r of results) expect(await git('rev-parse', `refs/tags/${r.packageName}/v1`)).toBe(r.commit);
    expect(await remoteRefs('refs/heads/drafts')).toEqual([]);
  });

  it('keeps the waves pushed before a refused one and pushes the independent ones after it', async () => {
    refuse('p5');
    setGitLimits({ maxPushRefs: 3 }); // 2 drafts per wave: [p0 p1] [p2 p3] [p4 p5] [p6 p7]
    const results = await createDrafts(names(8));
    expect(results.map((r) => r.status)).toEqual([
      ...Array(4).fill('created'),
      'rejected',
      'rejected',
      'created',
      'created',
    ]);
    expect(results[4]!.message).toContain('refused after 3 attempt(s)');
    expect(await remoteRefs('refs/heads/drafts')).toEqual(
      ['p0', 'p1', 'p2', 'p3', 'p6', 'p7'].map((p) => `refs/heads/drafts/${p}/ws`),
    );
  });

  it('after a refused approval wave, moves the branch no further (no merge on it without its tag)', async () => {
    await createDrafts(names(6));
    refuse('tags/p3');
    setGitLimits({ maxPushRefs: 5 }); // [p0 p1] [p2 p3] [p4 p5]
    const batch = store.batch();
    for (const name of names(6)) batch.approve({ packageName: name, workspace: 'ws' });
    const results = await batch.push();
    expect(results.map((r) => r.status)).toEqual([
      'created',
      'created',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
    ]);
    expect(await git('rev-parse', 'main')).toBe(results[1]!.commit);
    expect(await git('rev-list', '--count', '--merges', 'main')).toBe('2');
    expect(await remoteRefs('refs/tags')).toEqual(['refs/tags/p0/v1', 'refs/tags/p1/v1']);
    expect(await remoteRefs('refs/heads/drafts')).toEqual(
      ['p2', 'p3', 'p4', 'p5'].map((p) => `refs/heads/drafts/${p}/ws`),
    );
  });
});

describe('network timeouts', () => {
  it('give a push more time per ref when the remote has many refs (git checks each lease against each)', async () => {
    const main = await git('rev-parse', 'main');
    const names = Array.from({ length: 12_000 }, (_, i) => `refs/heads/old/${i}`).sort();
    writeFileSync(
      join(bare, 'packed-refs'),
      `# pack-refs with: sorted\n${names.map((r) => `${main} ${r}\n`).join('')}`,
    );
    await store.refresh();
    expect((await store.refs()).size).toBe(12_001);
    expect(store.cache.pushTimeoutMs(500)).toBe(120_000 + 500 * (12_001 / 10_000) * 50);
  }, 30_000);

  it('grow with the refs a command moves, from a configurable base', () => {
    expect(networkTimeoutMs(0)).toBe(120_000);
    expect(networkTimeoutMs(10_000)).toBe(120_000 + 10_000 * 50);
    expect(store.cache.networkTimeoutMs(500)).toBe(145_000);
    const perStore = new GitStore({ url: bare, cacheDir: join(root, 'other'), timeoutMs: 5_000 });
    try {
      expect(perStore.cache.networkTimeoutMs(100)).toBe(10_000);
    } finally {
      perStore.close();
    }
    expect(store.cache.pushTimeoutMs(500)).toBe(145_000);
    setGitLimits({ timeoutMs: 1_000, timeoutPerRefMs: 1 });
    expect(networkTimeoutMs(10)).toBe(1_010);
    expect(() => setGitLimits({ maxPushRefs: 0 })).toThrow(RangeError);
    expect(() => setGitLimits({ timeoutMs: -1 })).toThrow(RangeError);
  });
});
