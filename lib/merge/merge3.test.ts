// Field-level rules not covered by the conformance cases.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { mergePackages, type MergeOptions } from './index.ts';
import { SchemaRegistry, schemaFromComment } from './schema.ts';

function mergeOne(o: string, u: string, l: string, options?: MergeOptions) {
  const pkg = (text: string) => new Map([['r.yaml', Buffer.from(text)]]);
  const result = mergePackages({ original: pkg(o), updated: pkg(u), local: pkg(l) }, options);
  return { text: result.files.get('r.yaml')?.toString() ?? '', conflicts: result.conflicts };
}

const deployment = (podSpec: string, meta = '') =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n${meta}spec:\n  template:\n    spec:\n${podSpec}`;

describe('associative lists', () => {
  it('merges a primitive set (finalizers): upstream additions appended, upstream removals applied, local kept', () => {
    const meta = (items: string[]) => `  finalizers:\n${items.map((i) => `  - ${i}\n`).join('')}`;
    const pod = '      containers: []\n';
    const { text } = mergeOne(
      deployment(pod, meta(['a', 'b'])),
      deployment(pod, meta(['a', 'c'])),
      deployment(pod, meta(['local', 'a', 'b'])),
    );
    expect(parse(text).metadata.finalizers).toEqual(['local', 'a', 'c']);
  });

  it('matches ports by containerPort when protocol is missing on one side (wildcard key)', () => {
    const ports = (p: string) => `      containers:\n      - name: app\n        ports:\n${p}`;
    const { text } = mergeOne(
      deployment(ports('        - containerPort: 80\n')),
      deployment(ports('        - containerPort: 80\n          name: http\n')),
      deployment(ports('        - containerPort: 80\n          protocol: TCP\n')),
    );
    expect(parse(text).spec.template.spec.containers[0].ports).toEqual([
      { containerPort: 80, protocol: 'TCP', name: 'http' },
    ]);
  });

  it('keeps a stub of an element deleted upstream when the local copy added fields to it', () => {
    const env = (e: string) => `      containers:\n      - name: app\n        env:\n${e}`;
    const { text, conflicts } = mergeOne(
      deployment(env('        - name: A\n          value: "1"\n        - name: B\n          value: "2"\n')),
      deployment(env('        - name: B\n          value: "2"\n')),
      deployment(
        env(
          '        - name: A\n          value: "1"\n          valueFrom: {fieldRef: {fieldPath: x}}\n        - name: B\n          value: "2"\n',
        ),
      ),
    );
    expect(parse(text).spec.template.spec.containers[0].env).toEqual([
      { valueFrom: { fieldRef: { fieldPath: 'x' } }, name: 'A' },
      { name: 'B', value: '2' },
    ]);
    expect(conflicts).toEqual([]);
  });
});

describe('values whose kind differs between versions', () => {
  it('merges them like atomic values instead of failing', () => {
    const r = (v: string) => `apiVersion: example.com/v1\nkind: X\nmetadata:\n  name: x\nspec:\n  v: ${v}\n`;
    expect(parse(mergeOne(r('a'), r('{nested: true}'), r('a')).text).spec.v).toEqual({ nested: true });
    expect(parse(mergeOne(r('a'), r('a'), r('[1, 2]')).text).spec.v).toEqual([1, 2]);
  });
});

describe('explicit nulls', () => {
  const r = (v: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  other: ${v === '~' ? 'x' : 'y'}\n  v: ${v}\n`;
  it('Gen B removes a key that is null locally when upstream changes the resource; Gen C only when it was set', () => {
    expect(parse(mergeOne(r('~'), r('set'), r('~')).text).data).toEqual({ other: 'y' });
    expect(parse(mergeOne(r('~'), r('set'), r('~'), { generation: 'C' }).text).data).toEqual({ other: 'y', v: 'set' });
  });
});

describe('schemas', () => {
  const registry = SchemaRegistry.kubernetes();
  it('knows the Kubernetes merge keys', () => {
    const podSpec = registry.field(
      registry.field(registry.field(registry.forResource('apps/v1', 'Deployment'), 'spec'), 'template'),
      'spec',
    );
    expect(registry.listStrategy(registry.field(podSpec, 'containers'))).toEqual({ associative: true, keys: ['name'] });
    const container = registry.items(registry.field(podSpec, 'containers'));
    expect(registry.listStrategy(registry.field(container, 'ports'))).toEqual({
      associative: true,
      keys: ['containerPort', 'protocol'],
    });
    expect(registry.listStrategy(registry.field(container, 'args'))).toBeUndefined();
    expect(registry.forResource('example.com/v1', 'X')).toBeUndefined();
  });

  it('treats x-kubernetes-list-type: map alone as atomic', () => {
    expect(
      registry.listStrategy({ type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
    ).toEqual({
      associative: false,
      keys: [],
    });
  });

  it('reads schemas from comments and ignores other JSON comments', () => {
    expect(schemaFromComment(' {"$ref": "#/definitions/io.k8s.api.core.v1.PodSpec"}')).toEqual({
      $ref: '#/definitions/io.k8s.api.core.v1.PodSpec',
    });
    expect(schemaFromComment(' {"$openapi":"replicas"}')).toBeUndefined();
    expect(schemaFromComment(' just words {')).toBeUndefined();
  });

  it('registers CRD versions per registry', () => {
    const crd = {
      spec: {
        group: 'g.io',
        names: { kind: 'K' },
        versions: [
          {
            name: 'v1',
            schema: {
              openAPIV3Schema: { properties: { l: { type: 'array', 'x-kubernetes-patch-strategy': 'merge' } } },
            },
          },
          { name: 'v2' },
        ],
      },
    };
    const own = SchemaRegistry.kubernetes();
    expect(own.registerCrd(crd)).toBe(1);
    expect(own.listStrategy(own.field(own.forResource('g.io/v1', 'K'), 'l'))).toEqual({ associative: true, keys: [] });
    expect(SchemaRegistry.kubernetes().forResource('g.io/v1', 'K')).toBeUndefined();
  });
});

describe('N1 inputs under Gen B (the result the case notes derive for Porch)', () => {
  it('removes every key that is null locally', () => {
    const dir = new URL('./testdata/conformance/merge3/N1-keep-tagged-null/', import.meta.url);
    const read = (name: string) => readFileSync(new URL(name, dir), 'utf8');
    const { text } = mergeOne(read('original.yaml'), read('updated.yaml'), read('local.yaml'));
    const expected = parse(read('expected.yaml'));
    expected.data.deletedInOrigin = { emptyStringKey1: 'something', emptyStringKey2: 'something' };
    expect(parse(text)).toEqual(expected);
    expect(text).toContain(`    emptyStringKey1: "something"\n    emptyStringKey2: 'something'\n  deletedInDest:`);
  });
});
