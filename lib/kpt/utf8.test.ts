// YAML that is not valid UTF-8 is never decoded and re-encoded: resource files are opaque (kept
// byte for byte), a Kptfile or a package context that would have to be parsed is refused.
import { describe, expect, it } from '@jest/globals';
import { PACKAGE_CONTEXT_FILE, updatePackageContext } from './context.ts';
import { ensureMergeKeys } from './identity.ts';
import { Kptfile, KptfileError } from './kptfile.ts';
import { PackageError, parsePackageResources } from './resources.ts';

const latin1 = (text: string) => Buffer.from(text, 'latin1');
const KPTFILE = Buffer.from('apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: p\n');
const CAFE = latin1('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: caf\xe9\n');

describe('YAML that is not UTF-8', () => {
  it('is not parsed as a resource file', () => {
    const files = new Map([
      ['Kptfile', KPTFILE],
      ['cafe.yaml', CAFE],
      ['ok.yaml', Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n')],
    ]);
    expect(parsePackageResources(files).map((f) => f.path)).toEqual(['ok.yaml']);
  });

  it('keeps its bytes when merge keys are added to the package', () => {
    const files = new Map([
      ['Kptfile', KPTFILE],
      ['cafe.yaml', CAFE],
    ]);
    const marked = ensureMergeKeys(files, { includeKptfile: true });
    expect(marked.get('cafe.yaml')).toBe(CAFE);
    expect(marked.get('Kptfile')!.toString()).toContain('kpt-merge');
  });

  it('is refused as a Kptfile or package context, naming the file', () => {
    const bad = latin1('apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: caf\xe9\n');
    expect(() => Kptfile.parse(bad, 'sub/Kptfile')).toThrow(new KptfileError('sub/Kptfile', 'is not valid UTF-8 text'));
    expect(() => ensureMergeKeys(new Map([['Kptfile', bad]]), { includeKptfile: true })).toThrow(
      'Kptfile: is not valid UTF-8',
    );
    const context = latin1(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kptfile.kpt.dev\ndata:\n  name: caf\xe9\n',
    );
    expect(() => updatePackageContext(new Map([[PACKAGE_CONTEXT_FILE, context]]), { data: { a: 'b' } })).toThrow(
      PackageError,
    );
    expect(() => updatePackageContext(new Map([[PACKAGE_CONTEXT_FILE, context]]), { data: { a: 'b' } })).toThrow(
      'package-context.yaml: is not valid UTF-8',
    );
  });
});
