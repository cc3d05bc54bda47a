import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { chmodSync, lstatSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { runGit } from '../../lib/git/exec.ts';
import { GitStore } from '../../lib/git/store.ts';
import { startGitHttpServer, type GitHttpServer } from '../../lib/git/testing/http-server.ts';
import { createRepo, kptfile, removeDir, samplePackage, tempDir } from '../../lib/git/testing/repos.ts';
import { registerRpkg } from './rpkg.ts';

let root: string;
let bare: string;
let url: string;
let lines: string[];
let server: GitHttpServer;

async function pvctl(...args: string[]): Promise<string> {
  return pvctlEnv({}, ...args);
}

async function pvctlEnv(env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  lines = [];
  const program = new Command('pvctl').exitOverride();
  registerRpkg(program, { out: (line) => lines.push(line), env: { XDG_CACHE_HOME: join(root, 'xdg'), ...env } });
  process.exitCode = 0;
  await program.parseAsync(['node', 'pvctl', ...args]);
  return lines.join('\n');
}

async function remoteRefs(): Promise<string> {
  return (await runGit(['--git-dir', bare, 'for-each-ref', '--format=%(refname)'])).stdout.toString();
}

beforeAll(async () => {
  root = tempDir();
  const repo = await createRepo(root, 'deploy');
  bare = repo.bare;
  url = `file://${bare}`;
  repo.work.writePackage('pkgs/app', samplePackage('app'));
  await repo.work.commitAll('initial');
  await repo.work.git('push', '-q', 'origin', 'main');
  const store = new GitStore({ url, cacheDir: join(root, 'setup-cache'), directory: 'pkgs' });
  await store
    .batch()
    .createDraft({
      packageName: 'app',
      workspace: 'ws1',
      files: samplePackage('app', 1, 'v2'),
      owner: { namespace: 'ns', name: 'pv' },
    })
    .push();
  store.close();
  server = await startGitHttpServer({ root, username: 'bob', password: 'http-secret-pw' });
});

afterAll(async () => {
  await server.close();
  removeDir(root);
});

beforeEach(() => {
  process.exitCode = 0;
});

describe('pvctl rpkg', () => {
  it('lists revisions as a table, with Porch-style names and the owner', async () => {
    const out = await pvctl('rpkg', 'list', '--repo', url, '--directory', 'pkgs');
    expect(out.split('\n')[0]).toMatch(
      /^NAME\s+PACKAGE\s+WORKSPACENAME\s+REVISION\s+LATEST\s+LIFECYCLE\s+COMMIT\s+OWNER$/,
    );
    expect(out).toMatch(/deploy\.app\.main\s+app\s+main\s+-1\s+false\s+Published/);
    expect(out).toMatch(/deploy\.app\.ws1\s+app\s+ws1\s+0\s+false\s+Draft\s+[0-9a-f]{12}\s+ns\/pv/);
  });

  it('runs the whole lifecycle from a Repository manifest, with json/yaml output', async () => {
    const manifest = join(root, 'repo.yaml');
    writeFileSync(
      manifest,
      `apiVersion: packagevariant.dev/v1alpha1\nkind: Repository\nmetadata:\n  name: deployments\nspec:\n  git:\n    repo: ${url}\n    directory: /pkgs/\n`,
    );
    expect(await pvctl('rpkg', 'propose', 'app', 'ws1', '-f', manifest)).toBe('propose app ws1: updated');
    expect(await pvctl('rpkg', 'approve', 'app', 'ws1', '-f', manifest, '-o', 'json')).toContain('"revision": 1');
    expect(await remoteRefs()).toContain('refs/tags/pkgs/app/v1');
    const listed = JSON.parse(await pvctl('rpkg', 'get', 'app', '-f', manifest, '-o', 'json')) as Array<{
      name: string;
      latest: boolean;
      lifecycle: string;
    }>;
    expect(listed.map((r) => [r.name, r.lifecycle, r.latest])).toEqual([
      ['deployments.app.main', 'Published', false],
      ['deployments.app.ws1', 'Published', true],
    ]);
    await pvctl('rpkg', 'propose-delete', 'app', 'v1', '-f', manifest);
    expect(await pvctl('rpkg', 'get', 'app', 'v1', '-f', manifest, '-o', 'yaml')).toContain(
      'lifecycle: DeletionProposed',
    );
    await pvctl('rpkg', 'reject', 'app', 'v1', '-f', manifest);
    expect(await pvctl('rpkg', 'get', 'app', 'v1', '-f', manifest, '-o', 'yaml')).toContain('lifecycle: Published');
    expect(await pvctl('rpkg', 'delete', 'app', 'v1', '-f', manifest)).toBe('deletePublished app v1: deleted');
    expect(await remoteRefs()).not.toContain('refs/tags/pkgs/app/v1');
  });

  it('pulls a revision into a directory and refuses a non-empty one', async () => {
    const dir = join(root, 'pulled');
    expect(await pvctl('rpkg', 'pull', 'app', 'main', dir, '--repo', url, '--directory', 'pkgs')).toMatch(
      /file\(s\) written/,
    );
    expect(readFileSync(join(dir, 'Kptfile'), 'utf8')).toContain('name: app');
    await expect(pvctl('rpkg', 'pull', 'app', 'main', dir, '--repo', url, '--directory', 'pkgs')).rejects.toThrow(
      'not empty',
    );
    expect(await pvctl('rpkg', 'pull', 'app', 'main', '--repo', url, '--directory', 'pkgs', '-o', 'json')).toContain(
      '"Kptfile": "apiVersion: kpt.dev/v1',
    );
  });

  it('pulls executables, symlinks, gitlinks and names that are not UTF-8 as git holds them', async () => {
    const latin1 = (text: string) => Buffer.from(text, 'latin1');
    const repo = await createRepo(root, 'modes');
    const pkg = join(repo.work.dir, 'pkgs', 'tools');
    repo.work.write('pkgs/tools/Kptfile', kptfile('tools'));
    repo.work.write('pkgs/tools/run.sh', '#!/bin/sh\n');
    chmodSync(join(pkg, 'run.sh'), 0o755);
    symlinkSync('run.sh', join(pkg, 'start'));
    writeFileSync(Buffer.concat([Buffer.from(`${pkg}/`), latin1('caf\xe9.txt')]), latin1('caf\xe9\n'));
    await repo.work.git('add', '-A');
    await repo.work.git('update-index', '--add', '--cacheinfo', `160000,${'1'.repeat(40)},pkgs/tools/sub`);
    await repo.work.git('commit', '-q', '-m', 'tools');
    await repo.work.git('push', '-q', 'origin', 'main');
    const modesUrl = `file://${repo.bare}`;
    const dir = join(root, 'pulled-modes');
    expect(await pvctl('rpkg', 'pull', 'tools', 'main', dir, '--repo', modesUrl, '--directory', 'pkgs')).toBe(
      `3 file(s) written to ${dir}; submodules left empty: sub`,
    );
    expect(lstatSync(join(dir, 'run.sh')).mode & 0o100).not.toBe(0);
    expect(readlinkSync(join(dir, 'start'), 'utf8')).toBe('run.sh');
    expect(readFileSync(Buffer.concat([Buffer.from(`${dir}/`), latin1('caf\xe9.txt')]))).toEqual(latin1('caf\xe9\n'));
    expect(lstatSync(join(dir, 'sub')).isDirectory()).toBe(true);
    const printed = JSON.parse(
      await pvctl('rpkg', 'pull', 'tools', 'main', '--repo', modesUrl, '--directory', 'pkgs', '-o', 'json'),
    ) as Record<string, unknown>;
    expect(printed).toMatchObject({
      'run.sh': '#!/bin/sh\n',
      start: { symlink: 'run.sh' },
      sub: { gitlink: '1'.repeat(40) },
      'caf\udce9.txt': { base64: latin1('caf\xe9\n').toString('base64') },
    });
  });

  it('uses the Secret next to the Repository for an http repository', async () => {
    const manifest = join(root, 'http-repo.yaml');
    writeFileSync(
      manifest,
      [
        'apiVersion: packagevariant.dev/v1alpha1',
        'kind: Repository',
        'metadata: {name: remote}',
        `spec: {git: {repo: "${server.baseUrl}/deploy.git", directory: pkgs, secretRef: {name: git-auth}}}`,
        '---',
        'apiVersion: v1',
        'kind: Secret',
        'metadata: {name: git-auth}',
        'type: kubernetes.io/basic-auth',
        'stringData: {username: bob, password: http-secret-pw}',
        '',
      ].join('\n'),
    );
    expect(await pvctl('rpkg', 'list', '-f', manifest)).toContain('remote.app.main');
    await expect(
      pvctlEnv(
        { PVCTL_GIT_USERNAME: 'bob', PVCTL_GIT_PASSWORD: 'nope-wrong' },
        'rpkg',
        'list',
        '--repo',
        `${server.baseUrl}/deploy.git`,
      ),
    ).rejects.toThrow(/not reachable/);
    expect(
      await pvctlEnv(
        { PVCTL_GIT_USERNAME: 'bob', PVCTL_GIT_PASSWORD: 'http-secret-pw' },
        'rpkg',
        'list',
        '--repo',
        `${server.baseUrl}/deploy.git`,
        '--directory',
        'pkgs',
      ),
    ).toContain('deploy.app.main');
  });

  it('finds a revision by its Porch name, and computes LATEST over all revisions in get and list alike', async () => {
    const store = new GitStore({ url, cacheDir: join(root, 'porch-cache'), directory: 'pkgs' });
    for (const version of ['v1', 'v2']) {
      const workspace = `web-${version}`;
      const files = samplePackage('web', 1, version);
      await store
        .batch()
        .createDraft({ packageName: 'team/web', workspace, files, owner: { namespace: 'ns', name: 'pv' } })
        .push();
      await store.batch().propose({ packageName: 'team/web', workspace }).push();
      await store.batch().approve({ packageName: 'team/web', workspace }).push();
    }
    store.close();
    const get = async (...args: string[]) =>
      JSON.parse(await pvctl('rpkg', 'get', ...args, '--repo', url, '--directory', 'pkgs', '-o', 'json')) as Array<{
        name: string;
        revision: number;
        latest: boolean;
      }>;
    const brief = (rs: Array<{ name: string; revision: number; latest: boolean }>) =>
      rs.map((r) => `${r.name} v${r.revision} ${r.latest}`);
    expect(brief(await get('team/web', 'v1'))).toEqual(['deploy.team.web.web-v1 v1 false']);
    expect(brief(await get('deploy.team.web.web-v1'))).toEqual(['deploy.team.web.web-v1 v1 false']);
    expect(brief(await get('deploy.team.web.web-v2'))).toEqual(['deploy.team.web.web-v2 v2 true']);
    const listed = JSON.parse(
      await pvctl('rpkg', 'list', '--package', 'team/web', '--repo', url, '--directory', 'pkgs', '-o', 'json'),
    ) as Array<{ name: string; revision: number; latest: boolean }>;
    expect(brief(listed)).toContain('deploy.team.web.web-v1 v1 false');
    expect(brief(listed)).toContain('deploy.team.web.web-v2 v2 true');
    // The name Porch gives it comes from the Repository; --name sets it for a bare URL.
    const named = await pvctl(
      'rpkg',
      'get',
      'edge.team.web.web-v2',
      '--name',
      'edge',
      '--repo',
      url,
      '--directory',
      'pkgs',
    );
    expect(named).toMatch(/edge\.team\.web\.web-v2\s+team\/web\s+web-v2\s+2\s+true\s+Published/);
    await expect(get('edge.team.web.web-v2')).rejects.toThrow(
      /no package or package revision named edge\.team\.web\.web-v2 in .*revision names here are deploy\./,
    );
  });

  it('refuses an unknown output format in every command, before it reads the repository', async () => {
    const nowhere = `file://${join(root, 'no-such-repo.git')}`;
    for (const args of [
      ['list'],
      ['get', 'app'],
      ['pull', 'app', 'main'],
      ['propose', 'app', 'ws1'],
      ['approve', 'x.y.z'],
    ]) {
      await expect(pvctl('rpkg', ...args, '--repo', nowhere, '-o', 'bogus')).rejects.toThrow(
        'unknown output format "bogus"; use table, yaml or json',
      );
    }
  });

  it('reports bad input clearly', async () => {
    await expect(pvctl('rpkg', 'get', 'nope', '--repo', url, '--directory', 'pkgs')).rejects.toThrow(
      `no package or package revision named nope in ${url}`,
    );
    await expect(pvctl('rpkg', 'get', '-rf', '--repo', url)).rejects.toThrow(/unknown option '-rf'/);
    await expect(pvctl('rpkg', 'get', '--repo', url, '--', '-rf')).rejects.toThrow(
      `invalid package name "-rf": must not start with '-'`,
    );
    await expect(pvctl('rpkg', 'list')).rejects.toThrow('a repository is required');
    await expect(pvctl('rpkg', 'list', '--repo', 'ext::sh')).rejects.toThrow('remote helpers');
    await expect(pvctl('rpkg', 'list', '--repo', url, '-o', 'xml')).rejects.toThrow('unknown output format');
    await expect(pvctl('rpkg', 'get', 'app', 'nope', '--repo', url, '--directory', 'pkgs')).rejects.toThrow(
      `no revision nope of package app in ${url}`,
    );
    await expect(pvctl('rpkg', 'get', '../x', '--repo', url)).rejects.toThrow(
      `invalid package name "../x": must not contain '.' or '..' segments`,
    );
    await expect(pvctl('rpkg', 'approve', 'app', 'main', '--repo', url, '--directory', 'pkgs')).rejects.toThrow(
      'cannot approve app main',
    );
  });
});
