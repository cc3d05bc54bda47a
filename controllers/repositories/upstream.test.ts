import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UpstreamIndex, type UpstreamWatch } from './index.ts';
import { normalizeRepoUrl } from './repo-url.ts';
import { UpstreamNotFoundError, type UpstreamRevision, type UpstreamSource } from './source.ts';
import { UpstreamWatcher } from './watcher.ts';
import { createWebhookHandler, payloadUrls } from './webhook.ts';

describe('normalizeRepoUrl', () => {
  it('gives one identity across transports', () => {
    const forms = [
      'https://GitHub.com/org/repo.git',
      'ssh://git@github.com/org/repo',
      'git@github.com:org/repo.git',
      'https://github.com/org/repo/',
    ];
    expect(new Set(forms.map(normalizeRepoUrl))).toEqual(new Set(['github.com/org/repo']));
    expect(normalizeRepoUrl('https://user:pw@h.example/x.git')).toBe('h.example/x');
    expect(normalizeRepoUrl('file:///srv/git/r.git')).toBe('file:///srv/git/r');
  });
});

describe('UpstreamIndex', () => {
  const w = (pkg: string, track = 'latest', repo = 'r1'): UpstreamWatch => ({ repo, package: pkg, track });

  it('maps watches to variants and moves a variant when its watch changes', () => {
    const index = new UpstreamIndex();
    index.set('ns/a', w('nginx'));
    index.set('ns/b', w('nginx'));
    index.set('ns/c', w('redis', 'latest', 'r2'));
    expect(index.watchesOf('r1')).toEqual([w('nginx')]);
    expect(index.variantsOf(w('nginx')).sort()).toEqual(['ns/a', 'ns/b']);
    index.set('ns/a', w('nginx', 'branch:main'));
    expect(index.variantsOf(w('nginx'))).toEqual(['ns/b']);
    expect(index.watchesOf('r1')).toHaveLength(2);
    index.delete('ns/b');
    index.delete('ns/c');
    expect(index.repositories()).toEqual(['r1']);
    expect(index.size).toBe(1);
  });
});

/** A repository whose refs and package trees the test sets; counts the calls the watcher makes. */
class ScriptedSource implements UpstreamSource {
  readonly kind = 'git';
  readonly url = 'r1';
  readonly defaultRef = 'main';
  refs = new Map([['refs/heads/main', 'c1']]);
  trees = new Map<string, UpstreamRevision>();
  lsRemotes = 0;
  resolves = 0;
  fail = false;
  watchPackage = (name: string) => name;
  packageNameOf = (name: string) => name;
  async heads() {
    this.lsRemotes++;
    if (this.fail) throw new Error('unreachable');
    return new Map(this.refs);
  }
  async sync() {
    this.resolves++;
  }
  async resolve(packageName: string) {
    const found = this.trees.get(packageName);
    if (!found) throw new UpstreamNotFoundError(packageName);
    return { ref: 'refs/heads/main', commit: found.commit };
  }
  async packageTree(packageName: string) {
    return this.trees.get(packageName)?.tree;
  }
  async read(): Promise<never> {
    throw new Error('the watcher reads no package');
  }
  lock(): never {
    throw new Error('the watcher locks no package');
  }
}
describe('UpstreamWatcher', () => {
  function setup() {
    const index = new UpstreamIndex();
    const source = new ScriptedSource();
    const enqueued: string[][] = [];
    const polls: string[] = [];
    const watcher = new UpstreamWatcher({
      index,
      sourceFor: (repo) => (repo === 'r1' ? source : undefined),
      enqueue: (variants) => enqueued.push([...variants].sort()),
      onPoll: (_repo, result) => polls.push(result),
    });
    const nginx: UpstreamWatch = { repo: 'r1', package: 'nginx', track: 'latest' };
    const redis: UpstreamWatch = { repo: 'r1', package: 'redis', track: 'latest' };
    index.set('ns/a', nginx);
    index.set('ns/b', nginx);
    index.set('ns/c', redis);
    source.trees.set('nginx', { commit: 'c1', tree: 't-nginx-1' });
    source.trees.set('redis', { commit: 'c1', tree: 't-redis-1' });
    return { index, source, watcher, enqueued, polls, nginx, redis };
  }

  it('resolves new watches once, then costs one ls-remote per poll while nothing moves', async () => {
    const { source, watcher, enqueued, polls, nginx } = setup();
    watcher.noteResolved(nginx, { commit: 'c1', tree: 't-nginx-1' });
    await watcher.pollNow('r1');
    // nginx was noted by a reconcile at the same tree: only redis, never seen, is checked by its variant.
    expect(enqueued).toEqual([['ns/c']]);
    await watcher.pollNow('r1');
    await watcher.pollNow('r1');
    expect(source.lsRemotes).toBe(3);
    expect(source.resolves).toBe(1);
    expect(polls).toEqual(['changed', 'unchanged', 'unchanged']);
  });

  it('enqueues only the variants whose package tree changed', async () => {
    const { source, watcher, enqueued } = setup();
    await watcher.pollNow('r1');
    enqueued.length = 0;
    // A commit that does not touch either package: refs move, trees do not.
    source.refs.set('refs/heads/main', 'c2');
    source.trees.set('nginx', { commit: 'c2', tree: 't-nginx-1' });
    source.trees.set('redis', { commit: 'c2', tree: 't-redis-1' });
    expect(await watcher.pollNow('r1')).toBe('unchanged');
    expect(enqueued).toEqual([]);
    // A commit that changes redis only.
    source.refs.set('refs/heads/main', 'c3');
    source.trees.set('redis', { commit: 'c3', tree: 't-redis-2' });
    expect(await watcher.pollNow('r1')).toBe('changed');
    expect(enqueued).toEqual([['ns/c']]);
  });

  it('reports errors and recovers', async () => {
    const { source, watcher, polls } = setup();
    source.fail = true;
    expect(await watcher.pollNow('r1')).toBe('error');
    source.fail = false;
    expect(await watcher.pollNow('r1')).toBe('changed');
    expect(polls).toEqual(['error', 'changed']);
  });

  it('coalesces concurrent poll requests into one more poll', async () => {
    const { source, watcher } = setup();
    await Promise.all([watcher.pollNow('r1'), watcher.pollNow('r1'), watcher.pollNow('r1'), watcher.pollNow('r1')]);
    await new Promise((r) => setTimeout(r, 10));
    expect(source.lsRemotes).toBe(2);
  });

  it('keeps one poll loop per repository when asked to track it during a poll', async () => {
    const index = new UpstreamIndex();
    const source = new ScriptedSource();
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const lsRemote = source.heads.bind(source);
    source.heads = async () => {
      const heads = await lsRemote();
      if (source.lsRemotes === 1) await blocked;
      return heads;
    };
    index.set('ns/a', { repo: 'r1', package: 'nginx', track: 'latest' });
    const watcher = new UpstreamWatcher({
      index,
      sourceFor: () => source,
      enqueue: () => {},
      intervalMs: 10_000,
      random: () => 0,
    });
    watcher.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(source.lsRemotes).toBe(1);
    for (let i = 0; i < 5; i++) watcher.track('r1'); // e.g. reconciles finishing during the poll
    release();
    await new Promise((r) => setTimeout(r, 50));
    expect(source.lsRemotes).toBe(1);
    watcher.stop();
  });

  it('polls on its own timer once started', async () => {
    const index = new UpstreamIndex();
    const source = new ScriptedSource();
    index.set('ns/a', { repo: 'r1', package: 'nginx', track: 'latest' });
    const watcher = new UpstreamWatcher({
      index,
      sourceFor: () => source,
      enqueue: () => {},
      intervalMs: 5,
      jitter: 0.5,
    });
    watcher.start();
    await new Promise((r) => setTimeout(r, 60));
    watcher.stop();
    const polled = source.lsRemotes;
    expect(polled).toBeGreaterThan(1);
    await new Promise((r) => setTimeout(r, 30));
    expect(source.lsRemotes).toBe(polled);
  });
});

describe('webhook', () => {
  const secret = 'webhook-secret';
  const polled: string[] = [];
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer(
      createWebhookHandler({
        secret,
        repositoriesFor: (u) => (u === 'git.example.com/org/blueprints' ? ['blueprints-key'] : []),
        poll: (repo) => polled.push(repo),
        limits: { maxBodyBytes: 4096 },
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const sign = (body: string, key = secret) => createHmac('sha256', key).update(body).digest('hex');
  const post = (body: string, headers: Record<string, string>) => fetch(url, { method: 'POST', body, headers });
  const github = JSON.stringify({ repository: { clone_url: 'https://git.example.com/org/blueprints.git' } });

  it('accepts a signed GitHub push and polls the repository it names', async () => {
    polled.length = 0;
    const res = await post(github, { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${sign(github)}` });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ repositories: ['blueprints-key'] });
    expect(polled).toEqual(['blueprints-key']);
  });

  it('accepts Gitea and GitLab payloads', async () => {
    polled.length = 0;
    const gitea = JSON.stringify({ repository: { ssh_url: 'git@git.example.com:org/blueprints.git' } });
    expect((await post(gitea, { 'x-gitea-event': 'push', 'x-gitea-signature': sign(gitea) })).status).toBe(202);
    const gitlab = JSON.stringify({ project: { git_http_url: 'https://git.example.com/org/blueprints.git' } });
    expect((await post(gitlab, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': secret })).status).toBe(202);
    expect(polled).toEqual(['blueprints-key', 'blueprints-key']);
  });

  it('refuses wrong or missing signatures and polls nothing', async () => {
    polled.length = 0;
    expect((await post(github, { 'x-hub-signature-256': `sha256=${sign(github, 'wrong')}` })).status).toBe(401);
    expect((await post(github, { 'x-gitlab-token': 'wrong' })).status).toBe(401);
    expect((await post(github, {})).status).toBe(401);
    expect(polled).toEqual([]);
  });

  it('answers pings, ignores other events, refuses bad bodies, other methods and large bodies', async () => {
    const ping = '{}';
    expect((await post(ping, { 'x-github-event': 'ping', 'x-hub-signature-256': `sha256=${sign(ping)}` })).status).toBe(
      200,
    );
    const issue = await post(github, { 'x-github-event': 'issues', 'x-hub-signature-256': `sha256=${sign(github)}` });
    expect(await issue.json()).toEqual({ ignored: 'issues' });
    expect((await post('nope', { 'x-hub-signature-256': `sha256=${sign('nope')}` })).status).toBe(400);
    expect((await fetch(url)).status).toBe(405);
    const big = 'x'.repeat(5000);
    expect((await post(big, { 'x-hub-signature-256': `sha256=${sign(big)}` })).status).toBe(413);
  });

  it('answers 200 with no repositories for a push of an unwatched repository', async () => {
    const other = JSON.stringify({ repository: { clone_url: 'https://git.example.com/org/other.git' } });
    const res = await post(other, { 'x-hub-signature-256': `sha256=${sign(other)}` });
    expect(res.status).toBe(200);
    expect(payloadUrls(JSON.parse(other))).toEqual(['https://git.example.com/org/other.git']);
  });
});
