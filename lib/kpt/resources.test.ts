import { describe, expect, it } from '@jest/globals';
import { isKrmFile, isResourceFile, PackageError, parsePackageResources, parseResourceFile } from './resources.ts';

describe('package resources', () => {
  it('classifies files as kpt does', () => {
    expect(isResourceFile('a/b.yaml')).toBe(true);
    expect(isResourceFile('b.YML')).toBe(true);
    expect(isResourceFile('Kptfile')).toBe(false);
    expect(isResourceFile('sub/Kptfile')).toBe(false);
    expect(isKrmFile('sub/Kptfile')).toBe(true);
    expect(isResourceFile('README.md')).toBe(false);
  });

  it('parses every document with its path and index, skipping empty documents', () => {
    const text = 'apiVersion: v1\nkind: A\nmetadata:\n  name: a\n---\n# only a comment\n---\napiVersion: v1\nkind: B\n';
    const file = parseResourceFile('r.yaml', text);
    expect(file.documents).toHaveLength(3);
    expect(file.resources.map((r) => [r.path, r.index])).toEqual([
      ['r.yaml', 0],
      ['r.yaml', 2],
    ]);
    expect(file.documents.map((d) => d.raw).join('')).toBe(text);
  });

  it('reads only YAML resource files of a package', () => {
    const files = new Map([
      ['Kptfile', Buffer.from('apiVersion: kpt.dev/v1\nkind: Kptfile\n')],
      ['a.yaml', Buffer.from('apiVersion: v1\nkind: A\n')],
      ['notes.txt', Buffer.from('::: not yaml :::')],
    ]);
    expect(parsePackageResources(files).map((f) => f.path)).toEqual(['a.yaml']);
  });

  it('reports problems with file, document index and problem', () => {
    const problem = (text: string, options = {}) => {
      try {
        parseResourceFile('p.yaml', text, options);
      } catch (e) {
        expect(e).toBeInstanceOf(PackageError);
        const error = e as PackageError;
        return [error.file, error.index, error.problem];
      }
      return undefined;
    };
    expect(problem('apiVersion: v1\nkind: A\n---\nkey: [unclosed\n')).toEqual([
      'p.yaml',
      1,
      expect.stringContaining('invalid YAML at line 5: '),
    ]);
    expect(problem('apiVersion: v1\nmetadata: {}\n')).toEqual(['p.yaml', 0, 'resource has no kind']);
    expect(problem('apiVersion: v1\nmetadata: {}\n', { requireKind: false })).toBeUndefined();
    expect(problem('just a string\n')).toEqual(['p.yaml', 0, 'not a KRM resource (a YAML map is expected)']);
  });
});
