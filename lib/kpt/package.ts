// A kpt package in memory: package-relative path (forward slashes) → file content.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

export type PackageFiles = Map<string, Buffer>;

export const KPTFILE = 'Kptfile';

/** Reads every file below `dir` (skipping `.git`). */
export function readPackageDir(dir: string): PackageFiles {
  const files: PackageFiles = new Map();
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === '.git') continue;
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.set(relative(dir, path).split(sep).join('/'), readFileSync(path));
    }
  };
  walk(dir);
  return files;
}

/** Replaces the content of `dir` with `files` (the directory is emptied first, `.git` kept). */
export function writePackageDir(dir: string, files: PackageFiles): void {
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(dir)) {
    if (entry !== '.git') rmSync(join(dir, entry), { recursive: true, force: true });
  }
  for (const [path, content] of files) {
    const target = join(dir, ...path.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
}

/**
 * Writes only the difference between `before` (what `dir` holds, as read by readPackageDir) and
 * `after`: changed and new files are written, removed files deleted (and directories left empty by
 * that). Files readPackageDir does not read (e.g. symlinks) are left alone.
 */
export function updatePackageDir(dir: string, before: PackageFiles, after: PackageFiles): void {
  for (const [path, content] of after) {
    const current = before.get(path);
    if (current && current.equals(content)) continue;
    const target = join(dir, ...path.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  for (const path of before.keys()) {
    if (after.has(path)) continue;
    rmSync(join(dir, ...path.split('/')), { force: true });
    let parent = dirname(path);
    while (parent !== '.' && parent !== '') {
      const full = join(dir, ...parent.split('/'));
      if (readdirSync(full).length) break;
      rmSync(full, { recursive: true, force: true });
      parent = dirname(parent);
    }
  }
}
