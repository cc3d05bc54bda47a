// Runs every conformance case folder under testdata/conformance (copied from the shared
// conformance set by `make sync-conformance`): a new folder is picked up without code changes.
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isPair, isScalar, isSeq, parseAllDocuments, parse as parseYaml, visit } from 'yaml';
import { readPackageDir, readPackageDirWithModes, type PackageFiles, type PackageModes } from '../kpt/package.ts';
import { mergeKptfiles, mergeModes, mergePackages, type Generation, type Strategy } from './index.ts';

const ROOT = fileURLToPath(new URL('./testdata/conformance/', import.meta.url));
const BOOKKEEPING = [
  'config.kubernetes.io/merge-source',
  'internal.config.kubernetes.io/path',
  'internal.config.kubernetes.io/index',
  'config.kubernetes.io/path',
  'config.kubernetes.io/index',
  'internal.config.kubernetes.io/seqindent',
];

interface CaseSpec {
  id: string;
  generation?: Generation;
  merge: 'resources' | 'kptfile' | 'package';
  path?: string;
  expectError?: string;
  kptfile?: { updateUpstream?: boolean };
  crds?: unknown[];
  compare?: { resourcesAsSet?: boolean; listsAsSets?: Record<string, string> };
  commentsExpected?: string[];
  commentsAbsent?: string[];
  styles?: { keys?: Record<string, string>; values?: Record<string, string> };
  strategy?: string;
}

/** `kpt-package/<case>/case.yaml`: a whole-package update, checked under every generation listed. */
interface PackageCaseSpec {
  id: string;
  strategy?: Strategy;
  /** Default true: the package is the root of the update, as Porch runs it. */
  isRoot?: boolean;
  /** Default both. */
  generations?: Generation[];
  expectError?: string;
  /** `semantic` (default): YAML files and Kptfiles compare as documents, other files byte for byte. */
  compare?: 'semantic' | 'bytes';
}

function caseFolders(group: string): string[] {
  const dir = join(ROOT, group);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'case.yaml')))
    .map((e) => join(dir, e.name))
    .sort();
}

const read = (dir: string, name: string) => readFileSync(join(dir, name), 'utf8');

/** Semantic documents: empty documents dropped, lists at `listsAsSets` paths sorted by their key. */
function documents(text: string, spec: CaseSpec): unknown[] {
  const docs = parseAllDocuments(text) as Array<{ toJS(): unknown; errors: unknown[] }>;
  const values = docs.map((d) => d.toJS()).filter((v) => v !== null && v !== undefined);
  for (const [path, key] of Object.entries(spec.compare?.listsAsSets ?? {})) {
    for (const value of values) {
      let parent: unknown = value;
      const parts = path.split('.');
      for (const part of parts.slice(0, -1)) parent = (parent as Record<string, unknown> | undefined)?.[part];
      const last = parts[parts.length - 1]!;
      const list = (parent as Record<string, unknown> | undefined)?.[last];
      if (Array.isArray(list)) {
        list.sort((a, b) =>
          String((a as Record<string, unknown>)[key]).localeCompare(String((b as Record<string, unknown>)[key])),
        );
      }
    }
  }
  if (spec.compare?.resourcesAsSet) {
    const id = (v: unknown) => {
      const o = v as { apiVersion?: string; kind?: string; metadata?: { namespace?: string; name?: string } };
      return [o.apiVersion?.split('/').slice(0, -1).join('/'), o.kind, o.metadata?.namespace, o.metadata?.name].join(
        '|',
      );
    };
    values.sort((a, b) => id(a).localeCompare(id(b)));
  }
  return values;
}

function comments(text: string): string[] {
  const out: string[] = [];
  const add = (c: string | null | undefined) => {
    for (const line of (c ?? '').split('\n')) if (line.trim()) out.push(line.trim());
  };
  for (const doc of parseAllDocuments(text) as ReturnType<typeof parseAllDocuments> & unknown[]) {
    const d = doc as unknown as { commentBefore?: string; comment?: string };
    add(d.commentBefore);
    add(d.comment);
    visit(doc as never, (_key, node) => {
      if (isScalar(node) || isMap(node) || isSeq(node)) {
        add(node.commentBefore);
        add(node.comment);
      }
    });
  }
  return out;
}

const STYLE_TYPES: Record<string, string> = { plain: 'PLAIN', double: 'QUOTE_DOUBLE', single: 'QUOTE_SINGLE' };

/** The key and value nodes at a `styles` path (`a.b[name=x].c`) in the first document. */
function nodeAt(text: string, path: string): { key: unknown; value: unknown } | undefined {
  let node: unknown = (parseAllDocuments(text)[0] as unknown as { contents: unknown }).contents;
  let pair: { key: unknown; value: unknown } | undefined;
  for (const part of path.match(/[^.[\]]+|\[[^\]]+\]/g) ?? []) {
    if (part.startsWith('[')) {
      const [k, v] = part.slice(1, -1).split('=');
      node = isSeq(node)
        ? node.items.find((item) => isMap(item) && String((item.get(k, true) as { value?: unknown })?.value) === v)
        : undefined;
      continue;
    }
    pair = isMap(node)
      ? (node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === part) as typeof pair)
      : undefined;
    node = pair?.value;
  }
  return pair;
}

function checkStyles(text: string, styles: NonNullable<CaseSpec['styles']>): void {
  for (const [side, entries] of [
    ['key', styles.keys ?? {}],
    ['value', styles.values ?? {}],
  ] as const) {
    for (const [path, style] of Object.entries(entries)) {
      const node = nodeAt(text, path)?.[side];
      if (style === 'flow') expect({ path, flow: (node as { flow?: boolean })?.flow }).toEqual({ path, flow: true });
      else expect({ path, type: (node as { type?: string })?.type }).toEqual({ path, type: STYLE_TYPES[style] });
    }
  }
}

function runCase(dir: string, spec: CaseSpec): string {
  const generation = spec.generation ?? 'B';
  if (spec.merge === 'kptfile') {
    return (
      mergeKptfiles(read(dir, 'original.yaml'), read(dir, 'updated.yaml'), read(dir, 'local.yaml'), {
        copyUpstream: spec.kptfile?.updateUpstream ?? true,
        conflicts: 'upstream-wins',
      }) ?? ''
    );
  }
  const path = spec.path ?? 'resources.yaml';
  const pkg = (name: string) => new Map([[path, Buffer.from(read(dir, name), 'utf8')]]);
  const result = mergePackages(
    { original: pkg('original.yaml'), updated: pkg('updated.yaml'), local: pkg('local.yaml') },
    { generation, crds: spec.crds ?? [] },
  );
  return result.files.get(path)?.toString('utf8') ?? '';
}

// merge3: the shared cases; kyaml-merge3: more of kyaml's merge3 tests, in the same format (this
// project's addition, with `generations` to run a case under several generations).
describe.each([
  ['merge3', 52],
  ['kyaml-merge3', 1],
])('conformance: %s cases', (group, atLeast) => {
  const folders = caseFolders(group);
  it('finds the case folders', () => {
    expect(folders.length).toBeGreaterThanOrEqual(atLeast);
  });
  for (const dir of folders) {
    const base = parseYaml(read(dir, 'case.yaml')) as CaseSpec & { generations?: Generation[] };
    for (const generation of base.generations ?? [base.generation ?? 'B']) {
      const spec: CaseSpec = { ...base, generation };
      it(`${spec.id} (${dir.slice(dir.lastIndexOf('/') + 1)}, Gen ${generation})`, () => {
        if (spec.expectError) {
          expect(() => runCase(dir, spec)).toThrow(spec.expectError);
          return;
        }
        const output = runCase(dir, spec);
        expect(documents(output, spec)).toEqual(documents(read(dir, 'expected.yaml'), spec));
        const found = comments(output);
        for (const text of spec.commentsExpected ?? []) expect(found).toContain(text.trim());
        for (const text of spec.commentsAbsent ?? []) expect(found).not.toContain(text.trim());
        for (const annotation of BOOKKEEPING) expect(output).not.toContain(annotation);
        // optional in the conformance rules; this implementation aims at kpt's quoting
        if (spec.styles) checkStyles(output, spec.styles);
      });
    }
  }
});

describe('conformance: kpt-update package fixtures', () => {
  for (const dir of caseFolders('kpt-update')) {
    const spec = parseYaml(read(dir, 'case.yaml')) as CaseSpec;
    it(`${spec.id} (Gen ${spec.generation ?? 'B'})`, () => {
      const result = mergePackages(
        {
          original: readPackageDir(join(dir, 'origin')),
          updated: readPackageDir(join(dir, 'updated')),
          local: readPackageDir(join(dir, 'dest')),
        },
        {
          generation: spec.generation ?? 'B',
          isRoot: false,
          strategy: (spec.strategy as 'resource-merge' | undefined) ?? 'resource-merge',
        },
      );
      const expected = readPackageDir(join(dir, 'expected'));
      expect([...result.files.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [path, content] of expected) {
        // byte for byte, as the upstream test compares
        expect(result.files.get(path)?.toString('utf8')).toBe(content.toString('utf8'));
      }
    });
  }
});

const isYamlPath = (path: string) => /(^|\/)Kptfile$|\.ya?ml$/.test(path);

function readSide(dir: string, side: string): { files: PackageFiles; modes: PackageModes } {
  const at = join(dir, side);
  return existsSync(at) ? readPackageDirWithModes(at) : { files: new Map(), modes: new Map() };
}

const modeList = (modes: PackageModes) => [...modes].map(([path, entry]) => `${path} ${entry.kind}`).sort();

describe("conformance: kpt-package cases (whole-package updates from kpt's own update tests)", () => {
  const folders = caseFolders('kpt-package');
  it('finds the case folders', () => {
    expect(folders.length).toBeGreaterThan(0);
  });
  for (const dir of folders) {
    const spec = parseYaml(read(dir, 'case.yaml')) as PackageCaseSpec;
    for (const generation of spec.generations ?? (['B', 'C'] as const)) {
      it(`${spec.id} (${dir.slice(dir.lastIndexOf('/') + 1)}, Gen ${generation})`, () => {
        const [original, updated, local] = ['origin', 'updated', 'dest'].map((side) => readSide(dir, side));
        const strategy = spec.strategy ?? 'resource-merge';
        const run = () => {
          const result = mergePackages(
            { original: original!.files, updated: updated!.files, local: local!.files },
            { generation, strategy, isRoot: spec.isRoot ?? true },
          );
          return mergeModes(original!.modes, updated!.modes, local!.modes, result.files, { strategy });
        };
        if (spec.expectError) {
          expect(run).toThrow(spec.expectError);
          return;
        }
        const result = run();
        const expected = readSide(dir, 'expected');
        expect([...result.files.keys()].sort()).toEqual([...expected.files.keys()].sort());
        for (const [path, content] of expected.files) {
          const text = result.files.get(path)?.toString('utf8') ?? '';
          if ((spec.compare ?? 'semantic') === 'semantic' && isYamlPath(path)) {
            const empty: CaseSpec = { id: spec.id, merge: 'package' };
            expect({ path, docs: documents(text, empty) }).toEqual({
              path,
              docs: documents(content.toString('utf8'), empty),
            });
          } else expect({ path, text }).toEqual({ path, text: content.toString('utf8') });
        }
        expect(modeList(result.modes)).toEqual(modeList(expected.modes));
      });
    }
  }
});
