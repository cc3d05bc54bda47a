// Git over smart HTTP on loopback with basic auth: credentials are used for real, never leak.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runGit } from './exec.ts';
import { GitStore } from './store.ts';
import { startGitHttpServer, type GitHttpServer } from './testing/http-server.ts';
import { createRepo, removeDir, samplePackage, tempDir } from './testing/repos.ts';

const PASSWORD = 'pa55-w0rd-for-http-test';
const TOKEN = 'bearer-token-for-http-test';

let root: string;
let server: GitHttpServer;
let tokenServer: GitHttpServer;
let url: string;

beforeAll(async () => {
  root = tempDir();
  const { work } = await createRepo(join(root, 'srv'), 'deploy');
  work.writePackage('app', samplePackage('app'));
  await work.commitAll('initial');
  await work.git('push', '-q', 'origin', 'main');
  server = await startGitHttpServer({ root: join(root, 'srv'), username: 'alice', password: PASSWORD });
  tokenServer = await startGitHttpServer({ root: join(root, 'srv'), bearerToken: TOKEN });
  url = `${server.baseUrl}/deploy.git`;
});

afterAll(async () => {
  await server.close();
  await tokenServer.close();
  removeDir(root);
});

/** Every file below `dir`, as text. */
function allText(dir: string): string {
  let text = '';
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    text += statSync(path).isDirectory() ? allText(path) : readFileSync(path).toString('latin1');
  }
  return text;
}

describe('GitStore over smart HTTP with basic auth', () => {
  it('lists, reads, creates and approves drafts with the right password', async () => {
    const seen = server.requests.length; // the requests of this test only (the server is shared)
    const store = new GitStore({
      url,
      cacheDir: join(root, 'cache-ok'),
      credentials: { kind: 'basic', username: 'alice', password: PASSWORD },
    });
    try {
      const revisions = await store.listRevisions();
      expect(revisions.map((r) => `${r.packageName} ${r.workspace}`)).toEqual(['app main']);
      expect((await store.readPackage({ packageName: 'app', ref: 'main' })).size).toBe(4);
      const results = await store
        .batch()
        .createDraft({ packageName: 'app', workspace: 'http-ws', files: samplePackage('app', 1, 'v2') })
        .push();
      expect(results[0]!.status).toBe('created');
      const [approved] = await store.batch().approve({ packageName: 'app', workspace: 'http-ws' }).push();
      expect(approved).toMatchObject({ status: 'created', revision: 1 });
      const remote = await runGit(['--git-dir', join(root, 'srv', 'deploy.git'), 'rev-parse', 'app/v1']);
      expect(remote.stdout.toString().trim()).toBe(approved!.commit);
      // Credentials never land in the cache (config, logs, packed refs, ...).
      expect(allText(store.cache.gitDir)).not.toContain(PASSWORD);
      expect(allText(store.cache.gitDir)).not.toContain(Buffer.from(`alice:${PASSWORD}`).toString('base64'));
    } finally {
      store.close();
    }
    expect(server.requests.slice(seen).some((r) => r.authorized && r.path.includes('git-receive-pack'))).toBe(true);
  });

  it('fails cleanly (no prompt, no secret in the message) with a wrong password', async () => {
    const seen = server.requests.length; // the requests of this test only (the server is shared)
    const store = new GitStore({
      url,
      cacheDir: join(root, 'cache-bad'),
      credentials: { kind: 'basic', username: 'alice', password: 'wrong-password-123' },
    });
    try {
      const error = (await store.refresh().catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toContain(`repository ${url} is not reachable`);
      expect(error.message).toMatch(/Authentication failed|could not read Username|401/);
      expect(error.message).not.toContain('wrong-password-123');
      expect(error.message).not.toContain(Buffer.from('alice:wrong-password-123').toString('base64'));
    } finally {
      store.close();
    }
    expect(server.requests.slice(seen).some((r) => !r.authorized)).toBe(true);
  });

  it('fails cleanly without credentials', async () => {
    const store = new GitStore({ url, cacheDir: join(root, 'cache-none') });
    try {
      await expect(store.refresh()).rejects.toThrow('is not reachable');
    } finally {
      store.close();
    }
  });

  it('sends a bearer token when the Secret holds one', async () => {
    const store = new GitStore({
      url: `${tokenServer.baseUrl}/deploy.git`,
      cacheDir: join(root, 'cache-token'),
      credentials: { kind: 'bearer', token: TOKEN },
    });
    try {
      expect((await store.listRevisions()).length).toBeGreaterThan(0);
    } finally {
      store.close();
    }
    expect(tokenServer.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('refuses the ext:: transport even when it reaches git directly', async () => {
    const marker = join(root, 'pwned');
    await expect(runGit(['ls-remote', `ext::sh -c touch% ${marker}`])).rejects.toThrow(/not allowed|unsupported/);
    expect(() => statSync(marker)).toThrow();
  });
});
