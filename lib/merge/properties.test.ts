// Algebraic properties of the package merge, checked on random packages (fast-check).
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import type { PackageFiles } from '../kpt/package.ts';
import { mergePackages, type Generation } from './index.ts';

type Json = string | number | boolean | Json[] | { [key: string]: Json };

const scalar: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom('x', 'y', 'z', 'hello world', ''),
  fc.integer({ min: 0, max: 3 }),
  fc.boolean(),
);
const { value } = fc.letrec<{ value: Json; map: Record<string, Json> }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(scalar, { maxLength: 3 }),
    tie('map'),
  ),
  map: fc.dictionary(fc.constantFrom('k1', 'k2', 'k3', 'k4'), tie('value'), { maxKeys: 3 }),
}));
const spec = fc.dictionary(fc.constantFrom('k1', 'k2', 'k3', 'k4'), value, { maxKeys: 4 });

const example = fc.record({
  apiVersion: fc.constant('example.com/v1'),
  kind: fc.constant('Example'),
  metadata: fc.record({ name: fc.constantFrom('a', 'b', 'c') }),
  spec,
});

const container = fc.record({
  name: fc.constantFrom('app', 'sidecar', 'init'),
  image: fc.constantFrom('app:1', 'app:2', 'side:1'),
  env: fc.uniqueArray(fc.record({ name: fc.constantFrom('A', 'B', 'C'), value: fc.constantFrom('1', '2') }), {
    selector: (e) => e.name,
    maxLength: 2,
  }),
});
const deployment = fc.record({
  apiVersion: fc.constant('apps/v1'),
  kind: fc.constant('Deployment'),
  metadata: fc.record({
    name: fc.constantFrom('a', 'b'),
    labels: fc.dictionary(fc.constantFrom('app', 'tier'), fc.constantFrom('web', 'db'), { maxKeys: 2 }),
  }),
  spec: fc.record({
    replicas: fc.integer({ min: 1, max: 3 }),
    template: fc.record({
      spec: fc.record({
        containers: fc.uniqueArray(container, { selector: (c) => c.name, minLength: 1, maxLength: 3 }),
      }),
    }),
  }),
});

const resources = fc.uniqueArray(fc.oneof(example, deployment), {
  selector: (r) => `${r.kind}/${r.metadata.name}`,
  maxLength: 3,
});
const packageFiles: fc.Arbitrary<PackageFiles> = fc.record({ 'one.yaml': resources, 'two.yaml': resources }).map(
  (files) =>
    new Map(
      Object.entries(files)
        .filter(([, docs]) => docs.length > 0)
        .map(([path, docs]) => [path, Buffer.from(docs.map((d) => stringify(d)).join('---\n'))] as const),
    ),
);

const asText = (files: PackageFiles) => Object.fromEntries([...files].map(([p, b]) => [p, b.toString('utf8')]));

/**
 * kpt's merge keeps the local order of keyed list elements and leaves a map that upstream removed as
 * `{}` in the local copy (reference §3.5); compare modulo those two, everything else exactly.
 */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(normalize);
    const keyed = items.every((i) => i !== null && typeof i === 'object' && 'name' in (i as object));
    return keyed
      ? items.sort((a, b) => String((a as { name: string }).name).localeCompare((b as { name: string }).name))
      : items;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const n = normalize(v);
      if (n !== null && typeof n === 'object' && !Array.isArray(n) && Object.keys(n).length === 0) continue;
      out[k] = n;
    }
    return out;
  }
  return value;
}

/** Per file, the resources as a set (keyed by kind and name). */
function semantic(files: PackageFiles): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [path, content] of files) {
    const docs = parseAllDocuments(content.toString('utf8')) as unknown as Array<{ toJS(): unknown }>;
    const values = docs.map((d) => d.toJS()).filter(Boolean) as Array<{ kind: string; metadata: { name: string } }>;
    out[path] = values
      .sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`))
      .map(normalize);
  }
  return out;
}

const RUNS = { numRuns: 200 };

describe.each<Generation>(['B', 'C'])('merge properties (Gen %s)', (generation) => {
  it('merge(O, O, L) = L, byte for byte', () => {
    fc.assert(
      fc.property(packageFiles, packageFiles, (o, l) => {
        const result = mergePackages({ original: o, updated: o, local: l }, { generation });
        expect(asText(result.files)).toEqual(asText(l));
        expect(result.conflicts).toEqual([]);
      }),
      RUNS,
    );
  });

  it('merge(O, U, O) = U (as documents, modulo keyed-list order and emptied maps)', () => {
    fc.assert(
      fc.property(packageFiles, packageFiles, (o, u) => {
        const result = mergePackages({ original: o, updated: u, local: o }, { generation });
        expect(semantic(result.files)).toEqual(semantic(u));
        expect(result.conflicts).toEqual([]);
      }),
      RUNS,
    );
  });

  it('is idempotent: merging again into the result changes nothing', () => {
    fc.assert(
      fc.property(packageFiles, packageFiles, packageFiles, (o, u, l) => {
        const once = mergePackages({ original: o, updated: u, local: l }, { generation }).files;
        const twice = mergePackages({ original: o, updated: u, local: once }, { generation }).files;
        expect(asText(twice)).toEqual(asText(once));
      }),
      RUNS,
    );
  });
});
