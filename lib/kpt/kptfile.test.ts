import { describe, expect, it } from '@jest/globals';
import { Kptfile, KptfileError, parseKptfile, readKptfile, setPackageVariantFunctions } from './kptfile.ts';

const WITH_COMMENTS = `# The wordpress blueprint.
apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: wordpress # package name
  annotations:
    config.kubernetes.io/local-config: "true"
info:
  description: sample description
pipeline:
  mutators:
    # labels first
    - image: ghcr.io/kptdev/krm-functions-catalog/set-labels:v0.1
      configMap:
        app: wordpress
`;

describe('Kptfile parsing', () => {
  it('parses a kpt.dev/v1 Kptfile and round-trips it byte for byte', () => {
    const kptfile = parseKptfile(WITH_COMMENTS);
    expect(kptfile.name).toBe('wordpress');
    expect(kptfile.upstream).toBeUndefined();
    expect(kptfile.toString()).toBe(WITH_COMMENTS);
  });

  it.each(['v1alpha1', 'v1alpha2'])('rejects the old version kpt.dev/%s', (version) => {
    const text = `apiVersion: kpt.dev/${version}\nkind: Kptfile\nmetadata:\n  name: x\n`;
    expect(() => parseKptfile(text, 'pkg/Kptfile')).toThrow(
      `pkg/Kptfile: old resource version "${version}" found in Kptfile`,
    );
  });

  it('rejects another resource type', () => {
    expect(() => parseKptfile('apiVersion: v1\nkind: ConfigMap\n')).toThrow(
      'unknown resource type "v1, Kind=ConfigMap"',
    );
  });

  it('rejects unknown fields, naming the field and the type (nephio#469)', () => {
    const text = `apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: x
info:
  description: d
  pipeline:
    mutators: []
`;
    let error: unknown;
    try {
      parseKptfile(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KptfileError);
    expect((error as KptfileError).field).toBe('info.pipeline');
    expect((error as Error).message).toContain('field pipeline not found in type v1.PackageInfo');
  });

  it('rejects a list where a map is expected and invalid YAML', () => {
    expect(() => parseKptfile('apiVersion: kpt.dev/v1\nkind: Kptfile\npipeline: [a]\n')).toThrow('field pipeline');
    expect(() => parseKptfile('apiVersion: kpt.dev/v1\nkind: [\n', 'Kptfile')).toThrow('Kptfile: invalid YAML');
  });
});

describe('upstream and upstreamLock', () => {
  it('writes them as kpt does, after metadata, keeping comments elsewhere', () => {
    const kptfile = parseKptfile(WITH_COMMENTS);
    kptfile.upstream = {
      type: 'git',
      git: { repo: 'https://example.com/blueprints.git', directory: '/wordpress', ref: 'wordpress/v2' },
      updateStrategy: 'resource-merge',
    };
    kptfile.upstreamLock = {
      type: 'git',
      git: {
        repo: 'https://example.com/blueprints.git',
        directory: '/wordpress',
        ref: 'wordpress/v2',
        commit: 'b9ea0bca019dafa9f9f91fd428385597c708518c',
      },
    };
    const text = kptfile.toString();
    expect(text).toContain(`  name: wordpress # package name
  annotations:
    config.kubernetes.io/local-config: "true"
upstream:
  type: git
  git:
    repo: https://example.com/blueprints.git
    directory: /wordpress
    ref: wordpress/v2
  updateStrategy: resource-merge
upstreamLock:
  type: git
  git:
    repo: https://example.com/blueprints.git
    directory: /wordpress
    ref: wordpress/v2
    commit: b9ea0bca019dafa9f9f91fd428385597c708518c
info:
`);
    expect(text).toContain('    # labels first\n');
    const again = parseKptfile(text);
    expect(again.upstream?.git.ref).toBe('wordpress/v2');
    expect(again.upstream?.updateStrategy).toBe('resource-merge');
    expect(again.upstreamLock?.git.commit).toBe('b9ea0bca019dafa9f9f91fd428385597c708518c');
  });

  it('updates an existing lock in place and can remove it', () => {
    const kptfile = parseKptfile(`apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: x
upstreamLock: # managed by kpt
  type: git
  git:
    repo: r
    directory: d
    ref: v1
    commit: aaaa
`);
    kptfile.upstreamLock = { type: 'git', git: { repo: 'r', directory: 'd', ref: 'v2', commit: 'bbbb' } };
    expect(kptfile.toString()).toContain(
      'upstreamLock: # managed by kpt\n  type: git\n  git:\n    repo: r\n    directory: d\n    ref: v2\n    commit: bbbb\n',
    );
    kptfile.upstreamLock = undefined;
    expect(kptfile.toString()).not.toContain('upstreamLock');
  });

  it('creates a minimal Kptfile like kpt pkg get', () => {
    const kptfile = Kptfile.create('my-pkg');
    expect(kptfile.toString()).toBe(
      'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: my-pkg\n  annotations:\n    config.kubernetes.io/local-config: "true"\n',
    );
  });
});

describe('PackageVariant pipeline functions', () => {
  const base = `apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: x
pipeline:
  mutators:
    # the blueprint's own function
    - image: set-labels:v0.1
      configMap:
        app: x
`;
  it('prepends named functions, replaces them on the next call and removes them when empty', () => {
    const kptfile = parseKptfile(base);
    const changed = setPackageVariantFunctions(kptfile, 'pv1', {
      mutators: [{ name: 'ns', image: 'set-namespace:v0.4', configMap: { namespace: 'prod' } }],
    });
    expect(changed).toBe(true);
    expect(kptfile.toString()).toBe(`apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: x
pipeline:
  mutators:
    - name: PackageVariant.pv1.ns.0
      image: set-namespace:v0.4
      configMap:
        namespace: prod
    # the blueprint's own function
    - image: set-labels:v0.1
      configMap:
        app: x
`);
    expect(
      setPackageVariantFunctions(kptfile, 'pv1', {
        mutators: [{ name: 'ns', image: 'set-namespace:v0.4', configMap: { namespace: 'prod' } }],
      }),
    ).toBe(false);
    setPackageVariantFunctions(kptfile, 'pv1', { mutators: [{ name: 'ns', image: 'set-namespace:v0.5' }] });
    expect(kptfile.toString()).toContain(
      '    - name: PackageVariant.pv1.ns.0\n      image: set-namespace:v0.5\n    # the',
    );
    setPackageVariantFunctions(kptfile, 'pv1', {});
    expect(kptfile.toString()).toBe(base);
  });

  it('leaves other PackageVariants alone and creates the pipeline when missing', () => {
    const kptfile = parseKptfile('apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: x\n');
    setPackageVariantFunctions(kptfile, 'a', { validators: [{ name: 'v', image: 'kubeconform:v0.1' }] });
    setPackageVariantFunctions(kptfile, 'b', { validators: [{ name: 'v', image: 'kubeconform:v0.2' }] });
    expect(kptfile.toJSON().pipeline).toEqual({
      validators: [
        { name: 'PackageVariant.b.v.0', image: 'kubeconform:v0.2' },
        { name: 'PackageVariant.a.v.0', image: 'kubeconform:v0.1' },
      ],
    });
    expect(() => parseKptfile(kptfile.toString())).not.toThrow();
  });
});

describe('readKptfile', () => {
  it('shares one parse between readers of the same bytes, and only of the same bytes', () => {
    const first = readKptfile(Buffer.from(WITH_COMMENTS));
    expect(readKptfile(Buffer.from(WITH_COMMENTS))).toBe(first);
    expect(first.name).toBe('wordpress');
    const other = readKptfile(Buffer.from(WITH_COMMENTS.replace('name: wordpress', 'name: blog')));
    expect(other).not.toBe(first);
    expect(other.name).toBe('blog');
  });

  it('reports a broken Kptfile on every read, with the reader’s file name', () => {
    const broken = Buffer.from('apiVersion: kpt.dev/v1\nkind: Kptfile\npipeline: [a]\n');
    expect(() => readKptfile(broken, 'a/Kptfile')).toThrow(/^a\/Kptfile: .*field pipeline/);
    expect(() => readKptfile(broken, 'b/Kptfile')).toThrow(/^b\/Kptfile: .*field pipeline/);
  });
});
