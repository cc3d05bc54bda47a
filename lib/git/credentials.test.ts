import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { credentialsFromSecret, keyDirParent, networkEnv, sweepStaleKeyDirs } from './credentials.ts';
import { removeDir, tempDir } from './testing/repos.ts';
import { pushArgs } from './push.ts';
import { parseRemoteUrl } from './url.ts';
import { redact } from './exec.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('credentials', () => {
  it('reads basic-auth, token, bearer and ssh Secrets', () => {
    expect(
      credentialsFromSecret({ type: 'kubernetes.io/basic-auth', data: { username: b64('u'), password: b64('p') } }),
    ).toEqual({ kind: 'basic', username: 'u', password: 'p' });
    expect(credentialsFromSecret({ stringData: { token: 't0k' } })).toEqual({
      kind: 'basic',
      username: 'x-access-token',
      password: 't0k',
    });
    expect(credentialsFromSecret({ data: { bearerToken: b64('bt') } })).toEqual({ kind: 'bearer', token: 'bt' });
    expect(
      credentialsFromSecret({
        type: 'kubernetes.io/ssh-auth',
        data: { 'ssh-privatekey': b64('KEY'), known_hosts: b64('host ssh-ed25519 AAA') },
      }),
    ).toEqual({ kind: 'ssh', privateKey: 'KEY', knownHosts: 'host ssh-ed25519 AAA' });
    expect(() => credentialsFromSecret({ data: { other: b64('x') } }, 'git-auth')).toThrow('Secret git-auth');
  });

  it('puts http credentials in the environment only, scoped to the repository URL', async () => {
    const remote = parseRemoteUrl('https://git.example.com/org/repo.git');
    const net = await networkEnv(remote, { kind: 'basic', username: 'u', password: 's3cret-pw' });
    expect(net.env).toEqual({
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.https://git.example.com/org/repo.git.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${b64('u:s3cret-pw')}`,
    });
    expect(net.secrets).toEqual(expect.arrayContaining(['s3cret-pw', b64('u:s3cret-pw')]));
    expect(redact(`fatal: header ${b64('u:s3cret-pw')} pw s3cret-pw`, net.secrets)).toBe('fatal: header *** pw ***');
  });

  it('writes an SSH key to a private 0600 file and removes it afterwards', async () => {
    const remote = parseRemoteUrl('git@example.com:org/repo.git');
    const net = await networkEnv(remote, {
      kind: 'ssh',
      privateKey: 'PRIVATE',
      knownHosts: 'example.com ssh-ed25519 AAAA',
    });
    const keyFile = /IdentityFile='([^']+)'/.exec(net.env.GIT_SSH_COMMAND!)![1]!;
    expect(readFileSync(keyFile, 'utf8')).toBe('PRIVATE\n');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    // In a directory named after this process, in the one private parent the sweep looks at.
    expect(dirname(dirname(keyFile))).toBe(keyDirParent());
    expect(basename(dirname(keyFile))).toMatch(new RegExp(`^${process.pid}-`));
    expect(statSync(keyDirParent()).mode & 0o777).toBe(0o700);
    expect(net.env.GIT_SSH_COMMAND).toContain('StrictHostKeyChecking=yes');
    expect(net.env.GIT_SSH_COMMAND).not.toContain('PRIVATE');
    await net.dispose();
    expect(existsSync(keyFile)).toBe(false);
  });

  it('sweeps key directories of dead processes older than the grace, and nothing else', () => {
    const parent = tempDir('pv-sweep-');
    try {
      const dead = spawnSync('true').pid;
      const old = new Date(Date.now() - 120_000);
      const dirs = {
        deadOld: `${dead}-old`,
        deadYoung: `${dead}-young`,
        liveOld: `${process.ppid}-old`,
        ownOld: `${process.pid}-old`,
        notOurs: 'notes',
      };
      for (const name of Object.values(dirs)) {
        mkdirSync(join(parent, name));
        if (name !== dirs.deadYoung) utimesSync(join(parent, name), old, old);
      }
      expect(sweepStaleKeyDirs(parent, 60_000)).toEqual([join(parent, dirs.deadOld)]);
      expect(readdirSync(parent).sort()).toEqual([dirs.deadYoung, dirs.liveOld, dirs.ownOld, dirs.notOurs].sort());
      expect(sweepStaleKeyDirs(join(parent, 'missing'))).toEqual([]);
    } finally {
      removeDir(parent);
    }
  });

  it('refuses to write a key into a parent directory that is a symlink', () => {
    const tmp = tempDir('pv-symlink-');
    try {
      const elsewhere = join(tmp, 'elsewhere');
      mkdirSync(elsewhere);
      symlinkSync(elsewhere, keyDirParent(tmp));
      const script =
        `import { networkEnv } from ${JSON.stringify(join(import.meta.dirname, 'credentials.ts'))};\n` +
        `import { parseRemoteUrl } from ${JSON.stringify(join(import.meta.dirname, 'url.ts'))};\n` +
        `await networkEnv(parseRemoteUrl('ssh://git@example.com/r.git'), { kind: 'ssh', privateKey: 'K' });\n`;
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, TMPDIR: tmp },
        encoding: 'utf8',
      });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('is not a directory owned by this user');
      expect(readdirSync(elsewhere)).toEqual([]);
    } finally {
      removeDir(tmp);
    }
  });

  it('refuses credentials that do not fit the transport', async () => {
    await expect(
      networkEnv(parseRemoteUrl('/srv/r.git'), { kind: 'basic', username: 'u', password: 'p' }),
    ).rejects.toThrow('http(s)');
    await expect(networkEnv(parseRemoteUrl('https://h/r.git'), { kind: 'ssh', privateKey: 'k' })).rejects.toThrow(
      'SSH',
    );
  });

  it('builds push arguments with a lease per ref and nothing secret', () => {
    const oid = 'a'.repeat(40);
    const args = pushArgs('https://h/r.git', [
      { ref: 'refs/heads/drafts/p/ws', newOid: oid, expectedOid: null },
      { ref: 'refs/heads/proposed/p/ws', newOid: null, expectedOid: oid },
    ]);
    expect(args).toEqual([
      'push',
      '--atomic',
      '--porcelain',
      '--no-verify',
      'refs/heads/drafts/p/ws'.replace(/^/, '--force-with-lease=') + ':',
      `--force-with-lease=refs/heads/proposed/p/ws:${oid}`,
      '--end-of-options',
      'https://h/r.git',
      `${oid}:refs/heads/drafts/p/ws`,
      ':refs/heads/proposed/p/ws',
    ]);
    expect(() => pushArgs('u', [{ ref: 'refs/heads/-x', newOid: oid, expectedOid: null }])).toThrow('invalid ref');
    expect(() => pushArgs('u', [{ ref: 'refs/remotes/x', newOid: oid, expectedOid: null }])).toThrow('cannot push');
  });
});
