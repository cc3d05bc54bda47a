import { describe, expect, it } from '@jest/globals';
import type { PackageFiles, PackageModes, SpecialEntry } from '../kpt/package.ts';
import { MergeConflictError, MergeError } from './types.ts';
import { mergeModes, type ModesMergeOptions } from './modes.ts';

const X: SpecialEntry = { kind: 'executable' };
const link = (target: string): SpecialEntry => ({ kind: 'symlink', target: Buffer.from(target) });
const gitlink = (c: string): SpecialEntry => ({ kind: 'gitlink', commit: c.repeat(40) });
type Side = SpecialEntry | undefined;

/** One path's modes on the three sides; `file`: whether the merged files hold the path. */
function one(o: Side, u: Side, l: Side, file: boolean, options?: ModesMergeOptions) {
  const modes = (entry: Side): PackageModes => new Map(entry ? [['p', entry]] : []);
  const result: PackageFiles = new Map([
    ['Kptfile', Buffer.from('k')],
    ...(file ? [['p', Buffer.from('x')] as const] : []),
  ]);
  const merged = mergeModes(modes(o), modes(u), modes(l), result, options);
  return { entry: merged.modes.get('p'), file: merged.files.has('p'), conflicts: merged.conflicts };
}

describe('mergeModes', () => {
  it.each<[string, Side, Side, Side, boolean, Side, boolean]>([
    // name, original, updated, local, file in result, → entry, file kept
    ['nothing special', undefined, undefined, undefined, true, undefined, true],
    ['upstream made a file executable', undefined, X, undefined, true, X, true],
    ['local made a file executable', undefined, undefined, X, true, X, true],
    ['upstream dropped the bit, local unchanged', X, undefined, X, true, undefined, true],
    ['local dropped the bit, upstream unchanged', X, X, undefined, true, undefined, true],
    ['an executable bit without the file', undefined, X, undefined, false, undefined, false],
    ['upstream retargets a symlink', link('a'), link('b'), link('a'), false, link('b'), false],
    ['local retargets a symlink', link('a'), link('a'), link('c'), false, link('c'), false],
    ['both made the same change', link('a'), link('b'), link('b'), false, link('b'), false],
    ['upstream added a symlink', undefined, link('a'), undefined, false, link('a'), false],
    ['upstream removed a symlink, local unchanged', link('a'), undefined, link('a'), false, undefined, false],
    ['upstream replaced a symlink by a file', link('a'), undefined, link('a'), true, undefined, true],
    ['local replaced a symlink by a file', link('a'), link('a'), undefined, true, undefined, true],
    // local's symlink wins over the file the merge took from upstream (non-KRM rule: local edits win)
    ['local replaced a file by a symlink', undefined, undefined, link('a'), true, link('a'), false],
    // the file is local's edit (the merge kept it): it wins over upstream's symlink, reported
    ['upstream replaced a file local edited', undefined, link('a'), undefined, true, undefined, true],
    ['upstream bumps a submodule', gitlink('1'), gitlink('2'), gitlink('1'), false, gitlink('2'), false],
  ])('%s', (_name, o, u, l, file, entry, fileKept) => {
    const merged = one(o, u, l, file);
    expect(merged.entry).toEqual(entry);
    expect(merged.file).toBe(fileKept);
  });

  it('reports modes both sides changed differently; local wins, as for non-KRM files', () => {
    expect(one(link('a'), link('b'), link('c'), false)).toEqual({
      entry: link('c'),
      file: false,
      conflicts: [
        {
          file: 'p',
          resource: '(file)',
          field: '(mode)',
          original: '120000 -> a',
          updated: '120000 -> b',
          local: '120000 -> c',
          winner: 'local',
        },
      ],
    });
    expect(one(gitlink('1'), gitlink('2'), X, true).entry).toEqual(X);
    expect(one(link('a'), link('b'), link('c'), false, { strategy: 'copy-merge' }).entry).toEqual(link('b'));
    expect(() => one(link('a'), link('b'), link('c'), false, { conflicts: 'fail' })).toThrow(MergeConflictError);
  });

  it('reports a file that takes the place of an entry', () => {
    expect(one(undefined, link('a'), undefined, true).conflicts).toEqual([
      { file: 'p', resource: '(file)', field: '(type)', updated: '120000 -> a', local: 'file', winner: 'local' },
    ]);
  });

  it("keeps local's symlink over upstream's files below it (never a file below a symlink)", () => {
    const result: PackageFiles = new Map([
      ['Kptfile', Buffer.from('k')],
      ['docs/README.md', Buffer.from('upstream')],
      ['docs/run.sh', Buffer.from('#!')],
    ]);
    const merged = mergeModes(
      new Map([['docs/run.sh', X]]),
      new Map([['docs/run.sh', X]]),
      new Map([['docs', link('../shared/docs')]]),
      result,
    );
    expect([...merged.files.keys()]).toEqual(['Kptfile']);
    expect(merged.modes).toEqual(new Map([['docs', link('../shared/docs')]]));
    expect(merged.conflicts).toEqual([
      {
        file: 'docs',
        resource: '(file)',
        field: '(type)',
        updated: 'directory',
        local: '120000 -> ../shared/docs',
        winner: 'local',
      },
    ]);
    expect(result.has('docs/README.md')).toBe(true); // the input is not modified
  });

  it('takes upstream modes for force-delete-replace, and fast-forward refuses local mode changes', () => {
    expect(one(undefined, undefined, link('mine'), false, { strategy: 'force-delete-replace' }).entry).toBeUndefined();
    expect(one(X, undefined, X, true, { strategy: 'fast-forward' }).entry).toBeUndefined();
    expect(() => one(undefined, undefined, X, true, { strategy: 'fast-forward' })).toThrow(
      new MergeError('local package modes have been modified: [p].\n  use a different update --strategy.'),
    );
  });
});
