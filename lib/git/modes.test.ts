// Git modes and byte-exact names through GitStore: executables, symlinks, gitlinks and names that
// are not UTF-8 survive a read and a draft written back, and an approval.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitProcessStats, runGit } from './exec.ts';
import { GitStore, type PackageModes } from './store.ts';
import { createRepo, kptfile, removeDir, tempDir, type WorkClone } from './testing/repos.ts';

const SUBMODULE_COMMIT = '0123456789abcdef0123456789abcdef01234567';
const latin1 = (text: string) => Buffer.from(text, 'latin1');

let root: string;
let bare: string;
let work: WorkClone;
const stores: GitStore[] = [];

function open(cache = 'cache'): GitStore {
  const store = new GitStore({ url: bare, cacheDir: join(root, cache), directory: 'pkgs' });
  stores.push(store);
  return store;
}

async function git(...args: string[]): Promise<Buffer> {
  return (await runGit(['--git-dir', bare, ...args])).stdout;
}

/** `git ls-tree -r -z` of a package: modes, types, blob ids and name bytes. */
const lsTree = (rev: string) => git('ls-tree', '-r', '-z', rev);

beforeEach(async () => {
  root = tempDir();
  ({ bare, work } = await createRepo(root, 'blueprints'));
  const pkg = join(work.dir, 'pkgs', 'bp');
  work.write('pkgs/bp/Kptfile', kptfile('bp'));
  work.write('pkgs/bp/run.sh', '#!/bin/sh\necho hi\n');
  chmodSync(join(pkg, 'run.sh'), 0o755);
  work.write('pkgs/bp/bin/tool', 'tool\n');
  chmodSync(join(pkg, 'bin', 'tool'), 0o755);
  symlinkSync('run.sh', join(pkg, 'start'));
  symlinkSync('../../outside', join(pkg, 'bin', 'up'));
  // a value and two file names in latin-1, and a name fast-import must quote
  work.write(
    'pkgs/bp/cm.yaml',
    Buffer.concat([latin1('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n'), latin1('data:\n  k: caf\xe9\n')]),
  );
  mkdirSync(join(pkg, 'names'));
  writeFileSync(Buffer.concat([Buffer.from(join(pkg, 'names/')), latin1('a\xe9.txt')]), 'e acute\n');
  writeFileSync(Buffer.concat([Buffer.from(join(pkg, 'names/')), latin1('a\xe8.txt')]), 'e grave\n');
  work.write('pkgs/bp/names/we"ird\\name.txt', 'quoted\n');
  await work.git('add', '-A');
  await work.git('update-index', '--add', '--cacheinfo', `160000,${SUBMODULE_COMMIT},pkgs/bp/vendor/lib`);
  await work.git('commit', '-q', '-m', 'blueprint');
  await work.git('push', '-q', 'origin', 'main');
});

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  removeDir(root);
});

describe('GitStore modes and byte names', () => {
  it('reads executables, symlinks, gitlinks and latin-1 names exactly as git holds them', async () => {
    const store = open();
    const files = await store.readPackage({ packageName: 'bp', ref: 'main' });
    const modes = await store.readPackageModes({ packageName: 'bp', ref: 'main' });
    expect([...files.keys()]).toEqual([
      'Kptfile',
      'bin/tool',
      'cm.yaml',
      'names/a\udce8.txt',
      'names/a\udce9.txt',
      'names/we"ird\\name.txt',
      'run.sh',
    ]);
    expect(files.get('cm.yaml')!.includes(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]))).toBe(true);
    expect(modes).toEqual(
      new Map<string, unknown>([
        ['bin/tool', { kind: 'executable' }],
        ['bin/up', { kind: 'symlink', target: Buffer.from('../../outside') }],
        ['run.sh', { kind: 'executable' }],
        ['start', { kind: 'symlink', target: Buffer.from('run.sh') }],
        ['vendor/lib', { kind: 'gitlink', commit: SUBMODULE_COMMIT }],
      ]),
    );
  });

  it('writes them back through a draft byte for byte (same tree), and an approval keeps them', async () => {
    const store = open();
    const files = await store.readPackage({ packageName: 'bp', ref: 'main' });
    const modes = await store.readPackageModes({ packageName: 'bp', ref: 'main' });
    const [created] = await store.batch().createDraft({ packageName: 'bp', workspace: 'ws', files, modes }).push();
    expect(created!.status).toBe('created');
    expect((await lsTree('drafts/pkgs/bp/ws:pkgs/bp')).equals(await lsTree('main:pkgs/bp'))).toBe(true);
    expect((await git('rev-parse', 'drafts/pkgs/bp/ws:pkgs/bp')).equals(await git('rev-parse', 'main:pkgs/bp'))).toBe(
      true,
    );

    // An edit: one file changed; every mode and name stays.
    const edited = new Map(files).set(
      'cm.yaml',
      Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n'),
    );
    await store.batch().updateDraft({ packageName: 'bp', workspace: 'ws', files: edited, modes }).push();
    const [approved] = await store.batch().approve({ packageName: 'bp', workspace: 'ws' }).push();
    expect(approved!.status).toBe('created');
    const published = (await lsTree('pkgs/bp/v1:pkgs/bp')).toString('latin1').split('\0');
    const original = (await lsTree('main~1:pkgs/bp')).toString('latin1').split('\0');
    const withoutCm = (lines: string[]) => lines.filter((l) => !l.endsWith('\tcm.yaml'));
    expect(withoutCm(published)).toEqual(withoutCm(original));
    expect(published.some((l) => l.startsWith('100644 blob') && l.endsWith('\tcm.yaml'))).toBe(true);
  });

  it('reads modes alone without reading the files, and from the walk of readTree', async () => {
    const { tree } = await open().resolvePackage({ packageName: 'bp', ref: 'main' });
    const other = open('cache-2');
    await other.refresh();
    const alone = await other.readTreeModes(tree);
    const store = open('cache-3');
    await store.refresh();
    await store.readTree(tree);
    const afterFiles = await store.readTreeModes(tree);
    expect(afterFiles).toEqual(alone);
    expect(alone.size).toBe(5);
    afterFiles.clear(); // the caller's own Map
    expect((await store.readTreeModes(tree)).size).toBe(5);
  });

  it('refuses modes one git tree cannot hold, before any git process runs', () => {
    const store = open();
    const files = new Map([
      ['Kptfile', Buffer.from(kptfile('bp'))],
      ['a', Buffer.from('a')],
    ]);
    const before = gitProcessStats.spawned;
    const draft =
      (modes: PackageModes, extra: [string, Buffer][] = []) =>
      () =>
        store.batch().createDraft({ packageName: 'bp', workspace: 'ws', files: new Map([...files, ...extra]), modes });
    expect(draft(new Map([['x', { kind: 'executable' }]]))).toThrow('"x" is marked executable but is not a file');
    expect(draft(new Map([['a', { kind: 'symlink', target: Buffer.from('b') }]]))).toThrow(
      '"a" is both a file and a symlink',
    );
    expect(draft(new Map([['d', { kind: 'gitlink', commit: SUBMODULE_COMMIT }]]), [['d/x', Buffer.from('')]])).toThrow(
      '"d/x" lies below the gitlink "d"',
    );
    expect(draft(new Map([['g', { kind: 'gitlink', commit: 'HEAD' }]]))).toThrow('invalid commit id "HEAD"');
    expect(draft(new Map(), [['a/x', Buffer.from('')]])).toThrow('"a/x" lies below the file "a"');
    expect(draft(new Map([['../l', { kind: 'symlink', target: Buffer.from('x') }]]))).toThrow("'..'");
    expect(gitProcessStats.spawned).toBe(before);
  });
});
