import { describe, expect, it } from '@jest/globals';
import type { KubeObject, PackageVariantSpec } from '../../api/v1alpha1/index.ts';
import { readPackageContext } from '../../lib/kpt/context.ts';
import type { PackageFiles } from '../../lib/kpt/package.ts';
import { applyMutations, MutationError, type InjectionLookup } from './mutations.ts';
import { PORCH_KPTFILE, porchContext, porchPackage } from '../testing/porch-package.ts';

const KPTFILE = PORCH_KPTFILE;
const context = porchContext;
const files = (entries: Record<string, string>): PackageFiles =>
  new Map(Object.entries(entries).map(([k, v]) => [k, Buffer.from(v)]));
const pkg = porchPackage;

const lookupOf = (objects: KubeObject[]): InjectionLookup => ({
  list: async (apiVersion, kind) => objects.filter((o) => o.apiVersion === apiVersion && o.kind === kind),
});
const NO_OBJECTS = lookupOf([]);
const mutate = (input: PackageFiles, spec: PackageVariantSpec, name = 'my-pv', lookup = NO_OBJECTS) =>
  applyMutations(input, { name, spec }, lookup);

describe('package context (Porch TestEnsurePackageContext)', () => {
  it.each([
    ['empty package context', '', {}, ''],
    ['add one entry', '', { data: { foo: 'bar' } }, '  foo: bar\n'],
    ['add two entries', '', { data: { foo: 'bar', foobar: 'barfoo' } }, '  foo: bar\n  foobar: barfoo\n'],
    // Porch writes `foo` before `hello` here (its serializer's order); existing keys keep their place here
    ['add one with existing', '  hello: there\n', { data: { foo: 'bar' } }, '  hello: there\n  foo: bar\n'],
    ['change existing', '  foo: there\n', { data: { foo: 'bar' } }, '  foo: bar\n'],
    ['remove one entry', '  hello: there\n', { removeKeys: ['hello'] }, ''],
    ['remove entry, leave existing', '  hello: there\n  foo: bar\n', { removeKeys: ['hello'] }, '  foo: bar\n'],
    [
      'remove and add entries',
      '  hello: there\n  foo: bar\n',
      { data: { foobar: 'barfoo', there: 'hello' }, removeKeys: ['hello'] },
      '  foo: bar\n  foobar: barfoo\n  there: hello\n',
    ],
  ])('%s', async (_title, initial, packageContext, expected) => {
    const input = files({ Kptfile: KPTFILE, 'package-context.yaml': context(initial) });
    const result = await mutate(input, { packageContext });
    expect(result.files.get('package-context.yaml')?.toString()).toBe(context(expected));
    expect(result.files.get('Kptfile')?.toString()).toBe(KPTFILE);
    expect(result.changed).toBe(initial !== expected);
    if (!result.changed) expect(result.files).toBe(input);
  });

  it('gives the order name, foo, foobar, there after remove and add', async () => {
    const input = files({ Kptfile: KPTFILE, 'package-context.yaml': context('  hello: there\n  foo: bar\n') });
    const { files: out } = await mutate(input, {
      packageContext: { data: { foobar: 'barfoo', there: 'hello' }, removeKeys: ['hello'] },
    });
    expect(Object.keys(readPackageContext(out)!)).toEqual(['name', 'foo', 'foobar', 'there']);
  });

  it('needs package-context.yaml when packageContext is used, and says so', async () => {
    const input = files({ Kptfile: KPTFILE });
    await expect(mutate(input, { packageContext: { data: { a: 'b' } } })).rejects.toThrow(
      new MutationError('package-context.yaml not found in the package (spec.packageContext needs it)'),
    );
    await expect(mutate(input, { packageContext: { data: {}, removeKeys: [] } })).resolves.toMatchObject({
      changed: false,
    });
    const noData = files({
      Kptfile: KPTFILE,
      'package-context.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kptfile.kpt.dev\n',
    });
    const error = await mutate(noData, { packageContext: { removeKeys: ['a'] } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MutationError);
    expect(error).toMatchObject({ file: 'package-context.yaml', field: 'spec.packageContext' });
    expect((error as Error).message).toContain('has no data map');
    await expect(mutate(pkg(), { packageContext: { removeKeys: ['package-path'] } })).rejects.toThrow(
      'package-context.yaml: must not contain the key "package-path" (spec.packageContext)',
    );
  });
});

describe('labels and annotations', () => {
  const commented = `# the package
apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: prr # package name
  labels:
    team: old # owned by the PV
    keep: me
  annotations:
    config.kubernetes.io/local-config: "true"
info:
  description: Example
`;

  it('sets the listed keys on the Kptfile metadata, keeping other keys and comments', async () => {
    const result = await mutate(files({ Kptfile: commented }), {
      labels: { team: 'core', tier: 'gold' },
      annotations: { 'example.com/owner': 'platform', 'example.com/count': '3' },
    });
    expect(result.changed).toBe(true);
    expect(result.files.get('Kptfile')?.toString()).toBe(`# the package
apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: prr # package name
  labels:
    team: core
    keep: me
    tier: gold
  annotations:
    config.kubernetes.io/local-config: "true"
    example.com/owner: platform
    example.com/count: "3"
info:
  description: Example
`);
    const again = await mutate(result.files, { labels: { team: 'core', tier: 'gold' } });
    expect(again.changed).toBe(false);
    expect(again.files).toBe(result.files);
  });

  it('creates the maps when the Kptfile has none', async () => {
    const result = await mutate(files({ Kptfile: 'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: x\n' }), {
      labels: { a: 'b' },
    });
    expect(result.files.get('Kptfile')?.toString()).toBe(
      'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: x\n  labels:\n    a: b\n',
    );
  });
});

describe('pipeline functions', () => {
  const spec: PackageVariantSpec = {
    pipeline: {
      mutators: [{ name: 'set-namespace', image: 'set-namespace:v0.4', configMap: { namespace: 'prod' } }],
      validators: [{ name: 'kubeconform', image: 'kubeconform:v0.1' }],
    },
  };

  it('prepends the functions once, for dotted PV names too', async () => {
    for (const name of ['my-pv', 'team.eu.my-pv']) {
      const first = await mutate(pkg(), spec, name);
      expect(first.changed).toBe(true);
      const text = first.files.get('Kptfile')!.toString();
      expect(text).toContain(`- name: PackageVariant.${name}.set-namespace.0\n`);
      expect(text).toContain(`- name: PackageVariant.${name}.kubeconform.0\n`);
      const second = await mutate(first.files, spec, name);
      expect(second.changed).toBe(false);
      const removed = await mutate(first.files, {}, name);
      expect(removed.changed).toBe(true);
      expect(removed.files.get('Kptfile')?.toString()).toBe(KPTFILE);
    }
  });
});

describe('applyMutations', () => {
  const cluster: KubeObject[] = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'us-east1-endpoints' }, data: { db: 'db.us-east1' } },
  ];
  const point = `apiVersion: v1
kind: ConfigMap
metadata:
  name: regional-endpoints
  annotations:
    kpt.dev/config-injection: required
data:
  db: example
`;

  it('keeps a YAML file that is not UTF-8 byte for byte and refuses such a Kptfile', async () => {
    const cafe = Buffer.from(point.replace('db: example', 'db: caf\xe9'), 'latin1');
    const input = new Map(pkg()).set('cm.yaml', cafe);
    const spec: PackageVariantSpec = { labels: { env: 'prod' }, injectors: [{ name: 'us-east1-endpoints' }] };
    const result = await mutate(input, spec, 'my-pv', lookupOf(cluster));
    expect(result.files.get('cm.yaml')).toBe(cafe);
    expect(result.injections).toEqual([]);
    const badKptfile = new Map(input).set('Kptfile', Buffer.from(`${KPTFILE}# caf\xe9\n`, 'latin1'));
    await expect(mutate(badKptfile, spec)).rejects.toThrow(MutationError);
    await expect(mutate(badKptfile, spec)).rejects.toThrow('Kptfile: is not valid UTF-8 text');
  });

  it('runs all mutations and reports injections; a second run changes nothing', async () => {
    const spec: PackageVariantSpec = {
      labels: { env: 'prod' },
      packageContext: { data: { region: 'us-east1' } },
      pipeline: { mutators: [{ name: 'ns', image: 'set-namespace:v0.4' }] },
      injectors: [{ name: 'us-east1-endpoints' }],
    };
    const input = pkg({ 'cm.yaml': point, 'README.md': '# readme\n' });
    const result = await mutate(input, spec, 'my-pv', lookupOf(cluster));
    expect(result.changed).toBe(true);
    expect(result.injections).toEqual([
      {
        file: 'cm.yaml',
        conditionType: 'config.injection.ConfigMap.regional-endpoints',
        required: true,
        injected: true,
        injectedName: 'us-east1-endpoints',
        errors: [],
      },
    ]);
    expect(result.files.get('README.md')).toBe(input.get('README.md'));
    expect(result.files.get('cm.yaml')?.toString()).toContain('  db: db.us-east1\n');
    expect(readPackageContext(result.files)).toEqual({ name: 'example', region: 'us-east1' });
    expect(result.files.get('Kptfile')?.toString()).toBe(`apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: prr
  annotations:
    config.kubernetes.io/local-config: "true"
  labels:
    env: prod
info:
  description: Example
  readinessGates:
  - conditionType: config.injection.ConfigMap.regional-endpoints
pipeline:
  mutators:
  - name: PackageVariant.my-pv.ns.0
    image: set-namespace:v0.4
status:
  conditions:
  - type: config.injection.ConfigMap.regional-endpoints
    status: "True"
    reason: ConfigInjected
    message: injected resource "us-east1-endpoints" from cluster
`);
    const again = await mutate(result.files, spec, 'my-pv', lookupOf(cluster));
    expect(again.changed).toBe(false);
    expect(again.files).toBe(result.files);
  });

  it('records unsatisfied points without failing, and sees a change of the in-cluster object', async () => {
    const spec = { injectors: [{ name: 'us-east1-endpoints' }] };
    const missing = await mutate(pkg({ 'cm.yaml': point }), spec);
    expect(missing.changed).toBe(true);
    expect(missing.injections[0]).toMatchObject({
      injected: false,
      errors: ['no in-cluster resources of type v1.ConfigMap'],
    });
    expect(missing.files.get('cm.yaml')?.toString()).toBe(point);
    const later = await mutate(missing.files, spec, 'my-pv', lookupOf(cluster));
    expect(later.changed).toBe(true);
    expect(later.files.get('Kptfile')?.toString()).toContain('status: "True"');
  });

  it('fails on invalid injection points', async () => {
    await expect(mutate(pkg({ 'cm.yaml': point.replace('required', 'always') }), {})).rejects.toThrow(
      'errors in injection points: cm.yaml: ConfigMap/regional-endpoints has invalid "kpt.dev/config-injection" annotation value of "always"',
    );
  });

  it('does not count a Kptfile formatting difference as a change', async () => {
    const spaced = KPTFILE.replace('name: prr', "name:     'prr'").replace('info:', 'info:   ');
    const input = files({ Kptfile: spaced, 'package-context.yaml': context() });
    const result = await mutate(input, { labels: {} });
    expect(result.changed).toBe(false);
    expect(result.files).toBe(input);
    const changed = await mutate(input, { labels: { a: 'b' } });
    expect(changed.changed).toBe(true);
    expect(changed.files.get('Kptfile')?.toString()).toContain("name: 'prr'");
  });

  it('reads Kptfile label and annotation values as strings, as kpt does', async () => {
    const input = files({ Kptfile: KPTFILE.replace('"true"', 'true') });
    const same = await mutate(input, { annotations: { 'config.kubernetes.io/local-config': 'true' } });
    expect(same.changed).toBe(false);
    const other = await mutate(input, { annotations: { 'config.kubernetes.io/local-config': 'false' } });
    expect(other.changed).toBe(true);
    expect(other.files.get('Kptfile')?.toString()).toContain('config.kubernetes.io/local-config: "false"');
  });

  it('needs a valid Kptfile', async () => {
    await expect(mutate(files({ 'a.yaml': 'kind: A\n' }), {})).rejects.toThrow(
      new MutationError('Kptfile not found in the package'),
    );
    const error = await mutate(files({ Kptfile: `${KPTFILE}bogus: 1\n` }), {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MutationError);
    expect((error as MutationError).file).toBe('Kptfile');
    expect((error as Error).message).toContain('unknown field "bogus"');
  });
});
