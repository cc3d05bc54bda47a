import { describe, expect, it } from '@jest/globals';
import { formatFieldError } from './field-errors.ts';
import type { PackageVariant, PackageVariantSpec } from './packagevariant.ts';
import type { PackageVariantSet, Target } from './packagevariantset.ts';
import type { GitRepository, Repository } from './repository.ts';
import {
  validatePackageVariant,
  validatePackageVariantSet,
  validatePackageVariantSpec,
  validateRepository,
} from './validation.ts';

const messages = (errors: ReturnType<typeof validatePackageVariantSpec>) => errors.map(formatFieldError);

const validSpec: PackageVariantSpec = {
  upstream: { repo: 'blueprints', package: 'nginx' },
  downstream: { repo: 'deployments', package: 'nginx' },
};

describe('validatePackageVariantSpec (Porch TestValidatePackageVariant cases)', () => {
  it('accepts a minimal spec', () => {
    expect(validatePackageVariantSpec(validSpec)).toEqual([]);
  });

  it('requires upstream and downstream on an empty spec', () => {
    expect(messages(validatePackageVariantSpec({}))).toEqual([
      'spec.upstream: Required value',
      'spec.downstream: Required value',
    ]);
    expect(messages(validatePackageVariantSpec(undefined))).toEqual([
      'spec.upstream: Required value',
      'spec.downstream: Required value',
    ]);
  });

  it('requires both package names', () => {
    const spec = { upstream: { repo: 'a' }, downstream: { repo: 'b' } };
    expect(messages(validatePackageVariantSpec(spec))).toEqual([
      'spec.upstream.package: Required value',
      'spec.downstream.package: Required value',
    ]);
  });

  it('requires both repos', () => {
    const spec = { upstream: { package: 'a' }, downstream: { package: 'b' } };
    expect(messages(validatePackageVariantSpec(spec))).toEqual([
      'spec.upstream.repo: Required value',
      'spec.downstream.repo: Required value',
    ]);
  });

  it('accepts empty and valid policies, rejects others naming the field', () => {
    expect(validatePackageVariantSpec({ ...validSpec, adoptionPolicy: undefined, deletionPolicy: undefined })).toEqual(
      [],
    );
    expect(
      validatePackageVariantSpec({ ...validSpec, adoptionPolicy: 'adoptExisting', deletionPolicy: 'orphan' }),
    ).toEqual([]);
    const bad = { ...validSpec, adoptionPolicy: 'invalid', deletionPolicy: 'invalid' } as unknown as PackageVariantSpec;
    expect(messages(validatePackageVariantSpec(bad))).toEqual([
      'spec.adoptionPolicy: Unsupported value: "invalid": supported values: "adoptNone", "adoptExisting"',
      'spec.deletionPolicy: Unsupported value: "invalid": supported values: "delete", "orphan"',
    ]);
  });

  it('accepts a valid package context', () => {
    expect(
      validatePackageVariantSpec({ ...validSpec, packageContext: { data: { foo: 'bar' }, removeKeys: ['x'] } }),
    ).toEqual([]);
  });

  it.each([
    [
      { data: { name: 'test' } },
      'spec.packageContext.data: Invalid value: {"name":"test"}: must not contain the key "name"',
    ],
    [
      { removeKeys: ['name'] },
      'spec.packageContext.removeKeys: Invalid value: ["name"]: must not contain the key "name"',
    ],
    [
      { data: { 'package-path': 'x' } },
      'spec.packageContext.data: Invalid value: {"package-path":"x"}: must not contain the key "package-path"',
    ],
    [
      { removeKeys: ['package-path'] },
      'spec.packageContext.removeKeys: Invalid value: ["package-path"]: must not contain the key "package-path"',
    ],
  ])('refuses the reserved package context keys: %j', (packageContext, message) => {
    expect(messages(validatePackageVariantSpec({ ...validSpec, packageContext }))).toEqual([message]);
  });

  it('accepts valid injectors and requires a name on each', () => {
    const injectors = [
      { group: 'hr.example.com', version: 'v1alpha1', kind: 'Team', name: 'dev-team-alpha' },
      { name: 'x' },
    ];
    expect(validatePackageVariantSpec({ ...validSpec, injectors })).toEqual([]);
    expect(messages(validatePackageVariantSpec({ ...validSpec, injectors: [{ name: 'a' }, { name: '' }] }))).toEqual([
      'spec.injectors[1].name: Required value: must not be empty',
    ]);
  });

  it('requires an image or exec on pipeline functions and no dot in their names', () => {
    const pipeline = { mutators: [{ image: 'set-labels:v1', name: 'ok' }], validators: [{ exec: './check' }] };
    expect(validatePackageVariantSpec({ ...validSpec, pipeline })).toEqual([]);
    const bad = { mutators: [{ name: 'a.b', image: 'x' }, {}], validators: [{ image: 'x', exec: 'y' }] };
    expect(messages(validatePackageVariantSpec({ ...validSpec, pipeline: bad }))).toEqual([
      'spec.pipeline.validators[0]: Forbidden: may specify only one of `image` and `exec`',
      'spec.pipeline.mutators[0].name: Invalid value: "a.b": must not contain \'.\'',
      'spec.pipeline.mutators[1].image: Required value: a function needs an image or exec',
    ]);
  });

  it.each(['../escape', '/abs', '-rf', 'a//b', 'bad\u0001name', 'x.lock'])('refuses unsafe package path %j', (pkg) => {
    const errors = validatePackageVariantSpec({ ...validSpec, downstream: { repo: 'd', package: pkg } });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.field).toBe('spec.downstream.package');
  });

  it('accepts nested package paths', () => {
    expect(
      validatePackageVariantSpec({ ...validSpec, downstream: { repo: 'd', package: 'team-a/apps/nginx' } }),
    ).toEqual([]);
  });

  it('refuses repository names that are not RFC 1123 labels', () => {
    const errors = validatePackageVariantSpec({ ...validSpec, upstream: { repo: 'Bad_Repo', package: 'p' } });
    expect(errors.map((e) => e.field)).toEqual(['spec.upstream.repo']);
  });

  it('accepts an unregistered git upstream and refuses mixing it with repo/package', () => {
    const git = { repo: 'https://github.com/example/blueprints.git', ref: 'main', directory: 'nginx' };
    expect(validatePackageVariantSpec({ ...validSpec, upstream: { git } })).toEqual([]);
    expect(messages(validatePackageVariantSpec({ ...validSpec, upstream: { repo: 'r', git } }))).toEqual([
      'spec.upstream.repo: Forbidden: may not be set together with spec.upstream.git',
    ]);
    expect(messages(validatePackageVariantSpec({ ...validSpec, upstream: { git: { repo: git.repo } } }))).toEqual([
      'spec.upstream.git.directory: Required value: the directory of the package in the repository',
    ]);
    const ext = { repo: 'ext::sh -c evil', directory: 'x' };
    expect(validatePackageVariantSpec({ ...validSpec, upstream: { git: ext } })[0]?.field).toBe(
      'spec.upstream.git.repo',
    );
  });

  it('refuses a revision below -1', () => {
    expect(validatePackageVariantSpec({ ...validSpec, upstream: { repo: 'r', package: 'p', revision: -1 } })).toEqual(
      [],
    );
    const errors = validatePackageVariantSpec({ ...validSpec, upstream: { repo: 'r', package: 'p', revision: -2 } });
    expect(errors.map((e) => e.field)).toEqual(['spec.upstream.revision']);
  });
});

describe('validatePackageVariant', () => {
  it('requires a valid metadata.name', () => {
    const pv: PackageVariant = { metadata: {}, spec: validSpec };
    expect(messages(validatePackageVariant(pv))).toEqual(['metadata.name: Required value']);
    expect(validatePackageVariant({ metadata: { name: 'Not_Valid' }, spec: validSpec })[0]?.field).toBe(
      'metadata.name',
    );
    expect(validatePackageVariant({ metadata: { name: 'ok.name', namespace: 'ns' }, spec: validSpec })).toEqual([]);
  });
});

function pvs(spec: PackageVariantSet['spec']): PackageVariantSet {
  return { metadata: { name: 'set' }, spec };
}
const upstream = { repo: 'blueprints', package: 'nginx', revision: 1 };
const repoTarget: Target = { repositories: [{ name: 'edge' }] };

describe('validatePackageVariantSet (Porch TestValidatePackageVariantSet cases)', () => {
  const fields = (set: PackageVariantSet) => validatePackageVariantSet(set).map((e) => e.field);

  it('accepts a valid set', () => {
    expect(validatePackageVariantSet(pvs({ upstream, targets: [repoTarget] }))).toEqual([]);
    expect(validatePackageVariantSet(pvs({ upstream: { ...upstream, revision: -1 }, targets: [repoTarget] }))).toEqual(
      [],
    );
  });

  it('requires upstream and targets on an empty spec', () => {
    expect(fields(pvs({}))).toEqual(['spec.upstream', 'spec.targets']);
  });

  it('requires upstream package, repo, and revision or workspace', () => {
    expect(fields(pvs({ upstream: { repo: 'r', revision: 1 }, targets: [repoTarget] }))).toEqual([
      'spec.upstream.package',
    ]);
    expect(fields(pvs({ upstream: { package: 'p', revision: 1 }, targets: [repoTarget] }))).toEqual([
      'spec.upstream.repo',
    ]);
    expect(fields(pvs({ upstream: { repo: 'r', package: 'p' }, targets: [repoTarget] }))).toEqual([
      'spec.upstream.revision',
    ]);
    expect(fields(pvs({ upstream: { repo: 'r', package: 'p', workspaceName: 'ws' }, targets: [repoTarget] }))).toEqual(
      [],
    );
  });

  it('checks targets', () => {
    expect(fields(pvs({ upstream, targets: [{ repositories: [{ name: '' }] }] }))).toEqual([
      'spec.targets[0].repositories[0].name',
    ]);
    expect(fields(pvs({ upstream, targets: [{ repositories: [] }] }))).toEqual(['spec.targets[0].repositories']);
    expect(fields(pvs({ upstream, targets: [{ repositories: [{ name: 'r' }], repositorySelector: {} }] }))).toEqual([
      'spec.targets[0]',
    ]);
    expect(fields(pvs({ upstream, targets: [{}] }))).toEqual(['spec.targets[0]']);
    expect(fields(pvs({ upstream, targets: [{ repositories: [{ name: 'r', packageNames: ['a', ''] }] }] }))).toEqual([
      'spec.targets[0].repositories[0].packageNames[1]',
    ]);
    expect(fields(pvs({ upstream, targets: [{ objectSelector: { apiVersion: '', kind: '' } }] }))).toEqual([
      'spec.targets[0].objectSelector.apiVersion',
      'spec.targets[0].objectSelector.kind',
    ]);
  });

  it('checks template policies, downstream exclusivity, map expressions, injectors and pipeline', () => {
    const template = {
      adoptionPolicy: 'bad',
      deletionPolicy: 'bad',
      downstream: { repo: 'a', repoExpr: 'b', package: 'c', packageExpr: 'd' },
      labelExprs: [{ key: 'k', keyExpr: 'k', value: 'v', valueExpr: 'v' }],
      annotationExprs: [{ key: 'k', keyExpr: 'k' }],
      packageContext: { dataExprs: [{ value: 'v', valueExpr: 'v', key: 'k' }] },
      injectors: [{ name: 'a', nameExpr: 'b' }, {}],
      pipeline: { validators: [{ name: 'x' }], mutators: [{ image: 'i', name: 'a.b' }] },
    };
    const set = pvs({ upstream, targets: [{ ...repoTarget, template } as unknown as Target] });
    const at = 'spec.targets[0].template';
    expect(fields(set)).toEqual([
      `${at}.adoptionPolicy`,
      `${at}.deletionPolicy`,
      `${at}.downstream`,
      `${at}.downstream`,
      `${at}.labelExprs[0]`,
      `${at}.labelExprs[0]`,
      `${at}.annotationExprs[0]`,
      `${at}.packageContext.dataExprs[0]`,
      `${at}.injectors[0]`,
      `${at}.injectors[1].name`,
      `${at}.pipeline.validators[0].image`,
      `${at}.pipeline.mutators[0].name`,
    ]);
  });

  it('checks the rollout (beyond Porch)', () => {
    const ok = pvs({
      upstream,
      targets: [repoTarget],
      rollout: {
        stages: [{ name: 'canary', selector: { matchLabels: { tier: 'canary' } } }, { name: 'prod' }],
        maxConcurrent: 2,
        maxFailures: 1,
        publishPolicy: 'Automatic',
      },
    });
    expect(validatePackageVariantSet(ok)).toEqual([]);
    const bad = pvs({
      upstream,
      targets: [repoTarget],
      rollout: {
        stages: [{ name: 'a' }, { name: 'a' }, { name: '' }],
        maxConcurrent: 0,
        maxFailures: -1,
        publishPolicy: 'Sometimes' as 'Manual',
      },
    });
    expect(validatePackageVariantSet(bad).map(formatFieldError)).toEqual([
      'spec.rollout.publishPolicy: Unsupported value: "Sometimes": supported values: "Manual", "Automatic"',
      'spec.rollout.stages[1].name: Duplicate value: "a"',
      'spec.rollout.stages[2].name: Required value',
      'spec.rollout.maxConcurrent: Invalid value: 0: must be a positive integer',
      'spec.rollout.maxFailures: Invalid value: -1: must be zero or a positive integer',
    ]);
  });

  it('ignores legacy top-level fields (they are pruned by the schema, not the semantic check)', () => {
    const set = pvs({ upstream, targets: [repoTarget] });
    (set.spec as Record<string, unknown>).adoptionPolicy = 'whatever';
    expect(validatePackageVariantSet(set)).toEqual([]);
  });
});

describe('PackageVariant publishPolicy', () => {
  it('accepts Manual and Automatic, rejects anything else', () => {
    expect(validatePackageVariantSpec({ ...validSpec, publishPolicy: 'Automatic' })).toEqual([]);
    expect(validatePackageVariantSpec({ ...validSpec, publishPolicy: 'Manual' })).toEqual([]);
    const bad = { ...validSpec, publishPolicy: 'auto' } as unknown as PackageVariantSpec;
    expect(messages(validatePackageVariantSpec(bad))).toEqual([
      'spec.publishPolicy: Unsupported value: "auto": supported values: "Manual", "Automatic"',
    ]);
  });
});

describe('validateRepository', () => {
  const repo = (git: GitRepository | undefined, name = 'repo'): Repository => ({ metadata: { name }, spec: { git } });

  it('accepts https, ssh, scp-like and file URLs', () => {
    for (const url of ['https://h/r.git', 'ssh://git@h/r.git', 'git@github.com:org/r.git', 'file:///srv/r.git']) {
      expect(validateRepository(repo({ repo: url }))).toEqual([]);
    }
  });

  it('refuses remote helpers, credentials in the URL, options and unknown schemes', () => {
    for (const url of ['ext::sh -c touch% /tmp/x', 'https://user:secret@h/r.git', '--upload-pack=evil', 'ftp://h/r']) {
      expect(validateRepository(repo({ repo: url })).map((e) => e.field)).toEqual(['spec.git.repo']);
    }
  });

  it('does not echo a password found in a URL', () => {
    const errors = validateRepository(repo({ repo: 'https://user:s3cret@h/r.git' }));
    expect(errors).toHaveLength(1);
    expect(errors.map(formatFieldError).join()).not.toContain('s3cret');
  });

  it('checks branch, directory, name and git presence', () => {
    expect(validateRepository(repo({ repo: 'https://h/r', branch: 'feature/x', directory: '/' }))).toEqual([]);
    expect(validateRepository(repo({ repo: 'https://h/r', branch: '-x' })).map((e) => e.field)).toEqual([
      'spec.git.branch',
    ]);
    expect(validateRepository(repo({ repo: 'https://h/r', branch: 'a..b' })).map((e) => e.field)).toEqual([
      'spec.git.branch',
    ]);
    expect(validateRepository(repo({ repo: 'https://h/r', directory: 'a/../b' })).map((e) => e.field)).toEqual([
      'spec.git.directory',
    ]);
    expect(validateRepository(repo({ repo: 'https://h/r' }, 'a.b')).map((e) => e.field)).toEqual(['metadata.name']);
    expect(validateRepository(repo(undefined)).map((e) => e.field)).toEqual(['spec.git']);
    const oci = (spec: Record<string, unknown>) =>
      validateRepository({ metadata: { name: 'o' }, spec: { type: 'oci', ...spec } }).map((e) => e.field);
    expect(oci({})).toEqual(['spec.oci.registry']);
    expect(oci({ oci: { registry: 'ghcr.io/acme/blueprints', secretRef: { name: 'pull' } } })).toEqual([]);
    expect(oci({ oci: { registry: '127.0.0.1:5000' } })).toEqual([]);
    expect(oci({ oci: { registry: 'acme/blueprints' } })).toEqual(['spec.oci.registry']); // no registry host
    expect(oci({ oci: { registry: 'ghcr.io/acme:v1' } })).toEqual(['spec.oci.registry']); // a tag
    expect(oci({ oci: { registry: 'ghcr.io/Acme' } })).toEqual(['spec.oci.registry']); // uppercase
    expect(oci({ oci: { registry: 'ghcr.io/a', secretRef: { name: 'A_b' } } })).toEqual(['spec.oci.secretRef.name']);
    expect(oci({ oci: { registry: 'ghcr.io/a' }, git: { repo: 'https://h/r' } })).toEqual(['spec.git']);
    expect(oci({ oci: { registry: 'ghcr.io/a' }, deployment: true })).toEqual(['spec.deployment']);
    expect(
      validateRepository({
        metadata: { name: 'o' },
        spec: { git: { repo: 'https://h/r' }, oci: { registry: 'ghcr.io/a' } },
      }).map((e) => e.field),
    ).toEqual(['spec.oci']);
  });

  it('checks an OCI upstream: a valid image, nothing else beside it', () => {
    const fields = (upstream: Record<string, unknown>) =>
      validatePackageVariant({
        metadata: { name: 'v' },
        spec: { upstream, downstream: { repo: 'd', package: 'p' } },
      }).map((e) => e.field);
    expect(fields({ oci: { image: 'ghcr.io/acme/app:v1' } })).toEqual([]);
    expect(
      fields({ oci: { image: `127.0.0.1:5000/app@sha256:${'a'.repeat(64)}`, secretRef: { name: 'pull' } } }),
    ).toEqual([]);
    expect(fields({ oci: { image: 'ghcr.io/acme/app:bad tag' } })).toEqual(['spec.upstream.oci.image']);
    expect(fields({ oci: { image: 'oci://ghcr.io/acme/app' } })).toEqual(['spec.upstream.oci.image']);
    expect(fields({ oci: { image: '' } })).toEqual(['spec.upstream.oci.image']);
    expect(fields({ oci: { image: 'ghcr.io/a:v1' }, repo: 'r', package: 'p' })).toEqual([
      'spec.upstream.repo',
      'spec.upstream.package',
    ]);
    expect(fields({ oci: { image: 'ghcr.io/a:v1' }, revision: 2 })).toEqual(['spec.upstream.revision']);
  });
});
