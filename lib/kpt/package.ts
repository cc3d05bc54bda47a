// A kpt package in memory: package-relative path (forward slashes) → file content, plus the modes
// of the entries that are not plain files. Paths are file names as bytes, decoded reversibly
// (lib/bytes/names.ts), so names that are not UTF-8 survive a read and a write.
import {
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  chmodSync,
  symlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { decodeName, encodeName, isCanonicalName } from '../bytes/names.ts';

export type PackageFiles = Map<string, Buffer>;

export type SpecialEntry =
  { kind: 'executable' } | { kind: 'symlink'; target: Buffer } | { kind: 'gitlink'; commit: string };
/** Entries that are not plain 100644 files: executables (whose content stays in PackageFiles), symlinks and gitlinks (which are NOT in PackageFiles). */
export type PackageModes = Map<string, SpecialEntry>;

export const KPTFILE = 'Kptfile';

/** A package directory that cannot be read or written safely; names the path. */
export class PackageDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackageDirError';
  }
}

/** `dir` (as given) joined with a package path, as bytes. */
function diskPath(dir: string, path: string): Buffer {
  return path === '' ? Buffer.from(dir) : Buffer.concat([Buffer.from(dir), Buffer.from('/'), encodeName(path)]);
}

function byPath<T>(map: Map<string, T>): Map<string, T> {
  return new Map([...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Reads every regular file below `dir` with its executable bit, and symlinks as entries (never
 * followed). Skipped: `.git`, and directories holding a `.git` (submodules and nested repositories:
 * git records those as gitlinks, whose commit a directory does not tell), and other file types.
 */
export function readPackageDirWithModes(dir: string): { files: PackageFiles; modes: PackageModes } {
  const files: PackageFiles = new Map();
  const modes: PackageModes = new Map();
  const walk = (prefix: string) => {
    for (const entry of readdirSync(diskPath(dir, prefix), { withFileTypes: true, encoding: 'buffer' })) {
      const name = decodeName(entry.name);
      if (name === '.git') continue;
      const path = prefix ? `${prefix}/${name}` : name;
      const full = diskPath(dir, path);
      if (entry.isSymbolicLink()) modes.set(path, { kind: 'symlink', target: readlinkSync(full, 'buffer') });
      else if (entry.isDirectory()) {
        if (!existsSync(Buffer.concat([full, Buffer.from('/.git')]))) walk(path);
      } else if (entry.isFile()) {
        files.set(path, readFileSync(full));
        if (lstatSync(full).mode & 0o100) modes.set(path, { kind: 'executable' });
      }
    }
  };
  walk('');
  return { files: byPath(files), modes: byPath(modes) };
}

/** Reads every regular file below `dir` (see {@link readPackageDirWithModes}). */
export function readPackageDir(dir: string): PackageFiles {
  return readPackageDirWithModes(dir).files;
}

/**
 * Replaces the content of `dir` with `files` and `modes` (the directory is emptied first, `.git`
 * kept; symlinks in it are removed, never followed). Gitlinks become empty directories, as an
 * uninitialized submodule in a git checkout.
 */
export function writePackageDir(dir: string, files: PackageFiles, modes: PackageModes = new Map()): void {
  checkEntries(files, modes);
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(dir, { encoding: 'buffer' })) {
    if (entry.toString() !== '.git')
      rmSync(Buffer.concat([Buffer.from(`${dir}/`), entry]), { recursive: true, force: true });
  }
  updatePackageDir(dir, new Map(), files, { before: new Map(), after: modes });
}

type DiskEntry =
  { kind: 'file'; content: Buffer; executable: boolean } | { kind: 'symlink'; target: Buffer } | { kind: 'gitlink' };

function entriesOf(files: PackageFiles, modes: PackageModes): Map<string, DiskEntry> {
  const out = new Map<string, DiskEntry>();
  for (const [path, content] of files) {
    out.set(path, { kind: 'file', content, executable: modes.get(path)?.kind === 'executable' });
  }
  for (const [path, entry] of modes) {
    if (entry.kind === 'symlink') out.set(path, { kind: 'symlink', target: entry.target });
    else if (entry.kind === 'gitlink') out.set(path, { kind: 'gitlink' });
  }
  return out;
}

/**
 * Writes only the difference between `before` (what `dir` holds, as read by readPackageDirWithModes)
 * and `after`: changed and new files, symlinks and executable bits are written, removed entries
 * deleted (and directories left empty by that). Entries `before` does not name are left alone.
 * Never writes through a symlink: when a path to write lies below a symlink (or a file) that stays,
 * or is itself a symlink that stays, nothing at all is written and a {@link PackageDirError} names it.
 */
export function updatePackageDir(
  dir: string,
  before: PackageFiles,
  after: PackageFiles,
  modes: { before: PackageModes; after: PackageModes } = { before: new Map(), after: new Map() },
): void {
  checkEntries(after, modes.after);
  const was = entriesOf(before, modes.before);
  const will = entriesOf(after, modes.after);
  const removals: string[] = [];
  for (const [path, old] of was) {
    const next = will.get(path);
    if (old.kind === 'gitlink') continue; // a submodule's directory is not ours to delete
    if (!next || next.kind !== old.kind || (old.kind === 'symlink' && !old.target.equals((next as typeof old).target)))
      removals.push(path);
  }
  const removed = new Set(removals);
  const writes = [...will].filter(([path, next]) => {
    const old = was.get(path);
    if (!old || removed.has(path) || old.kind !== next.kind) return true;
    return (
      old.kind === 'file' &&
      next.kind === 'file' &&
      (!old.content.equals(next.content) || old.executable !== next.executable)
    );
  });

  // Check everything before anything is written. A directory holding `.git` is another repository
  // (a submodule) that the reader skipped: not ours to write into.
  const nestedRepository = new Map<string, boolean>();
  for (const [path, next] of writes) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const stats = lstatOrUndefined(diskPath(dir, parent));
      if (!stats || removed.has(parent)) continue;
      if (stats.isDirectory()) {
        if (!nestedRepository.has(parent)) nestedRepository.set(parent, existsSync(diskPath(dir, `${parent}/.git`)));
        if (!nestedRepository.get(parent)) continue;
      }
      const what = stats.isSymbolicLink()
        ? 'a symbolic link (it may point outside the package)'
        : stats.isDirectory()
          ? 'another git repository (a submodule)'
          : 'not a directory';
      throw new PackageDirError(
        `refusing to write ${JSON.stringify(path)} in ${dir}: ${JSON.stringify(parent)} is ${what}`,
      );
    }
    const stats = lstatOrUndefined(diskPath(dir, path));
    if (!stats || removed.has(path)) continue;
    if (next.kind === 'file' ? !stats.isFile() : next.kind === 'gitlink' ? !stats.isDirectory() : true) {
      const what = stats.isSymbolicLink() ? 'a symbolic link' : stats.isDirectory() ? 'a directory' : 'another file';
      throw new PackageDirError(`refusing to write ${JSON.stringify(path)} in ${dir}: it is ${what} on disk`);
    }
  }

  for (const path of removals) removeEntry(dir, path);
  for (const [path, next] of writes) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = diskPath(dir, parts.slice(0, i).join('/'));
      if (!lstatOrUndefined(parent)) mkdirSync(parent);
    }
    const target = diskPath(dir, path);
    if (next.kind === 'symlink') symlinkSync(next.target, target);
    else if (next.kind === 'gitlink') mkdirSync(target, { recursive: true });
    else writeFileNoFollow(target, next.content, next.executable);
  }
}

function lstatOrUndefined(path: Buffer): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Writes a regular file; O_NOFOLLOW: if a symlink appeared at the path since it was checked, fail. */
function writeFileNoFollow(path: Buffer, content: Buffer, executable: boolean): void {
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
    executable ? 0o755 : 0o644,
  );
  try {
    for (let at = 0; at < content.length;) at += writeSync(fd, content, at);
  } finally {
    closeSync(fd);
  }
  // An existing file keeps its mode through O_TRUNC: set the executable bits where r is set.
  const mode = lstatSync(path).mode & 0o7777;
  const wanted = executable ? mode | ((mode & 0o444) >> 2) : mode & ~0o111;
  if (wanted !== mode) chmodSync(path, wanted);
}

function removeEntry(dir: string, path: string): void {
  rmSync(diskPath(dir, path), { force: true });
  const parts = path.split('/');
  for (let i = parts.length - 1; i > 0; i--) {
    const parent = diskPath(dir, parts.slice(0, i).join('/'));
    if (!lstatOrUndefined(parent)?.isDirectory() || readdirSync(parent).length) break;
    rmSync(parent, { recursive: true, force: true });
  }
}

/** Paths that stay inside the package, and entries one directory tree can hold. */
function checkEntries(files: PackageFiles, modes: PackageModes): void {
  const fail = (path: string, problem: string) => {
    throw new PackageDirError(`refusing to write ${JSON.stringify(path)}: ${problem}`);
  };
  for (const path of [...files.keys(), ...modes.keys()]) {
    if (path === '' || path.startsWith('/')) fail(path, 'not a relative path');
    if (path.includes('\0') || !isCanonicalName(path)) fail(path, 'not a file name');
    for (const part of path.split('/')) {
      if (part === '' || part === '.' || part === '..') fail(path, "empty, '.' or '..' segment");
      if (part.toLowerCase() === '.git') fail(path, "a '.git' segment");
    }
  }
  const leaves = new Map<string, string>([...files.keys()].map((path) => [path, 'file']));
  for (const [path, entry] of modes) {
    if (entry.kind === 'executable' && !files.has(path)) fail(path, 'marked executable but not a file of the package');
    if (entry.kind !== 'executable') {
      if (files.has(path)) fail(path, `both a file and a ${entry.kind}`);
      leaves.set(path, entry.kind);
    }
  }
  for (const path of leaves.keys()) {
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
      const kind = leaves.get(path.slice(0, slash));
      if (kind) fail(path, `${JSON.stringify(path.slice(0, slash))} is a ${kind}`);
    }
  }
}
