// One local pass carries an auto-published change down every level: blueprint → regional → site.
import { afterAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { parse } from 'yaml';
import { removeDir, tempDir } from '../lib/git/testing/repos.ts';
import { reconcileLocally } from './local.ts';
import { blueprint, packageVariant, repository, TestRepo } from './testing/fixtures.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

async function levels() {
  const root = tempDir('pv-levels-');
  dirs.push(root);
  const blueprints = await TestRepo.create(root, 'blueprints');
  await blueprints.publish('nginx', blueprint('nginx'), 1);
  const regional = await TestRepo.create(root, 'regional');
  const sites = await TestRepo.create(root, 'sites');
  const objects = [
    repository('blueprints', blueprints.url),
    repository('regional', regional.url, true),
    repository('sites', sites.url, true),
    // listed bottom-up: the order of the input must not matter
    packageVariant('berlin', {
      upstream: { repo: 'regional', package: 'nginx-eu' },
      downstream: { repo: 'sites', package: 'berlin' },
    }),
    packageVariant('eu', {
      upstream: { repo: 'blueprints', package: 'nginx' },
      downstream: { repo: 'regional', package: 'nginx-eu' },
      publishPolicy: 'Automatic',
      labels: { region: 'eu' },
    }),
  ];
  const pass = () => reconcileLocally(objects, { cacheDir: join(root, 'cache') });
  return { blueprints, regional, sites, pass };
}

describe('a local pass through every level', () => {
  it('clones the regional package, publishes it, and clones the site from it, in one pass', async () => {
    const { regional, sites, pass } = await levels();
    const first = await pass();
    expect(first.errors).toEqual(new Map());
    const berlin = first.variants.find((v) => v.metadata?.name === 'berlin')!;
    expect(berlin.status?.downstreamTargets?.[0]).toMatchObject({ lifecycle: 'Draft' });
    const regionalV1 = (await regional.refs('refs/tags/nginx-eu/')).length;
    expect(regionalV1).toBe(1);
    const kptfile = parse(await sites.show('drafts/berlin/packagevariant-1', 'berlin/Kptfile'));
    expect(kptfile.upstream.git).toMatchObject({ directory: 'nginx-eu', ref: 'nginx-eu/v1' });
    // the site got the regional package as published, with the regional label
    expect(kptfile.metadata.labels).toMatchObject({ region: 'eu' });
    const again = await pass();
    expect(again.pushes).toBe(0);
  });

  it('carries a blueprint release to the site draft in one pass', async () => {
    const { blueprints, sites, pass } = await levels();
    await pass();
    await blueprints.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
    const upgrade = await pass();
    expect(upgrade.errors).toEqual(new Map());
    const draft = (await sites.refs('refs/heads/drafts/berlin/'))[0]!.replace('refs/heads/', '');
    expect(await sites.show(draft, 'berlin/deployment.yaml')).toContain('image: nginx:1.27');
  });
});
