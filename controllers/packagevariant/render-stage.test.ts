// The render stage in the reconcile (local mode, real git): the Kptfile pipeline runs on every draft
// write, its results land in status, and a failed render pushes nothing unless the package asks.
import { afterAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { PackageVariant } from '../../api/v1alpha1/index.ts';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { getCondition } from '../../lib/kube/conditions.ts';
import { reconcileLocally, type LocalRunOptions } from '../local.ts';
import { blueprint, packageVariant, repository, TestRepo } from '../testing/fixtures.ts';

// Each test builds its own repositories and performs the passes it builds on (no test depends on
// another having run).
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** Blueprints with nginx v1 and `tool` v1 (whose own Kptfile declares a function that may not run here). */
async function world() {
  const root = tempDir('pv-render-');
  dirs.push(root);
  const upstream = await TestRepo.create(root, 'blueprints');
  const deploy = await TestRepo.create(root, 'deploy');
  await upstream.publish('nginx', blueprint('nginx'), 1);
  const exec = blueprint('tool');
  exec.set(
    'Kptfile',
    Buffer.concat([exec.get('Kptfile')!, Buffer.from('pipeline:\n  mutators:\n    - exec: /usr/bin/some-tool\n')]),
  );
  await upstream.publish('tool', exec, 1);
  const runWith = async (options: LocalRunOptions, ...variants: PackageVariant[]) => {
    const objects = [repository('blueprints', upstream.url), repository('deploy', deploy.url, true), ...variants];
    const result = await reconcileLocally(objects, { cacheDir: join(root, 'cache'), ...options });
    return { ...result, byName: (name: string) => result.variants.find((v) => v.metadata?.name === name)! };
  };
  const run = (...variants: PackageVariant[]) => runWith({}, ...variants);
  return { deploy, run, runWith };
}

const setNamespace = (name: string, namespace: string) =>
  packageVariant(name, {
    upstream: { repo: 'blueprints', package: 'nginx' },
    downstream: { repo: 'deploy', package: name },
    pipeline: { mutators: [{ image: 'gcr.io/kpt-fn/set-namespace:v0.4.1', configMap: { namespace } }] },
  });

describe('render stage (local mode, real git)', () => {
  it('runs a pipeline function the variant adds: the pushed draft is the rendered package', async () => {
    const { deploy, run } = await world();
    const { byName, pushes } = await run(setNamespace('east', 'east-ns'));
    const target = byName('east').status?.downstreamTargets?.[0];
    expect(target).toMatchObject({ lifecycle: 'Draft', renderStatus: { result: { exitCode: 0 } } });
    expect((target?.renderStatus as { result: { items: unknown[] } }).result.items).toHaveLength(1);
    expect(pushes).toBe(1);
    const deployment = parse(await deploy.show('drafts/east/packagevariant-1', 'east/deployment.yaml'));
    expect(deployment.metadata.namespace).toBe('east-ns');
    expect(parse(await deploy.show('drafts/east/packagevariant-1', 'east/service.yaml')).metadata.namespace).toBe(
      'east-ns',
    );
  });

  it('a second pass with nothing changed renders nothing and writes nothing; the render status stays', async () => {
    const { run } = await world();
    const first = await run(setNamespace('east', 'east-ns'));
    expect(first.pushes).toBe(1);
    // The status the controller wrote after the render (local mode keeps none between passes).
    const rendered = first.byName('east').status;
    const again = await run({ ...setNamespace('east', 'east-ns'), status: rendered! });
    expect(again.pushes).toBe(0);
    expect(again.byName('east').status?.downstreamTargets?.[0]?.renderStatus).toMatchObject({
      result: { exitCode: 0 },
    });
  });

  it('a changed function config renders again and updates the draft in place', async () => {
    const { deploy, run } = await world();
    await run(setNamespace('east', 'east-ns'));
    const { byName } = await run(setNamespace('east', 'prod'));
    expect(await deploy.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/east/packagevariant-1']);
    expect(byName('east').status?.downstreamTargets?.[0]?.name).toBe('deploy.east.packagevariant-1');
    const deployment = parse(await deploy.show('drafts/east/packagevariant-1', 'east/deployment.yaml'));
    expect(deployment.metadata.namespace).toBe('prod');
  });

  it('a function that may not run fails the render: nothing is pushed, the variant is Stalled, and an event says why', async () => {
    const { deploy, run } = await world();
    const { byName, pushes, store } = await run(
      packageVariant('blocked', {
        upstream: { repo: 'blueprints', package: 'tool' },
        downstream: { repo: 'deploy', package: 'blocked' },
      }),
    );
    const pv = byName('blocked');
    expect(pushes).toBe(0);
    expect(await deploy.refs('refs/heads/drafts/blocked')).toEqual([]);
    expect(getCondition(pv.status?.conditions, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'RenderFailed',
      message: expect.stringMatching(/render failed; nothing pushed: .*some-tool/),
    });
    // A person must act (fix the package or allow the function): Stalled, so a rollout halts on it.
    expect(getCondition(pv.status?.conditions, 'Stalled')).toMatchObject({ status: 'True', reason: 'RenderFailed' });
    expect(store.events.filter((e) => e.name === 'blocked').map((e) => e.reason)).toContain('RenderFailed');
  });

  it(`with porch.kpt.dev/push-on-render-failure: "true" the unrendered draft is pushed, with the error in status`, async () => {
    const { deploy, run } = await world();
    const pv = packageVariant('pushed', {
      upstream: { repo: 'blueprints', package: 'tool' },
      downstream: { repo: 'deploy', package: 'pushed' },
    });
    pv.metadata!.annotations = { 'porch.kpt.dev/push-on-render-failure': 'true' };
    const { byName } = await run(pv);
    expect(await deploy.refs('refs/heads/drafts/pushed')).toEqual(['refs/heads/drafts/pushed/packagevariant-1']);
    expect(byName('pushed').status?.downstreamTargets?.[0]?.renderStatus).toMatchObject({
      error: expect.stringMatching(/some-tool/),
    });
  });

  it('on worker threads (--threads 2) every draft is what the main thread computes, rendered and failed alike', async () => {
    const { runWith } = await world();
    const variants = [
      setNamespace('east', 'east-ns'),
      setNamespace('west', 'west-ns'),
      packageVariant('blocked', {
        upstream: { repo: 'blueprints', package: 'tool' },
        downstream: { repo: 'deploy', package: 'blocked' },
      }),
    ];
    const here = await runWith({ dryRun: true, threads: 0 }, ...variants);
    const there = await runWith({ dryRun: true, threads: 2 }, ...variants);
    const drafts = (r: typeof here) =>
      r.previews
        .map(({ variant, ref, files, patch }) => ({ variant, ref, files, patch }))
        .sort((a, b) => a.ref.localeCompare(b.ref));
    expect(drafts(here).map((d) => d.variant)).toEqual(['default/east', 'default/west']);
    expect(drafts(here)[0]!.patch).toContain('namespace: east-ns');
    expect(drafts(there)).toEqual(drafts(here));
    const conditions = (r: typeof here) =>
      r.variants.map((v) => [
        v.metadata?.name,
        v.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
      ]);
    expect(conditions(there)).toEqual(conditions(here));
  });
});
