// The watcher's git source on real bare repositories: fetches only when refs moved, resolves each
// track like the reconciler, and the downstream digest moves when a revision's lifecycle does.
import { afterAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { GitStore } from '../../lib/git/store.ts';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { blueprint, TestRepo } from '../testing/fixtures.ts';
import { DOWNSTREAM_TRACK, GitSource } from './git-source.ts';
import { resolveWatches } from './source.ts';
import { UpstreamIndex, type UpstreamWatch } from './index.ts';
import { normalizeRepoUrl } from './repo-url.ts';
import { UpstreamWatcher } from './watcher.ts';

// Each test builds its own repository (no test depends on another having run).
const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((cleanup) => cleanup()));

/** A blueprints repository (nothing published) and a GitSource on it. */
async function world() {
  const root = tempDir('pv-git-source-');
  const repo = await TestRepo.create(root, 'blueprints');
  const store = new GitStore({ url: repo.url, cacheDir: join(root, 'cache') });
  cleanups.push(() => {
    store.close();
    removeDir(root);
  });
  const source = new GitSource(async () => store);
  const watch = (track: string, pkg = 'nginx'): UpstreamWatch => ({
    repo: normalizeRepoUrl(repo.url),
    package: pkg,
    track,
  });
  const resolveAll = async (...watches: UpstreamWatch[]) => {
    const resolved = await resolveWatches(source, watches, await source.heads());
    return watches.map((w) => resolved.get(w));
  };
  return { root, repo, source, watch, resolveAll };
}

describe('GitSource', () => {
  it('resolves latest, revision, ref and missing packages, fetching when the remote moved', async () => {
    const { repo, watch, resolveAll } = await world();
    const v1 = await repo.publish('nginx', blueprint('nginx'), 1);
    const [latest, pinned, branch, missing] = await resolveAll(
      watch('latest'),
      watch('revision:1'),
      watch('ref:main'),
      watch('latest', 'redis'),
    );
    expect(latest?.commit).toBe(v1);
    expect(latest?.tree).toMatch(/^[0-9a-f]{40}$/);
    expect(pinned).toEqual(latest);
    expect(branch?.commit).toBe(v1);
    expect(missing).toBeUndefined();

    const v2 = await repo.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
    const [latest2, pinned2, revision2] = await resolveAll(watch('latest'), watch('revision:1'), watch('revision:2'));
    expect(latest2?.commit).toBe(v2);
    expect(latest2?.tree).not.toBe(latest?.tree);
    expect(pinned2).toEqual(latest);
    expect(revision2).toEqual(latest2);
  });

  it('gives the downstream track a digest that moves with the package revisions', async () => {
    const { root, repo, watch, resolveAll } = await world();
    // Published revisions 1 and 2 before the draft (the draft is approved as revision 3).
    await repo.publish('nginx', blueprint('nginx'), 1);
    await repo.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
    const [before] = await resolveAll(watch(DOWNSTREAM_TRACK));
    const person = repo.store(join(root, 'person'));
    await person.refresh();
    await person
      .batch()
      .createDraft({ packageName: 'nginx', workspace: 'ws1', files: blueprint('nginx') })
      .push();
    const [withDraft] = await resolveAll(watch(DOWNSTREAM_TRACK));
    expect(withDraft?.tree).not.toBe(before?.tree);
    await person.refresh();
    await person.batch().approve({ packageName: 'nginx', workspace: 'ws1' }).push();
    person.close();
    const [approved] = await resolveAll(watch(DOWNSTREAM_TRACK));
    expect(approved?.tree).not.toBe(withDraft?.tree);
    const [again] = await resolveAll(watch(DOWNSTREAM_TRACK));
    expect(again).toEqual(approved);
  });

  it('drives the watcher: a publish enqueues the variants following latest, not those pinned', async () => {
    const { repo, source, watch } = await world();
    // Revision 1 (the pinned one) and later revisions exist before the watcher first looks.
    await repo.publish('nginx', blueprint('nginx'), 1);
    await repo.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
    await repo.publish('nginx', blueprint('nginx'), 3);
    const index = new UpstreamIndex();
    index.set('ns/follower', watch('latest'));
    index.set('ns/pinned', watch('revision:1'));
    const enqueued: string[][] = [];
    const watcher = new UpstreamWatcher({ index, sourceFor: () => source, enqueue: (keys) => enqueued.push(keys) });
    const repoId = normalizeRepoUrl(repo.url);
    expect(await watcher.pollNow(repoId)).toBe('changed'); // first sight of both watches
    expect(await watcher.pollNow(repoId)).toBe('unchanged');
    await repo.publish('nginx', blueprint('nginx', { image: 'nginx:1.28' }), 4);
    enqueued.length = 0;
    expect(await watcher.pollNow(repoId)).toBe('changed');
    expect(enqueued).toEqual([['ns/follower']]);
  });
});
