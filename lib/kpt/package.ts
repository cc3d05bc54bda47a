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
