// Subpackages as units (kpt's updater, pkg/lib/update): a directory below the root that holds a
// Kptfile on any side is a subpackage; what happens to it as a whole is decided before the files
// are merged. A *local* subpackage (its Kptfile has no upstream) present on all three sides merges
// with the package; a *remote* one (its Kptfile has `upstream.git`) follows its own upstream, so the
// merge leaves it exactly as the local package has it.
import { readKptfile } from '../kpt/kptfile.ts';
import { KPTFILE, type PackageFiles } from '../kpt/package.ts';
import { cloneNode, fingerprint } from '../kpt/yaml.ts';
import { MergeError, type MergeInput, type Strategy } from './types.ts';

export interface SubpackagePlan {
  /** Subpackage directories taken out of the file merge (their paths are decided here). */
  handled: string[];
  /** Files the plan puts into the result: the local ones of kept subpackages, upstream's of added ones. */
  files: PackageFiles;
}

const dirOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
const under = (dir: string) => (path: string) => path.startsWith(`${dir}/`);

function subpackageDirs(input: MergeInput): string[] {
  const dirs = new Set<string>();
  for (const files of [input.original, input.updated, input.local]) {
    for (const path of files.keys()) if (path.endsWith(`/${KPTFILE}`)) dirs.add(dirOf(path));
  }
  // outermost first; a subpackage inside a handled one goes with it
  return [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : a > b ? 1 : 0));
}

function isRemote(content: Buffer | undefined, path: string): boolean {
  if (!content) return false;
  try {
    return readKptfile(content, path).upstream?.git !== undefined;
  } catch {
    return false; // the file merge reports a broken Kptfile
  }
}

/** kpt's PkgDiff: the same files, Kptfiles equal without upstream/upstreamLock, other files byte for byte. */
function unchanged(dir: string, original: PackageFiles, local: PackageFiles): boolean {
  const inDir = under(dir);
  const o = [...original.keys()].filter(inDir).sort();
  const l = [...local.keys()].filter(inDir).sort();
  if (o.join('\0') !== l.join('\0')) return false;
  return o.every((path) => {
    const a = original.get(path)!;
    const b = local.get(path)!;
    if (a.equals(b)) return true;
    if (!path.endsWith(`/${KPTFILE}`)) return false;
    const core = (c: Buffer) => {
      const contents = cloneNode(readKptfile(c, path).contents);
      contents.delete('upstream');
      contents.delete('upstreamLock');
      return fingerprint(contents, false);
    };
    return core(a) === core(b);
  });
}

/**
 * Decides each subpackage as kpt's updater does. resource-merge: added on both sides → error;
 * added upstream → upstream's; added locally or kept → local's; deleted locally → stays deleted;
 * deleted upstream → removed when unchanged locally, else kept; on all sides → merged (local
 * subpackage) or left alone (remote). Other strategies only leave a local remote subpackage alone.
 */
export function planSubpackages(input: MergeInput, strategy: Strategy): SubpackagePlan {
  const { original, updated, local } = input;
  const plan: SubpackagePlan = { handled: [], files: new Map() };
  const keepLocal = (dir: string) => {
    for (const [path, content] of local) if (under(dir)(path)) plan.files.set(path, content);
  };
  for (const dir of subpackageDirs(input)) {
    if (plan.handled.some((h) => under(h)(dir))) continue;
    const kptfile = `${dir}/${KPTFILE}`;
    const remote = isRemote(local.get(kptfile) ?? updated.get(kptfile) ?? original.get(kptfile), kptfile);
    const exists = (files: PackageFiles) => [...files.keys()].some(under(dir));
    const [o, u, l] = [original, updated, local].map(exists);
    if (strategy !== 'resource-merge') {
      if (remote && l) {
        plan.handled.push(dir);
        keepLocal(dir);
      }
      continue;
    }
    if (o && u && l && !remote) continue; // merged with the package
    if (!o && u && l) throw new MergeError(`subpackage "${dir}" added in both upstream and local`, kptfile);
    plan.handled.push(dir);
    if (!o && u && !l) {
      for (const [path, content] of updated) if (under(dir)(path)) plan.files.set(path, content);
    } else if (l && !(o && !u && unchanged(dir, original, local))) keepLocal(dir);
  }
  return plan;
}

/** `input` without the paths of the handled subpackages. */
export function withoutSubpackages(input: MergeInput, handled: string[]): MergeInput {
  if (!handled.length) return input;
  const keep = (files: PackageFiles) =>
    new Map([...files].filter(([path]) => !handled.some((dir) => under(dir)(path))));
  return { original: keep(input.original), updated: keep(input.updated), local: keep(input.local) };
}
