// Git over SSH on loopback (OpenSSH sshd): key from a Secret, host key checking, no leaks, no
// process or key left behind when git hangs.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitStore } from './store.ts';
import { generateKey, startSshServer, type SshServer } from './testing/ssh-server.ts';
import { createRepo, removeDir, samplePackage, tempDir } from './testing/repos.ts';
import { processesMatching, waitFor } from './testing/processes.ts';
import { credentialsFromSecret, keyDirParent, type GitCredentials } from './credentials.ts';

let root: string;
let server: SshServer;
let url: string;

beforeAll(async () => {
  root = tempDir();
  const { bare, work } = await createRepo(root, 'deploy');
  work.writePackage('app', samplePackage('app'));
  await work.commitAll('initial');
  await work.git('push', '-q', 'origin', 'main');
  server = await startSshServer(join(root, 'sshd'));
  url = server.url(bare);
});

afterAll(async () => {
  await server?.close();
  removeDir(root);
});

describe('GitStore over SSH', () => {
  it('reads and writes with the key and known_hosts from a kubernetes.io/ssh-auth Secret', async () => {
    const credentials = credentialsFromSecret({
      type: 'kubernetes.io/ssh-auth',
      stringData: { 'ssh-privatekey': server.clientKey.privateKey, known_hosts: server.knownHosts },
    });
    const store = new GitStore({ url, cacheDir: join(root, 'cache-ok'), credentials });
    try {
      expect((await store.listRevisions()).map((r) => `${r.packageName} ${r.workspace}`)).toEqual(['app main']);
      const [result] = await store
        .batch()
        .createDraft({ packageName: 'app', workspace: 'over-ssh', files: samplePackage('app', 1, 'ssh') })
        .push();
      expect(result!.status).toBe('created');
    } finally {
      store.close();
    }
  });

  it('refuses a server whose host key does not match known_hosts', async () => {
    const other = await generateKey(root, 'impostor');
    const store = new GitStore({
      url,
      cacheDir: join(root, 'cache-hostkey'),
      credentials: {
        kind: 'ssh',
        privateKey: server.clientKey.privateKey,
        knownHosts: `[127.0.0.1]:${server.port} ${other.publicKey.split(' ').slice(0, 2).join(' ')}\n`,
      },
    });
    try {
      await expect(store.refresh()).rejects.toThrow(/is not reachable.*(Host key verification failed|host key)/i);
    } finally {
      store.close();
    }
  });

  it('fails cleanly with a key the server does not accept, without showing the key', async () => {
    const wrong = await generateKey(root, 'wrong');
    const store = new GitStore({
      url,
      cacheDir: join(root, 'cache-wrong'),
      credentials: { kind: 'ssh', privateKey: wrong.privateKey, knownHosts: server.knownHosts },
    });
    try {
      const error = (await store.refresh().catch((e: unknown) => e)) as Error;
      expect(error.message).toContain(`repository ${url} is not reachable`);
      expect(error.message).toMatch(/Permission denied/);
      expect(error.message).not.toContain(wrong.privateKey.split('\n')[1]!);
    } finally {
      store.close();
    }
  });

  it('trusts the first host key when no known_hosts is given, and remembers it in the cache', async () => {
    const cacheDir = join(root, 'cache-tofu');
    const store = new GitStore({
      url,
      cacheDir,
      credentials: { kind: 'ssh', privateKey: server.clientKey.privateKey },
    });
    try {
      await store.refresh();
      expect(readFileSync(join(cacheDir, 'known_hosts'), 'utf8')).toContain(`[127.0.0.1]:${server.port}`);
    } finally {
      store.close();
    }
  });
});

describe('git over SSH that hangs', () => {
  let hung: GitCredentials;
  beforeAll(async () => {
    // A key whose sessions never answer: git waits for the server's refs forever.
    const key = await generateKey(root, 'hung');
    appendFileSync(join(root, 'sshd', 'authorized_keys'), `command="cat >/dev/null" ${key.publicKey}\n`);
    hung = { kind: 'ssh', privateKey: key.privateKey, knownHosts: server.knownHosts };
  });
  /** git, ssh and the shell around ssh talking to this server. */
  const clients = () => processesMatching(new RegExp(`127\\.0\\.0\\.1:${server.port}/|-p ${server.port} `));
  const sshStarted = () => clients().some((p) => p.command.startsWith('ssh '));

  it('is killed at the timeout with its ssh, and the key is removed', async () => {
    const store = new GitStore({ url, cacheDir: join(root, 'cache-timeout'), credentials: hung, timeoutMs: 3000 });
    try {
      const refresh = store.refresh();
      await waitFor('ssh to start', sshStarted);
      await expect(refresh).rejects.toThrow('timed out after 3000 ms');
      await waitFor('git and ssh to end', () => clients().length === 0, 2000);
      const ownKeyDirs = readdirSync(keyDirParent()).filter((name) => name.startsWith(`${process.pid}-`));
      expect(ownKeyDirs).toEqual([]);
    } finally {
      store.close();
    }
  }, 20_000);

  it('is killed, with its ssh, when the process that started it is killed by SIGKILL', async () => {
    const tmp = join(root, 'tmp-sigkill');
    mkdirSync(tmp);
    const script = join(root, 'refresh.ts');
    const store = JSON.stringify(join(import.meta.dirname, 'store.ts'));
    appendFileSync(
      script,
      `import { GitStore } from ${store};\nconst { URL, CACHE, CREDENTIALS } = process.env;\n` +
        `await new GitStore({ url: URL, cacheDir: CACHE, credentials: JSON.parse(CREDENTIALS) }).refresh();\n`,
    );
    const parent = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', script], {
      env: {
        ...process.env,
        TMPDIR: tmp,
        URL: url,
        CACHE: join(root, 'cache-sigkill'),
        CREDENTIALS: JSON.stringify(hung),
      },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => parent.once('exit', resolve));
    try {
      await waitFor('ssh to start', sshStarted);
      parent.kill('SIGKILL');
      await exited;
      await waitFor('git and ssh to end', () => clients().length === 0, 3000);
      // Nothing could remove the key: the next process's sweep does (cli/commands/ssh-keys.test.ts).
      expect(readdirSync(keyDirParent(tmp))).toEqual([expect.stringMatching(new RegExp(`^${parent.pid}-`))]);
    } finally {
      parent.kill('SIGKILL');
    }
  }, 20_000);
});
