import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, lstatSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPackageDir, updatePackageDir, writePackageDir } from './package.ts';

describe('updatePackageDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pkg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes changes, deletes removed files and emptied directories, and leaves other entries alone', () => {
    writePackageDir(
      dir,
      new Map([
        ['Kptfile', Buffer.from('k')],
        ['sub/deep/a.yaml', Buffer.from('a')],
        ['b.yaml', Buffer.from('b')],
      ]),
    );
    writeFileSync(join(dir, 'target.txt'), 't');
    symlinkSync('target.txt', join(dir, 'link'));
    const before = readPackageDir(dir);
    const after = new Map(before);
    after.delete('sub/deep/a.yaml');
    after.set('b.yaml', Buffer.from('b2'));
    after.set('new/c.yaml', Buffer.from('c'));
    updatePackageDir(dir, before, after);
    expect(Object.fromEntries([...readPackageDir(dir)].map(([p, b]) => [p, b.toString()]))).toEqual({
      Kptfile: 'k',
      'b.yaml': 'b2',
      'new/c.yaml': 'c',
      'target.txt': 't',
    });
    expect(existsSync(join(dir, 'sub'))).toBe(false);
    expect(lstatSync(join(dir, 'link')).isSymbolicLink()).toBe(true);
  });
});
