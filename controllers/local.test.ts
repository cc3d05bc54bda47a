// Local mode admits objects as the API server would: a refused object (and what depends on it)
// stalls with its problems, the rest of the fleet is reconciled. Real git repositories on disk.
import { afterAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { formatFieldError, type KubeObject, type PackageVariant } from '../api/v1alpha1/index.ts';
import { removeDir, tempDir } from '../lib/git/testing/repos.ts';
import { getCondition } from '../lib/kube/conditions.ts';
import { reconcileLocally } from './local.ts';
import { blueprint, packageVariant, repository, TestRepo } from './testing/fixtures.ts';

// Each test builds its own repositories (no test depends on another having run).
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const variant = (name: string, spec: Partial<NonNullable<PackageVariant['spec']>> = {}) =>
  packageVariant(name, {
    upstream: { repo: 'blueprints', package: 'nginx', revision: 1 },
    downstream: { repo: 'deploy', package: name },
    ...spec,
  });

/** A blueprints repository with nginx v1 published and an empty deployment repository. */
async function world() {
  const root = tempDir('pv-local-');
  dirs.push(root);
  const upstream = await TestRepo.create(root, 'blueprints');
  const deploy = await TestRepo.create(root, 'deploy');
  await upstream.publish('nginx', blueprint('nginx'), 1);
  const cacheDir = join(root, 'cache');
  const run = async (objects: unknown[]) => {
    const result = await reconcileLocally(
      [repository('blueprints', upstream.url), repository('deploy', deploy.url, true), ...objects],
      { cacheDir, describe: (i) => `#${i}` },
    );
    const condition = (name: string, type = 'Ready') =>
      getCondition(result.variants.find((v) => v.metadata?.name === name)?.status?.conditions, type);
    const refused = result.rejected.map((r) => `#${r.index}: ${r.errors.map(formatFieldError).join('; ')}`);
    return { ...result, condition, refused };
  };
  return { cacheDir, deploy, run };
}

describe('local mode admission', () => {
  it('stalls a variant the API server would refuse, pushes nothing for it, and reconciles the others', async () => {
    const { deploy, run } = await world();
    const bad = variant('bad', { upstream: { repo: 'blueprints', package: 'nginx', revision: 'v1' as never } });
    const { condition, refused } = await run([42, bad, variant('good')]);
    expect(refused).toEqual([
      '#2: <document>: Invalid value: 42: must be a Kubernetes object (a YAML mapping)',
      '#3: spec.upstream.revision: Invalid value: "v1": must be of type integer, not string',
    ]);
    expect(condition('bad', 'Stalled')).toMatchObject({ status: 'True', reason: 'ValidationError' });
    expect(condition('bad')).toMatchObject({
      status: 'False',
      message: expect.stringMatching(/spec\.upstream\.revision/),
    });
    expect(condition('good')).toMatchObject({ status: 'True' });
    expect(await deploy.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/good/packagevariant-1']);
  });

  it('stalls the dependents of a refused Repository or Secret with its problems; the others proceed', async () => {
    const { deploy, run } = await world();
    const broken: KubeObject = {
      ...repository('broken', deploy.url, true),
      spec: { git: { repo: deploy.url, branch: 7 } },
    };
    const locked = repository('locked', deploy.url, true);
    (locked.spec as { git: object }).git = { repo: deploy.url, secretRef: { name: 'creds' } };
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, data: { password: '%%%' } };
    const { condition, refused } = await run([
      broken,
      locked,
      secret,
      variant('via-broken', { downstream: { repo: 'broken', package: 'x' } }),
      variant('via-locked', { downstream: { repo: 'locked', package: 'y' } }),
      variant('fine'),
    ]);
    expect(refused).toEqual([
      '#2: spec.git.branch: Invalid value: 7: must be of type string, not integer',
      '#4: data.password: Invalid value: "<hidden>": must be base64 data',
    ]);
    expect(condition('via-broken', 'Stalled')).toMatchObject({
      reason: 'InvalidRepository',
      message: 'Repository default/broken: spec.git.branch: Invalid value: 7: must be of type string, not integer',
    });
    expect(condition('via-locked', 'Stalled')).toMatchObject({
      reason: 'InvalidSecret',
      message: 'Secret default/creds: data.password: Invalid value: "<hidden>": must be base64 data',
    });
    expect(condition('fine')).toMatchObject({ status: 'True' });
  });

  it('refuses both objects of a duplicate name instead of keeping the last', async () => {
    const { deploy, run } = await world();
    const { condition, refused, variants } = await run([
      variant('twin'),
      variant('twin', { downstream: { repo: 'deploy', package: 'other' } }),
    ]);
    expect(refused).toEqual([
      '#2: metadata.name: Duplicate value: "twin": PackageVariant default/twin is also defined in #3',
      '#3: metadata.name: Duplicate value: "twin": PackageVariant default/twin is also defined in #2',
    ]);
    expect(variants.filter((v) => v.metadata?.name === 'twin')).toHaveLength(1);
    expect(condition('twin', 'Stalled')).toMatchObject({ status: 'True', reason: 'ValidationError' });
    expect(await deploy.refs('refs/heads/drafts/twin')).toEqual([]);
  });

  it('stalls a refused PackageVariantSet without stopping the variants', async () => {
    const { run } = await world();
    const set = {
      apiVersion: 'packagevariant.dev/v1alpha1',
      kind: 'PackageVariantSet',
      metadata: { name: 'fleet' },
      spec: { upstream: { repo: 'blueprints', package: 'nginx', revision: 1 }, targets: 'everywhere' },
    };
    const { sets, condition } = await run([set, variant('alone')]);
    expect(getCondition(sets[0]?.status?.conditions, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'ValidationError',
      message: 'spec.targets: Invalid value: "everywhere": must be of type array, not string',
    });
    expect(condition('alone')).toMatchObject({ status: 'True' });
  });

  it('admits what it wrote: a pass over its own output refuses nothing', async () => {
    const { cacheDir, run } = await world();
    const first = await run([variant('again')]);
    const second = await reconcileLocally(first.store.all(), { cacheDir });
    expect(second.rejected).toEqual([]);
    expect(
      getCondition(second.variants.find((v) => v.metadata?.name === 'again')?.status?.conditions, 'Ready'),
    ).toMatchObject({
      status: 'True',
    });
  });
});
