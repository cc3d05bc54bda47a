// Package merge: the entry point the controller and `pvctl merge` call. Pure and synchronous: three
// in-memory packages in, the upgraded local package and a conflict report out.
import { isUtf8 } from 'node:buffer';
import { Kptfile, KptfileError, readKptfile, removeSection } from '../kpt/kptfile.ts';
import { KPTFILE, type PackageFiles } from '../kpt/package.ts';
import { isKrmFile, isResourceFile, PackageError, parseResourceFile, type ResourceFile } from '../kpt/resources.ts';
import {
  cloneNode,
  fingerprint,
  getField,
  getIn,
  isMap,
  isSeq,
  scalarString,
  toPlain,
  type YNode,
} from '../kpt/yaml.ts';
import { mergeKptfiles } from './kptfile.ts';
import { markValid, parseUpstreamFile, validateLocalFile, validateLocalKptfile } from './cache.ts';
import {
  fileMergeKey,
  rememberedFileMerge,
  rememberFileMerge,
  type MemoContext,
  type MemoizedFileMerge,
} from './merge-memo.ts';
import { assertNoDuplicates, mergeResources } from './resources.ts';
import { krmignoreOf } from './ignore.ts';
import { SchemaRegistry } from './schema.ts';
import { planSubpackages, withoutSubpackages } from './subpackages.ts';
import {
  MergeConflictError,
  MergeError,
  type Conflict,
  type MergeInput,
  type MergeOptions,
  type MergeResult,
  type MergeStats,
} from './types.ts';

export * from './types.ts';
export { SchemaRegistry, schemaFromComment, type JsonSchema } from './schema.ts';
export { mergeKptfiles } from './kptfile.ts';
export { mergeModes, type ModesMergeOptions, type ModesMergeResult } from './modes.ts';

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
  const implementation = STRATEGY_IMPLEMENTATIONS[resolved.strategy];
  if (!implementation) throw new MergeError(`unrecognized update strategy "${resolved.strategy}"`);
  assertUtf8Kptfiles(input);
  let result: MergeResult;
  try {
    const plan = planSubpackages(input, resolved.strategy);
    result = implementation(withoutSubpackages(input, plan.handled), resolved);
    if (plan.handled.length) {
      const files = new Map([...result.files, ...plan.files]);
      result = finish(input.local, files, result.conflicts, result.stats);
    }
  } catch (e) {
    if (e instanceof PackageError) throw new MergeError(e.message, e.file, e.index);
    if (e instanceof KptfileError) throw new MergeError(e.message, e.file);
    throw e;
  }
  if (resolved.conflicts === 'fail' && result.conflicts.length) throw new MergeConflictError(result.conflicts);
  return result;
}

const STRATEGY_IMPLEMENTATIONS: Partial<Record<string, (input: MergeInput, options: Resolved) => MergeResult>> = {
  'resource-merge': resourceMerge,
  'fast-forward': fastForward,
  'force-delete-replace': forceDeleteReplace,
  'copy-merge': copyMerge,
};

// -----------------------------------------------------------------------------------------------
// Strategies

function resourceMerge(input: MergeInput, options: Resolved): MergeResult {
  const { local } = input;
  const conflicts: Conflict[] = [];
  const opaque = opaqueYamlFiles(input);
  const out: PackageFiles = new Map(local);

  const kptfile = mergeRootKptfile(input, !options.isRoot, options, conflicts);
  setOrDelete(out, KPTFILE, kptfile);

  const registry = SchemaRegistry.kubernetes();
  for (const crd of options.crds ?? []) registry.registerCrd(crd);
  // Without CRDs the schema is the same for every package, so a file's merge depends only on its
  // three versions: the result is remembered by their bytes (see merge-memo.ts).
  const memo =
    !options.crds?.length && !holdsCrd(input)
      ? { generation: options.generation, conflicts: options.conflicts }
      : undefined;
  const files = selectResourceFiles(input, opaque, memo);
  if (options.crdsFromPackages ?? true) {
    for (const file of files.crdSources) registerCrds(registry, file);
  }
  const stats = { merged: 0, added: 0, deleted: 0, unchanged: files.unchangedResources };
  const apply = (merged: MemoizedFileMerge) => {
    conflicts.push(...merged.conflicts);
    for (const key of ['merged', 'added', 'deleted', 'unchanged'] as const) stats[key] += merged.stats[key];
    for (const [path, text] of merged.changed) setOrDelete(out, path, text);
  };
  for (const hit of files.remembered) apply(hit);
  const paths = new Set([...files.original, ...files.updated, ...files.local].map((f) => f.path));
  for (const path of [...paths].sort()) {
    const only = (list: ResourceFile[]) => list.filter((f) => f.path === path);
    const merged = mergeResources(only(files.original), only(files.updated), only(files.local), {
      generation: options.generation,
      conflicts: options.conflicts,
      registry,
    });
    const result: MemoizedFileMerge = {
      changed: [...merged.changed],
      conflicts: merged.conflicts,
      stats: merged.stats,
    };
    const key = files.memoKeys.get(path);
    if (key) rememberFileMerge(key, result);
    apply(result);
  }
  for (const file of files.local) markValid(file.path, local.get(file.path)!, file.resources.length);

  mergeOtherFiles(input, opaque, out, conflicts, options);
  return finish(local, out, conflicts, stats);
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
  const [o, u, l] = [input.original, input.updated, input.local].map((files) => files.get(KPTFILE));
  if (!copyUpstream && l && (o && u ? o.equals(u) : !o && !u)) {
    // Upstream's Kptfile did not change: the merge keeps L's; only check that L's is valid.
    validateLocalKptfile(l);
    return l.toString('utf8');
  }
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

const isKptfilePath = (path: string) => path === KPTFILE || path.endsWith(`/${KPTFILE}`);

/** A Kptfile is always parsed, so one that is not UTF-8 is refused (decoding would change its bytes). */
function assertUtf8Kptfiles(input: MergeInput): void {
  for (const side of ['original', 'updated', 'local'] as const) {
    for (const [path, content] of input[side]) {
      if (isKptfilePath(path) && !isUtf8(content))
        throw new MergeError(`${side} ${path}: is not valid UTF-8 text`, path);
    }
  }
}

/** YAML files with a version that is not UTF-8: merged at file level like non-KRM files, never decoded. */
function opaqueYamlFiles({ original, updated, local }: MergeInput): Set<string> {
  const opaque = new Set<string>();
  for (const files of [original, updated, local]) {
    for (const [path, content] of files) if (isResourceFile(path) && !isUtf8(content)) opaque.add(path);
  }
  return opaque;
}

/** File-level three-way rules for files that are not KRM (kpt §2.8), and opaque YAML files; local edits win. */
function mergeOtherFiles(
  input: MergeInput,
  opaque: ReadonlySet<string>,
  out: PackageFiles,
  conflicts: Conflict[],
  options: Resolved,
): void {
  const { original, updated, local } = input;
  const isNestedKptfile = (path: string) => path.endsWith(`/${KPTFILE}`);
  const isOther = (path: string) => !isKrmFile(path) || isNestedKptfile(path) || opaque.has(path);
  for (const [path, mine] of local) {
    if (!isOther(path)) continue;
    const base = original.get(path);
    if (!base) continue;
    const theirs = updated.get(path);
    if (isNestedKptfile(path)) {
      // A subpackage present on all three sides: its Kptfile is merged like kpt merges a non-root one
      // (a Kptfile upstream removed from a directory it kept merges with none, as kpt: it stays).
      const merged = mergeKptfiles(base.toString('utf8'), theirs?.toString('utf8'), mine.toString('utf8'), {
        copyUpstream: true,
        conflicts: options.conflicts,
        file: path,
        onConflict: (c) => conflicts.push({ file: path, resource: 'Kptfile', ...c }),
      });
      setOrDelete(out, path, merged);
      continue;
    }
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

/**
 * Files whose content differs between O and L, as kpt's fast-forward check sees them: Kptfiles are
 * compared by content (not layout or comments) without `upstream`/`upstreamLock`; the root Kptfile
 * also without its name and render status, and, when the original has none, a local one that only
 * holds what `kpt pkg get` writes (apiVersion, kind, name, upstream, upstreamLock) is no change.
 */
function locallyModifiedFiles(original: PackageFiles, local: PackageFiles): string[] {
  const out: string[] = [];
  for (const path of [...new Set([...original.keys(), ...local.keys()])].sort()) {
    const a = original.get(path);
    const b = local.get(path);
    if (a && b && a.equals(b)) continue;
    const root = path === KPTFILE;
    if (isKptfilePath(path) && a && b && kptfileCore(a, path, root) === kptfileCore(b, path, root)) continue;
    if (root && !a && b && kptfileCore(b, path, true) === MINIMAL_KPTFILE_CORE) continue;
    out.push(path);
  }
  return out;
}

function kptfileCore(content: Buffer, path: string, root: boolean): string {
  const contents = cloneNode(readKptfile(content, path).contents);
  for (const key of ['upstream', 'upstreamLock']) contents.delete(key);
  if (root) {
    stripRenderStatus(contents);
    const metadata = getField(contents, 'metadata');
    if (isMap(metadata)) metadata.delete('name');
  }
  return fingerprint(contents, false);
}

/** The root core of the Kptfile `kpt pkg get` creates when the upstream has none (kpt's DefaultKptfile). */
const MINIMAL_KPTFILE_CORE = kptfileCore(
  Buffer.from('apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: x\n'),
  KPTFILE,
  true,
);

/**
 * Removes `status.renderStatus` and the `Rendered` condition, then an emptied `conditions` list and
 * an emptied (or already empty) `status`, as kpt's fast-forward does; returns whether anything changed.
 */
function stripRenderStatus(contents: YNode): boolean {
  const status = getField(contents, 'status');
  if (!isMap(status)) return false;
  let changed = status.delete('renderStatus');
  const conditions = getIn(status, ['conditions']);
  if (isSeq(conditions)) {
    const before = conditions.items.length;
    conditions.items = conditions.items.filter((c) => scalarString(getField(c, 'type')) !== 'Rendered');
    changed ||= conditions.items.length !== before;
    if (conditions.items.length === 0) changed = status.delete('conditions') || changed;
  }
  if (status.items.length === 0 && isMap(contents)) {
    removeSection(contents, 'status');
    changed = true;
  }
  return changed;
}

function registerCrds(registry: SchemaRegistry, file: ResourceFile): void {
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

interface SelectedFiles {
  /** Merges of files found in the memo (not parsed). */
  remembered: MemoizedFileMerge[];
  /** Memo keys of the files to merge, when the merge may be remembered. */
  memoKeys: Map<string, string>;
  original: ResourceFile[];
  updated: ResourceFile[];
  local: ResourceFile[];
  /** Parsed files that may hold CustomResourceDefinitions. */
  crdSources: ResourceFile[];
  /** Resources of local files the merge leaves alone. */
  unchangedResources: number;
}

/**
 * Resource identity includes the file path, so each path merges on its own. A path whose upstream
 * file did not change (O and U byte-identical), or whose local file equals the upstream one, keeps
 * the local file as it is: only its validity is checked (cached by content), nothing else is parsed.
 */
function selectResourceFiles(
  { original, updated, local }: MergeInput,
  opaque: ReadonlySet<string>,
  memo?: MemoContext,
): SelectedFiles {
  const selected: SelectedFiles = {
    remembered: [],
    memoKeys: new Map(),
    original: [],
    updated: [],
    local: [],
    crdSources: [],
    unchangedResources: 0,
  };
  const paths = new Set(
    [...original.keys(), ...updated.keys(), ...local.keys()].filter((p) => isResourceFile(p) && !opaque.has(p)),
  );
  // A file a side's .krmignore names is not read on that side (kpt's reader skips it). A local file
  // the local .krmignore names is never written (kpt would overwrite it with upstream's resources).
  const [ignoredO, ignoredU, ignoredL] = [original, updated, local].map(krmignoreOf);
  const unlessIgnored = (ignored: ((path: string) => boolean) | undefined, path: string, content?: Buffer) =>
    content && ignored?.(path) ? undefined : content;
  for (const path of [...paths].sort()) {
    const o = unlessIgnored(ignoredO, path, original.get(path));
    const u = unlessIgnored(ignoredU, path, updated.get(path));
    if (local.has(path) && ignoredL?.(path)) continue;
    const l = local.get(path);
    if (!o && !u && !l) continue;
    const upstreamUnchanged = o && u ? o.equals(u) : !o && !u;
    if (upstreamUnchanged || (l && u && l.equals(u))) {
      if (l) selected.unchangedResources += validateLocalFile(path, l, (file) => assertNoDuplicates(file));
      for (const content of [u ?? o, l]) {
        if (content && mayHoldCrd(content)) selected.crdSources.push(parseUpstreamFile(path, content, false));
      }
      continue;
    }
    if (memo) {
      const key = fileMergeKey(memo, path, o, u, l);
      const hit = rememberedFileMerge(key);
      if (hit) {
        selected.remembered.push(hit);
        continue;
      }
      selected.memoKeys.set(path, key);
    }
    const add = (list: ResourceFile[], content: Buffer | undefined, parse: (content: Buffer) => ResourceFile) => {
      if (!content) return;
      const file = parse(content);
      list.push(file);
      if (mayHoldCrd(content)) selected.crdSources.push(file);
    };
    add(selected.original, o, (c) => parseUpstreamFile(path, c, false));
    add(selected.updated, u, (c) => parseUpstreamFile(path, c, true));
    add(selected.local, l, (c) => parseResourceFile(path, c.toString('utf8')));
  }
  return selected;
}

const mayHoldCrd = (content: Buffer) => content.includes('CustomResourceDefinition');

function holdsCrd({ original, updated, local }: MergeInput): boolean {
  for (const files of [original, updated, local]) {
    for (const [path, content] of files) if (isResourceFile(path) && mayHoldCrd(content)) return true;
  }
  return false;
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
