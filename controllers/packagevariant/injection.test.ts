import { describe, expect, it } from '@jest/globals';
import type { InjectionSelector, KubeObject } from '../../api/v1alpha1/index.ts';
import { parseKptfile, type Kptfile } from '../../lib/kpt/kptfile.ts';
import {
  findInjectionPoints,
  injectConfig,
  likelyInjectionPoints,
  mayHoldInjectionPoint,
  setInjectionConditionsAndGates,
  validateInjectionPoints,
  type InjectionLookup,
  type InjectionOutcome,
  type InjectionPoint,
} from './injection.ts';
import { MutationError } from './mutation-error.ts';
import { PORCH_KPTFILE, porchPackage } from '../testing/porch-package.ts';

const KPTFILE = PORCH_KPTFILE;
const pkg = porchPackage;

/** The in-cluster objects of Porch's fake client, served from an array. */
const endpoints = (n: number): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: `us-east${n}-endpoints`, namespace: 'default' },
  data: { db: `db.us-east${n}.example.com` },
});
const team = (name: string, chargeCode: string): KubeObject => ({
  apiVersion: 'hr.example.com/v1alpha1',
  kind: 'Team',
  metadata: { name, namespace: 'default' },
  spec: { chargeCode },
});
const CLUSTER = [
  endpoints(1),
  endpoints(2),
  endpoints(3),
  team('dev-team-alpha', 'ab'),
  team('dev-team-beta', 'cd'),
  team('prod-team', 'ef'),
];

class ArrayLookup implements InjectionLookup {
  readonly calls: string[] = [];
  private readonly objects: KubeObject[];
  constructor(objects: KubeObject[]) {
    this.objects = objects;
  }
  async list(apiVersion: string, kind: string): Promise<KubeObject[]> {
    this.calls.push(`${apiVersion} ${kind}`);
    if (kind === 'Unlistable') throw new Error(`no matches for kind "${kind}" in version "${apiVersion}"`);
    return this.objects.filter((o) => o.apiVersion === apiVersion && o.kind === kind);
  }
}

const configMapPoint = (name: string, mode: string, extra = '') => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  annotations:
    kpt.dev/config-injection: ${mode}${extra}
data:
  foo: bar
`;
const myTypePoint = (name: string, mode: string) => `apiVersion: bigco.com/v2
kind: MyType
metadata:
  name: ${name}
  annotations:
    kpt.dev/config-injection: ${mode}
spec:
  foo: bar
  bar: foofoo
`;

const summary = (points: InjectionPoint[]) =>
  points.map((p) => ({ file: p.file, required: p.required, conditionType: p.conditionType, errors: p.errors }));

describe('findInjectionPoints (Porch TestFindInjectionPoints)', () => {
  it('reports a file that does not parse, with the file name', () => {
    const found = findInjectionPoints(pkg({ 'junk.yaml': 'baddata\n' }));
    expect(found.errors).toEqual(['junk.yaml (document 0): not a KRM resource (a YAML map is expected)']);
    expect(findInjectionPoints(pkg({ 'bad.yaml': 'a: [\n' })).errors).toEqual([
      expect.stringMatching(/^bad\.yaml \(document 0\): invalid YAML at line \d: /),
    ]);
  });

  it('leaves a file that is not UTF-8 alone: opaque, no point and no error', () => {
    const files = pkg({ 'ok.yaml': configMapPoint('foo', 'optional') });
    files.set(
      'cafe.yaml',
      Buffer.from(configMapPoint('bar', 'required').replace('name: bar', 'name: caf\xe9'), 'latin1'),
    );
    const found = findInjectionPoints(files);
    expect(found.errors).toEqual([]);
    expect(summary(found.points).map((p) => p.file)).toEqual(['ok.yaml']);
  });

  it('finds nothing in a package without points', () => {
    expect(findInjectionPoints(pkg())).toMatchObject({ points: [], errors: [] });
  });

  it('finds one optional point', () => {
    const found = findInjectionPoints(
      pkg({ 'file.yaml': configMapPoint('foo', 'optional', '\n    config.kubernetes.io/local-config: "true"') }),
    );
    expect(summary(found.points)).toEqual([
      { file: 'file.yaml', required: false, conditionType: 'config.injection.ConfigMap.foo', errors: [] },
    ]);
  });

  it('records an invalid annotation value', () => {
    const found = findInjectionPoints(pkg({ 'file.yaml': configMapPoint('foo', 'invalid') }));
    expect(summary(found.points)).toEqual([
      {
        file: 'file.yaml',
        required: false,
        conditionType: 'config.injection.ConfigMap.foo',
        errors: ['file.yaml: ConfigMap/foo has invalid "kpt.dev/config-injection" annotation value of "invalid"'],
      },
    ]);
  });

  it('finds one required point', () => {
    const found = findInjectionPoints(pkg({ 'file2.yaml': configMapPoint('foo', 'required') }));
    expect(summary(found.points)).toEqual([
      { file: 'file2.yaml', required: true, conditionType: 'config.injection.ConfigMap.foo', errors: [] },
    ]);
  });

  it('finds several points in one file and across files, json and Kptfiles included', () => {
    const found = findInjectionPoints(
      pkg({
        'file.yaml': `${configMapPoint('foo', 'required')}---\n${myTypePoint('foo', 'optional')}`,
        'some-file.yaml': myTypePoint('foo2', 'required'),
        'sub/x.json': JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'json', annotations: { 'kpt.dev/config-injection': 'optional' } },
        }),
        'sub/Kptfile': KPTFILE.replace('name: prr', 'name: sub').replace(
          '    config.kubernetes.io/local-config: "true"',
          '    kpt.dev/config-injection: optional',
        ),
        'notes.txt': configMapPoint('txt', 'required'),
      }),
    );
    expect(found.errors).toEqual([]);
    expect(summary(found.points)).toEqual([
      { file: 'file.yaml', required: true, conditionType: 'config.injection.ConfigMap.foo', errors: [] },
      { file: 'file.yaml', required: false, conditionType: 'config.injection.MyType.foo', errors: [] },
      { file: 'some-file.yaml', required: true, conditionType: 'config.injection.MyType.foo2', errors: [] },
      { file: 'sub/x.json', required: false, conditionType: 'config.injection.ConfigMap.json', errors: [] },
      { file: 'sub/Kptfile', required: false, conditionType: 'config.injection.Kptfile.sub', errors: [] },
    ]);
    expect(found.points.map((p) => p.document)).toEqual([0, 1, 0, 0, 0]);
  });

  it('records a point without a name', () => {
    const found = findInjectionPoints(
      pkg({
        'a.yaml':
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    kpt.dev/config-injection: optional\n',
      }),
    );
    expect(found.points[0]?.errors).toEqual(['a.yaml: an injection point needs a kind and a metadata.name']);
  });

  it('looks ahead without parsing the files that cannot declare a point, escaped keys included', () => {
    const escapedJson =
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"esc","annotations":{"kpt.dev/config\\u002Dinjection":"optional"}}}';
    const escapedYaml =
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dq\n  annotations:\n    "kpt.dev\\x2Fconfig-injection": required\n';
    const anchored =
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: alias\n  labels:\n    k: &key kpt.dev/config-injection\n  annotations:\n    *key : optional\n';
    const files = pkg({
      'plain.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n',
      'broken.yaml': 'a: [\n',
      'point.yaml': configMapPoint('foo', 'required'),
      'esc.json': escapedJson,
      'dq.yaml': escapedYaml,
      'alias.yaml': anchored,
    });
    expect(mayHoldInjectionPoint(files.get('plain.yaml')!)).toBe(false);
    expect(mayHoldInjectionPoint(files.get('broken.yaml')!)).toBe(false);
    expect([escapedJson, escapedYaml, anchored].every((f) => mayHoldInjectionPoint(Buffer.from(f)))).toBe(true);
    const all = findInjectionPoints(files);
    expect(all.errors).toHaveLength(1);
    expect(summary(likelyInjectionPoints(files))).toEqual(summary(all.points));
    expect(all.points.map((p) => p.name).sort()).toEqual(['dq', 'esc', 'foo']);
  });
});

const point = (file: string, conditionType: string, errors: string[] = []): InjectionPoint => ({
  file,
  document: 0,
  apiVersion: 'v1',
  kind: 'ConfigMap',
  name: 'foo',
  required: false,
  conditionType,
  errors,
});

describe('validateInjectionPoints (Porch TestValidateInjectionPoints)', () => {
  const message = (points: InjectionPoint[], parseErrors: string[] = []) => {
    try {
      validateInjectionPoints(points, parseErrors);
      return undefined;
    } catch (e) {
      expect(e).toBeInstanceOf(MutationError);
      return (e as Error).message;
    }
  };

  it('accepts no points, one point and distinct points', () => {
    expect(message([])).toBeUndefined();
    expect(message([point('file.yaml', 'config.injection.ConfigMap.foo')])).toBeUndefined();
    expect(
      message([
        point('file.yaml', 'config.injection.ConfigMap.foo'),
        point('file.yaml', 'config.injection.MyType.foo'),
      ]),
    ).toBeUndefined();
  });

  it('joins the errors of the points', () => {
    expect(message([point('file.yaml', 'config.injection.ConfigMap.foo', ['e1'])])).toBe(
      'errors in injection points: e1',
    );
    expect(
      message([
        point('file.yaml', 'config.injection.ConfigMap.foo', ['e1', 'e2']),
        point('file.yaml', 'config.injection.ConfigMap.foo2', ['e3']),
      ]),
    ).toBe('errors in injection points: e1, e2, e3');
    expect(message([], ['junk.yaml (document 0): not a KRM resource'])).toBe(
      'errors in injection points: junk.yaml (document 0): not a KRM resource',
    );
  });

  it('reports each consecutive duplicate condition type', () => {
    const type = 'config.injection.ConfigMap.foo';
    expect(message([point('file.yaml', type), point('file2.yaml', type), point('file3.yaml', type)])).toBe(
      `errors in injection points: duplicate injection conditionType "${type}" (file.yaml and file2.yaml), ` +
        `duplicate injection conditionType "${type}" (file2.yaml and file3.yaml)`,
    );
  });
});

const WITH_GATES = `apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: prr
info:
  readinessGates:
    - conditionType: test
    - conditionType: test3
status:
  conditions:
    - type: test
      status: "False"
      reason: test
      message: test
    - type: test2
      status: "True"
      reason: test2
      message: test2
    - type: test3
      status: "True"
      reason: test3
      message: test3
`;
const EMPTY = 'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: prr\n';

const outcome = (conditionType: string, required: boolean, injectedName?: string): InjectionOutcome => ({
  file: 'file.yaml',
  conditionType,
  required,
  injected: injectedName !== undefined,
  ...(injectedName ? { injectedName } : {}),
  errors: [],
});
const notSelected = (type: string) => ({
  type,
  status: 'False',
  reason: 'NoResourceSelected',
  message: 'no resource matched any injection selector for this injection point',
});
const injected = (type: string, name: string) => ({
  type,
  status: 'True',
  reason: 'ConfigInjected',
  message: `injected resource "${name}" from cluster`,
});
const gates = (...types: string[]) => types.map((conditionType) => ({ conditionType }));

describe('setInjectionConditionsAndGates (Porch TestSetInjectionPointConditionsAndGates)', () => {
  const apply = (text: string, outcomes: InjectionOutcome[]): Kptfile => {
    const kptfile = parseKptfile(text);
    setInjectionConditionsAndGates(kptfile, outcomes);
    expect(() => parseKptfile(kptfile.toString())).not.toThrow();
    return kptfile;
  };

  it('leaves the Kptfile alone without points', () => {
    expect(apply(EMPTY, []).toString()).toBe(EMPTY);
    expect(apply(WITH_GATES, []).toString()).toBe(WITH_GATES);
  });

  it('optional, not injected: a False condition and no gate', () => {
    const kptfile = apply(EMPTY, [outcome('config.injection.ConfigMap.foo', false)]);
    expect(kptfile.toJSON().status).toEqual({ conditions: [notSelected('config.injection.ConfigMap.foo')] });
    expect(kptfile.toJSON().info).toBeUndefined();
  });

  it('required, not injected: the condition and a gate', () => {
    const kptfile = apply(EMPTY, [outcome('config.injection.ConfigMap.foo', true)]);
    expect(kptfile.toJSON().status).toEqual({ conditions: [notSelected('config.injection.ConfigMap.foo')] });
    expect(kptfile.toJSON().info).toEqual({ readinessGates: gates('config.injection.ConfigMap.foo') });
  });

  it('optional, injected: a True condition', () => {
    const kptfile = apply(EMPTY, [outcome('config.injection.ConfigMap.foo', false, 'my-injected-resource')]);
    expect(kptfile.toJSON().status).toEqual({
      conditions: [injected('config.injection.ConfigMap.foo', 'my-injected-resource')],
    });
  });

  const three = [
    outcome('config.injection.ConfigMap.foo', false, 'my-injected-resource'),
    outcome('config.injection.SomeResource.foo', true, 'some-injected-resource'),
    outcome('config.injection.AnotherResource.foo', false),
  ];

  it('multiple points: conditions sorted by type', () => {
    const kptfile = apply(EMPTY, [three[0]!, { ...three[1]!, required: false }, three[2]!]);
    expect(kptfile.toJSON().status).toEqual({
      conditions: [
        notSelected('config.injection.AnotherResource.foo'),
        injected('config.injection.ConfigMap.foo', 'my-injected-resource'),
        injected('config.injection.SomeResource.foo', 'some-injected-resource'),
      ],
    });
  });

  it('mixed with existing gates and conditions', () => {
    const kptfile = apply(WITH_GATES, three);
    expect(kptfile.toJSON().info).toEqual({
      readinessGates: gates('config.injection.SomeResource.foo', 'test', 'test3'),
    });
    expect((kptfile.toJSON().status as { conditions: Array<{ type: string }> }).conditions.map((c) => c.type)).toEqual([
      'config.injection.AnotherResource.foo',
      'config.injection.ConfigMap.foo',
      'config.injection.SomeResource.foo',
      'test',
      'test2',
      'test3',
    ]);
  });

  it('updates a condition in place, uses point errors as the message, de-duplicates gates', () => {
    const text = WITH_GATES.replace(
      '    - conditionType: test3\n',
      '    - conditionType: test3\n    - conditionType: test\n',
    );
    const kptfile = apply(text, [{ ...outcome('test2', true), errors: ['e1', 'e2'] }]);
    expect(kptfile.toJSON().info).toEqual({ readinessGates: gates('test', 'test2', 'test3') });
    expect((kptfile.toJSON().status as { conditions: unknown[] }).conditions).toEqual([
      { type: 'test', status: 'False', reason: 'test', message: 'test' },
      { type: 'test2', status: 'False', reason: 'NoResourceSelected', message: 'e1, e2' },
      { type: 'test3', status: 'True', reason: 'test3', message: 'test3' },
    ]);
  });
});

describe('injectConfig (Porch TestEnsureConfigInjection)', () => {
  const run = async (extra: Record<string, string>, injectors: InjectionSelector[], objects = CLUSTER) => {
    const kptfile = parseKptfile(KPTFILE);
    const lookup = new ArrayLookup(objects);
    const result = await injectConfig(pkg(extra), kptfile, injectors, lookup);
    return { ...result, kptfile, lookup, text: (path: string) => result.files.get(path)?.toString() };
  };

  it('does nothing without injectors or points', async () => {
    const { files, outcomes, kptfile, lookup } = await run({}, []);
    expect(outcomes).toEqual([]);
    expect(kptfile.toString()).toBe(KPTFILE);
    expect([...files.keys()]).toEqual(['Kptfile', 'package-context.yaml']);
    expect(lookup.calls).toEqual([]);
  });

  it('injects a ConfigMap data', async () => {
    const point = `apiVersion: v1
kind: ConfigMap
metadata:
  name: regional-endpoints
  annotations:
    kpt.dev/config-injection: required
data:
  db: example
`;
    const { text, kptfile, outcomes } = await run({ 'configmap.yaml': point }, [{ name: 'us-east1-endpoints' }]);
    expect(text('configmap.yaml')).toBe(`apiVersion: v1
kind: ConfigMap
metadata:
  name: regional-endpoints
  annotations:
    kpt.dev/config-injection: required
    kpt.dev/injected-resource: us-east1-endpoints
data:
  db: db.us-east1.example.com
`);
    expect(outcomes).toEqual([
      {
        file: 'configmap.yaml',
        conditionType: 'config.injection.ConfigMap.regional-endpoints',
        required: true,
        injected: true,
        injectedName: 'us-east1-endpoints',
        errors: [],
      },
    ]);
    // a Kptfile without lists gets kyaml's compact list style
    expect(kptfile.toString()).toBe(`${KPTFILE}  readinessGates:
  - conditionType: config.injection.ConfigMap.regional-endpoints
status:
  conditions:
  - type: config.injection.ConfigMap.regional-endpoints
    status: "True"
    reason: ConfigInjected
    message: injected resource "us-east1-endpoints" from cluster
`);
  });

  const teamPoint = `apiVersion: hr.example.com/v1alpha1
kind: Team
metadata:
  name: team
  annotations:
    kpt.dev/config-injection: required
spec:
  chargeCode: example
`;

  it('injects a custom resource spec', async () => {
    const { text, kptfile } = await run({ 'team.yaml': teamPoint }, [
      { name: 'dev-team-beta', group: 'hr.example.com', kind: 'Team' },
    ]);
    expect(text('team.yaml')).toBe(
      teamPoint
        .replace('required\n', 'required\n    kpt.dev/injected-resource: dev-team-beta\n')
        .replace('chargeCode: example', 'chargeCode: cd'),
    );
    expect(kptfile.toJSON().status).toEqual({ conditions: [injected('config.injection.Team.team', 'dev-team-beta')] });
    expect(kptfile.toJSON().info).toEqual({
      description: 'Example',
      readinessGates: gates('config.injection.Team.team'),
    });
  });

  it('mixed points in one file: first matching injector wins, other documents and comments kept', async () => {
    const file = `# regional settings
apiVersion: v1
kind: ConfigMap
metadata:
  name: my-cm
  annotations:
    kpt.dev/config-injection: optional
data:
  db: db.example.com # replaced
---
# not a point
apiVersion: v1
kind: Service
metadata:
  name: svc # keep me
spec: {ports: [{port: 80}]}
---
apiVersion: hr.example.com/v1alpha1
kind: Team
metadata:
  name: team
  annotations:
    kpt.dev/config-injection: required # must be injected
spec:
  chargeCode: example
`;
    const { text, kptfile, outcomes, lookup } = await run({ 'more.yaml': file }, [
      { name: 'us-east2-endpoints' },
      { name: 'dev-team-beta', group: 'hr.example.com', kind: 'Team' },
    ]);
    expect(text('more.yaml')).toBe(`# regional settings
apiVersion: v1
kind: ConfigMap
metadata:
  name: my-cm
  annotations:
    kpt.dev/config-injection: optional
    kpt.dev/injected-resource: us-east2-endpoints
data:
  db: db.us-east2.example.com
---
# not a point
apiVersion: v1
kind: Service
metadata:
  name: svc # keep me
spec: {ports: [{port: 80}]}
---
apiVersion: hr.example.com/v1alpha1
kind: Team
metadata:
  name: team
  annotations:
    kpt.dev/config-injection: required # must be injected
    kpt.dev/injected-resource: dev-team-beta
spec:
  chargeCode: cd
`);
    expect(outcomes.map((o) => [o.conditionType, o.injectedName])).toEqual([
      ['config.injection.ConfigMap.my-cm', 'us-east2-endpoints'],
      ['config.injection.Team.team', 'dev-team-beta'],
    ]);
    expect(kptfile.toJSON().info).toEqual({
      description: 'Example',
      readinessGates: gates('config.injection.Team.team'),
    });
    expect(kptfile.toJSON().status).toEqual({
      conditions: [
        injected('config.injection.ConfigMap.my-cm', 'us-east2-endpoints'),
        injected('config.injection.Team.team', 'dev-team-beta'),
      ],
    });
    expect(lookup.calls).toEqual(['v1 ConfigMap', 'hr.example.com/v1alpha1 Team']);
  });

  it('applies group, version and kind filters; an explicit empty group means the core group', async () => {
    const point = configMapPoint('cm', 'optional');
    const pick = async (injectors: InjectionSelector[]) =>
      (await run({ 'cm.yaml': point }, injectors)).outcomes[0]?.injectedName;
    expect(await pick([{ name: 'us-east1-endpoints', group: 'apps' }, { name: 'us-east3-endpoints' }])).toBe(
      'us-east3-endpoints',
    );
    expect(
      await pick([
        { name: 'us-east1-endpoints', version: 'v2' },
        { name: 'us-east2-endpoints', version: 'v1' },
      ]),
    ).toBe('us-east2-endpoints');
    expect(
      await pick([
        { name: 'us-east1-endpoints', kind: 'Secret' },
        { name: 'us-east3-endpoints', group: '' },
      ]),
    ).toBe('us-east3-endpoints');
    expect(await pick([{ name: 'dev-team-beta' }, { name: 'no-such-object' }])).toBeUndefined();
  });

  it('no injectors, no objects, a list error and a missing field leave the point uninjected', async () => {
    const { outcomes, files, kptfile } = await run(
      {
        'a.yaml': configMapPoint('no-injectors', 'required'),
      },
      [],
    );
    expect(outcomes[0]).toMatchObject({ injected: false, errors: ['no injectors defined'] });
    expect(files.get('a.yaml')?.toString()).toBe(configMapPoint('no-injectors', 'required'));
    expect(kptfile.toJSON().status).toEqual({
      conditions: [{ ...notSelected('config.injection.ConfigMap.no-injectors'), message: 'no injectors defined' }],
    });

    const other = await run(
      {
        'b.yaml': myTypePoint('none', 'optional'),
        'c.yaml':
          'apiVersion: x.io/v1\nkind: Unlistable\nmetadata:\n  name: u\n  annotations:\n    kpt.dev/config-injection: optional\n',
        'd.yaml': teamPoint,
      },
      [{ name: 'anything' }, { name: 'prod-team' }],
      [...CLUSTER, { apiVersion: 'hr.example.com/v1alpha1', kind: 'Team', metadata: { name: 'prod-team' } }],
    );
    expect(other.outcomes.map((o) => o.errors)).toEqual([
      ['no in-cluster resources of type bigco.com/v2.MyType'],
      ['no matches for kind "Unlistable" in version "x.io/v1"'],
      [],
    ]);
    // two listed objects are named prod-team: the first in list order is injected
    expect(other.outcomes[2]).toMatchObject({ injected: true, injectedName: 'prod-team' });
    expect(other.files.get('d.yaml')?.toString()).toContain('  chargeCode: ef\n');

    const missing = await run(
      { 'd.yaml': teamPoint },
      [{ name: 'bare' }],
      [{ apiVersion: 'hr.example.com/v1alpha1', kind: 'Team', metadata: { name: 'bare' } }],
    );
    expect(missing.outcomes[0]).toMatchObject({
      injected: false,
      errors: ['field "spec" not found in resource "bare"'],
    });
    expect(missing.files.get('d.yaml')?.toString()).toBe(teamPoint);
  });

  it('fails the whole step on invalid points', async () => {
    await expect(run({ 'a.yaml': configMapPoint('x', 'maybe') }, [{ name: 'us-east1-endpoints' }])).rejects.toThrow(
      'errors in injection points: a.yaml: ConfigMap/x has invalid "kpt.dev/config-injection" annotation value of "maybe"',
    );
    await expect(
      run({ 'a.yaml': configMapPoint('x', 'optional'), 'b.yaml': configMapPoint('x', 'required') }, []),
    ).rejects.toThrow(
      'errors in injection points: duplicate injection conditionType "config.injection.ConfigMap.x" (a.yaml and b.yaml)',
    );
    await expect(run({ 'junk.yaml': 'baddata\n' }, [])).rejects.toThrow(
      'errors in injection points: junk.yaml (document 0): not a KRM resource (a YAML map is expected)',
    );
  });

  it('is idempotent: a second run changes no bytes', async () => {
    const first = await run({ 'team.yaml': teamPoint }, [{ name: 'dev-team-alpha' }]);
    const kptfile = parseKptfile(first.kptfile.toString());
    const second = await injectConfig(first.files, kptfile, [{ name: 'dev-team-alpha' }], new ArrayLookup(CLUSTER));
    expect(second.files.get('team.yaml')).toEqual(first.files.get('team.yaml'));
    expect(kptfile.toString()).toBe(first.kptfile.toString());
  });

  it('lists each kind once and keeps JSON files JSON', async () => {
    const json = `${JSON.stringify(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'j', annotations: { 'kpt.dev/config-injection': 'optional' } },
        data: { a: 'b' },
      },
      null,
      2,
    )}\n`;
    const { text, lookup } = await run({ 'a.yaml': configMapPoint('y', 'optional'), 'j.json': json }, [
      { name: 'us-east3-endpoints' },
    ]);
    expect(lookup.calls).toEqual(['v1 ConfigMap']);
    expect(JSON.parse(text('j.json')!)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'j',
        annotations: { 'kpt.dev/config-injection': 'optional', 'kpt.dev/injected-resource': 'us-east3-endpoints' },
      },
      data: { db: 'db.us-east3.example.com' },
    });
  });

  it('does not inject into a Kptfile', async () => {
    const sub = KPTFILE.replace('config.kubernetes.io/local-config: "true"', 'kpt.dev/config-injection: optional');
    const { outcomes, files } = await run(
      { 'sub/Kptfile': sub },
      [{ name: 'k' }],
      [{ apiVersion: 'kpt.dev/v1', kind: 'Kptfile', metadata: { name: 'k' }, spec: { x: 1 } }],
    );
    expect(outcomes[0]).toMatchObject({ injected: false, errors: ['cannot inject "spec" into a Kptfile'] });
    expect(files.get('sub/Kptfile')?.toString()).toBe(sub);
  });
});
