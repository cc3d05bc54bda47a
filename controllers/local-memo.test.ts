// The no-change pass of local mode: a variant whose inputs did not move since a run that wrote
// nothing for it is decided from refs and trees (its remembered outcome), and anything that
// decides a reconcile makes it compute again: an upstream release, a spec change, a person's
// commit on the draft, an injection source, a lost memo.
import { afterAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { RECONCILE_REQUEST_ANNOTATION, type KubeObject, type PackageVariant } from '../api/v1alpha1/index.ts';
import { removeDir, tempDir } from '../lib/git/testing/repos.ts';
import { reconcileLocally } from './local.ts';
import { gitProcessStats } from '../lib/git/exec.ts';
import { startGitHttpServer } from '../lib/git/testing/http-server.ts';
import { MEMO_FILE } from './packagevariant/memo.ts';
import { PASS_MEMO_DIR } from './pass-memo.ts';
import { blueprint, packageVariant, repository, TestRepo } from './testing/fixtures.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const variant = (name: string, spec: Partial<NonNullable<PackageVariant['spec']>> = {}) =>
  packageVariant(name, {
    upstream: { repo: 'blueprints', package: 'nginx' },
    downstream: { repo: 'deploy', package: name },
    ...spec,
  });

async function world() {
  const root = tempDir('pv-memo-');
  dirs.push(root);
  const upstream = await TestRepo.create(root, 'blueprints');
  const deploy = await TestRepo.create(root, 'deploy');
  await upstream.publish('nginx', blueprint('nginx'), 1);
  const cacheDir = join(root, 'cache');
  const run = async (...objects: KubeObject[]) => runWith({}, ...objects);
  const runWith = async (options: { dryRun?: boolean }, ...objects: KubeObject[]) => {
    const result = await reconcileLocally(
      [repository('blueprints', upstream.url), repository('deploy', deploy.url, true), ...objects],
      { cacheDir, ...options },
    );
    const statusOf = (name: string) => result.variants.find((v) => v.metadata?.name === name)!.status!;
    return { ...result, statusOf };
  };
  return { root, cacheDir, upstream, deploy, run, runWith };
}

describe('local mode: a pass with nothing changed', () => {
  it('is decided from refs and trees once a pass wrote nothing, with the same status', async () => {
    const { run } = await world();
    const first = await run(variant('east'), variant('west'));
    expect([first.pushes, first.unchanged]).toEqual([1, 0]);
    const second = await run(variant('east'), variant('west')); // computes, writes nothing, remembers
    expect([second.pushes, second.unchanged]).toEqual([0, 0]);
    const third = await run(variant('east'), variant('west'));
    expect([third.pushes, third.unchanged]).toEqual([0, 2]);
    for (const name of ['east', 'west']) {
      const { conditions: a, ...restA } = second.statusOf(name);
      const { conditions: b, ...restB } = third.statusOf(name);
      expect(restB).toEqual(restA);
      expect(b?.map(({ type, status, reason, message }) => [type, status, reason, message])).toEqual(
        a?.map(({ type, status, reason, message }) => [type, status, reason, message]),
      );
    }
  });

  it('computes again after an upstream release, and carries it', async () => {
    const { upstream, run, deploy } = await world();
    await run(variant('east'));
    await run(variant('east'));
    expect((await run(variant('east'))).unchanged).toBe(1);
    const v2 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
    const after = await run(variant('east'));
    expect(after.unchanged).toBe(0);
    expect(after.statusOf('east').downstreamTargets![0]).toMatchObject({ upstreamCommit: v2 });
    expect(await deploy.show('drafts/east/packagevariant-1', 'east/deployment.yaml')).toContain('nginx:1.27');
  });

  it('computes again when the spec changes, or when a person commits to the draft', async () => {
    const { run, deploy } = await world();
    await run(variant('east'));
    await run(variant('east'));
    const labelled = await run(variant('east', { labels: { tier: 'gold' } }));
    expect([labelled.unchanged, labelled.pushes]).toEqual([0, 1]);
    expect(await deploy.show('drafts/east/packagevariant-1', 'east/Kptfile')).toContain('tier: gold');
    await run(variant('east', { labels: { tier: 'gold' } }));
    expect((await run(variant('east', { labels: { tier: 'gold' } }))).unchanged).toBe(1);

    await deploy.work.git('fetch', '-q', 'origin');
    await deploy.work.git('checkout', '-q', '-b', 'edit', 'origin/drafts/east/packagevariant-1');
    const edited = (await deploy.show('drafts/east/packagevariant-1', 'east/deployment.yaml')).replace(
      'replicas: 1',
      'replicas: 7',
    );
    deploy.work.write('east/deployment.yaml', edited);
    await deploy.work.commitAll('a person scales east');
    await deploy.work.git('push', '-q', 'origin', 'HEAD:drafts/east/packagevariant-1');
    const after = await run(variant('east', { labels: { tier: 'gold' } }));
    expect(after.unchanged).toBe(0);
    expect(await deploy.show('drafts/east/packagevariant-1', 'east/deployment.yaml')).toContain('replicas: 7');
  });

  it('computes again when an injection source changes, and injects it', async () => {
    const { upstream, run, deploy } = await world();
    const injectable = blueprint('nginx');
    injectable.set(
      'site.yaml',
      Buffer.from(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: site\n  annotations:\n    kpt.dev/config-injection: required\ndata:\n  region: unset\n',
      ),
    );
    await upstream.publish('nginx', injectable, 2);
    const site = (region: string) =>
      ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'site', namespace: 'default' },
        data: { region },
      }) as KubeObject;
    const pv = variant('east', { injectors: [{ kind: 'ConfigMap', name: 'site' }] });
    await run(pv, site('eu-west'));
    await run(pv, site('eu-west'));
    expect((await run(pv, site('eu-west'))).unchanged).toBe(1);
    const moved = await run(pv, site('us-east'));
    expect(moved.unchanged).toBe(0);
    expect(await deploy.show('drafts/east/packagevariant-1', 'east/site.yaml')).toContain('region: us-east');
  });

  it('computes in full when the memo is gone, and a request to reconcile is not answered from it', async () => {
    const { run, cacheDir } = await world();
    await run(variant('east'));
    await run(variant('east'));
    rmSync(join(cacheDir, MEMO_FILE));
    rmSync(join(cacheDir, PASS_MEMO_DIR), { recursive: true });
    expect((await run(variant('east'))).unchanged).toBe(0);
    expect((await run(variant('east'))).unchanged).toBe(1);
    const requested = variant('east');
    requested.metadata!.annotations = { [RECONCILE_REQUEST_ANNOTATION]: '2026-12-02T00:00:00Z' };
    expect((await run(requested)).unchanged).toBe(0);
  });
});

describe('local mode: a pass with the same input as one that wrote nothing', () => {
  it('is answered from one ls-remote per repository it read, with the same result', async () => {
    const { run } = await world();
    await run(variant('east'), variant('west'));
    const computed = await run(variant('east'), variant('west')); // writes nothing: remembered
    expect(computed.remembered).toBe(false);
    const spawned = gitProcessStats.spawned;
    const byCommand = structuredClone(gitProcessStats.byCommand);
    const answered = await run(variant('east'), variant('west'));
    expect(answered.remembered).toBe(true);
    expect(gitProcessStats.spawned - spawned).toBe(2); // blueprints and deploy
    expect(gitProcessStats.byCommand['ls-remote']!.count - byCommand['ls-remote']!.count).toBe(2);
    expect([answered.pushes, answered.unchanged, answered.errors.size]).toEqual([0, 2, 0]);
    expect(answered.variants).toEqual(computed.variants);
    expect(answered.store.all()).toEqual(computed.store.all());
  });

  it('is decided per variant when one variant of the input changed', async () => {
    const { run } = await world();
    await run(variant('east'), variant('west'));
    await run(variant('east'), variant('west'));
    const one = await run(variant('east'), variant('west', { labels: { tier: 'gold' } }));
    expect([one.remembered, one.unchanged, one.pushes]).toEqual([false, 1, 1]);
  });

  it('is not remembered when a variant failed, an object was refused, or from a real pass for a dry run', async () => {
    const { run, runWith } = await world();
    const broken = packageVariant('lost', {
      upstream: { repo: 'gone', package: 'nginx' },
      downstream: { repo: 'deploy', package: 'lost' },
    });
    const gone = repository('gone', 'file:///nonexistent/gone.git');
    const refused = packageVariant('bad', { upstream: { repo: 'blueprints', package: '' }, downstream: {} });
    for (const extra of [[broken, gone], [refused]]) {
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(await run(variant('east'), ...extra));
      expect(runs[1]!.errors.size + runs[1]!.rejected.length).toBeGreaterThan(0);
      expect(runs.map((r) => r.remembered)).toEqual([false, false, false]);
    }
    await run(variant('east'));
    expect((await run(variant('east'))).remembered).toBe(true);
    expect((await runWith({ dryRun: true }, variant('east'))).remembered).toBe(false);
    expect((await runWith({ dryRun: true }, variant('east'))).remembered).toBe(true);
  });

  it('never writes a Secret value to the memo, and answers with the Secret the input gives', async () => {
    const { run, cacheDir } = await world();
    const value = 'pvctl-memo-secret-4f1c';
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'token', namespace: 'default' },
      stringData: { token: value },
      data: { other: Buffer.from(value).toString('base64') },
    } as KubeObject;
    await run(variant('east'), secret);
    await run(variant('east'), secret);
    const answered = await run(variant('east'), secret);
    expect(answered.remembered).toBe(true);
    const dir = join(cacheDir, PASS_MEMO_DIR);
    const written = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
    expect(written).toHaveLength(1);
    expect(written[0]).not.toContain(value);
    expect(written[0]).not.toContain(Buffer.from(value).toString('base64'));
    expect(answered.store.all().find((o) => o.kind === 'Secret')).toMatchObject({
      stringData: { token: value },
      data: { other: Buffer.from(value).toString('base64') },
    });
  });

  it('asks a repository behind credentials with the Secret the input gives', async () => {
    const { root, upstream, deploy } = await world();
    const server = await startGitHttpServer({ root: dirname(deploy.bare), username: 'bot', password: 'pw-9c2e' });
    try {
      const secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'git-credentials', namespace: 'default' },
        type: 'kubernetes.io/basic-auth',
        stringData: { username: 'bot', password: 'pw-9c2e' },
      } as KubeObject;
      const deployRepo = repository('deploy', `${server.baseUrl}/${basename(deploy.bare)}`, true);
      (deployRepo.spec as { git: { secretRef?: { name: string } } }).git.secretRef = { name: 'git-credentials' };
      const input = [repository('blueprints', upstream.url), deployRepo, secret, variant('east')];
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(await reconcileLocally(input, { cacheDir: join(root, 'http-cache') }));
      expect(runs.map((r) => [r.pushes, r.remembered, r.errors.size])).toEqual([
        [1, false, 0],
        [0, false, 0],
        [0, true, 0],
      ]);
      expect(server.requests.filter((r) => !r.authorized && r.authorization)).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
