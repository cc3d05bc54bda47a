// `pvctl reconcile -f` with a PackageVariantSet: the set expands into variants and its status is printed.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { blueprint, repository, TestRepo } from '../../controllers/testing/fixtures.ts';
import { runReconcile } from './reconcile.ts';

let root: string;
let manifests: string;

beforeAll(async () => {
  root = tempDir('pvctl-reconcile-');
  const upstream = await TestRepo.create(root, 'blueprints');
  await upstream.publish('nginx', blueprint('nginx'), 1);
  const objects = [repository('blueprints', upstream.url)];
  for (const name of ['east', 'west']) {
    const repo = repository(name, (await TestRepo.create(root, name)).url, true);
    repo.metadata!.labels = { tier: 'edge' };
    objects.push(repo);
  }
  objects.push({
    apiVersion: 'packagevariant.dev/v1alpha1',
    kind: 'PackageVariantSet',
    metadata: { name: 'edge', namespace: 'default' },
    spec: {
      upstream: { repo: 'blueprints', package: 'nginx', revision: -1 },
      targets: [{ repositorySelector: { matchLabels: { tier: 'edge' } } }],
    },
  });
  manifests = join(root, 'fleet.yaml');
  writeFileSync(manifests, objects.map((o) => stringify(o)).join('---\n'));
});
afterAll(() => removeDir(root));

describe('pvctl reconcile with a PackageVariantSet', () => {
  it('prints the generated variants and the set, and exits 0 when all are Ready', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runReconcile(
      { filename: [manifests], cacheDir: join(root, 'cache') },
      (l) => out.push(l),
      (l) => err.push(l),
    );
    expect(code).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/default\s+edge-east-nginx\s+True\s+NoErrors\s+east\.nginx\.packagevariant-1\s+Draft/);
    expect(text).toMatch(/default\s+edge-west-nginx\s+True/);
    expect(text).toMatch(/PACKAGEVARIANTSET\s+READY\s+VARIANTS\s+UP-TO-DATE\s+PENDING\s+FAILED/);
    expect(text).toMatch(/default\s+edge\s+True\s+2\s+0\s+2\s+0/);
    expect(err.at(-1)).toMatch(/^2\/2 PackageVariant\(s\) ready/);
  });

  it('json output lists the set and its variants', async () => {
    const out: string[] = [];
    await runReconcile(
      { filename: [manifests], cacheDir: join(root, 'cache'), output: 'json' },
      (l) => out.push(l),
      () => {},
    );
    const { items } = JSON.parse(out.join('\n')) as { items: { kind: string; metadata: { name: string } }[] };
    expect(items.map((i) => `${i.kind}/${i.metadata.name}`)).toEqual([
      'PackageVariantSet/edge',
      'PackageVariant/edge-east-nginx',
      'PackageVariant/edge-west-nginx',
    ]);
  });
});

describe('pvctl reconcile with bad input', () => {
  it('prints an error line for each refused document and reconciles the rest, exiting 1', async () => {
    const bad = join(root, 'bad.yaml');
    const pv = (name: string, kind = 'PackageVariant') =>
      stringify({
        apiVersion: 'packagevariant.dev/v1alpha1',
        kind,
        metadata: { name },
        spec: { upstream: { repo: 'blueprints', package: 'nginx' }, downstream: { repo: 'east', package: name } },
      });
    writeFileSync(bad, ['42\n', pv('typo', 'PackageVariantt'), pv('solo')].join('---\n'));
    const out: string[] = [];
    const err: string[] = [];
    const code = await runReconcile(
      { filename: [manifests, bad], cacheDir: join(root, 'cache') },
      (l) => out.push(l),
      (l) => err.push(l),
    );
    expect(code).toBe(1);
    expect(err.slice(0, 2)).toEqual([
      `${bad}[0] <no kind> <unnamed>: <document>: Invalid value: 42: must be a Kubernetes object (a YAML mapping)`,
      expect.stringMatching(
        /bad\.yaml\[1\] PackageVariantt typo: kind: Invalid value: "PackageVariantt": unknown kind; did you mean PackageVariant\?/,
      ),
    ]);
    expect(err.at(-1)).toMatch(/^3\/3 PackageVariant\(s\) ready in .*; 2 object\(s\) refused$/);
    expect(out.join('\n')).toMatch(/default\s+solo\s+True\s+NoErrors\s+east\.solo\.packagevariant-1/);
  });
});
