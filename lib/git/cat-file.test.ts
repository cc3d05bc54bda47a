import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { CatFileBatch, parseTree } from './cat-file.ts';
import { gitProcessStats, runGit } from './exec.ts';
import { GitStore } from './store.ts';
import { createRepo, removeDir, samplePackage, tempDir } from './testing/repos.ts';

let root: string;
let bare: string;

beforeEach(async () => {
  root = tempDir();
  const repo = await createRepo(root, 'r');
  bare = repo.bare;
  repo.work.writePackage('app', samplePackage('app'));
  repo.work.write('big.bin', Buffer.alloc(3 * 1024 * 1024, 7));
  await repo.work.commitAll('initial');
  await repo.work.git('push', '-q', 'origin', 'main');
});

afterEach(() => removeDir(root));

describe('CatFileBatch', () => {
  it('answers pipelined requests in order, including large and missing objects', async () => {
    const reader = new CatFileBatch(bare);
    try {
      const [big, missing, tree, kptfile] = await Promise.all([
        reader.read('main:big.bin'),
        reader.read('main:nope'),
        reader.read('main:app'),
        reader.read('main:app/Kptfile'),
      ]);
      expect(big!.content.equals(Buffer.alloc(3 * 1024 * 1024, 7))).toBe(true);
      expect(missing).toBeUndefined();
      expect(parseTree(tree!.content).map((e) => e.name)).toEqual(['Kptfile', 'cm-0.yaml', 'cm-1.yaml', 'cm-2.yaml']);
      expect(kptfile!.content.toString()).toBe(samplePackage('app').get('Kptfile')!.toString());
      expect(tree!.oid).toBe((await runGit(['--git-dir', bare, 'rev-parse', 'main:app'])).stdout.toString().trim());
      await expect(reader.read('main:a\nb')).rejects.toThrow('invalid object name');
    } finally {
      reader.close();
    }
  });

  it('ends its process when idle and starts again on demand', async () => {
    const reader = new CatFileBatch(bare, 50);
    try {
      await reader.read('main:app/Kptfile');
      expect(reader.running).toBe(true);
      await new Promise((r) => setTimeout(r, 200));
      expect(reader.running).toBe(false);
      expect((await reader.read('main:app/Kptfile'))?.type).toBe('blob');
    } finally {
      reader.close();
    }
  });

  it('answers a read right after close() from a new process; the old one ending fails nothing', async () => {
    const reader = new CatFileBatch(bare);
    try {
      await reader.read('main:app/Kptfile');
      for (let i = 0; i < 5; i++) {
        reader.close();
        expect((await reader.read('main:app/Kptfile'))?.type).toBe('blob');
      }
    } finally {
      reader.close();
    }
  });

  it('fails the reads in flight when closed', async () => {
    const reader = new CatFileBatch(bare);
    const inFlight = reader.read('main:big.bin');
    reader.close();
    await expect(inFlight).rejects.toThrow('git cat-file --batch in');
  });

  it('is shared by the stores of one process that use the same cache and URL', async () => {
    const cacheDir = join(root, 'cache');
    const a = new GitStore({ url: bare, cacheDir });
    const b = new GitStore({ url: bare, cacheDir, directory: 'app' });
    const c = new GitStore({ url: bare, cacheDir: join(root, 'other') });
    expect(a.cache).toBe(b.cache);
    expect(a.cache).not.toBe(c.cache);
    await a.refresh();
    const before = gitProcessStats.spawned;
    expect(await b.refresh()).toEqual([]);
    expect(gitProcessStats.spawned - before).toBe(1);
    await a.readPackage({ packageName: 'app', ref: 'main' });
    a.close();
    expect(b.cache.reader.running).toBe(true);
    b.close();
    expect(b.cache.reader.running).toBe(false);
    c.close();
  });
});
