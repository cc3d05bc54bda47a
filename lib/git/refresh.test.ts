// RepoCache.refresh with many moved refs: git matches every explicit refspec against every remote
// ref (a `fetch --stdin` of 40,000 refs never finishes), so above PATTERN_FETCH_MIN_REFS the cache
// fetches refs/heads/* and refs/tags/* by pattern, pruned. Real git, run through a shim first on
// PATH that records each command's arguments.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireRepoCache, PATTERN_FETCH_MIN_REFS, releaseRepoCache, type RefMap, type RepoCache } from './cache.ts';
import { runGit } from './exec.ts';
import { createRepo, removeDir, tempDir } from './testing/repos.ts';

let root: string;
let bare: string;
let log: string;
let cache: RepoCache;
const path = process.env.PATH;

async function git(input: string | undefined, ...args: string[]): Promise<string> {
  return (await runGit(['--git-dir', bare, ...args], input === undefined ? {} : { input })).stdout.toString().trim();
}

/** Sets `count` branches b/<from>… to new commits (one fast-import). */
async function writeBranches(from: number, count: number, content: string): Promise<void> {
  let stream = '';
  for (let i = from; i < from + count; i++) {
    stream += `commit refs/heads/b/${i}\ncommitter t <t@example.com> 1700000000 +0000\ndata 2\nc\n`;
    const data = `${content}${i}\n`;
    stream += `M 644 inline f\ndata ${Buffer.byteLength(data)}\n${data}\n`;
  }
  await git(stream, 'fast-import', '--quiet', '--force');
}

async function remoteRefs(): Promise<RefMap> {
  const text = await git(undefined, 'for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads', 'refs/tags');
  return new Map(text.split('\n').map((line) => line.split(' ').reverse() as [string, string]));
}

/** The fetch commands git ran since the last call (their arguments). */
function fetches(): string[] {
  const lines = readFileSync(log, 'utf8').split('\n');
  writeFileSync(log, '');
  return lines.filter((line) => line.startsWith('fetch '));
}

beforeEach(async () => {
  root = tempDir();
  let work;
  ({ bare, work } = await createRepo(root, 'upstream'));
  work.write('README.md', 'upstream\n');
  await work.commitAll('initial');
  await work.git('push', '-q', 'origin', 'main');
  log = join(root, 'git.log');
  writeFileSync(log, '');
  const realGit = execFileSync('sh', ['-c', 'command -v git']).toString().trim();
  const shim = join(root, 'git');
  writeFileSync(shim, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${realGit}' "$@"\n`);
  chmodSync(shim, 0o755);
  process.env.PATH = `${root}:${path}`;
  cache = acquireRepoCache({ url: bare, cacheDir: join(root, 'cache') });
});

afterEach(() => {
  releaseRepoCache(cache);
  process.env.PATH = path;
  removeDir(root);
});

describe('refresh with many moved refs', () => {
  it('fetches by pattern, pruned, when more than PATTERN_FETCH_MIN_REFS refs moved; explicitly when few did', async () => {
    const many = PATTERN_FETCH_MIN_REFS + 36;
    await writeBranches(0, many, 'v1-');
    const first = await cache.refresh();
    expect(first).toHaveLength(many + 1); // + main
    expect(fetches()).toEqual([expect.stringContaining('--prune --end-of-options')]);
    expect(await cache.localRefs()).toEqual(await remoteRefs());

    // Moved, created and deleted refs all reach the mirror and the snapshot; only they are reported.
    await writeBranches(10, many - 10, 'v2-');
    await writeBranches(many, 5, 'v2-');
    await git(undefined, 'update-ref', '-d', 'refs/heads/b/0');
    await git(undefined, 'tag', 'release', 'main');
    const second = await cache.refresh();
    expect(second).toHaveLength(many - 10 + 5 + 2);
    expect(second).toEqual(expect.arrayContaining(['refs/heads/b/0', 'refs/tags/release', `refs/heads/b/${many}`]));
    expect(fetches()).toEqual([expect.stringMatching(/--prune .*\+refs\/heads\/\*:refs\/heads\/\* \+refs\/tags\/\*/)]);
    expect(await cache.localRefs()).toEqual(await remoteRefs());
    expect(await cache.refs()).toEqual(await remoteRefs());

    await writeBranches(1, 3, 'v3-');
    expect(await cache.refresh()).toEqual(['refs/heads/b/1', 'refs/heads/b/2', 'refs/heads/b/3']);
    expect(fetches()).toEqual([expect.stringContaining('--stdin')]);
    expect(await cache.localRefs()).toEqual(await remoteRefs());
    expect(await cache.refresh()).toEqual([]);
    expect(fetches()).toEqual([]);
  });
});

describe('refsMoved', () => {
  it('stays false while every refresh finds the refs first read, and turns true when one moved them', async () => {
    await cache.refresh();
    await cache.refresh();
    expect(cache.refsMoved).toBe(false);
    await writeBranches(0, 1, 'moved-');
    await cache.refresh();
    expect(cache.refsMoved).toBe(true);
  });

  it('turns true when a ref is deleted, or recorded as pushed', async () => {
    await writeBranches(0, 1, 'v1-');
    await cache.refresh();
    await git(undefined, 'update-ref', '-d', 'refs/heads/b/0');
    await cache.refresh();
    expect(cache.refsMoved).toBe(true);

    const other = acquireRepoCache({ url: bare, cacheDir: join(root, 'other-cache') });
    try {
      const refs = await other.refs();
      expect(other.refsMoved).toBe(false);
      await other.recordPushed([{ ref: 'refs/heads/main', newOid: refs.get('refs/heads/main')! }]);
      expect(other.refsMoved).toBe(true);
    } finally {
      releaseRepoCache(other);
    }
  });
});

describe('refIndex', () => {
  it('is built again after a refresh that moved refs and after a recorded push; an index handed out never changes', async () => {
    await writeBranches(0, 2, 'v1-');
    await cache.refresh();
    const first = await cache.refIndex();
    expect(await cache.refIndex()).toBe(first); // one index per snapshot
    const before = first.get('refs/heads/b/0');

    await writeBranches(0, 1, 'v2-');
    await cache.refresh();
    const second = await cache.refIndex();
    expect(second.get('refs/heads/b/0')).toBe((await remoteRefs()).get('refs/heads/b/0'));
    expect(second.get('refs/heads/b/0')).not.toBe(before);
    expect(first.get('refs/heads/b/0')).toBe(before);

    await cache.recordPushed([{ ref: 'refs/heads/b/1', newOid: null }]);
    const third = await cache.refIndex();
    expect(third.has('refs/heads/b/1')).toBe(false);
    expect(second.has('refs/heads/b/1')).toBe(true);
  });
});
