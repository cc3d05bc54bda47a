// `.krmignore` for the merge: which YAML files of one side are not read as resources. kpt reads each
// package (the root, and every directory with a Kptfile) with its own reader, which honours that
// package's `.krmignore`; so a path is matched against the `.krmignore` of the nearest package
// directory above it, relative to that directory. Each side (original, updated, local) uses its
// own `.krmignore` files, as kpt reads the three directories separately.
import { isUtf8 } from 'node:buffer';
import { isIgnored, parseKrmignore, type Ignore } from '../fn/krmignore.ts';
import { KPTFILE, type PackageFiles } from '../kpt/package.ts';

export const KRMIGNORE = '.krmignore';

const dirOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');

/** A predicate for the paths of `files` that kpt's package reader skips; `undefined` when nothing is ignored. */
export function krmignoreOf(files: PackageFiles): ((path: string) => boolean) | undefined {
  const ignores = new Map<string, Ignore>();
  for (const [path, content] of files) {
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (base !== KRMIGNORE || !isUtf8(content)) continue;
    const dir = dirOf(path);
    // Only a package's own .krmignore counts: the root's, or one next to a Kptfile.
    if (dir && !files.has(`${dir}/${KPTFILE}`)) continue;
    ignores.set(dir, parseKrmignore(content.toString('utf8')));
  }
  if (ignores.size === 0) return undefined;
  const packageDirs = new Set(['', ...[...files.keys()].filter((p) => p.endsWith(`/${KPTFILE}`)).map(dirOf)]);
  return (path) => {
    let dir = dirOf(path);
    while (dir && !packageDirs.has(dir)) dir = dirOf(dir);
    const ignore = ignores.get(dir);
    if (!ignore) return false;
    const rel = dir ? path.slice(dir.length + 1) : path;
    return rel !== KPTFILE && isIgnored(ignore, rel);
  };
}
