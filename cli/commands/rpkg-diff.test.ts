// `pvctl rpkg diff`: a package revision against the deployment branch or another revision (real git).
import { afterAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { Command } from 'commander';
import { GitStore } from '../../lib/git/store.ts';
import { createRepo, removeDir, samplePackage, tempDir } from '../../lib/git/testing/repos.ts';
import { registerRpkg } from './rpkg.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** pkgs/app published on main (v1 content, 2 ConfigMaps) and a draft ws1 that changes one and adds one. */
async function repository() {
  const root = tempDir('pvctl-rpkg-diff-');
  dirs.push(root);
  const { bare, work } = await createRepo(root, 'deploy');
  work.writePackage('pkgs/app', samplePackage('app', 2));
  await work.commitAll('initial');
  await work.git('push', '-q', 'origin', 'main');
  const url = `file://${bare}`;
  const store = new GitStore({ url, cacheDir: join(root, 'setup-cache'), directory: 'pkgs' });
  const draft = samplePackage('app', 3);
  draft.set('cm-0.yaml', Buffer.from(draft.get('cm-0.yaml')!.toString().replace('version: v1', 'version: v2')));
  await store.batch().createDraft({ packageName: 'app', workspace: 'ws1', files: draft }).push();
  store.close();
  const pvctl = async (...args: string[]) => {
    const lines: string[] = [];
    const program = new Command('pvctl').exitOverride();
    registerRpkg(program, { out: (l) => lines.push(l), env: { XDG_CACHE_HOME: join(root, 'xdg') } });
    process.exitCode = 0;
    await program.parseAsync(['node', 'pvctl', 'rpkg', ...args, '--repo', url, '--directory', 'pkgs']);
    return lines.join('\n');
  };
  return { pvctl };
}

describe('pvctl rpkg diff', () => {
  it('diffs a draft against the package on the deployment branch', async () => {
    const { pvctl } = await repository();
    const out = await pvctl('diff', 'app', 'ws1');
    expect(out).toContain('diff --git a/pkgs/app/cm-0.yaml b/pkgs/app/cm-0.yaml');
    expect(out).toContain('-  version: v1\n+  version: v2');
    expect(out).toContain('new file mode 100644');
    expect(out).toContain('+++ b/pkgs/app/cm-2.yaml');
    expect(out).not.toContain('cm-1.yaml');
    expect(await pvctl('diff', 'app', 'ws1', '--name-only')).toBe('pkgs/app/cm-0.yaml\npkgs/app/cm-2.yaml');
  });

  it('diffs against a given base revision, and takes a Porch name', async () => {
    const { pvctl } = await repository();
    // the branch placeholder "main" as the base: the same as the default
    expect(await pvctl('diff', 'app', 'ws1', 'main', '--name-only')).toBe('pkgs/app/cm-0.yaml\npkgs/app/cm-2.yaml');
    // the draft against itself: nothing
    expect(await pvctl('diff', 'app', 'ws1', 'ws1')).toBe('');
    expect(await pvctl('diff', 'deploy.app.ws1', '--name-only')).toBe('pkgs/app/cm-0.yaml\npkgs/app/cm-2.yaml');
  });

  it('names a revision that does not exist', async () => {
    const { pvctl } = await repository();
    await expect(pvctl('diff', 'app', 'nope')).rejects.toThrow(/no revision nope of package app/);
  });
});
