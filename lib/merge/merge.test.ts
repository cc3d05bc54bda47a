import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPackageDir, type PackageFiles } from '../kpt/package.ts';
import { MergeConflictError, MergeError, mergePackages, type MergeOptions } from './index.ts';

const GOLDEN = fileURLToPath(new URL('./testdata/golden/', import.meta.url));

const pkg = (files: Record<string, string>): PackageFiles =>
  new Map(Object.entries(files).map(([path, text]) => [path, Buffer.from(text, 'utf8')]));
const text = (files: PackageFiles, path: string) => files.get(path)?.toString('utf8');

const KPTFILE = 'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: p\n';
const deployment = (replicas: number, extra = '') =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: ${replicas}\n${extra}`;

function merge3(
  o: Record<string, string>,
  u: Record<string, string>,
  l: Record<string, string>,
  options?: MergeOptions,
) {
  return mergePackages({ original: pkg(o), updated: pkg(u), local: pkg(l) }, options);
}

describe('golden package (byte for byte)', () => {
  const input = {
    original: readPackageDir(join(GOLDEN, 'original')),
    updated: readPackageDir(join(GOLDEN, 'updated')),
    local: readPackageDir(join(GOLDEN, 'local')),
  };
  const expected = readPackageDir(join(GOLDEN, 'expected'));

  it('produces exactly the expected files', () => {
    const result = mergePackages(input);
    expect([...result.files.keys()]).toEqual([...expected.keys()].sort());
    for (const [path, content] of expected) expect(text(result.files, path)).toBe(content.toString('utf8'));
    expect(result.stats).toEqual({ merged: 2, added: 1, deleted: 1, unchanged: 4, filesChanged: 6 });
  });

  it('hands back untouched local files unchanged (the same bytes)', () => {
    const result = mergePackages(input);
    for (const path of ['service.yaml', 'local-only.yaml', 'README.md']) {
      expect(result.files.get(path)).toBe(input.local.get(path));
    }
  });

  it('keeps the untouched documents of a changed multi-document file byte for byte', () => {
    const multi = text(mergePackages(input).files, 'multi.yaml')!;
    const local = text(input.local, 'multi.yaml')!;
    const [first, , third] = local.split('---\n');
    expect(multi.startsWith(first!)).toBe(true);
    expect(multi.endsWith(third!)).toBe(true);
    expect(multi).toContain('color: green');
  });

  it('gives the same result when the same upstream packages are merged again (parse caches stay clean)', () => {
    const first = mergePackages(input);
    const again = mergePackages({ ...input, local: new Map([...input.local].map(([p, b]) => [p, Buffer.from(b)])) });
    expect([...again.files].map(([p, b]) => [p, b.toString()])).toEqual(
      [...first.files].map(([p, b]) => [p, b.toString()]),
    );
  });

  it('does not modify its inputs', () => {
    const before = [...input.local].map(([p, b]) => [p, b.toString('utf8')]);
    mergePackages(input);
    expect([...input.local].map(([p, b]) => [p, b.toString('utf8')])).toEqual(before);
  });
});

describe('conflict report and policies', () => {
  const o = { 'd.yaml': deployment(3) };
  const u = { 'd.yaml': deployment(42) };
  const l = { 'd.yaml': deployment(21) };

  it('reports a field both sides changed; upstream wins by default', () => {
    const result = merge3(o, u, l);
    expect(text(result.files, 'd.yaml')).toBe(deployment(42));
    expect(result.conflicts).toEqual([
      {
        file: 'd.yaml',
        resource: 'Deployment.apps app',
        field: 'spec.replicas',
        original: '3',
        updated: '42',
        local: '21',
        winner: 'upstream',
      },
    ]);
  });

  it('keeps the local value with local-wins', () => {
    const result = merge3(o, u, l, { conflicts: 'local-wins' });
    expect(text(result.files, 'd.yaml')).toBe(deployment(21));
    expect(result.conflicts[0]?.winner).toBe('local');
  });

  it('throws with the conflicts under fail', () => {
    let error: unknown;
    try {
      merge3(o, u, l, { conflicts: 'fail' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MergeConflictError);
    expect((error as MergeConflictError).conflicts.map((c) => c.field)).toEqual(['spec.replicas']);
  });

  it('does not report changes made on one side only, or the same change on both', () => {
    expect(merge3(o, u, { 'd.yaml': deployment(3) }).conflicts).toEqual([]);
    expect(merge3(o, u, { 'd.yaml': deployment(42) }).conflicts).toEqual([]);
    expect(merge3(o, { 'd.yaml': deployment(3) }, l).conflicts).toEqual([]);
  });

  it('reports a locally modified resource that upstream deleted (kept, local wins)', () => {
    const result = merge3(o, {}, l);
    expect(text(result.files, 'd.yaml')).toBe(deployment(21));
    expect(result.conflicts).toMatchObject([{ file: 'd.yaml', field: '(resource)', winner: 'local' }]);
  });

  it('names list elements by their merge keys in field paths', () => {
    const spec = (image: string) =>
      `  template:\n    spec:\n      containers:\n      - name: app\n        image: ${image}\n`;
    const result = merge3(
      { 'd.yaml': deployment(1, spec('app:1')) },
      { 'd.yaml': deployment(1, spec('app:2')) },
      { 'd.yaml': deployment(1, spec('app:local')) },
    );
    expect(result.conflicts.map((c) => c.field)).toEqual(['spec.template.spec.containers[name=app].image']);
  });
});

describe('bad input: clear errors, nothing returned', () => {
  const expectMergeError = (fn: () => unknown, message: string, file?: string, index?: number) => {
    let error: unknown;
    try {
      fn();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MergeError);
    expect((error as Error).message).toContain(message);
    if (file) expect((error as MergeError).file).toBe(file);
    if (index !== undefined) expect((error as MergeError).index).toBe(index);
  };

  it('invalid YAML names the file and document', () => {
    const broken = `${deployment(1)}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n`;
    expectMergeError(
      () => merge3({}, {}, { 'bad.yaml': broken }),
      'bad.yaml (document 1): invalid YAML',
      'bad.yaml',
      1,
    );
  });

  it('a resource without kind', () => {
    expectMergeError(
      () => merge3({}, { 'x.yaml': 'apiVersion: v1\nmetadata:\n  name: x\n' }, {}),
      'x.yaml (document 0): resource has no kind',
    );
  });

  it('a document that is not a map', () => {
    expectMergeError(() => merge3({}, {}, { 'l.yaml': '- a\n- b\n' }), 'l.yaml (document 0): not a KRM resource');
  });

  it('duplicate resources, naming the file and the resource', () => {
    expectMergeError(
      () => merge3({}, {}, { 'd.yaml': `${deployment(1)}---\n${deployment(2)}` }),
      'found duplicate "dest" resources in file "d.yaml", please refer to "update" documentation for the fix (Deployment.apps app in documents 0 and 1)',
      'd.yaml',
      1,
    );
  });

  it('a Kptfile of an old version', () => {
    expectMergeError(
      () =>
        merge3(
          { Kptfile: KPTFILE },
          { Kptfile: KPTFILE.replace('kpt.dev/v1', 'kpt.dev/v1alpha2') },
          { Kptfile: KPTFILE },
        ),
      'updated Kptfile: old resource version "v1alpha2" found in Kptfile',
      'Kptfile',
    );
  });
});

describe('resource placement', () => {
  it('adds an upstream resource to an existing local file, ordered by document index (local first on ties)', () => {
    const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;
    const result = merge3(
      { 'c.yaml': `${cm('a')}---\n${cm('c')}` },
      { 'c.yaml': `${cm('a')}---\n${cm('b')}---\n${cm('c')}` },
      { 'c.yaml': `# mine\n${cm('a')}---\n${cm('c')}` },
    );
    expect(text(result.files, 'c.yaml')).toBe(`# mine\n${cm('a')}---\n${cm('c')}---\n${cm('b')}`);
  });

  it('deletes a file whose resources are all gone', () => {
    const result = merge3({ 'd.yaml': deployment(1) }, {}, { 'd.yaml': deployment(1) });
    expect(result.files.has('d.yaml')).toBe(false);
  });

  it('treats a moved resource as deleted plus added', () => {
    const result = merge3({ 'a.yaml': deployment(1) }, { 'b.yaml': deployment(1) }, { 'a.yaml': deployment(1) });
    expect([...result.files.keys()]).toEqual(['b.yaml']);
  });
});

describe('CRD schemas from the package', () => {
  const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: stores.example.com
spec:
  group: example.com
  names: {kind: Store, plural: stores}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              items:
                type: array
                x-kubernetes-patch-strategy: merge
                x-kubernetes-patch-merge-key: name
                items: {type: object}
`;
  const store = (items: string) =>
    `apiVersion: example.com/v1\nkind: Store\nmetadata:\n  name: s\nspec:\n  items:\n${items}`;
  const o = store('  - name: a\n');
  const u = store('  - name: a\n  - name: b\n');
  const l = store('  - name: a\n  - name: local\n');

  it('merges a CRD list by key when the package carries the CRD', () => {
    const result = merge3(
      { 'crd.yaml': crd, 's.yaml': o },
      { 'crd.yaml': crd, 's.yaml': u },
      { 'crd.yaml': crd, 's.yaml': l },
    );
    expect(text(result.files, 's.yaml')).toBe(store('  - name: a\n  - name: local\n  - name: b\n'));
  });

  it('replaces the list wholesale without it (kpt: schema-less lists are atomic)', () => {
    expect(text(merge3({ 's.yaml': o }, { 's.yaml': u }, { 's.yaml': l }).files, 's.yaml')).toBe(u);
    const ignored = merge3(
      { 'crd.yaml': crd, 's.yaml': o },
      { 'crd.yaml': crd, 's.yaml': u },
      { 'crd.yaml': crd, 's.yaml': l },
      {
        crdsFromPackages: false,
      },
    );
    expect(text(ignored.files, 's.yaml')).toBe(u);
  });
});

describe('generation C', () => {
  const res = (comment: string, items: string) =>
    `apiVersion: example.com/v1\nkind: Example\nmetadata:\n  name: x\nspec:\n  list: # ${comment}\n${items}`;
  it('does not propagate comment-only upstream changes (Gen B does)', () => {
    const o = res('comment', '  - 1\n');
    const u = res('updated comment', '  - 1\n');
    expect(text(merge3({ 'r.yaml': o }, { 'r.yaml': u }, { 'r.yaml': o }).files, 'r.yaml')).toBe(u);
    expect(text(merge3({ 'r.yaml': o }, { 'r.yaml': u }, { 'r.yaml': o }, { generation: 'C' }).files, 'r.yaml')).toBe(
      o,
    );
  });
});

describe('files that are not KRM (file-level rules)', () => {
  it('applies the kpt rules: local edits win, unchanged files follow upstream', () => {
    const result = merge3(
      { 'edited.md': 'v1', 'same.md': 'v1', 'gone.md': 'v1', 'deleted-locally.md': 'v1' },
      { 'edited.md': 'v2', 'same.md': 'v2', 'deleted-locally.md': 'v1', 'new.md': 'v2' },
      { 'edited.md': 'mine', 'same.md': 'v1', 'gone.md': 'v1', 'local.md': 'mine' },
    );
    expect(Object.fromEntries([...result.files].map(([p, b]) => [p, b.toString()]))).toEqual({
      'edited.md': 'mine',
      'same.md': 'v2',
      'deleted-locally.md': 'v1',
      'new.md': 'v2',
      'local.md': 'mine',
    });
    expect(result.conflicts).toMatchObject([{ file: 'edited.md', winner: 'local' }]);
  });
});

describe('strategies', () => {
  const lock = `upstreamLock:\n  type: git\n  git:\n    repo: r\n    directory: d\n    ref: v1\n    commit: aaaa\n`;
  const o = { Kptfile: KPTFILE, 'd.yaml': deployment(1), 'old.md': 'old' };
  const u = { Kptfile: KPTFILE, 'd.yaml': deployment(2), 'new.md': 'new' };

  it('fast-forward refuses when local files changed, listing them', () => {
    expect(() =>
      merge3(o, u, { ...o, 'd.yaml': deployment(5), 'extra.md': 'x' }, { strategy: 'fast-forward' }),
    ).toThrow('local package files have been modified: [d.yaml extra.md].\n  use a different update --strategy.');
  });

  it('fast-forward reports a broken Kptfile as a MergeError', () => {
    expect(() =>
      merge3(o, u, { ...o, Kptfile: KPTFILE.replace('kpt.dev/v1', 'kpt.dev/v1alpha1') }, { strategy: 'fast-forward' }),
    ).toThrow(MergeError);
  });

  it('fast-forward takes upstream when only upstream/upstreamLock differ in the Kptfile', () => {
    const result = merge3(o, u, { ...o, Kptfile: KPTFILE + lock }, { strategy: 'fast-forward' });
    expect(text(result.files, 'd.yaml')).toBe(deployment(2));
    expect(text(result.files, 'Kptfile')).toBe(KPTFILE + lock);
    expect([...result.files.keys()]).toEqual(['Kptfile', 'd.yaml', 'new.md']);
  });

  it('force-delete-replace replaces every file but the merged Kptfile', () => {
    const result = merge3(
      o,
      u,
      { ...o, Kptfile: KPTFILE + lock, 'd.yaml': deployment(5), 'mine.md': 'x' },
      {
        strategy: 'force-delete-replace',
      },
    );
    expect([...result.files.keys()]).toEqual(['Kptfile', 'd.yaml', 'new.md']);
    expect(text(result.files, 'd.yaml')).toBe(deployment(2));
    expect(text(result.files, 'Kptfile')).toContain('commit: aaaa');
  });

  it('copy-merge copies upstream over local, keeps local-only files, drops files upstream removed', () => {
    const result = merge3(o, u, { ...o, 'd.yaml': deployment(5), 'mine.md': 'x' }, { strategy: 'copy-merge' });
    expect(Object.fromEntries([...result.files].map(([p, b]) => [p, b.toString()]))).toEqual({
      Kptfile: KPTFILE,
      'd.yaml': deployment(2),
      'mine.md': 'x',
      'new.md': 'new',
    });
    expect(result.conflicts).toMatchObject([{ file: 'd.yaml', winner: 'upstream' }]);
  });

  it('resource-merge keeps the local upstream/upstreamLock of the root Kptfile; non-root copies upstream', () => {
    const upstreamLock = lock.replace('aaaa', 'bbbb');
    const input = {
      original: pkg(o),
      updated: pkg({ ...u, Kptfile: KPTFILE + upstreamLock }),
      local: pkg({ ...o, Kptfile: KPTFILE + lock }),
    };
    expect(text(mergePackages(input).files, 'Kptfile')).toContain('commit: aaaa');
    expect(text(mergePackages(input, { isRoot: false }).files, 'Kptfile')).toContain('commit: bbbb');
  });
});

describe('subpackages', () => {
  it('merges a nested Kptfile three-way (copying upstream/upstreamLock, as kpt does for non-root packages)', () => {
    const kptfile = (extra: string) => `apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: sub\n${extra}`;
    const result = merge3(
      { 'sub/Kptfile': kptfile('info:\n  description: one\n') },
      { 'sub/Kptfile': kptfile('info:\n  description: two\n  keywords: [a]\n') },
      { 'sub/Kptfile': kptfile('# mine\ninfo:\n  description: one\n  site: https://example.com\n') },
    );
    expect(text(result.files, 'sub/Kptfile')).toBe(
      kptfile('# mine\ninfo:\n  description: two\n  site: https://example.com\n  keywords: [a]\n'),
    );
  });
});

describe('resources deleted upstream', () => {
  it('removes a local copy that differs from the original only by merge keys (kpt-merge comment, upstream-identifier)', () => {
    const original = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gone\ndata:\n  a: b\n';
    const marked =
      'apiVersion: v1\nkind: ConfigMap\nmetadata: # kpt-merge: /gone\n  name: gone\n  annotations:\n    internal.kpt.dev/upstream-identifier: "|ConfigMap|default|gone"\ndata:\n  a: b\n';
    const result = merge3({ 'c.yaml': original }, {}, { 'c.yaml': marked });
    expect(result.files.has('c.yaml')).toBe(false);
    expect(result.conflicts).toEqual([]);
    const changed = merge3({ 'c.yaml': original }, {}, { 'c.yaml': marked.replace('a: b', 'a: local') });
    expect(text(changed.files, 'c.yaml')).toBe(marked.replace('a: b', 'a: local'));
  });
});
