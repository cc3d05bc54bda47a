import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readPackageDir,
  readPackageDirWithModes,
  updatePackageDir,
  writePackageDir,
  type PackageModes,
  type SpecialEntry,
} from './package.ts';

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

describe('package directories: modes, symlinks, byte names', () => {
  let root: string;
  let dir: string;
  let outside: string;
  const latin1 = (text: string) => Buffer.from(text, 'latin1');
  const bytePath = (...parts: Array<string | Buffer>) =>
    Buffer.concat(parts.map((p, i) => Buffer.concat([i ? Buffer.from('/') : Buffer.alloc(0), Buffer.from(p)])));
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pkg-modes-'));
    dir = join(root, 'pkg');
    outside = join(root, 'outside');
    mkdirSync(dir);
    mkdirSync(outside);
    writeFileSync(join(outside, 'cm.yaml'), 'precious\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('reads symlinks as entries (never followed), executable bits and names that are not UTF-8', () => {
    writeFileSync(join(dir, 'Kptfile'), 'k');
    writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    symlinkSync('../outside', join(dir, 'shared'));
    writeFileSync(bytePath(dir, latin1('a\xe9.txt')), 'e acute');
    writeFileSync(bytePath(dir, latin1('a\xe8.txt')), 'e grave');
    mkdirSync(join(dir, 'vendor', 'lib', '.git'), { recursive: true }); // a submodule's working tree
    writeFileSync(join(dir, 'vendor', 'lib', 'x.txt'), 'not ours');
    const { files, modes } = readPackageDirWithModes(dir);
    expect([...files.keys()]).toEqual(['Kptfile', 'a\udce8.txt', 'a\udce9.txt', 'run.sh']);
    expect(modes).toEqual(
      new Map<string, unknown>([
        ['run.sh', { kind: 'executable' }],
        ['shared', { kind: 'symlink', target: Buffer.from('../outside') }],
      ]),
    );
    expect(readPackageDir(dir)).toEqual(files);
  });

  it('writes modes and byte names back as they were read', () => {
    const files = new Map([
      ['Kptfile', Buffer.from('k')],
      ['bin/run.sh', Buffer.from('#!/bin/sh\n')],
      ['a\udce9.txt', Buffer.from('e acute')],
      ['a\udce8.txt', Buffer.from('e grave')],
    ]);
    const modes: PackageModes = new Map<string, SpecialEntry>([
      ['bin/run.sh', { kind: 'executable' }],
      ['link', { kind: 'symlink', target: latin1('bin/caf\xe9') }],
      ['vendor/lib', { kind: 'gitlink', commit: '0123456789abcdef0123456789abcdef01234567' }],
    ]);
    writePackageDir(dir, files, modes);
    expect(lstatSync(join(dir, 'bin', 'run.sh')).mode & 0o111).not.toBe(0);
    expect(lstatSync(join(dir, 'Kptfile')).mode & 0o111).toBe(0);
    expect(readlinkSync(join(dir, 'link'), 'buffer')).toEqual(latin1('bin/caf\xe9'));
    expect(readFileSync(bytePath(dir, latin1('a\xe9.txt')), 'utf8')).toBe('e acute');
    expect(lstatSync(join(dir, 'vendor', 'lib')).isDirectory()).toBe(true); // as an uninitialized submodule
    const back = readPackageDirWithModes(dir);
    expect(back.files).toEqual(new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1))));
    modes.delete('vendor/lib');
    expect(back.modes).toEqual(modes);
  });

  it('changes executable bits, and replaces a symlink by a directory without following it', () => {
    writeFileSync(join(dir, 'run.sh'), 'x', { mode: 0o755 });
    writeFileSync(join(dir, 'plain.sh'), 'y');
    symlinkSync('../outside', join(dir, 'shared'));
    const before = readPackageDirWithModes(dir);
    const after = new Map(before.files).set('shared/cm.yaml', Buffer.from('mine\n'));
    updatePackageDir(dir, before.files, after, {
      before: before.modes,
      after: new Map([['plain.sh', { kind: 'executable' }]]),
    });
    expect(lstatSync(join(dir, 'run.sh')).mode & 0o111).toBe(0);
    expect(lstatSync(join(dir, 'plain.sh')).mode & 0o111).not.toBe(0);
    expect(lstatSync(join(dir, 'shared')).isDirectory()).toBe(true);
    expect(readFileSync(join(dir, 'shared', 'cm.yaml'), 'utf8')).toBe('mine\n');
    expect(readFileSync(join(outside, 'cm.yaml'), 'utf8')).toBe('precious\n');
  });

  it('refuses to write through a symlink on disk, naming the path, and writes nothing at all', () => {
    symlinkSync('../outside', join(dir, 'shared'));
    symlinkSync('../outside/cm.yaml', join(dir, 'cm.yaml'));
    const plan = (extra: string) =>
      new Map([
        ['Kptfile', Buffer.from('k')],
        [extra, Buffer.from('overwritten\n')],
      ]);
    // `before` does not know the symlinks (e.g. read by an older reader): they stay, so refuse.
    expect(() => updatePackageDir(dir, new Map(), plan('shared/cm.yaml'))).toThrow(
      /refusing to write "shared\/cm.yaml" in .*: "shared" is a symbolic link/,
    );
    expect(() => updatePackageDir(dir, new Map(), plan('cm.yaml'))).toThrow(
      /refusing to write "cm.yaml" in .*: it is a symbolic link on disk/,
    );
    // A symlink the modes keep cannot have files below it.
    const shared = new Map([['shared', { kind: 'symlink', target: Buffer.from('../outside') } as SpecialEntry]]);
    expect(() => updatePackageDir(dir, new Map(), plan('shared/cm.yaml'), { before: shared, after: shared })).toThrow(
      'refusing to write "shared/cm.yaml": "shared" is a symlink',
    );
    expect(() => writePackageDir(dir, plan('../outside/cm.yaml'))).toThrow("'..' segment");
    expect(() => writePackageDir(dir, plan('Kptfile/x'))).toThrow('"Kptfile/x": "Kptfile" is a file');
    mkdirSync(join(dir, 'vendor', 'lib', '.git'), { recursive: true });
    expect(() => updatePackageDir(dir, new Map(), plan('vendor/lib/x.txt'))).toThrow(
      '"vendor/lib" is another git repository (a submodule)',
    );
    expect(existsSync(join(dir, 'Kptfile'))).toBe(false);
    expect(readFileSync(join(outside, 'cm.yaml'), 'utf8')).toBe('precious\n');
    expect(readdirSync(outside)).toEqual(['cm.yaml']);
  });
});
