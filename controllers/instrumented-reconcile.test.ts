// Reconcile log lines and metrics, and a failing reconcile against a real git server over HTTP
// whose credentials must not reach the logs.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { KubeObject } from '../api/v1alpha1/index.ts';
import { startGitHttpServer, type GitHttpServer } from '../lib/git/testing/http-server.ts';
import { removeDir, tempDir } from '../lib/git/testing/repos.ts';
import { Metrics } from '../lib/metrics/metrics.ts';
import { instrumentReconcile } from './instrumented-reconcile.ts';
import { LocalObjectStore } from './local-store.ts';
import { GitStores } from './packagevariant/git-stores.ts';
import { PushCoalescer } from './packagevariant/push-coalescer.ts';
import { PackageVariantReconciler } from './packagevariant/reconciler.ts';
import { blueprint, packageVariant, repository, TestRepo } from './testing/fixtures.ts';

function capturedLogger(): { log: Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const log = pino({ level: 'trace' }, stream).child({ controller: 'packagevariant' });
  const text = () => chunks.join('');
  const lines = () =>
    text()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, text };
}

const sample = async (metrics: Metrics, series: string) =>
  (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));

describe('instrumentReconcile', () => {
  it('logs every line with controller, key and a reconcileID of its own, and counts results', async () => {
    const { log, lines } = capturedLogger();
    const metrics = new Metrics({ defaultMetrics: false });
    const results = [{}, { requeueAfterMs: 500 }];
    const reconcile = instrumentReconcile(
      { controller: 'packagevariant', log, metrics, failureCount: () => 0 },
      async (key, context) => {
        context.log.info('working');
        if (key === 'ns/bad') throw new Error('boom');
        return results.shift();
      },
    );
    await reconcile('ns/a');
    await reconcile('ns/a');
    await expect(reconcile('ns/bad')).rejects.toThrow('boom');
    const all = lines();
    for (const line of all) {
      expect(line).toMatchObject({ controller: 'packagevariant', key: expect.stringMatching(/^ns\//) });
      expect(line.reconcileID).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
    }
    expect(new Set(all.map((l) => l.reconcileID)).size).toBe(3);
    expect(all.find((l) => l.msg === 'reconcile failed; retrying')).toMatchObject({
      level: 40,
      key: 'ns/bad',
      err: 'boom',
      retryInMs: 5,
    });
    const total = (result: string) =>
      sample(metrics, `controller_runtime_reconcile_total{controller="packagevariant",result="${result}"}`);
    expect(await total('success')).toMatch(/ 1$/);
    expect(await total('requeue_after')).toMatch(/ 1$/);
    expect(await total('error')).toMatch(/ 1$/);
    expect(await sample(metrics, 'controller_runtime_reconcile_errors_total{controller="packagevariant"}')).toMatch(
      / 1$/,
    );
  });
});

describe('credentials in a failing reconcile', () => {
  const PASSWORD = 'correct-horse-battery-42';
  const WRONG_TOKEN = 'ghp_wr0ngT0kenValue9876';
  const URL_TOKEN = 'url-userinfo-t0ken-31337';
  let root: string;
  let git: GitHttpServer;

  beforeAll(async () => {
    root = tempDir('pv-creds-');
    const upstream = await TestRepo.create(join(root, 'repos'), 'blueprints');
    await upstream.publish('nginx', blueprint('nginx'), 1);
    await TestRepo.create(join(root, 'repos'), 'deploy');
    git = await startGitHttpServer({ root: join(root, 'repos'), username: 'bot', password: PASSWORD });
  });
  afterAll(async () => {
    await git.close();
    removeDir(root);
  });

  it("gives the reconciler's steps the reconcile's logger: observed, decided, acted, each with the reconcileID", async () => {
    const up = await TestRepo.create(root, 'steps-up');
    const down = await TestRepo.create(root, 'steps-down');
    await up.publish('nginx', blueprint('nginx'), 1);
    const objects = new LocalObjectStore([
      repository('blueprints', up.url),
      repository('deploy', down.url, true),
      packageVariant('east', {
        upstream: { repo: 'blueprints', package: 'nginx' },
        downstream: { repo: 'deploy', package: 'east' },
      }),
    ]);
    const stores = new GitStores({ objects, cacheDir: join(root, 'steps-cache') });
    const reconciler = new PackageVariantReconciler({ objects, stores, pushes: new PushCoalescer() });
    const { log, lines } = capturedLogger();
    const reconcile = instrumentReconcile(
      { controller: 'packagevariant', log, metrics: new Metrics({ defaultMetrics: false }), failureCount: () => 0 },
      (key, context) => reconciler.reconcile(key, context),
    );
    try {
      await reconcile('default/east');
    } finally {
      stores.close();
    }
    const steps = lines().filter((l) => ['observed', 'decided', 'acted'].includes(l.msg as string));
    expect(steps.map((l) => l.msg)).toEqual(['observed', 'decided', 'acted']);
    expect(new Set(steps.map((l) => l.reconcileID)).size).toBe(1);
    expect(steps[1]).toMatchObject({ key: 'default/east', task: 'clone', ops: ['createDraft'] });
  });

  it('never logs the password or token of a Secret, nor one in a repository URL', async () => {
    const withSecret = (repo: KubeObject) => {
      (repo.spec as { git: { secretRef?: { name: string } } }).git.secretRef = { name: 'git-credentials' };
      return repo;
    };
    const objects = new LocalObjectStore([
      withSecret(repository('blueprints', `${git.baseUrl}/blueprints.git`)),
      withSecret(repository('deploy', `${git.baseUrl}/deploy.git`, true)),
      repository('leaky', `${git.baseUrl.replace('://', `://bot:${URL_TOKEN}@`)}/deploy.git`, true),
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'git-credentials', namespace: 'default' },
        type: 'kubernetes.io/basic-auth',
        data: {
          username: Buffer.from('bot').toString('base64'),
          password: Buffer.from(WRONG_TOKEN).toString('base64'),
        },
      },
      packageVariant('east', {
        upstream: { repo: 'blueprints', package: 'nginx' },
        downstream: { repo: 'deploy', package: 'east' },
      }),
      packageVariant('west', {
        upstream: { repo: 'blueprints', package: 'nginx' },
        downstream: { repo: 'leaky', package: 'west' },
      }),
    ]);
    const stores = new GitStores({ objects, cacheDir: join(root, 'cache') });
    const reconciler = new PackageVariantReconciler({ objects, stores, pushes: new PushCoalescer() });
    const { log, lines, text } = capturedLogger();
    const reconcile = instrumentReconcile(
      { controller: 'packagevariant', log, metrics: new Metrics({ defaultMetrics: false }), failureCount: () => 0 },
      (key, context) => reconciler.reconcile(key, context),
    );
    try {
      await expect(reconcile('default/east')).rejects.toThrow(/Authentication failed|401|could not read/i);
      await reconcile('default/west'); // the URL with credentials is refused: Stalled, no retry
    } finally {
      stores.close();
    }
    expect(git.requests.some((r) => !r.authorized)).toBe(true); // git did try, with the wrong token
    expect(lines().find((l) => l.msg === 'reconcile failed; retrying')).toMatchObject({ key: 'default/east' });
    const logs = text();
    expect(logs).toContain('default/west');
    for (const secret of [WRONG_TOKEN, URL_TOKEN, PASSWORD, Buffer.from(WRONG_TOKEN).toString('base64')]) {
      expect(logs).not.toContain(secret);
    }
    // Nor in what the reconciler wrote for people to read: status and events.
    const written = JSON.stringify([objects.all().map((o) => o.status), objects.events]);
    expect(written).toContain('must not contain credentials');
    expect(written).not.toContain(WRONG_TOKEN);
    expect(written).not.toContain(URL_TOKEN);
  });

  it("hands each reconcile the controller's abort signal", async () => {
    const { log } = capturedLogger();
    const shutdown = new AbortController();
    const seen: AbortSignal[] = [];
    const reconcile = instrumentReconcile(
      {
        controller: 'packagevariant',
        log,
        metrics: new Metrics({ defaultMetrics: false }),
        failureCount: () => 0,
        signal: shutdown.signal,
      },
      async (_key, context) => {
        seen.push(context.signal);
      },
    );
    await reconcile('ns/a');
    expect(seen[0]?.aborted).toBe(false);
    shutdown.abort();
    expect(seen[0]?.aborted).toBe(true);
  });
});
