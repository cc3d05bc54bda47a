// The coalescer gathers concurrent reconciles' writes into one batch per repository; a batch bigger
// than gitLimits().maxPushRefs reaches the remote in atomic waves, and every reconcile still gets
// exactly its own results. Real git (a bare repository on disk; a pre-receive hook refuses a ref).
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchResult } from '../../lib/git/batch.ts';
import { gitProcessStats, runGit } from '../../lib/git/exec.ts';
import { DEFAULT_GIT_LIMITS, setGitLimits } from '../../lib/git/limits.ts';
import { GitStore } from '../../lib/git/store.ts';
import { createRepo, removeDir, samplePackage, tempDir } from '../../lib/git/testing/repos.ts';
import { PushCoalescer } from './push-coalescer.ts';

let root: string;
let bare: string;
let store: GitStore;

beforeEach(async () => {
  root = tempDir();
  let work;
  ({ bare, work } = await createRepo(root, 'deploy'));
  work.write('README.md', 'deploy\n');
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

/** `n` reconciles at once, each creating one draft through the coalescer; their results and the git pushes. */
async function reconcileFleet(pushes: PushCoalescer, n: number) {
  const before = gitProcessStats.byCommand.push?.count ?? 0;
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      pushes.track(() =>
        pushes.submit(store, [
          { kind: 'createDraft', packageName: `site-${i}`, workspace: 'v1', files: samplePackage(`site-${i}`, 1) },
        ]),
      ),
    ),
  );
  await pushes.drain();
  return { results, gitPushes: (gitProcessStats.byCommand.push?.count ?? 0) - before };
}

const drafts = async () =>
  (await runGit(['--git-dir', bare, 'for-each-ref', '--format=%(refname)', 'refs/heads/drafts'])).stdout
    .toString()
    .split('\n')
    .filter(Boolean);

describe('PushCoalescer with a wave bigger than maxPushRefs', () => {
  it('pushes one batch in bounded atomic waves; each reconcile gets its own result', async () => {
    setGitLimits({ maxPushRefs: 5 });
    const pushes = new PushCoalescer({ maxDelayMs: Infinity });
    const { results, gitPushes } = await reconcileFleet(pushes, 30);
    expect(pushes.pushes).toBe(1); // one batch…
    expect(gitPushes).toBe(8); // …in ceil(30 / 4) waves (one ref of each kept for the branch)
    results.forEach((own: BatchResult[], i) => {
      expect(own).toHaveLength(1);
      expect(own[0]).toMatchObject({
        status: 'created',
        packageName: `site-${i}`,
        refs: [`refs/heads/drafts/site-${i}/v1`],
      });
    });
    expect(await drafts()).toHaveLength(30);
  });

  it('fails only the reconciles of a refused wave', async () => {
    const hook = join(bare, 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\nwhile read old new ref; do case "$ref" in */site-7/*) exit 1;; esac; done\n');
    chmodSync(hook, 0o755);
    setGitLimits({ maxPushRefs: 5 }); // waves: site-0…3, site-4…7, site-8…11
    const { results } = await reconcileFleet(new PushCoalescer({ maxDelayMs: Infinity }), 12);
    const statuses = results.map((own) => own[0]!.status);
    expect(statuses).toEqual([...Array(4).fill('created'), ...Array(4).fill('rejected'), ...Array(4).fill('created')]);
    expect(await drafts()).toHaveLength(8);
  });
});
