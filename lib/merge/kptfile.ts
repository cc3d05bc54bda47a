// The Kptfile merge (kpt §2.6): strict decoding, temporary `_kpt-merge_<key>` function names when no
// function is named, a three-way merge with `name`-keyed list inference, and a copy of only the
// sections kpt copies (metadata.annotations/labels, info, pipeline, inventory, status) into L.
// Unlike kpt, L's comments and layout survive: sections that do not change are not rewritten.
import { Kptfile, KptfileError, insertSection, removeSection } from '../kpt/kptfile.ts';
import {
  cloneNode,
  deleteField,
  ensureMap,
  fingerprint,
  getField,
  getIn,
  isMap,
  isSeq,
  Scalar,
  scalarString,
  setField,
  type YAMLMap,
  type YNode,
} from '../kpt/yaml.ts';
import { mergeNodes, type FieldConflict } from './merge3.ts';
import { SchemaRegistry } from './schema.ts';
import { MergeError, type ConflictPolicy } from './types.ts';

const SYNTHETIC_PREFIX = '_kpt-merge_';
const PIPELINE_LISTS = ['mutators', 'validators'];
const COPIED_SECTIONS: string[][] = [
  ['metadata', 'annotations'],
  ['metadata', 'labels'],
  ['info'],
  ['pipeline'],
  ['inventory'],
  ['status'],
];

export interface KptfileMergeOptions {
  /** Replace L's `upstream`/`upstreamLock` with U's (each only when U has it). */
  copyUpstream: boolean;
  conflicts: ConflictPolicy;
  onConflict?: (conflict: FieldConflict) => void;
  file?: string;
}

/**
 * Three-way merge of Kptfile texts (`undefined` = no Kptfile). Returns the new local text, or
 * `undefined` when no side has a Kptfile. When nothing changes, L's text is returned as it was.
 */
export function mergeKptfiles(
  original: string | undefined,
  updated: string | undefined,
  local: string | undefined,
  options: KptfileMergeOptions,
): string | undefined {
  const file = options.file ?? 'Kptfile';
  const parse = (text: string | undefined, side: string) => {
    if (text === undefined) return undefined;
    try {
      return Kptfile.parse(text, file);
    } catch (e) {
      if (e instanceof KptfileError) throw new MergeError(`${side} ${e.message}`, file);
      throw e;
    }
  };
  const o = parse(original, 'original');
  const u = parse(updated, 'updated');
  let l = parse(local, 'local');
  if (!l && !u) return local;
  if (!l) l = Kptfile.create((u ?? o)?.name ?? 'package', { localConfig: false });

  const [lc, oc, uc] = [l.contents, o?.contents, u?.contents].map((c) => (c ? cloneNode(c) : undefined));
  if (shouldAddSyntheticNames([lc, oc, uc])) for (const c of [lc, oc, uc]) addSyntheticNames(c);
  const merged = mergeNodes(lc, oc, uc, undefined, {
    generation: 'B',
    registry: new SchemaRegistry(),
    inferAssociativeLists: true,
    conflicts: options.conflicts,
    ...(options.onConflict ? { onConflict: options.onConflict } : {}),
  });
  removeSyntheticNames(merged);

  const target = l.contents;
  const before = fingerprint(target, true);
  for (const path of COPIED_SECTIONS) copySection(target, merged, path);
  if (options.copyUpstream && u) {
    for (const section of ['upstream', 'upstreamLock']) {
      const value = getField(u.contents, section);
      if (value !== undefined && fingerprint(value, true) !== fingerprint(getField(target, section), true)) {
        insertSection(target, section, cloneNode(value));
      }
    }
  }
  if (local !== undefined && fingerprint(target, true) === before) return local;
  return l.toString();
}

function copySection(target: YAMLMap, merged: YNode | undefined, path: string[]): void {
  const value = getIn(merged, path);
  const current = getIn(target, path);
  if (fingerprint(value, true) === fingerprint(current, true)) return;
  const parentPath = path.slice(0, -1);
  const key = path[path.length - 1]!;
  if (value === undefined) {
    const parent = parentPath.length ? getIn(target, parentPath) : target;
    if (isMap(parent)) {
      if (parentPath.length) deleteField(parent, key);
      else removeSection(parent, key);
    }
    return;
  }
  if (parentPath.length) setField(ensureMap(target, parentPath), key, value);
  else insertSection(target, key, value);
}

function functionKey(fn: YNode): string {
  const exec = scalarString(getField(fn, 'exec'));
  if (exec) return exec;
  const image = scalarString(getField(fn, 'image')) ?? '';
  const colon = image.indexOf(':');
  return colon === -1 ? image : image.slice(0, colon);
}

function pipelineLists(contents: YNode | undefined): YNode[][] {
  const out: YNode[][] = [];
  for (const name of PIPELINE_LISTS) {
    const list = getIn(contents, ['pipeline', name]);
    if (isSeq(list)) out.push(list.items as YNode[]);
  }
  return out;
}

/** kpt adds synthetic names only when no function anywhere is named and no list repeats a key. */
function shouldAddSyntheticNames(sources: Array<YNode | undefined>): boolean {
  for (const source of sources) {
    for (const list of pipelineLists(source)) {
      const seen = new Set<string>();
      for (const fn of list) {
        if (getField(fn, 'name') !== undefined) return false;
        const key = functionKey(fn);
        if (seen.has(key)) return false;
        seen.add(key);
      }
    }
  }
  return true;
}

function addSyntheticNames(contents: YNode | undefined): void {
  for (const list of pipelineLists(contents)) {
    for (const fn of list) if (isMap(fn)) setField(fn, 'name', new Scalar(`${SYNTHETIC_PREFIX}${functionKey(fn)}`));
  }
}

function removeSyntheticNames(contents: YNode | undefined): void {
  for (const list of pipelineLists(contents)) {
    for (const fn of list) {
      if (isMap(fn) && scalarString(getField(fn, 'name'))?.startsWith(SYNTHETIC_PREFIX)) deleteField(fn, 'name');
    }
  }
}
