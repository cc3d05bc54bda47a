// Git over SSH on loopback (OpenSSH sshd): key from a Secret, host key checking, no leaks.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitStore } from './store.ts';
import { generateKey, startSshServer, type SshServer } from './testing/ssh-server.ts';
import { createRepo, removeDir, samplePackage, tempDir } from './testing/repos.ts';
import { credentialsFromSecret } from './credentials.ts';

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
