import { describe, expect, it } from '@jest/globals';
import { dependentsOf, lineageOf, repositoryUrls, treeLines } from './lineage.ts';
import { packageVariant, repository } from './testing/fixtures.ts';

const repos = ['blueprints', 'eu', 'us', 'sites'].map((n) => repository(n, `https://git.example/${n}.git`));
const pv = (name: string, up: [string, string], down: [string, string]) =>
  packageVariant(name, { upstream: { repo: up[0], package: up[1] }, downstream: { repo: down[0], package: down[1] } });
const variants = [
  pv('eu', ['blueprints', 'app'], ['eu', 'app']),
  pv('us', ['blueprints', 'app'], ['us', 'app']),
  pv('berlin', ['eu', 'app'], ['sites', 'berlin']),
  pv('paris', ['eu', 'app'], ['sites', 'paris']),
  pv('berlin-edge', ['sites', 'berlin'], ['sites', 'berlin-edge']),
  pv('lost', ['nowhere', 'app'], ['sites', 'lost']),
];
const edges = lineageOf(variants, repositoryUrls(repos));
const short = (p: string) => p.replace('https://git.example/', '').replace('.git//', ':');

describe('lineage', () => {
  it('has one edge per variant whose repositories are known', () => {
    expect(edges).toHaveLength(5);
    expect(edges[0]).toEqual({
      variant: 'default/eu',
      upstream: 'https://git.example/blueprints.git//app',
      downstream: 'https://git.example/eu.git//app',
    });
  });

  it('prints blueprint → regional → site → edge as a tree', () => {
    expect(treeLines(edges, short)).toEqual([
      'blueprints:app',
      '├── eu:app  (default/eu)',
      '│   ├── sites:berlin  (default/berlin)',
      '│   │   └── sites:berlin-edge  (default/berlin-edge)',
      '│   └── sites:paris  (default/paris)',
      '└── us:app  (default/us)',
    ]);
  });

  it('lists every dependent at any depth', () => {
    const all = dependentsOf(edges, 'https://git.example/blueprints.git//app').map((d) => [d.depth, d.variant]);
    expect(all).toEqual([
      [1, 'default/eu'],
      [1, 'default/us'],
      [2, 'default/berlin'],
      [2, 'default/paris'],
      [3, 'default/berlin-edge'],
    ]);
    expect(dependentsOf(edges, 'https://git.example/sites.git//paris')).toEqual([]);
  });

  it('survives a cycle', () => {
    const cycle = lineageOf(
      [pv('a', ['eu', 'x'], ['us', 'x']), pv('b', ['us', 'x'], ['eu', 'x'])],
      repositoryUrls(repos),
    );
    expect(dependentsOf(cycle, 'https://git.example/eu.git//x').map((d) => d.variant)).toEqual([
      'default/a',
      'default/b',
    ]);
    expect(treeLines(cycle, short)).toEqual([
      'eu:x  [cycle]',
      '└── us:x  (default/a)',
      '    └── eu:x  (default/b)  [shown above]',
    ]);
  });

  it('names an OCI package by its image, whether through a Repository of type oci or spec.upstream.oci', () => {
    const ociRepo = {
      apiVersion: 'packagevariant.dev/v1alpha1',
      kind: 'Repository',
      metadata: { name: 'registry', namespace: 'default' },
      spec: { type: 'oci', oci: { registry: 'ghcr.io/acme/' } },
    };
    const viaRepo = pv('a', ['registry', 'app'], ['eu', 'a']);
    const inline = packageVariant('b', {
      upstream: { oci: { image: 'ghcr.io/acme/app:v2' } },
      downstream: { repo: 'us', package: 'b' },
    });
    const found = lineageOf([viaRepo, inline], repositoryUrls([...repos, ociRepo]));
    expect(found.map((e) => e.upstream)).toEqual(['oci://ghcr.io/acme/app//', 'oci://ghcr.io/acme/app//']);
    expect(dependentsOf(found, 'oci://ghcr.io/acme/app//').map((d) => d.variant)).toEqual(['default/a', 'default/b']);
  });
});
