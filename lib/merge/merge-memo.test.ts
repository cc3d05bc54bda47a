import { beforeEach, describe, expect, it } from '@jest/globals';
import type { PackageFiles } from '../kpt/package.ts';
import { mergePackages } from './index.ts';
import { clearFileMergeMemo } from './merge-memo.ts';

const pkg = (files: Record<string, string>): PackageFiles =>
  new Map(Object.entries(files).map(([path, text]) => [path, Buffer.from(text, 'utf8')]));

const KPTFILE = 'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: p\n';
const deployment = (image: string, replicas: number) =>
  `# app\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: ${replicas} # per site\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ${image}\n`;
const crd =
  'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions: []\n';

const input = (site: string, replicas: number, extra: Record<string, string> = {}) => ({
  original: pkg({ Kptfile: KPTFILE, 'app.yaml': deployment('app:1', 1), ...extra }),
  updated: pkg({ Kptfile: KPTFILE, 'app.yaml': deployment('app:2', 1), ...extra }),
  local: pkg({
    Kptfile: KPTFILE,
    'app.yaml': deployment('app:1', replicas),
    'site.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${site}\n`,
    ...extra,
  }),
});

describe('file merge memo (fleets merging one upstream change)', () => {
  beforeEach(() => clearFileMergeMemo());

  it('gives the same files, conflicts and stats from the memo as from a fresh merge', () => {
    const fresh = mergePackages(input('a', 3), { conflicts: 'upstream-wins' });
    const again = mergePackages(input('b', 3), { conflicts: 'upstream-wins' });
    clearFileMergeMemo();
    const reference = mergePackages(input('b', 3), { conflicts: 'upstream-wins' });
    expect(again.files).toEqual(reference.files);
    expect(again.conflicts).toEqual(reference.conflicts);
    expect(again.stats).toEqual(reference.stats);
    expect(fresh.files.get('app.yaml')!.toString()).toContain('image: app:2');
    expect(fresh.files.get('app.yaml')!.toString()).toContain('replicas: 3 # per site');
  });

  it('keys by every input: another local version, policy or generation merges afresh', () => {
    mergePackages(input('a', 3));
    expect(mergePackages(input('a', 4)).files.get('app.yaml')!.toString()).toContain('replicas: 4');
    const conflicting = input('a', 3);
    conflicting.local.set('app.yaml', Buffer.from(deployment('app:local', 3)));
    const upstreamWins = mergePackages(conflicting, { conflicts: 'upstream-wins' });
    const localWins = mergePackages(conflicting, { conflicts: 'local-wins' });
    expect(upstreamWins.files.get('app.yaml')!.toString()).toContain('image: app:2');
    expect(localWins.files.get('app.yaml')!.toString()).toContain('image: app:local');
    expect(localWins.conflicts).toEqual([expect.objectContaining({ file: 'app.yaml', winner: 'local' })]);
  });

  it('hands out copies: changing a result does not change the next one', () => {
    const first = mergePackages(input('a', 3, {}), { conflicts: 'upstream-wins' });
    first.conflicts.push({ file: 'x', resource: 'x', field: 'x', winner: 'local' });
    const conflicting = input('a', 3);
    conflicting.local.set('app.yaml', Buffer.from(deployment('app:local', 3)));
    const a = mergePackages(conflicting);
    a.conflicts[0]!.field = 'changed';
    expect(mergePackages(conflicting).conflicts[0]!.field).not.toBe('changed');
  });

  it('is not used when a package holds a CRD (the schema then depends on the package)', () => {
    const withCrd = input('a', 3, { 'crd.yaml': crd });
    const first = mergePackages(withCrd);
    const second = mergePackages(input('a', 3, { 'crd.yaml': crd }));
    expect(second.files).toEqual(first.files);
  });
});
