// The three-way merge of what is not file content: executable bits, symlinks and gitlinks. Pure; it
// runs after mergePackages, on the merged files, and follows the non-KRM file rule (kpt §2.8): a
// side that did not change takes the other's; when both changed, local wins (copy-merge: upstream,
// unless the policy is local-wins; force-delete-replace and fast-forward: upstream's modes).
import type { PackageFiles, PackageModes, SpecialEntry } from '../kpt/package.ts';
import { MergeConflictError, MergeError, type Conflict, type ConflictPolicy, type Strategy } from './types.ts';

export interface ModesMergeOptions {
  /** The strategy the files were merged with; default `resource-merge`. */
  strategy?: Strategy;
  conflicts?: ConflictPolicy;
}

export interface ModesMergeResult {
  modes: PackageModes;
  /** `result` without the paths a symlink or gitlink took (a copy). */
  files: PackageFiles;
  /** Modes both sides changed differently (`field: '(mode)'`), and entries that clash with files (`'(type)'`). */
  conflicts: Conflict[];
}

/**
 * Merges the modes of `original`, `updated` and `local` per path, for `result` (the merged files).
 * An executable bit is kept only for a regular file of `result`. A symlink or gitlink takes its path
 * from `files`; where files of `result` lie at or below it, the winning side of the conflict keeps
 * its own (the entry, or the files), and the clash is reported.
 */
export function mergeModes(
  original: PackageModes,
  updated: PackageModes,
  local: PackageModes,
  result: PackageFiles,
  options: ModesMergeOptions = {},
): ModesMergeResult {
  const strategy = options.strategy ?? 'resource-merge';
  const upstreamOnly = strategy === 'force-delete-replace' || strategy === 'fast-forward';
  const localWins = strategy === 'resource-merge' || options.conflicts === 'local-wins';
  const winner = localWins ? 'local' : 'upstream';
  const paths = [...new Set([...original.keys(), ...updated.keys(), ...local.keys()])].sort();
  if (strategy === 'fast-forward') {
    const modified = paths.filter((p) => !same(original.get(p), local.get(p)));
    if (modified.length) {
      throw new MergeError(
        `local package modes have been modified: [${modified.join(' ')}].\n  use a different update --strategy.`,
      );
    }
  }

  const conflicts: Conflict[] = [];
  const picked = new Map<string, { entry: SpecialEntry; local: boolean }>();
  for (const path of paths) {
    const [o, u, l] = [original.get(path), updated.get(path), local.get(path)];
    let fromLocal: boolean;
    if (upstreamOnly || same(l, o)) fromLocal = false;
    else if (same(u, o) || same(u, l)) fromLocal = true;
    else {
      conflicts.push({
        file: path,
        resource: '(file)',
        field: '(mode)',
        ...described({ original: o, updated: u, local: l }),
        winner,
      });
      fromLocal = localWins;
    }
    const entry = fromLocal ? l : u;
    if (entry) picked.set(path, { entry, local: fromLocal });
  }

  const files: PackageFiles = new Map(result);
  const modes: PackageModes = new Map();
  const dropped = new Set<string>();
  for (const [path, { entry, local: fromLocal }] of picked) {
    if (entry.kind === 'executable' || dropped.has(path)) continue;
    const below = (p: string) => p === path || p.startsWith(`${path}/`);
    const clashingFiles = [...files.keys()].filter(below);
    const clashingEntries = [...picked].filter(([p, e]) => p !== path && below(p) && e.entry.kind !== 'executable');
    if (clashingFiles.length === 0 && clashingEntries.length === 0) {
      modes.set(path, entry);
      continue;
    }
    // What clashes came from the other side: local's entry faces upstream's files, and the reverse.
    const entryWins = fromLocal === localWins;
    const entrySide = describe(entry);
    const otherSide = clashingFiles.includes(path) ? 'file' : 'directory';
    conflicts.push({
      file: path,
      resource: '(file)',
      field: '(type)',
      updated: fromLocal ? otherSide : entrySide,
      local: fromLocal ? entrySide : otherSide,
      winner,
    });
    if (!entryWins) continue;
    for (const p of clashingFiles) files.delete(p);
    for (const [p] of clashingEntries) dropped.add(p);
    modes.set(path, entry);
  }
  for (const [path, { entry }] of picked) if (entry.kind === 'executable' && files.has(path)) modes.set(path, entry);
  if (options.conflicts === 'fail' && conflicts.length) throw new MergeConflictError(conflicts);
  return { modes: new Map([...modes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), files, conflicts };
}

function same(a: SpecialEntry | undefined, b: SpecialEntry | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.kind === 'symlink') return b.kind === 'symlink' && a.target.equals(b.target);
  if (a.kind === 'gitlink') return b.kind === 'gitlink' && a.commit === b.commit;
  return a.kind === b.kind;
}

/** A mode as git lists it: `100755`, `120000 -> target`, `160000 <commit>`. */
function describe(entry: SpecialEntry): string {
  if (entry.kind === 'executable') return '100755';
  if (entry.kind === 'symlink') return `120000 -> ${entry.target.toString('utf8')}`;
  return `160000 ${entry.commit}`;
}

function described(sides: Record<'original' | 'updated' | 'local', SpecialEntry | undefined>) {
  const out: Partial<Record<'original' | 'updated' | 'local', string>> = {};
  for (const [side, entry] of Object.entries(sides) as Array<[keyof typeof sides, SpecialEntry | undefined]>) {
    if (entry) out[side] = describe(entry);
  }
  return out;
}
