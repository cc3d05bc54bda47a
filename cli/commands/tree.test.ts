import { afterAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { packageVariant, repository } from '../../controllers/testing/fixtures.ts';
import { API_VERSION, type KubeObject } from '../../api/v1alpha1/index.ts';
import { runTree } from './tree.ts';

const root = tempDir('pvctl-tree-');
afterAll(() => removeDir(root));

/** blueprints:app → eu:app (a variant) → sites:berlin, sites:paris (a set) → sites:berlin-edge (a variant). */
function fleet(extra: KubeObject[] = []): string {
  const objects: KubeObject[] = [
    repository('blueprints', 'https://git.example/blueprints.git'),
    repository('eu', 'https://git.example/eu.git', true),
    repository('sites', 'https://git.example/sites.git', true),
    packageVariant('eu', {
      upstream: { repo: 'blueprints', package: 'app', revision: -1 },
      downstream: { repo: 'eu', package: 'app' },
    }),
    {
      apiVersion: API_VERSION,
      kind: 'PackageVariantSet',
      metadata: { name: 'edge', namespace: 'default' },
      spec: {
        upstream: { repo: 'eu', package: 'app', revision: -1 },
        targets: [{ repositories: [{ name: 'sites', packageNames: ['berlin', 'paris'] }] }],
      },
    },
    packageVariant('berlin-edge', {
      upstream: { repo: 'sites', package: 'berlin', revision: -1 },
      downstream: { repo: 'sites', package: 'berlin-edge' },
    }),
    ...extra,
  ];
  const file = join(root, `fleet-${extra.length}.yaml`);
  writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  return file;
}

async function tree(options: Parameters<typeof runTree>[0]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runTree(
    options,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('pvctl tree', () => {
  it('prints the chains across levels, with the variants a set generates', async () => {
    expect(await tree({ filename: [fleet()] })).toEqual({
      code: 0,
      out: [
        'blueprints:app',
        '└── eu:app  (default/eu)',
        '    ├── sites:berlin  (default/edge-sites-berlin)',
        '    │   └── sites:berlin-edge  (default/berlin-edge)',
        '    └── sites:paris  (default/edge-sites-paris)',
      ].join('\n'),
      err: '',
    });
  });

  it('--dependents lists what a change reaches at any depth, in text and json', async () => {
    const file = fleet();
    expect((await tree({ filename: [file], dependents: 'blueprints/app' })).out).toBe(
      [
        'eu:app  (default/eu, level 1)',
        '  sites:berlin  (default/edge-sites-berlin, level 2)',
        '  sites:paris  (default/edge-sites-paris, level 2)',
        '    sites:berlin-edge  (default/berlin-edge, level 3)',
      ].join('\n'),
    );
    const json = JSON.parse((await tree({ filename: [file], dependents: 'sites/berlin', output: 'json' })).out);
    expect(json).toEqual({
      package: 'sites:berlin',
      dependents: [
        { depth: 1, variant: 'default/berlin-edge', upstream: 'sites:berlin', downstream: 'sites:berlin-edge' },
      ],
    });
    expect(await tree({ filename: [file], dependents: 'sites/paris' })).toMatchObject({
      code: 0,
      out: '',
      err: 'nothing derives from sites:paris',
    });
  });

  it('names bad input: an unknown repository, a bad format, a refused object', async () => {
    const file = fleet([
      packageVariant('broken', { upstream: { repo: 'eu' }, downstream: { repo: 'sites', package: 'x' } }),
    ]);
    await expect(tree({ filename: [file], dependents: 'nowhere/app' })).rejects.toThrow(
      '--dependents nowhere/app: give REPOSITORY/PACKAGE (a Repository in default) or URL//PACKAGE',
    );
    await expect(tree({ filename: [file], output: 'wide' })).rejects.toThrow('unknown output format "wide"');
    const result = await tree({ filename: [file] });
    expect(result.err).toMatch(
      /PackageVariant default\/broken: spec\.upstream\.package: Required value.*\(left out of the tree\)/,
    );
    expect(result.out).not.toContain('broken');
  });
});
