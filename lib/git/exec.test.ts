import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { baseGitEnv, GitError, gitProcessStats, redact, runGit } from './exec.ts';
import { gitStoreOptions } from './repository.ts';
import { processesMatching, waitFor } from './testing/processes.ts';

describe('exec', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('does not let the caller environment or user config reach git', async () => {
    process.env.GIT_CONFIG_PARAMETERS = "'user.name=leaked-from-env'";
    process.env.GIT_DIR = '/nonexistent';
    const { stdout } = await runGit(['config', '--list', '--show-origin']);
    expect(stdout.toString()).not.toContain('leaked-from-env');
    expect(stdout.toString()).not.toMatch(/file:\/etc|file:.*\.gitconfig/);
    const env = baseGitEnv();
    expect(env).toMatchObject({
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_ALLOW_PROTOCOL: 'file:https:http:ssh:git',
    });
    expect(env.HOME).not.toBe(saved.HOME);
    expect(env.GIT_DIR).toBeUndefined();
  });

  it('counts processes, kills on timeout and reports failures without secrets', async () => {
    const before = gitProcessStats.spawned;
    await runGit(['--version']);
    expect(gitProcessStats.spawned).toBe(before + 1);
    const versions = gitProcessStats.byCommand['version']?.count ?? 0;
    await runGit(['-c', 'core.quotepath=false', 'version']);
    expect(gitProcessStats.byCommand['version']?.count).toBe(versions + 1);
    // A server that accepts connections and never answers: git must be killed at the timeout.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      await expect(
        runGit(['ls-remote', '--end-of-options', `http://127.0.0.1:${port}/r.git`], { timeoutMs: 300 }),
      ).rejects.toThrow('timed out after 300 ms');
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
    const error = (await runGit(['ls-remote', '--end-of-options', 'https://user:topsecret@127.0.0.1:1/r.git'], {
      secrets: ['topsecret'],
    }).catch((e: unknown) => e)) as GitError;
    expect(error).toBeInstanceOf(GitError);
    expect(error.message).not.toContain('topsecret');
    expect(error.stderr).not.toContain('topsecret');
  });

  it('kills the git processes still running, with their helpers, when the process exits on a signal', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/r.git`;
    const exec = JSON.stringify(join(import.meta.dirname, 'exec.ts'));
    const script =
      `import { runGit } from ${exec};\nprocess.once('SIGTERM', () => process.exit(143));\n` +
      `await runGit(['ls-remote', '--end-of-options', ${JSON.stringify(url)}]);\n`;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    const exited = new Promise((resolve) => parent.once('exit', resolve));
    const gits = () => processesMatching(new RegExp(url.replace(/\./g, '\\.')));
    try {
      // git and its git-remote-http helper, waiting for the server.
      await waitFor('git-remote-http to start', () => gits().some((p) => p.command.includes('remote-http')));
      parent.kill('SIGTERM');
      expect(await exited).toBe(143);
      await waitFor('git to end', () => gits().length === 0, 2000);
    } finally {
      parent.kill('SIGKILL');
      silent.closeAllConnections();
      silent.close();
    }
  }, 20_000);

  it('redacts secrets and URL user info', () => {
    expect(redact('fatal: https://bob:pw@host/x and token abc123', ['abc123'])).toBe(
      'fatal: https://***@host/x and token ***',
    );
  });
});

describe('gitStoreOptions', () => {
  it('maps a Repository spec.git and its Secret to store options', () => {
    const options = gitStoreOptions(
      {
        repo: 'https://git.example.com/org/deploy.git',
        branch: 'deploy',
        directory: '/clusters/',
        createBranch: true,
        author: 'Platform Bot',
        email: 'bot@example.com',
        secretRef: { name: 'git-auth' },
      },
      { cacheDir: '/var/cache/pv', secret: { stringData: { username: 'u', password: 'p' } } },
    );
    expect(options).toEqual({
      url: 'https://git.example.com/org/deploy.git',
      cacheDir: '/var/cache/pv',
      branch: 'deploy',
      directory: '/clusters/',
      createBranch: true,
      author: { name: 'Platform Bot', email: 'bot@example.com' },
      credentials: { kind: 'basic', username: 'u', password: 'p' },
    });
    expect(() => gitStoreOptions({ repo: 'https://h/r.git', secretRef: { name: 'gone' } }, { cacheDir: '/c' })).toThrow(
      'Secret gone',
    );
  });
});
