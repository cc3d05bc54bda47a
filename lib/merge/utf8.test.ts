// The merge never decodes YAML that is not valid UTF-8: such a file is merged at file level, byte
// for byte, like a non-KRM file; a Kptfile that is not UTF-8 is refused.
import { describe, expect, it } from '@jest/globals';
import type { PackageFiles } from '../kpt/package.ts';
import { MergeError, mergePackages } from './index.ts';
import { clonePackage, upgradePackage } from './upgrade.ts';

const latin1 = (text: string) => Buffer.from(text, 'latin1');
const KPTFILE = Buffer.from('apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: p\n');
const cm = (value: string) => latin1(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: ${value}\n`);
const pkg = (files: Record<string, Buffer>): PackageFiles => new Map([['Kptfile', KPTFILE], ...Object.entries(files)]);
const source = { repo: 'https://example.com/b.git', directory: 'b', ref: 'b/v1', commit: '1'.repeat(40) };

describe('merge of YAML that is not UTF-8', () => {
  it('carries an unchanged file byte for byte and follows upstream when the local copy is unchanged', () => {
    const result = mergePackages({
      original: pkg({ 'a.yaml': cm('caf\xe9'), 'b.yaml': cm('caf\xe9') }),
      updated: pkg({ 'a.yaml': cm('caf\xe9'), 'b.yaml': cm('th\xe9') }),
      local: pkg({ 'a.yaml': cm('caf\xe9'), 'b.yaml': cm('caf\xe9') }),
    });
    expect(result.files.get('a.yaml')).toEqual(cm('caf\xe9'));
    expect(result.files.get('b.yaml')).toEqual(cm('th\xe9'));
    expect(result.conflicts).toEqual([]);
  });

  it('keeps a local edit (local wins, reported) as non-KRM files do, even when one side is UTF-8', () => {
    const result = mergePackages({
      original: pkg({ 'a.yaml': cm('plain') }),
      updated: pkg({ 'a.yaml': cm('upstream') }),
      local: pkg({ 'a.yaml': cm('caf\xe9') }),
    });
    expect(result.files.get('a.yaml')).toEqual(cm('caf\xe9'));
    expect(result.conflicts).toEqual([
      {
        file: 'a.yaml',
        resource: '(file)',
        field: '(content)',
        updated: 'modified',
        local: 'modified',
        winner: 'local',
      },
    ]);
  });

  it('clones and upgrades without changing the bytes', () => {
    const upstream = pkg({ 'a.yaml': cm('caf\xe9') });
    const cloned = clonePackage(upstream, source);
    expect(cloned.get('a.yaml')).toEqual(cm('caf\xe9'));
    const upgraded = upgradePackage(
      { original: upstream, updated: pkg({ 'a.yaml': cm('caf\xe9'), 'n\xe9w.yaml': cm('\xff') }), local: cloned },
      { ...source, ref: 'b/v2' },
    );
    expect(upgraded.files.get('a.yaml')).toEqual(cm('caf\xe9'));
    expect(upgraded.files.get('n\xe9w.yaml')).toEqual(cm('\xff'));
  });

  it('refuses a Kptfile that is not UTF-8 on any side, naming the side and file', () => {
    const bad = latin1('apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: caf\xe9\n');
    const input = { original: pkg({}), updated: pkg({}), local: new Map([...pkg({}), ['sub/Kptfile', bad]]) };
    expect(() => mergePackages(input)).toThrow(new MergeError('local sub/Kptfile: is not valid UTF-8 text'));
    expect(() => mergePackages({ ...input, local: pkg({}), updated: new Map([['Kptfile', bad]]) })).toThrow(
      'updated Kptfile: is not valid UTF-8 text',
    );
  });
});
