// The ResourceList a function sees, built the way kpt builds it: every item carries the
// `config.kubernetes.io/{path,index}` and `internal.config.kubernetes.io/{path,index,seqindent,id}`
// annotations (plus `config.k8s.io/id` and kpt's `internal.config.kubernetes.io/package-path`);
// after the function, paths and indexes are read back, the ids match outputs to inputs and every one
// of these annotations is removed again.
import { Document, Pair, Scalar, YAMLMap, YAMLSeq, isMap, isScalar, isSeq, type Node as YNode } from 'yaml';
import { cloneNode, getField, getIn, parseDocuments, scalarString, setField } from '../kpt/yaml.ts';
import { annotationsOf, kindOf, nameOf, namespaceOf } from './krm.ts';
import { ownNode, type ParsedResource } from './parsed-files.ts';
import type { ResourceList, ResultItem, Severity } from './types.ts';

export const ANNOTATIONS = {
  legacyIndex: 'config.kubernetes.io/index',
  legacyPath: 'config.kubernetes.io/path',
  index: 'internal.config.kubernetes.io/index',
  path: 'internal.config.kubernetes.io/path',
  seqIndent: 'internal.config.kubernetes.io/seqindent',
  id: 'internal.config.kubernetes.io/id',
  legacyId: 'config.k8s.io/id',
  packagePath: 'internal.config.kubernetes.io/package-path',
  migrationId: 'internal.config.kubernetes.io/annotations-migration-resource-id',
} as const;
const ALL_ANNOTATIONS: readonly string[] = Object.values(ANNOTATIONS);

/** Where a resource came from in the package as read (for writing unchanged documents back byte for byte). */
export interface Origin extends ParsedResource {
  file: string;
  index: number;
}

/** A resource in the render pipeline: its node (without the annotations above) and where it lives. */
export interface Item {
  node: YAMLMap;
  /** Directory of the package the resource belongs to, relative to the root package ('' for the root). */
  pkg: string;
  /** File path relative to {@link pkg}. */
  path: string;
  index: number;
  seqIndent: 'compact' | 'wide';
  origin?: Origin;
}

export class FunctionContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FunctionContractError';
  }
}

const quoted = (value: string) => {
  const s = new Scalar(value);
  s.type = Scalar.QUOTE_SINGLE;
  return s;
};

/**
 * How a function call gets its items: `text` when they are only written out as YAML (exec, wasm,
 * container): copies of the three maps on the way to the annotations, the rest shared with the
 * pipeline; `in-place` for a mutator run in process: the pipeline's own nodes (a failed function
 * fails the whole render, which then keeps the input files, so nothing is lost); `copy` for a
 * validator run in process: deep copies, since what it changes must not reach the pipeline.
 */
export type CallMode = 'text' | 'in-place' | 'copy';

/** Whether a node had a `metadata` map with an `annotations` map before kpt's annotations were added. */
export interface Shape {
  metadata: boolean;
  annotations: boolean;
}

function shapeOf(node: YAMLMap | undefined): Shape {
  return {
    metadata: node !== undefined && isMap(getField(node, 'metadata')),
    annotations: node !== undefined && isMap(getIn(node, ['metadata', 'annotations'])),
  };
}

/** `items` with kpt's annotations, for one function call; ids are 1-based positions; `before[i]` is item i's shape before. */
export function annotateForCall(items: Item[], mode: CallMode): { nodes: YAMLMap[]; before: Shape[] } {
  const before = items.map((item) => shapeOf(item.node));
  const nodes = items.map((item, i) => {
    if (mode === 'in-place') item.node = ownNode(item.node);
    const node = mode === 'text' ? copyOf(item.node) : mode === 'copy' ? cloneNode(item.node) : item.node;
    const metadata = copiedChild(node, 'metadata', mode === 'text');
    const annotations = copiedChild(metadata, 'annotations', mode === 'text');
    const set = (key: string, value: string) => setField(annotations, key, quoted(value));
    set(ANNOTATIONS.legacyIndex, String(item.index));
    set(ANNOTATIONS.legacyPath, item.path);
    set(ANNOTATIONS.index, String(item.index));
    set(ANNOTATIONS.path, item.path);
    set(ANNOTATIONS.seqIndent, item.seqIndent);
    set(ANNOTATIONS.id, String(i + 1));
    set(ANNOTATIONS.legacyId, String(i + 1));
    set(ANNOTATIONS.packagePath, item.pkg === '' ? '.' : item.pkg);
    return node;
  });
  return { nodes, before };
}

/** A map sharing `map`'s key and value nodes, with its own list of pairs (so a set on it changes only it). */
function copyOf(map: YAMLMap): YAMLMap {
  const copy = Object.assign(new YAMLMap(map.schema), map); // as cloneNode does: copying descriptors is slow
  copy.items = map.items.map((p) => new Pair(p.key, p.value));
  return copy;
}

/** The map under `key` of `parent` (a new one when it has none); with `copy`, a copy put in its place. */
function copiedChild(parent: YAMLMap, key: string, copy: boolean): YAMLMap {
  const child = getField(parent, key);
  const map = isMap(child) ? (copy ? copyOf(child) : child) : new YAMLMap();
  if (map !== child) setField(parent, key, map);
  return map;
}

function stripped(node: YAMLMap, before: Shape): YAMLMap {
  stripAnnotations(node, before);
  return node;
}

/** Removes kpt's annotations from a node; empty `annotations` / `metadata` maps that were not there before go too. */
function stripAnnotations(node: YAMLMap, before: Shape): void {
  const metadata = getField(node, 'metadata');
  if (!isMap(metadata)) return;
  const annotations = getField(metadata, 'annotations');
  if (!isMap(annotations)) return;
  annotations.items = annotations.items.filter((p) => !ALL_ANNOTATIONS.includes(scalarString(p.key) ?? ''));
  if (annotations.items.length === 0 && !before.annotations) {
    metadata.items = metadata.items.filter((p) => scalarString(p.key) !== 'annotations');
    if (metadata.items.length === 0 && !before.metadata) {
      node.items = node.items.filter((p) => scalarString(p.key) !== 'metadata');
    }
  }
}

/**
 * Turns a function's output nodes back into pipeline items: outputs are matched to inputs by id,
 * the (possibly changed) path and index annotations are read, kpt's annotations removed.
 * `serialized`: the output came through YAML text (exec, wasm, container); it is then laid onto a
 * copy of the input node so unchanged parts keep their comments and layout.
 * New resources without a path get kpt's default `<namespace>/<kind>_<name>.yaml` in package `pkg`.
 * `before`: the input items' shapes before the call (from {@link annotateForCall}).
 * `unchanged`: output nodes that are the very nodes given to the function, untouched by it; their
 * input item's node is taken as it is.
 */
export function collectOutput(
  input: Item[],
  output: YAMLMap[],
  pkg: string,
  serialized: boolean,
  before: readonly Shape[],
  unchanged?: ReadonlySet<YAMLMap>,
): { item: Item; source?: number }[] {
  const items: { item: Item; source?: number }[] = [];
  const usedIds = new Set<number>();
  for (const node of output) {
    if (!isMap(node)) throw new FunctionContractError('output items must be KRM resources (YAML maps)');
    const a = annotationsOf(node);
    const idText = a[ANNOTATIONS.id] ?? a[ANNOTATIONS.legacyId];
    const id = idText !== undefined && /^\d+$/.test(idText) ? Number(idText) : undefined;
    const from = id !== undefined && !usedIds.has(id) ? input[id - 1] : undefined;
    if (from && id !== undefined) usedIds.add(id);
    const path = changed(a[ANNOTATIONS.path], a[ANNOTATIONS.legacyPath], from?.path);
    const indexText = changed(a[ANNOTATIONS.index], a[ANNOTATIONS.legacyIndex], from ? String(from.index) : undefined);
    const packagePath = a[ANNOTATIONS.packagePath];
    const seqIndent = a[ANNOTATIONS.seqIndent] === 'wide' ? 'wide' : 'compact';
    const shape = from && id !== undefined ? before[id - 1]! : shapeOf(undefined);
    const result =
      from && unchanged?.has(node)
        ? from.node
        : from && serialized
          ? patchNode(cloneNode(from.node), stripped(node, shape))
          : stripped(node, shape);
    const item: Item = {
      node: result as YAMLMap,
      pkg: from?.pkg ?? (packagePath !== undefined && packagePath !== '.' ? packagePath : pkg),
      path: path ?? '',
      index: indexText !== undefined && /^\d+$/.test(indexText) ? Number(indexText) : -1,
      seqIndent: from?.seqIndent ?? seqIndent,
      ...(from?.origin ? { origin: from.origin } : {}),
    };
    items.push(from && id !== undefined ? { item, source: id - 1 } : { item });
  }
  assignDefaultPaths(items.map((i) => i.item));
  return items;
}

/** The value a function changed: the new annotation if it differs from what we gave, else the legacy one. */
function changed(
  current: string | undefined,
  legacy: string | undefined,
  given: string | undefined,
): string | undefined {
  if (current !== undefined && current !== given) return current;
  if (legacy !== undefined && legacy !== given) return legacy;
  return current ?? legacy ?? given;
}

function assignDefaultPaths(items: Item[]): void {
  const maxIndex = new Map<string, number>();
  const key = (item: Item) => `${item.pkg}\0${item.path}`;
  for (const item of items) {
    if (!item.path) {
      const file = `${kindOf(item.node).toLowerCase()}_${nameOf(item.node)}.yaml`;
      const ns = namespaceOf(item.node);
      item.path = ns ? `${ns}/${file}` : file;
    }
    if (item.index >= 0) maxIndex.set(key(item), Math.max(maxIndex.get(key(item)) ?? -1, item.index));
  }
  for (const item of items) {
    if (item.index >= 0) continue;
    const next = (maxIndex.get(key(item)) ?? -1) + 1;
    item.index = next;
    maxIndex.set(key(item), next);
  }
}

/**
 * Lays `source` (a function's output) onto `target` (a copy of its input): values, keys and list
 * items follow `source`; keys both have keep `target`'s order, nodes and comments (as kyaml's
 * CopyComments and SyncOrder do); scalars that did not change keep their quoting.
 */
export function patchNode(target: YNode, source: YNode): YNode {
  if (isMap(target) && isMap(source)) {
    const byKey = new Map(source.items.map((p) => [scalarString(p.key) ?? String(p.key), p]));
    const kept = new Set<string>();
    const items = [];
    for (const pair of target.items) {
      const key = scalarString(pair.key) ?? String(pair.key);
      const next = byKey.get(key);
      if (!next) continue;
      kept.add(key);
      takeLineComment(pair.key, next.key);
      pair.value =
        pair.value && next.value ? patchNode(pair.value as YNode, next.value as YNode) : (next.value as YNode | null);
      items.push(pair);
    }
    for (const pair of source.items) if (!kept.has(scalarString(pair.key) ?? String(pair.key))) items.push(pair);
    target.items = items;
    return target;
  }
  if (isSeq(target) && isSeq(source)) {
    target.items = source.items.map((item, i) => {
      const old = target.items[i];
      return old && item ? patchNode(old as YNode, item as YNode) : item;
    });
    return target;
  }
  if (isScalar(target) && isScalar(source)) {
    takeLineComment(target, source);
    if (target.value === source.value) return target;
    if (typeof target.value === 'string' && typeof source.value === 'string' && !source.type?.startsWith('BLOCK')) {
      target.value = source.value;
      return target;
    }
    return source;
  }
  return source;
}

/** A line comment the function added where the input had none (search-replace's put-comment). */
function takeLineComment(target: unknown, source: unknown): void {
  const t = target as { comment?: string | null };
  const s = source as { comment?: string | null };
  if (isScalar(target) && isScalar(source) && !t.comment && s.comment) t.comment = s.comment;
}

// ---------------------------------------------------------------------------------------------
// ResourceList as YAML text (exec, wasm and container functions)

/** `config.kubernetes.io/v1 ResourceList` YAML for a function's stdin. */
export function serializeResourceList(list: ResourceList): string {
  const root = new YAMLMap();
  setField(root, 'apiVersion', new Scalar('config.kubernetes.io/v1'));
  setField(root, 'kind', new Scalar('ResourceList'));
  const items = new YAMLSeq();
  items.items = list.items;
  setField(root, 'items', items);
  if (list.functionConfig) setField(root, 'functionConfig', list.functionConfig);
  const doc = new Document();
  doc.contents = root;
  return doc.toString({ indent: 2, lineWidth: 0, indentSeq: false });
}

/** Parses a function's stdout: the output items and results (kpt also accepts a legacy `results.items`). */
export function parseResourceList(text: string): { items: YAMLMap[]; results: ResultItem[] } {
  const docs = parseDocuments(text).filter((d) => d.doc.contents !== null);
  if (docs.length !== 1)
    throw new FunctionContractError(`output must be one ResourceList document, found ${docs.length}`);
  const root = docs[0]!.doc.contents;
  if (!isMap(root) || scalarString(getField(root, 'kind')) !== 'ResourceList') {
    throw new FunctionContractError('output is not a ResourceList');
  }
  const itemsNode = getField(root, 'items');
  const items: YAMLMap[] = [];
  if (isSeq(itemsNode)) {
    for (const item of itemsNode.items) {
      if (!isMap(item)) throw new FunctionContractError('output items must be KRM resources (YAML maps)');
      items.push(item);
    }
  }
  return { items, results: parseResults(getField(root, 'results')) };
}

export function parseResults(node: unknown): ResultItem[] {
  let list = node;
  if (isMap(list)) list = getField(list, 'items');
  if (!isSeq(list)) return [];
  const out: ResultItem[] = [];
  for (const entry of list.items) {
    if (!isMap(entry)) continue;
    const plain = entry.toJSON() as Record<string, unknown>;
    const item: ResultItem = {
      message: typeof plain.message === 'string' ? plain.message : String(plain.message ?? ''),
    };
    if (typeof plain.severity === 'string') item.severity = plain.severity as Severity;
    const ref = plain.resourceRef as Record<string, unknown> | undefined;
    if (ref && typeof ref === 'object') {
      const meta = (ref.metadata ?? {}) as Record<string, unknown>;
      item.resourceRef = {
        ...(typeof ref.apiVersion === 'string' ? { apiVersion: ref.apiVersion } : {}),
        ...(typeof ref.kind === 'string' ? { kind: ref.kind } : {}),
        ...(typeof (ref.name ?? meta.name) === 'string' ? { name: String(ref.name ?? meta.name) } : {}),
        ...(typeof (ref.namespace ?? meta.namespace) === 'string' && (ref.namespace ?? meta.namespace) !== ''
          ? { namespace: String(ref.namespace ?? meta.namespace) }
          : {}),
      };
    }
    if (plain.field && typeof plain.field === 'object') item.field = plain.field as ResultItem['field'];
    if (plain.file && typeof plain.file === 'object') item.file = plain.file as ResultItem['file'];
    if (plain.tags && typeof plain.tags === 'object') item.tags = plain.tags as Record<string, string>;
    out.push(item);
  }
  return out;
}
