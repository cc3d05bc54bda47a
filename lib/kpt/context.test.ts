import { describe, expect, it } from '@jest/globals';
import { generatePackageContext, PACKAGE_CONTEXT_FILE, readPackageContext, updatePackageContext } from './context.ts';
import type { PackageFiles } from './package.ts';

const pkg = (text: string): PackageFiles => new Map([[PACKAGE_CONTEXT_FILE, Buffer.from(text)]]);

describe('package context', () => {
  it('generates the kptfile.kpt.dev ConfigMap, with package-path only when given', () => {
    const text = generatePackageContext('wordpress', 'apps/wordpress');
    expect(text).toBe(`apiVersion: v1
kind: ConfigMap
metadata:
  name: kptfile.kpt.dev
  annotations:
    config.kubernetes.io/local-config: "true"
data:
  name: wordpress
  package-path: apps/wordpress
`);
    expect(generatePackageContext('x')).not.toContain('package-path');
  });

  it('reads the data map', () => {
    expect(readPackageContext(pkg(generatePackageContext('db')))).toEqual({ name: 'db' });
    expect(readPackageContext(new Map())).toBeUndefined();
  });

  it('sets and removes keys, keeping comments and other documents', () => {
    const text = `# context
apiVersion: v1
kind: ConfigMap
metadata:
  name: kptfile.kpt.dev
data:
  name: db # generated
  region: eu
  tier: gold
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: other
data: {a: b}
`;
    const out = updatePackageContext(pkg(text), { data: { region: 'us', team: 'core' }, removeKeys: ['tier'] });
    expect(out.get(PACKAGE_CONTEXT_FILE)?.toString()).toBe(`# context
apiVersion: v1
kind: ConfigMap
metadata:
  name: kptfile.kpt.dev
data:
  name: db # generated
  region: us
  team: core
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: other
data: {a: b}
`);
    expect(readPackageContext(out)).toEqual({ name: 'db', region: 'us', team: 'core' });
  });

  it('returns the same map when nothing changes', () => {
    const files = pkg(generatePackageContext('db'));
    const withRegion = updatePackageContext(files, { data: { region: 'eu' } });
    expect(updatePackageContext(withRegion, { data: { region: 'eu' }, removeKeys: ['absent'] })).toBe(withRegion);
  });

  it('refuses reserved keys and a missing context', () => {
    const files = pkg(generatePackageContext('db'));
    expect(() => updatePackageContext(files, { data: { name: 'x' } })).toThrow('must not contain the key "name"');
    expect(() => updatePackageContext(files, { removeKeys: ['package-path'] })).toThrow(
      'must not contain the key "package-path"',
    );
    expect(() => updatePackageContext(new Map(), { data: { a: 'b' } })).toThrow('no ConfigMap named kptfile.kpt.dev');
    expect(() =>
      updatePackageContext(pkg('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kptfile.kpt.dev\n'), {
        data: { a: 'b' },
      }),
    ).toThrow('has no data map');
  });
});
