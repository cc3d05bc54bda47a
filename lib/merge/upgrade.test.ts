import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPackageContext } from '../kpt/context.ts';
import { parseKptfile } from '../kpt/kptfile.ts';
import { readPackageDir } from '../kpt/package.ts';
import { clonePackage, upgradePackage, type UpstreamRevision } from './upgrade.ts';

const GOLDEN = fileURLToPath(new URL('./testdata/golden/', import.meta.url));
const v1: UpstreamRevision = {
  repo: 'https://example.com/blueprints.git',
  directory: '/shop',
  ref: 'shop/v1',
  commit: '1111111111111111111111111111111111111111',
};
const v2: UpstreamRevision = { ...v1, ref: 'shop/v2', commit: '2222222222222222222222222222222222222222' };

describe('clonePackage', () => {
  it('copies the upstream, records upstream and lock, adds merge keys and the package context', () => {
    const upstream = readPackageDir(join(GOLDEN, 'original'));
    const files = clonePackage(upstream, v1, { name: 'shop-eu', packageContext: { packagePath: 'eu/shop-eu' } });
    const kptfile = parseKptfile(files.get('Kptfile')!);
    expect(kptfile.name).toBe('shop-eu');
    expect(kptfile.upstream).toEqual({
      type: 'git',
      git: { repo: v1.repo, directory: '/shop', ref: 'shop/v1' },
      updateStrategy: 'resource-merge',
    });
    expect(kptfile.upstreamLock?.git.commit).toBe(v1.commit);
    expect(files.get('Kptfile')!.toString()).toContain('metadata: # kpt-merge: /shop-eu\n');
    expect(files.get('gone.yaml')!.toString()).toContain('metadata: # kpt-merge: /gone\n');
    expect(files.get('gone.yaml')!.toString()).toContain(
      'internal.kpt.dev/upstream-identifier: "|Secret|default|gone"',
    );
    expect(readPackageContext(files)).toEqual({ name: 'shop-eu', 'package-path': 'eu/shop-eu' });
    expect(files.get('README.md')).toBe(upstream.get('README.md'));
  });
});

describe('upgradePackage', () => {
  it('merges, points upstream/upstreamLock at the new revision and keeps the local strategy', () => {
    const input = {
      original: readPackageDir(join(GOLDEN, 'original')),
      updated: readPackageDir(join(GOLDEN, 'updated')),
      local: readPackageDir(join(GOLDEN, 'local')),
    };
    const result = upgradePackage(input, v2);
    const kptfile = parseKptfile(result.files.get('Kptfile')!);
    expect(kptfile.upstream?.git.ref).toBe('shop/v2');
    expect(kptfile.upstream?.updateStrategy).toBe('resource-merge');
    expect(kptfile.upstreamLock?.git.commit).toBe(v2.commit);
    expect(result.files.get('Kptfile')!.toString()).toContain('# tracked upstream\nupstream:\n');
    expect(result.files.get('new.yaml')!.toString()).toContain(
      'internal.kpt.dev/upstream-identifier: "|ServiceAccount|default|shop"',
    );
    expect(result.files.get('deployment.yaml')!.toString()).toContain('image: shop:1.1 # app image');
    expect(result.conflicts).toHaveLength(1);
  });

  it('leaves the files .krmignore names alone: not merged, no merge keys (kpt does not read them)', () => {
    const template = Buffer.from('{{- if .Values.on }}\nkind: ConfigMap\n{{- end }}\n');
    const withTemplates = (files: Map<string, Buffer>) =>
      new Map([...files, ['.krmignore', Buffer.from('templates/\n')], ['templates/cm.yaml', template]]);
    const input = {
      original: withTemplates(readPackageDir(join(GOLDEN, 'original'))),
      updated: withTemplates(readPackageDir(join(GOLDEN, 'updated'))),
      local: withTemplates(readPackageDir(join(GOLDEN, 'local'))),
    };
    const result = upgradePackage(input, v2);
    expect(result.files.get('templates/cm.yaml')).toBe(template);
    expect(result.files.get('new.yaml')!.toString()).toContain('internal.kpt.dev/upstream-identifier');
    const cloned = clonePackage(input.updated, v1);
    expect(cloned.get('templates/cm.yaml')).toBe(template);
    expect(cloned.get('new.yaml')!.toString()).toContain('internal.kpt.dev/upstream-identifier');
  });
});
