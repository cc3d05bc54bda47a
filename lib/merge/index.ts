// Package merge: the entry point the controller and `pvctl merge` call. Pure and synchronous: three
// in-memory packages in, the upgraded local package and a conflict report out.
import { Kptfile } from '../kpt/kptfile.ts';
import { KPTFILE, type PackageFiles } from '../kpt/package.ts';
import { isKrmFile, PackageError, parsePackageResources, type ResourceFile } from '../kpt/resources.ts';
import { fingerprint, getField, getIn, isMap, isSeq, scalarString, toPlain, type YNode } from '../kpt/yaml.ts';
import { mergeKptfiles } from './kptfile.ts';
import { mergeResources } from './resources.ts';
import { SchemaRegistry } from './schema.ts';
import {
  MergeConflictError,
  MergeError,
  type Conflict,
  type MergeInput,
  type MergeOptions,
  type MergeResult,
  type MergeStats,
  type Strategy,
} from './types.ts';

export * from './types.ts';
export { SchemaRegistry, schemaFromComment, type JsonSchema } from './schema.ts';
export { mergeKptfiles } from './kptfile.ts';

type Resolved = Required<Pick<MergeOptions, 'strategy' | 'conflicts' | 'generation' | 'isRoot'>> & MergeOptions;

/**
 * Three-way merge of packages: `original` (the upstream at the fork point), `updated` (the new
 * upstream) and `local` (the downstream). Inputs are not modified. Throws {@link MergeError} for
 * bad input (naming file and document) and {@link MergeConflictError} under the `fail` policy.
 */
export function mergePackages(input: MergeInput, options: MergeOptions = {}): MergeResult {
  const resolved: Resolved = {
    ...options,
    strategy: options.strategy ?? 'resource-merge',
    conflicts: options.conflicts ?? 'upstream-wins',
    generation: options.generation ?? 'B',
    isRoot: options.isRoot ?? true,
  };
  let result: MergeResult;
  try {
    result = STRATEGY_IMPLEMENTATIONS[resolved.strategy](input, resolved);
  } catch (e) {
    if (e instanceof PackageError) throw new MergeError(e.message, e.file, e.index);
    throw e;
  }
  if (resolved.conflicts === 'fail' && result.conflicts.length) throw new MergeConflictError(result.conflicts);
  return result;
}

const STRATEGY_IMPLEMENTATIONS: Record<Strategy, (input: MergeInput, options: Resolved) => MergeResult> = {
  'resource-merge': resourceMerge,
  'fast-forward': fastForward,
  'force-delete-replace': forceDeleteReplace,
  'copy-merge': copyMerge,
};

// -----------------------------------------------------------------------------------------------
// Strategies

function resourceMerge(input: MergeInput, options: Resolved): MergeResult {
  const { original, updated, local } = input;
  const conflicts: Conflict[] = [];
  const out: PackageFiles = new Map(local);

  const kptfile = mergeRootKptfile(input, !options.isRoot, options, conflicts);
  setOrDelete(out, KPTFILE, kptfile);

  const registry = SchemaRegistry.kubernetes();
  const originalResources = parsePackageResources(original, { requireKind: false });
  const updatedResources = parsePackageResources(updated);
  const localResources = parsePackageResources(local);
  for (const crd of options.crds ?? []) registry.registerCrd(crd);
  if (options.crdsFromPackages ?? true) {
    for (const files of [originalResources, updatedResources, localResources]) registerCrds(registry, files);
  }
  const resources = mergeResources(originalResources, updatedResources, localResources, {
    generation: options.generation,
    conflicts: options.conflicts,
    registry,
  });
  conflicts.push(...resources.conflicts);
  for (const [path, text] of resources.changed) setOrDelete(out, path, text);

  mergeOtherFiles(input, out, conflicts);
  return finish(local, out, conflicts, resources.stats);
}

function fastForward(input: MergeInput, options: Resolved): MergeResult {
  const modified = locallyModifiedFiles(input.original, input.local);
  if (modified.length) {
    throw new MergeError(
      `local package files have been modified: [${modified.join(' ')}].\n  use a different update --strategy.`,
    );
  }
  const result = forceDeleteReplace(input, options);
  const kptfile = result.files.get(KPTFILE);
  if (kptfile) {
    const parsed = Kptfile.parse(kptfile);
    if (stripRenderStatus(parsed.contents)) result.files.set(KPTFILE, Buffer.from(parsed.toString(), 'utf8'));
  }
  return result;
}

function forceDeleteReplace(input: MergeInput, options: Resolved): MergeResult {
  const conflicts: Conflict[] = [];
  const out: PackageFiles = new Map();
  for (const [path, content] of input.updated) if (path !== KPTFILE) out.set(path, content);
  setOrDelete(out, KPTFILE, mergeRootKptfile(input, true, options, conflicts));
  return finish(input.local, out, conflicts);
}

function copyMerge(input: MergeInput, options: Resolved): MergeResult {
  const { original, updated, local } = input;
  const conflicts: Conflict[] = [];
  const out: PackageFiles = new Map(local);
  for (const [path, content] of updated) {
    if (path === KPTFILE) continue;
    const mine = local.get(path);
    const base = original.get(path);
    if (mine && base && !mine.equals(base) && !content.equals(base) && !content.equals(mine)) {
      const winner = options.conflicts === 'local-wins' ? 'local' : 'upstream';
      conflicts.push(fileConflict(path, winner));
      if (winner === 'local') continue;
    }
    out.set(path, content);
  }
  for (const path of original.keys()) if (path !== KPTFILE && !updated.has(path)) out.delete(path);
  setOrDelete(out, KPTFILE, mergeRootKptfile(input, true, options, conflicts));
  return finish(local, out, conflicts);
}

// -----------------------------------------------------------------------------------------------
// Pieces

function mergeRootKptfile(
  input: MergeInput,
  copyUpstream: boolean,
  options: Resolved,
  conflicts: Conflict[],
): string | undefined {
  const text = (files: PackageFiles) => files.get(KPTFILE)?.toString('utf8');
  const local = text(input.local);
  const localName = local === undefined ? undefined : safeName(local);
  return mergeKptfiles(text(input.original), text(input.updated), local, {
    copyUpstream,
    conflicts: options.conflicts,
    onConflict: (c) => conflicts.push({ file: KPTFILE, resource: `Kptfile ${localName ?? ''}`.trim(), ...c }),
  });
}

function safeName(text: string): string | undefined {
  try {
    return Kptfile.parse(text).name;
  } catch {
    return undefined;
  }
}

/** File-level three-way rules for files that are not KRM (kpt §2.8); local edits win. */
function mergeOtherFiles(input: MergeInput, out: PackageFiles, conflicts: Conflict[]): void {
  const { original, updated, local } = input;
  const isOther = (path: string) => !isKrmFile(path) || (path !== KPTFILE && path.endsWith(`/${KPTFILE}`));
  for (const [path, mine] of local) {
    if (!isOther(path)) continue;
    const base = original.get(path);
    if (!base) continue;
    const theirs = updated.get(path);
    if (!mine.equals(base)) {
      if (theirs && !theirs.equals(base) && !theirs.equals(mine)) conflicts.push(fileConflict(path, 'local'));
      continue;
    }
    if (!theirs) out.delete(path);
    else out.set(path, theirs);
  }
  for (const [path, theirs] of updated) {
    if (isOther(path) && !local.has(path)) out.set(path, theirs);
  }
}

function fileConflict(path: string, winner: 'upstream' | 'local'): Conflict {
  return { file: path, resource: '(file)', field: '(content)', updated: 'modified', local: 'modified', winner };
}

/** Files whose content differs between O and L; the root Kptfile only for more than upstream/lock/render status. */
function locallyModifiedFiles(original: PackageFiles, local: PackageFiles): string[] {
  const out: string[] = [];
  for (const path of [...new Set([...original.keys(), ...local.keys()])].sort()) {
    const a = original.get(path);
    const b = local.get(path);
    if (a && b && a.equals(b)) continue;
    if (path === KPTFILE && a && b && kptfileCore(a) === kptfileCore(b)) continue;
    out.push(path);
  }
  return out;
}

function kptfileCore(content: Buffer): string {
  const kptfile = Kptfile.parse(content);
  const contents = kptfile.contents.clone() as YNode & typeof kptfile.contents;
  for (const key of ['upstream', 'upstreamLock']) contents.delete(key);
  stripRenderStatus(contents);
  return fingerprint(contents, false);
}

/** Removes `status.renderStatus` and the `Rendered` condition; returns whether anything changed. */
function stripRenderStatus(contents: YNode): boolean {
  const status = getField(contents, 'status');
  if (!isMap(status)) return false;
  let changed = status.delete('renderStatus');
  const conditions = getIn(status, ['conditions']);
  if (isSeq(conditions)) {
    const before = conditions.items.length;
    conditions.items = conditions.items.filter((c) => scalarString(getField(c, 'type')) !== 'Rendered');
    changed ||= conditions.items.length !== before;
  }
  return changed;
}

function registerCrds(registry: SchemaRegistry, files: ResourceFile[]): void {
  for (const file of files) {
    for (const resource of file.resources) {
      const contents = resource.doc.contents;
      const apiVersion = scalarString(getField(contents, 'apiVersion')) ?? '';
      if (
        scalarString(getField(contents, 'kind')) === 'CustomResourceDefinition' &&
        apiVersion.startsWith('apiextensions.k8s.io/')
      ) {
        registry.registerCrd(toPlain(contents));
      }
    }
  }
}

function setOrDelete(files: PackageFiles, path: string, text: string | null | undefined): void {
  if (text === null || text === undefined) {
    files.delete(path);
    return;
  }
  const current = files.get(path);
  if (current && current.toString('utf8') === text) return;
  files.set(path, Buffer.from(text, 'utf8'));
}

function finish(
  local: PackageFiles,
  out: PackageFiles,
  conflicts: Conflict[],
  resourceStats: Omit<MergeStats, 'filesChanged'> = { merged: 0, added: 0, deleted: 0, unchanged: 0 },
): MergeResult {
  let filesChanged = 0;
  for (const path of new Set([...local.keys(), ...out.keys()])) {
    const a = local.get(path);
    const b = out.get(path);
    if (!a || !b || !a.equals(b)) filesChanged++;
  }
  const sorted: PackageFiles = new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { files: sorted, conflicts, stats: { ...resourceStats, filesChanged } };
}
