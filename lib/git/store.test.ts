import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { join } from 'node:path';
import { CatFileBatch } from './cat-file.ts';
import { gitProcessStats, runGit } from './exec.ts';
import { GitStore, type GitStoreOptions } from './store.ts';
import { createRepo, kptfile, removeDir, samplePackage, tempDir, type WorkClone } from './testing/repos.ts';

const OWNER = { namespace: 'team-a', name: 'app-pv', uid: '0b5b1f1c-2b1a-4c8e-9f3e-1d2c3b4a5f60' };

let root: string;
let bare: string;
let work: WorkClone;
const stores: GitStore[] = [];

function open(options: Partial<GitStoreOptions> = {}, cache = 'cache'): GitStore {
  const store = new GitStore({ url: bare, cacheDir: join(root, cache), directory: 'pkgs', ...options });
  stores.push(store);
  return store;
}

async function git(...args: string[]): Promise<string> {
  return (await runGit(['--git-dir', bare, ...args])).stdout.toString('utf8').trim();
}

async function remoteRefs(): Promise<string[]> {
  return (await git('for-each-ref', '--format=%(refname)')).split('\n').filter(Boolean).sort();
}

beforeEach(async () => {
  root = tempDir();
  ({ bare, work } = await createRepo(root, 'deploy'));
  work.writePackage('pkgs/app', samplePackage('app'));
  work.writePackage('pkgs/db', samplePackage('db'));
  work.write('pkgs/db/nested/Kptfile', kptfile('nested'));
  work.write('README.md', 'deployment repo\n');
  await work.commitAll('initial');
  await work.git('push', '-q', 'origin', 'main');
});

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  removeDir(root);
});

describe('GitStore reading', () => {
  it('discovers packages (directories with a Kptfile, not nested) as branch placeholders', async () => {
    const store = open();
    const revisions = await store.listRevisions();
    expect(revisions.map((r) => [r.packageName, r.packagePath, r.lifecycle, r.workspace, r.revision])).toEqual([
      ['app', 'pkgs/app', 'Published', 'main', -1],
      ['db', 'pkgs/db', 'Published', 'main', -1],
    ]);
    expect(revisions[0]!.tree).toBe(await git('rev-parse', 'main:pkgs/app'));
  });

  it('reads a package into memory, byte for byte, including nested directories', async () => {
    const store = open();
    const files = await store.readPackage({ packageName: 'db', ref: 'main' });
    expect([...files.keys()]).toEqual(['Kptfile', 'cm-0.yaml', 'cm-1.yaml', 'cm-2.yaml', 'nested/Kptfile']);
    expect(files.get('nested/Kptfile')!.toString()).toBe(kptfile('nested'));
    expect(files.get('cm-1.yaml')!.equals(samplePackage('db').get('cm-1.yaml')!)).toBe(true);
  });

  it('reads many packages through one long-lived cat-file process', async () => {
    const store = open();
    await store.refresh();
    await store.readPackage({ packageName: 'app', ref: 'main' }); // starts the reader
    const before = gitProcessStats.spawned;
    const all = await store.readPackages([
      { packageName: 'app', ref: 'main' },
      { packageName: 'db', ref: 'main' },
      { packageName: 'app', ref: 'refs/heads/main' },
    ]);
    expect(all.map((f) => f.size)).toEqual([4, 5, 4]);
    expect(gitProcessStats.spawned - before).toBe(0);
  });

  it('shares one read between concurrent readers and keeps a tree read twice (same Buffers, own Map)', async () => {
    const store = open();
    const { tree } = await store.resolvePackage({ packageName: 'db', ref: 'main' });
    const [a, b] = await Promise.all([store.readTree(tree), store.readTree(tree)]);
    expect(a.get('cm-0.yaml')).toBe(b.get('cm-0.yaml'));
    const second = await store.readPackage({ packageName: 'db', ref: 'main' }); // read again: kept from now on
    const third = await store.readPackage({ packageName: 'db', ref: 'main' });
    expect(third.get('cm-0.yaml')).toBe(second.get('cm-0.yaml'));
    second.delete('cm-0.yaml');
    expect((await store.readPackage({ packageName: 'db', ref: 'main' })).has('cm-0.yaml')).toBe(true);
  });

  it('shares the reads in flight of concurrent callers: one commit read, one package walk', async () => {
    const commit = await git('rev-parse', 'main');
    const [one, store] = [open({}, 'one'), open({}, 'many')];
    await Promise.all([one.refresh(), store.refresh()]);
    const reads = jest.spyOn(CatFileBatch.prototype, 'read');
    try {
      await one.discoverPackages(commit);
      const single = reads.mock.calls.length;
      reads.mockClear();
      const found = await Promise.all(Array.from({ length: 10 }, () => store.discoverPackages(commit)));
      expect(found).toEqual(Array.from({ length: 10 }, () => ['app', 'db']));
      // Only the directory lookup is per call; ten walks of their own would read ten times as much.
      expect(reads.mock.calls.length).toBe(single + 9);
      expect(reads.mock.calls.filter(([name]) => name === commit)).toHaveLength(1);
    } finally {
      reads.mockRestore();
    }
  });

  it('reports a missing package or ref with the repository, ref and path', async () => {
    const store = open();
    await expect(store.readPackage({ packageName: 'nope', ref: 'main' })).rejects.toThrow(
      `repository ${bare}: ref refs/heads/main`,
    );
    await expect(store.readPackage({ packageName: 'nope', ref: 'main' })).rejects.toThrow('no package at pkgs/nope');
    await expect(store.readPackage({ packageName: 'app', ref: 'v9' })).rejects.toThrow(
      'ref v9 not found (package pkgs/app)',
    );
    await expect(store.readPackage({ packageName: 'app' })).rejects.toThrow('ref latest not found');
  });

  it('reports an unreachable repository by URL, without crashing', async () => {
    const store = new GitStore({ url: join(root, 'missing.git'), cacheDir: join(root, 'cache') });
    stores.push(store);
    await expect(store.refresh()).rejects.toThrow(`repository ${join(root, 'missing.git')} is not reachable`);
  });

  it('refuses bad names before any git process runs', async () => {
    const store = open();
    const before = gitProcessStats.spawned;
    await expect(store.readPackage({ packageName: '../etc', ref: 'main' })).rejects.toThrow('invalid package path');
    expect(() =>
      store.batch().createDraft({ packageName: 'app', workspace: '--force', files: samplePackage('x') }),
    ).toThrow('invalid workspace name');
    expect(() =>
      store.batch().createDraft({
        packageName: 'app',
        workspace: 'ws',
        files: new Map([...samplePackage('x'), ['../../escape', Buffer.from('x')]]),
      }),
    ).toThrow('invalid file path');
    expect(() => store.batch().createDraft({ packageName: 'app', workspace: 'ws', files: new Map() })).toThrow(
      'Kptfile',
    );
    expect(() => new GitStore({ url: 'ext::sh -c id', cacheDir: root })).toThrow('remote helpers');
    expect(() => new GitStore({ url: bare, cacheDir: root, branch: '-x' })).toThrow('invalid branch name');
    expect(gitProcessStats.spawned).toBe(before);
  });

  it('reads repositories written the way Porch writes them', async () => {
    // A Porch approval: merge commit on main with the kpt: annotation, a lightweight tag, and a draft.
    work.writePackage('pkgs/app', samplePackage('app', 2, 'v2'));
    await work.commitAll(
      'Approving package revision pkgs/app/1\n\n\nkpt:{"package":"pkgs/app","workspaceName":"blue","revision":"1"}',
    );
    await work.git('tag', 'pkgs/app/v1');
    await work.git('checkout', '-q', '-b', 'drafts/pkgs/db/v1');
    work.write('pkgs/db/extra.yaml', 'x: 1\n');
    await work.commitAll(
      'Intermediate commit: init\n\nkpt:{"package":"pkgs/db","revision":"v1","task":{"type":"init"}}',
    );
    await work.git('push', '-q', 'origin', 'main', 'drafts/pkgs/db/v1', 'pkgs/app/v1');
    await work.git('push', '-q', 'origin', 'main:refs/heads/deletionProposed/pkgs/app/v1');
    const revisions = await open().listRevisions();
    const brief = revisions.map((r) => `${r.packageName} ${r.lifecycle} ${r.workspace} ${r.revision}`);
    expect(brief).toEqual([
      'app Published main -1',
      'app DeletionProposed blue 1',
      'db Published main -1',
      'db Draft v1 0',
    ]);
    expect(revisions.every((r) => r.owner === undefined)).toBe(true);
  });

  it('marks a tag whose tree has no Kptfile as an error and keeps listing the rest', async () => {
    await work.git('tag', 'pkgs/gone/v1');
    await work.git('push', '-q', 'origin', 'pkgs/gone/v1');
    const store = open();
    const broken = (await store.listRevisions()).find((r) => r.packageName === 'gone');
    expect(broken?.error).toBe(`repository ${bare}: tag refs/tags/pkgs/gone/v1 has no package (Kptfile) at pkgs/gone`);
    await expect(store.readPackage({ packageName: 'gone', ref: 'v1' })).rejects.toThrow(
      'ref refs/tags/pkgs/gone/v1 (commit',
    );
  });
});

describe('upstream change detection', () => {
  it('reports a change of the package tree, not of the commit', async () => {
    const store = open();
    await work.git('tag', 'pkgs/app/v1');
    await work.git('push', '-q', 'origin', 'pkgs/app/v1');
    const v1 = await store.resolvePackage({ packageName: 'app' });
    expect(v1).toMatchObject({ ref: 'refs/tags/pkgs/app/v1', revision: 1, packagePath: 'pkgs/app' });

    // A new published revision that does not touch the package: new commit, same tree.
    work.write('pkgs/db/cm-0.yaml', 'changed: true\n');
    await work.commitAll('db only');
    await work.git('tag', 'pkgs/app/v2');
    await work.git('push', '-q', 'origin', 'main', 'pkgs/app/v2');
    expect(await store.refresh()).toEqual(['refs/heads/main', 'refs/tags/pkgs/app/v2']);
    const v2 = await store.resolvePackage({ packageName: 'app' });
    expect(v2.revision).toBe(2);
    expect(v2.commit).not.toBe(v1.commit);
    expect(v2.tree).toBe(v1.tree);

    work.write('pkgs/app/cm-0.yaml', 'changed: true\n');
    await work.commitAll('app changed');
    await work.git('push', '-q', 'origin', 'main');
    await store.refresh();
    const head = await store.resolvePackage({ packageName: 'app', ref: 'main' });
    expect(head.tree).not.toBe(v1.tree);
    expect(head.tree).toBe(await git('rev-parse', 'main:pkgs/app'));
    const byCommit = await store.resolvePackage({ packageName: 'app', commit: v1.commit });
    expect(byCommit.tree).toBe(v1.tree);
  });

  it('fetches only when refs moved, and checks heads with one ls-remote', async () => {
    const store = open();
    await store.refresh();
    const before = gitProcessStats.spawned;
    expect(await store.refresh()).toEqual([]);
    expect(gitProcessStats.spawned - before).toBe(1); // ls-remote only
    const heads = await store.lsRemote();
    expect(heads.get('refs/heads/main')).toBe(await git('rev-parse', 'main'));
  });
});

describe('GitStore writing', () => {
  it('creates a draft whose first commit has the branch head as parent, with owner and kpt: trailer', async () => {
    const store = open({ author: { name: 'Deployer', email: 'deploy@example.com' } });
    const mainHead = await git('rev-parse', 'main');
    const [result] = await store
      .batch()
      .createDraft({
        packageName: 'app',
        workspace: 'packagevariant-1',
        files: samplePackage('app', 2, 'v2'),
        task: { type: 'clone' },
        owner: OWNER,
      })
      .push();
    expect(result).toMatchObject({ status: 'created', refs: ['refs/heads/drafts/pkgs/app/packagevariant-1'] });
    const head = await git('rev-parse', 'drafts/pkgs/app/packagevariant-1');
    expect(result!.commit).toBe(head);
    expect(await git('rev-parse', `${head}^`)).toBe(mainHead);
    expect(await git('log', '-1', '--format=%an <%ae>', head)).toBe('Deployer <deploy@example.com>');
    expect(await git('cat-file', 'commit', head)).toContain(
      '\n\nCreating new revision by cloning\n\n\nkpt:{"package":"pkgs/app","workspaceName":"packagevariant-1","revision":"0","task":{"type":"clone"}}\nPackagevariant-Owner: team-a/app-pv\nPackagevariant-Owner-Uid: 0b5b1f1c-2b1a-4c8e-9f3e-1d2c3b4a5f60',
    );
    // Only the package directory changed; the rest of the tree is the branch's.
    expect(await git('diff', '--name-only', mainHead, head)).toBe(
      'pkgs/app/cm-2.yaml\npkgs/app/cm-0.yaml\npkgs/app/cm-1.yaml'.split('\n').sort().join('\n'),
    );
    expect(await git('show', `${head}:pkgs/app/cm-0.yaml`)).toContain('version: v2');

    const draft = (await open({}, 'other-cache').listRevisions({ packageName: 'app' })).find(
      (r) => r.lifecycle === 'Draft',
    );
    expect(draft).toMatchObject({ workspace: 'packagevariant-1', revision: 0, commit: head, owner: OWNER });
  });

  it('never creates a second draft for the same workspace, even from two caches at once', async () => {
    const a = open({}, 'cache-a');
    const b = open({}, 'cache-b');
    await Promise.all([a.refresh(), b.refresh()]);
    const draft = (store: GitStore, version: string) =>
      store
        .batch()
        .createDraft({ packageName: 'app', workspace: 'ws', files: samplePackage('app', 1, version) })
        .push();
    const [[ra], [rb]] = await Promise.all([draft(a, 'from-a'), draft(b, 'from-b')]);
    expect([ra!.status, rb!.status].sort()).toEqual(['already-exists', 'created']);
    expect((await remoteRefs()).filter((r) => r.includes('drafts/'))).toEqual(['refs/heads/drafts/pkgs/app/ws']);
    const winner = ra!.status === 'created' ? 'from-a' : 'from-b';
    expect(await git('show', 'drafts/pkgs/app/ws:pkgs/app/cm-0.yaml')).toContain(winner);
  });

  it('updates a draft on top of its head and rejects an update built on a stale head', async () => {
    const store = open();
    const [created] = await store
      .batch()
      .createDraft({ packageName: 'app', workspace: 'ws', files: samplePackage('app') })
      .push();
    const [updated] = await store
      .batch()
      .updateDraft({
        packageName: 'app',
        workspace: 'ws',
        files: samplePackage('app', 1, 'v3'),
        expectedCommit: created!.commit,
      })
      .push();
    expect(updated).toMatchObject({ status: 'updated' });
    expect(await git('rev-parse', 'drafts/pkgs/app/ws^')).toBe(created!.commit);
    expect(await git('ls-tree', '--name-only', 'drafts/pkgs/app/ws:pkgs/app')).toBe('Kptfile\ncm-0.yaml');

    // Someone else's commit on the draft: an update that expected the old head must not overwrite it.
    const other = open({}, 'other');
    await other
      .batch()
      .updateDraft({ packageName: 'app', workspace: 'ws', files: samplePackage('app', 1, 'theirs') })
      .push();
    const [stale] = await store
      .batch()
      .updateDraft({
        packageName: 'app',
        workspace: 'ws',
        files: samplePackage('app', 1, 'mine'),
        expectedCommit: updated!.commit,
      })
      .push();
    expect(stale!.status).toBe('rejected');
    expect(await git('show', 'drafts/pkgs/app/ws:pkgs/app/cm-0.yaml')).toContain('theirs');
    const [missing] = await store
      .batch()
      .updateDraft({ packageName: 'db', workspace: 'ws', files: samplePackage('db') })
      .push();
    expect(missing!.status).toBe('not-found');
  });

  it('proposes, rejects, approves (merge + tag + branch deleted in one push) and numbers revisions', async () => {
    const store = open();
    await store
      .batch()
      .createDraft({ packageName: 'app', workspace: 'ws1', files: samplePackage('app', 1, 'v1'), owner: OWNER })
      .push();
    const draftHead = await git('rev-parse', 'drafts/pkgs/app/ws1');
    expect((await store.batch().propose({ packageName: 'app', workspace: 'ws1' }).push())[0]!.status).toBe('updated');
    expect(await remoteRefs()).toContain('refs/heads/proposed/pkgs/app/ws1');
    expect(await remoteRefs()).not.toContain('refs/heads/drafts/pkgs/app/ws1');
    await store.batch().reject({ packageName: 'app', workspace: 'ws1' }).push();
    expect(await remoteRefs()).toContain('refs/heads/drafts/pkgs/app/ws1');
    await store.batch().propose({ packageName: 'app', workspace: 'ws1' }).push();

    const mainBefore = await git('rev-parse', 'main');
    const [approved] = await store.batch().approve({ packageName: 'app', workspace: 'ws1' }).push();
    expect(approved).toMatchObject({ status: 'created', revision: 1 });
    expect(await git('rev-parse', 'main')).toBe(approved!.commit);
    expect(await git('rev-parse', 'pkgs/app/v1')).toBe(approved!.commit);
    expect((await git('log', '-1', '--format=%P', 'main')).split(' ')).toEqual([mainBefore, draftHead]);
    expect(await git('rev-parse', 'main:pkgs/app')).toBe(await git('rev-parse', `${draftHead}:pkgs/app`));
    expect(await git('rev-parse', 'main:pkgs/db')).toBe(await git('rev-parse', `${mainBefore}:pkgs/db`));
    expect(await git('log', '-1', '--format=%B', 'main')).toContain(
      'Approving package revision pkgs/app/1\n\n\nkpt:{"package":"pkgs/app","workspaceName":"ws1","revision":"1"}\nPackagevariant-Owner: team-a/app-pv',
    );
    expect((await remoteRefs()).filter((r) => r.includes('/app/'))).toEqual(['refs/tags/pkgs/app/v1']);

    await store
      .batch()
      .createDraft({ packageName: 'app', workspace: 'ws2', files: samplePackage('app', 1, 'v2') })
      .push();
    const [second] = await store.batch().approve({ packageName: 'app', workspace: 'ws2' }).push();
    expect(second!.revision).toBe(2);
    const published = (await store.listRevisions({ packageName: 'app' })).filter((r) => r.revision > 0);
    expect(published.map((r) => [r.workspace, r.revision, r.lifecycle])).toEqual([
      ['ws1', 1, 'Published'],
      ['ws2', 2, 'Published'],
    ]);

    // One batch numbers each package from its own published revisions.
    const batch = store.batch();
    for (const packageName of ['app', 'db']) {
      batch.createDraft({ packageName, workspace: 'ws3', files: samplePackage(packageName, 1, 'v3') });
    }
    await batch.push();
    const approvals = await store
      .batch()
      .approve({ packageName: 'app', workspace: 'ws3' })
      .approve({ packageName: 'db', workspace: 'ws3' })
      .push();
    expect(approvals.map((r) => [r.packageName, r.status, r.revision])).toEqual([
      ['app', 'created', 3],
      ['db', 'created', 1],
    ]);
  });

  it('rebuilds an approval on a branch head that moved, instead of overwriting it', async () => {
    const store = open();
    await store
      .batch()
      .createDraft({ packageName: 'app', workspace: 'ws', files: samplePackage('app', 1, 'v1') })
      .push();
    await store.refresh();
    // Someone pushes to main after our last fetch.
    work.write('pkgs/db/cm-0.yaml', 'theirs: true\n');
    const theirs = await work.commitAll('a change by someone else');
    await work.git('push', '-q', 'origin', 'main');
    const [approved] = await store.batch().approve({ packageName: 'app', workspace: 'ws' }).push();
    expect(approved!.status).toBe('created');
    expect((await git('log', '-1', '--format=%P', 'main')).split(' ')[0]).toBe(theirs);
    expect(await git('show', 'main:pkgs/db/cm-0.yaml')).toBe('theirs: true');
  });

  it('approves several packages in one batch: one branch update, chained merges', async () => {
    const store = open();
    await store
      .batch()
      .createDraft({ packageName: 'app', workspace: 'a', files: samplePackage('app', 1, 'new') })
      .createDraft({ packageName: 'db', workspace: 'a', files: samplePackage('db', 1, 'new') })
      .push();
    const results = await store
      .batch()
      .approve({ packageName: 'app', workspace: 'a' })
      .approve({ packageName: 'db', workspace: 'a' })
      .push();
    expect(results.map((r) => [r.status, r.revision])).toEqual([
      ['created', 1],
      ['created', 1],
    ]);
    expect(await git('rev-parse', 'main')).toBe(results[1]!.commit);
    expect(await git('rev-parse', 'main^1')).toBe(results[0]!.commit);
    expect(await git('show', 'main:pkgs/app/cm-0.yaml')).toContain('new');
    expect(await git('show', 'main:pkgs/db/cm-0.yaml')).toContain('new');
  });

  it('proposes deletion, undoes it, and deletes published and draft revisions', async () => {
    const store = open();
    await store
      .batch()
      .createDraft({ packageName: 'app', workspace: 'ws', files: samplePackage('app') })
      .push();
    await store.batch().approve({ packageName: 'app', workspace: 'ws' }).push();
    await store.batch().proposeDelete({ packageName: 'app', revision: 1 }).push();
    expect((await store.listRevisions({ packageName: 'app' }))[1]!.lifecycle).toBe('DeletionProposed');
    expect((await store.batch().proposeDelete({ packageName: 'app', revision: 1 }).push())[0]!.status).toBe(
      'already-exists',
    );
    await store.batch().undoProposeDelete({ packageName: 'app', revision: 1 }).push();
    expect((await store.listRevisions({ packageName: 'app' }))[1]!.lifecycle).toBe('Published');
    await store.batch().proposeDelete({ packageName: 'app', revision: 1 }).push();
    const [deleted] = await store.batch().deletePublished({ packageName: 'app', revision: 1 }).push();
    expect(deleted).toMatchObject({
      status: 'deleted',
      refs: ['refs/tags/pkgs/app/v1', 'refs/heads/deletionProposed/pkgs/app/v1'],
    });
    expect((await remoteRefs()).filter((r) => r.includes('app'))).toEqual([]);
    // the content stays on the branch
    expect(await git('ls-tree', '--name-only', 'main:pkgs')).toContain('app');

    await store
      .batch()
      .createDraft({ packageName: 'db', workspace: 'x', files: samplePackage('db') })
      .push();
    expect((await store.batch().deleteDraft({ packageName: 'db', workspace: 'x' }).push())[0]!.status).toBe('deleted');
    expect((await store.batch().deleteDraft({ packageName: 'db', workspace: 'x' }).push())[0]!.status).toBe(
      'not-found',
    );
  });

  it('writes many drafts with one fast-import and one atomic push', async () => {
    const store = open();
    await store.refresh();
    const batch = store.batch();
    for (let i = 0; i < 50; i++) {
      batch.createDraft({
        packageName: `team-${i}`,
        workspace: 'pv-1',
        files: samplePackage(`team-${i}`, 5),
        owner: OWNER,
      });
    }
    const before = gitProcessStats.spawned;
    const results = await batch.push();
    expect(gitProcessStats.spawned - before).toBeLessThanOrEqual(4); // fast-import, push, update-ref (+ reader)
    expect(results.every((r) => r.status === 'created')).toBe(true);
    expect((await remoteRefs()).filter((r) => r.startsWith('refs/heads/drafts/'))).toHaveLength(50);
    const listed = await open({}, 'fresh').listRevisions();
    expect(listed.filter((r) => r.lifecycle === 'Draft' && r.owner?.uid === OWNER.uid)).toHaveLength(50);
  });

  it('pushes nothing when one ref of a batch cannot be created (atomic)', async () => {
    const store = open();
    await store.refresh();
    // A ref that the remote refuses: a hook declines drafts for "locked".
    const hook = join(bare, 'hooks', 'pre-receive');
    const { writeFileSync, chmodSync } = await import('node:fs');
    writeFileSync(
      hook,
      '#!/bin/sh\nwhile read old new ref; do case "$ref" in *locked*) echo "locked" >&2; exit 1;; esac; done\n',
    );
    chmodSync(hook, 0o755);
    const results = await store
      .batch()
      .createDraft({ packageName: 'app', workspace: 'ok', files: samplePackage('app') })
      .createDraft({ packageName: 'db', workspace: 'locked', files: samplePackage('db') })
      .push();
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(results[1]!.message).toContain('refs/heads/drafts/pkgs/db/locked');
    expect((await remoteRefs()).filter((r) => r.includes('drafts/'))).toEqual([]);
  });

  it('creates the branch when asked and it is missing', async () => {
    const empty = await createRepo(root, 'empty');
    const store = new GitStore({
      url: empty.bare,
      cacheDir: join(root, 'cache'),
      branch: 'deploy',
      createBranch: true,
    });
    stores.push(store);
    expect(await store.refresh()).toContain('refs/heads/deploy');
    expect((await runGit(['--git-dir', empty.bare, 'show', 'deploy:README.md'])).stdout.toString()).toBe(
      'Created by packagevariant-controller\n',
    );
    expect(await store.listRevisions()).toEqual([]);
  });
});

describe('GitStore safety', () => {
  it('refuses to create a package inside or around an existing one', async () => {
    const store = open();
    const results = await store
      .batch()
      .createDraft({ packageName: 'app/inner', workspace: 'ws', files: samplePackage('inner') })
      .createDraft({ packageName: 'db/nested/deeper', workspace: 'ws', files: samplePackage('deeper') })
      .push();
    expect(results.map((r) => [r.status, r.message])).toEqual([
      ['rejected', 'packages cannot be nested: pkgs/app/inner and pkgs/app'],
      ['rejected', 'packages cannot be nested: pkgs/db/nested/deeper and pkgs/db'],
    ]);
    expect(await remoteRefs()).toEqual(['refs/heads/main']);
  });

  it('refuses to read a crafted tree with a path that would escape the package', async () => {
    const blob = (await runGit(['--git-dir', bare, 'hash-object', '-w', '--stdin'], { input: 'x\n' })).stdout
      .toString()
      .trim();
    const pkg = (
      await runGit(['--git-dir', bare, 'mktree'], { input: `100644 blob ${blob}\t..\n100644 blob ${blob}\tKptfile\n` })
    ).stdout
      .toString()
      .trim();
    const pkgs = (await runGit(['--git-dir', bare, 'mktree'], { input: `040000 tree ${pkg}\tevil\n` })).stdout
      .toString()
      .trim();
    const rootTree = (await runGit(['--git-dir', bare, 'mktree'], { input: `040000 tree ${pkgs}\tpkgs\n` })).stdout
      .toString()
      .trim();
    const commit = (
      await runGit(['--git-dir', bare, 'commit-tree', '-m', 'evil', rootTree], {
        env: { GIT_AUTHOR_NAME: 'e', GIT_AUTHOR_EMAIL: 'e@x', GIT_COMMITTER_NAME: 'e', GIT_COMMITTER_EMAIL: 'e@x' },
      })
    ).stdout
      .toString()
      .trim();
    await runGit(['--git-dir', bare, 'update-ref', 'refs/heads/evil', commit]);
    const store = open();
    await expect(store.readPackage({ packageName: 'evil', ref: 'evil' })).rejects.toThrow('unsafe path ".."');
    expect(await store.discoverPackages(commit)).toEqual(['evil']);
  });

  it('keeps working after maintenance drops unreachable objects', async () => {
    const store = open();
    await store
      .batch()
      .createDraft({ packageName: 'app', workspace: 'ws', files: samplePackage('app', 1, 'kept') })
      .push();
    await store.maintain();
    expect(
      (await store.readPackage({ packageName: 'app', ref: 'drafts/pkgs/app/ws' })).get('cm-0.yaml')!.toString(),
    ).toContain('kept');
  });
});
