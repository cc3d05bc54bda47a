import { describe, expect, it } from '@jest/globals';
import {
  deletionProposedRef,
  draftRef,
  parseRef,
  proposedRef,
  publishedTag,
  RefIndex,
  relativePackagePath,
} from './refs.ts';

describe('Porch ref layout', () => {
  it('names refs as Porch does', () => {
    expect(draftRef('blueprints/net/basens', 'ws1')).toBe('refs/heads/drafts/blueprints/net/basens/ws1');
    expect(proposedRef('bucket', 'v1')).toBe('refs/heads/proposed/bucket/v1');
    expect(publishedTag('basens', 1)).toBe('refs/tags/basens/v1');
    expect(deletionProposedRef('a/b', 3)).toBe('refs/heads/deletionProposed/a/b/v3');
  });

  it('refuses to build refs from bad input', () => {
    expect(() => draftRef('../x', 'ws')).toThrow('invalid package path');
    expect(() => draftRef('x', '-ws')).toThrow('invalid workspace');
    expect(() => publishedTag('x', 0)).toThrow(RangeError);
  });

  it('parses refs back (workspace = last segment)', () => {
    expect(parseRef('refs/heads/drafts/a/b/ws')).toEqual({ kind: 'draft', pkgPath: 'a/b', workspace: 'ws' });
    expect(parseRef('refs/heads/proposed/a/ws')).toEqual({ kind: 'proposed', pkgPath: 'a', workspace: 'ws' });
    expect(parseRef('refs/tags/a/b/v12')).toEqual({ kind: 'published', pkgPath: 'a/b', revision: 12 });
    expect(parseRef('refs/tags/a/latest')).toEqual({ kind: 'published', pkgPath: 'a', revision: -1 });
    expect(parseRef('refs/heads/deletionProposed/a/v2')).toEqual({
      kind: 'deletionProposed',
      pkgPath: 'a',
      revision: 2,
    });
    expect(parseRef('refs/heads/main')).toEqual({ kind: 'branch', branch: 'main' });
    expect(parseRef('refs/tags/v1.0')).toEqual({ kind: 'other' });
    expect(parseRef('refs/heads/drafts/onlyone')).toEqual({ kind: 'other' });
    expect(parseRef('refs/notes/x')).toEqual({ kind: 'other' });
  });

  it('relates full paths to the repository directory', () => {
    expect(relativePackagePath('blueprints/net/basens', 'blueprints')).toBe('net/basens');
    expect(relativePackagePath('basens', '')).toBe('basens');
  });
});

describe('RefIndex', () => {
  const refs = new Map([
    ['refs/heads/main', 'a'],
    ['refs/tags/pkgs/app/v1', 'b'],
    ['refs/heads/drafts/pkgs/app/upgrade', 'c'],
    ['refs/heads/drafts/pkgs/app-2/upgrade', 'd'],
    ['refs/heads/deletionProposed/pkgs/app/v1', 'b'],
    ['refs/tags/app/v1', 'e'],
    ['refs/heads/other', 'f'],
  ]);

  it("gives one package path's revision refs, parsed, and nothing of a package whose name only starts the same", () => {
    const index = new RefIndex(refs);
    expect(index.ofPackage('pkgs/app').map((r) => [r.ref, r.oid, r.parsed.kind])).toEqual([
      ['refs/tags/pkgs/app/v1', 'b', 'published'],
      ['refs/heads/drafts/pkgs/app/upgrade', 'c', 'draft'],
      ['refs/heads/deletionProposed/pkgs/app/v1', 'b', 'deletionProposed'],
    ]);
    expect(index.ofPackage('pkgs')).toEqual([]);
    expect(index.branchRefs().map((r) => r.ref)).toEqual(['refs/heads/main', 'refs/heads/other']);
    expect(index.all).toHaveLength(refs.size);
    expect([index.get('refs/heads/main'), index.has('refs/heads/nope'), index.size]).toEqual(['a', false, 7]);
  });
});
