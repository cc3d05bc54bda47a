// Template rendering, CEL evaluation, naming and target unrolling — the cases of Porch's
// render_test.go and packagevariantset_controller_test.go, on our API.
import { describe, expect, it } from '@jest/globals';
import {
  API_VERSION,
  type KubeObject,
  type PackageVariantSet,
  type PackageVariantTemplate,
  type Repository,
} from '../../api/v1alpha1/index.ts';
import { LocalObjectStore } from '../local-store.ts';
import { objectMap, TemplateError, TemplateEvaluator, type CelInputs } from './cel.ts';
import { variantIdentity, variantName } from './naming.ts';
import { overlayMapExprs, renderVariantSpec, targetMap, upstreamMap } from './render.ts';
import { TargetListError, unrollTargets, type TargetContext } from './targets.ts';

const repo = (name: string, labels: Record<string, string>): Repository => ({
  apiVersion: API_VERSION,
  kind: 'Repository',
  metadata: { name, namespace: 'default', labels },
  spec: { git: { repo: `https://example.com/${name}.git` } },
});
const upstreamRepo: Repository = {
  ...repo('up-repo', { vendor: 'bigco.com', product: 'snazzy', version: '1.6.8' }),
  metadata: {
    name: 'up-repo',
    namespace: 'default',
    labels: { vendor: 'bigco.com', product: 'snazzy', version: '1.6.8' },
    annotations: { 'bigco.com/team': 'us-platform' },
  },
};
const repositories = new Map([
  ['my-repo-1', repo('my-repo-1', { foo: 'bar', abc: 'def' })],
  ['my-repo-2', repo('my-repo-2', { foo: 'bar', abc: 'def', efg: 'hij' })],
]);
const pvs: PackageVariantSet = {
  apiVersion: API_VERSION,
  kind: 'PackageVariantSet',
  metadata: { name: 'my-pvs', namespace: 'default' },
  spec: { upstream: { repo: 'up-repo', package: 'up-pkg', revision: 2 }, targets: [] },
};
const upstream = upstreamMap(pvs, upstreamRepo);

function render(template: PackageVariantTemplate | undefined, context: Partial<TargetContext> = {}) {
  const ctx: TargetContext = {
    target: 0,
    repoDefault: 'my-repo-1',
    packageDefault: 'p',
    ...(template ? { template } : {}),
    ...context,
  };
  return renderVariantSpec(pvs, ctx, { repositories, upstream }, new TemplateEvaluator()).spec;
}
const base = { upstream: { repo: 'up-repo', package: 'up-pkg', revision: 2 } };

describe('renderVariantSpec (Porch TestRenderPackageVariantSpec)', () => {
  it('no template: only upstream and downstream, and no Repository check', () => {
    expect(render(undefined, { repoDefault: 'nowhere' })).toEqual({
      ...base,
      downstream: { repo: 'nowhere', package: 'p' },
    });
  });

  it('static downstream repo and package replace the defaults', () => {
    expect(render({ downstream: { repo: 'my-repo-2' } }).downstream).toEqual({ repo: 'my-repo-2', package: 'p' });
    expect(render({ downstream: { package: 'new-p' } }).downstream).toEqual({ repo: 'my-repo-1', package: 'new-p' });
  });

  it('copies policies, labels and annotations', () => {
    expect(
      render({
        adoptionPolicy: 'adoptExisting',
        deletionPolicy: 'orphan',
        labels: { foo: 'bar', hello: 'there' },
        annotations: { 'foo.org/id': '123456' },
      }),
    ).toEqual({
      ...base,
      downstream: { repo: 'my-repo-1', package: 'p' },
      adoptionPolicy: 'adoptExisting',
      deletionPolicy: 'orphan',
      labels: { foo: 'bar', hello: 'there' },
      annotations: { 'foo.org/id': '123456' },
    });
  });

  it('static package context: removeKeys sorted', () => {
    expect(
      render({ packageContext: { data: { foo: 'bar' }, removeKeys: ['foobar', 'barfoo'] } }).packageContext,
    ).toEqual({ data: { foo: 'bar' }, removeKeys: ['barfoo', 'foobar'] });
  });

  it('downstream expressions', () => {
    expect(
      render({ downstream: { repoExpr: "'my-repo-2'", packageExpr: "repoDefault + '-' + packageDefault" } }).downstream,
    ).toEqual({ repo: 'my-repo-2', package: 'my-repo-1-p' });
  });

  it('label and annotation expressions see the downstream Repository after repoExpr', () => {
    const spec = render({
      downstream: { repoExpr: "'my-repo-2'" },
      labels: { foo: 'bar', hello: 'there' },
      labelExprs: [
        { key: 'foo', valueExpr: 'repoDefault' },
        { keyExpr: "repository.labels['efg']", valueExpr: "packageDefault + '-' + repository.name" },
        { key: 'hello', value: 'goodbye' },
      ],
      annotations: { 'bigco.com/sample-annotation': 'some-annotation' },
      annotationExprs: [
        { key: 'foo.org/id', valueExpr: "'54321'" },
        { key: 'bigco.com/team', valueExpr: "upstream.annotations['bigco.com/team']" },
      ],
    });
    expect(spec.labels).toEqual({ foo: 'my-repo-1', hello: 'goodbye', hij: 'p-my-repo-2' });
    expect(spec.annotations).toEqual({
      'bigco.com/sample-annotation': 'some-annotation',
      'foo.org/id': '54321',
      'bigco.com/team': 'us-platform',
    });
  });

  it('package context expressions', () => {
    expect(
      render({
        packageContext: {
          data: { foo: 'bar', hello: 'there' },
          dataExprs: [
            { key: 'foo', valueExpr: 'packageDefault' },
            { key: 'default', valueExpr: 'packageDefault' },
            { keyExpr: 'packageDefault', value: 'foo' },
          ],
          removeKeys: ['foobar', 'barfoo'],
          removeKeyExprs: ["repository.labels['abc']"],
        },
      }).packageContext,
    ).toEqual({ data: { foo: 'p', hello: 'there', default: 'p', p: 'foo' }, removeKeys: ['barfoo', 'def', 'foobar'] });
  });

  it('injectors: static names and expressions', () => {
    expect(
      render({
        injectors: [
          { name: 'bar' },
          { kind: 'ConfigMap', version: 'v1', nameExpr: "repository.labels['abc']" },
          { group: 'kpt.dev', kind: 'Setters', nameExpr: "target.repo + '-test'" },
        ],
      }).injectors,
    ).toEqual([
      { name: 'bar' },
      { version: 'v1', kind: 'ConfigMap', name: 'def' },
      { group: 'kpt.dev', kind: 'Setters', name: 'my-repo-1-test' },
    ]);
  });

  it('pipeline: configMap overlaid with configMapExprs; no pipeline when there are no functions', () => {
    const spec = render({
      pipeline: {
        validators: [
          { image: 'foo:bar', name: 'hey' },
          {
            image: 'foo:bar',
            configMap: { k1: 'v1', k2: 'v2' },
            configMapExprs: [
              { key: 'k1', valueExpr: 'repoDefault' },
              { key: 'k3', valueExpr: "repository.labels['foo']" },
            ],
          },
        ],
        mutators: [{ image: 'mutates', configMapExprs: [{ key: 'k1', value: 'yo' }] }],
      },
    });
    expect(spec.pipeline).toEqual({
      validators: [
        { image: 'foo:bar', name: 'hey' },
        { image: 'foo:bar', configMap: { k1: 'my-repo-1', k2: 'v2', k3: 'bar' } },
      ],
      mutators: [{ image: 'mutates', configMap: { k1: 'yo' } }],
    });
    expect(render({ pipeline: { validators: [], mutators: [] } }).pipeline).toBeUndefined();
  });

  it('a missing downstream Repository fails once a template is given', () => {
    expect(() => render({ labels: { a: 'b' } }, { repoDefault: 'nowhere' })).toThrow(
      'spec.targets[0].template.downstream: repository "nowhere" could not be loaded',
    );
  });

  it('`repository` is not bound while repoExpr is evaluated', () => {
    expect(() => render({ downstream: { repoExpr: 'repository.name' } })).toThrow(
      "spec.targets[0].template.downstream.repoExpr: 'repository' is not available in this expression",
    );
  });

  it('errors name the field path', () => {
    expect(() =>
      render({
        labelExprs: [
          { key: 'a', value: 'b' },
          { key: 'c', value: 'd' },
          { key: 'e', valueExpr: '1 + 2' },
        ],
      }),
    ).toThrow('spec.targets[0].template.labelExprs[2].valueExpr: must evaluate to a string, not int 3');
    expect(() => render({ downstream: { packageExpr: "upstream.labels['nope']" } })).toThrow(
      'spec.targets[0].template.downstream.packageExpr: no such key: nope',
    );
  });
});

describe('TemplateEvaluator (Porch TestEvalExpr)', () => {
  const inputs: CelInputs = {
    repoDefault: 'foo-repo',
    packageDefault: 'bar-package',
    upstream,
    target: { repo: 'my-repo', package: 'my-package' },
  };
  const cel = new TemplateEvaluator();
  const evaluate = (expr: string, vars: CelInputs = inputs) => cel.evaluate('f', expr, vars);

  it('evaluates literals, variables, concatenation and map targets', () => {
    expect(evaluate("'foo'")).toBe('foo');
    expect(evaluate('repoDefault')).toBe('foo-repo');
    expect(evaluate('packageDefault')).toBe('bar-package');
    expect(evaluate("repoDefault + '/' + packageDefault")).toBe('foo-repo/bar-package');
    expect(evaluate("target.repo + '/' + target.package")).toBe('my-repo/my-package');
    const repoTarget = { ...inputs, target: objectMap(repositories.get('my-repo-1')!) };
    expect(evaluate("target.name + '/' + target.labels['foo']", repoTarget)).toBe('my-repo-1/bar');
  });

  it('reports an undeclared variable with its position, as cel-go does', () => {
    expect(() => evaluate('badvar')).toThrow("f: <input>:1:1: undeclared reference to 'badvar'");
    expect(() => evaluate("repoDefault + '-' + nope")).toThrow("f: <input>:1:21: undeclared reference to 'nope'");
  });

  it('reports syntax errors and missing keys', () => {
    expect(() => evaluate('/')).toThrow(/^f: <input>:1:1: /);
    let error: unknown;
    try {
      evaluate("target.labels['no-such-label']", { ...inputs, target: objectMap(repositories.get('my-repo-1')!) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as TemplateError).message).toBe('f: no such key: no-such-label');
    expect(() => evaluate('target.nope')).toThrow('f: no such key: nope');
  });

  it('lets comprehension variables through the undeclared check', () => {
    const target = objectMap(repositories.get('my-repo-2')!);
    expect(evaluate("target.labels.exists(k, k == 'efg') ? 'yes' : 'no'", { ...inputs, target })).toBe('yes');
  });

  it('parses and plans each distinct expression once', () => {
    const fresh = new TemplateEvaluator();
    for (const r of ['a', 'b', 'c']) fresh.evaluate('f', "repoDefault + '-x'", { ...inputs, repoDefault: r });
    expect(fresh.compiled).toBe(1);
  });
});

describe('overlayMapExprs (Porch TestCopyAndOverlayMapExpr)', () => {
  const cel = new TemplateEvaluator();
  const inputs: CelInputs = { repoDefault: 'r', packageDefault: 'p', upstream, target: { repo: 'r', package: 'p' } };
  const evaluate = (field: string, expr: string) => cel.evaluate(field, expr, inputs);

  it('starts empty and adds key/value, keyExpr and valueExpr entries', () => {
    expect(
      overlayMapExprs(
        {},
        [
          { key: 'foo', value: 'bar' },
          { keyExpr: 'repoDefault', value: 'bar' },
          { key: 'p', valueExpr: 'packageDefault' },
        ],
        'x',
        evaluate,
      ),
    ).toEqual({ foo: 'bar', r: 'bar', p: 'p' });
  });

  it('static entries override and add; expression entries override', () => {
    expect(
      overlayMapExprs(
        { foo: 'a', bar: 'b' },
        [
          { key: 'foo', value: 'c' },
          { key: 'new', value: 'd' },
        ],
        'x',
        evaluate,
      ),
    ).toEqual({
      foo: 'c',
      bar: 'b',
      new: 'd',
    });
    expect(overlayMapExprs({ foo: 'a' }, [{ keyExpr: "'foo'", valueExpr: 'repoDefault' }], 'x', evaluate)).toEqual({
      foo: 'r',
    });
  });
});

describe('variant names (Porch TestEnsurePackageVariants naming)', () => {
  it('uses the identity up to 63 characters, else 54 + "-" + 8 hex of SHA-1', () => {
    expect(variantName(variantIdentity('my-pvs', { downstream: { repo: 'dnrepo3', package: 'dnpkg3' } }))).toBe(
      'my-pvs-dnrepo3-dnpkg3',
    );
    const long = variantIdentity('my-pvs', {
      downstream: {
        repo: 'dnrepo4',
        package: 'supersupersuperloooooooooooooooooooooooooooooooooooooooooooooooooongpkgname',
      },
    });
    expect(variantName(long)).toBe('my-pvs-dnrepo4-supersupersuperlooooooooooooooooooooooo-bec36506');
    expect(variantName('x'.repeat(63))).toBe('x'.repeat(63));
  });

  it('makes a valid object name of a nested package path, keeping distinct identities distinct', () => {
    const nested = variantName('set-deploy-team/app');
    expect(nested).toMatch(/^set-deploy-team-app-[0-9a-f]{8}$/);
    expect(variantName('set-deploy-team-app')).toBe('set-deploy-team-app');
    expect(nested).not.toBe(variantName('set-deploy-team_app'));
  });
});

describe('unrollTargets (Porch TestUnrollDownstreamTargets)', () => {
  const pod = (name: string, labels?: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) },
  });
  const store = new LocalObjectStore([
    pod('my-pod-2'),
    pod('my-pod-1', { foo: 'bar', abc: 'def' }),
    repositories.get('my-repo-1')!,
    repositories.get('my-repo-2')!,
  ]);

  it('unrolls repositories × packageNames, then selected objects in name order', async () => {
    const set: PackageVariantSet = {
      ...pvs,
      spec: {
        upstream: { repo: 'up', package: 'up', revision: 1 },
        targets: [
          { repositories: [{ name: 'r1', packageNames: ['p1', 'p2', 'p3'] }, { name: 'r2' }] },
          { objectSelector: { apiVersion: 'v1', kind: 'Pod' } },
        ],
      },
    };
    const contexts = await unrollTargets(set, store);
    expect(contexts.map((c) => [c.repoDefault, c.packageDefault, c.object?.metadata?.name])).toEqual([
      ['r1', 'p1', undefined],
      ['r1', 'p2', undefined],
      ['r1', 'p3', undefined],
      ['r2', 'up', undefined],
      ['my-pod-1', 'up', 'my-pod-1'],
      ['my-pod-2', 'up', 'my-pod-2'],
    ]);
    expect(targetMap(contexts[0]!)).toEqual({ repo: 'r1', package: 'p1' });
    expect(targetMap(contexts[4]!)).toEqual({
      name: 'my-pod-1',
      namespace: 'default',
      labels: { foo: 'bar', abc: 'def' },
      annotations: {},
    });
  });

  it('selects Repositories and objects by label', async () => {
    const set: PackageVariantSet = {
      ...pvs,
      spec: {
        upstream: { repo: 'up', package: 'up', revision: 1 },
        targets: [
          { repositorySelector: { matchLabels: { efg: 'hij' } } },
          { objectSelector: { apiVersion: 'v1', kind: 'Pod', matchLabels: { foo: 'bar' } } },
        ],
      },
    };
    const contexts = await unrollTargets(set, store);
    expect(contexts.map((c) => [c.target, c.repoDefault])).toEqual([
      [0, 'my-repo-2'],
      [1, 'my-pod-1'],
    ]);
  });

  it('maps a list failure for an unknown kind to NoMatchingTargets, others to UnexpectedError', async () => {
    const failing = (message: string) =>
      Object.assign(new LocalObjectStore(), {
        listObjects: async () => {
          throw new Error(message);
        },
      });
    const set: PackageVariantSet = {
      ...pvs,
      spec: { upstream: pvs.spec!.upstream!, targets: [{ objectSelector: { apiVersion: 'x/v1', kind: 'Nope' } }] },
    };
    await expect(unrollTargets(set, failing('no matches for kind "Nope" in version "x/v1"'))).rejects.toMatchObject({
      reason: 'NoMatchingTargets',
    });
    const error = await unrollTargets(set, failing('connection refused')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetListError);
    expect(error).toMatchObject({ reason: 'UnexpectedError', message: 'connection refused' });
  });
});
