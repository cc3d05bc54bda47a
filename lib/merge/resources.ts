// Resource-level three-way merge of a package's KRM files: pair resources by identity and path,
// decide per resource (added, deleted, kept, merged field by field), and write each local file back,
// byte for byte when none of its documents changed.
import {
  formatIdentity,
  parseKptMergeComment,
  resourceIdentity,
  UPSTREAM_IDENTIFIER_ANNOTATION,
  type ResourceIdentity,
} from '../kpt/identity.ts';
import type { ResourceDocument, ResourceFile } from '../kpt/resources.ts';
import {
  cloneNode,
  deleteField,
  fingerprint,
  getField,
  getIn,
  getPair,
  isMap,
  joinDocuments,
  renderDocument,
  scalarString,
  type YNode,
} from '../kpt/yaml.ts';
import { mergeNodes, type FieldConflict } from './merge3.ts';
import type { SchemaRegistry } from './schema.ts';
import { MergeError, type Conflict, type ConflictPolicy, type Generation, type MergeStats } from './types.ts';

/** Annotations a package reader adds; ignored when deciding whether a resource changed locally. */
const BOOKKEEPING_ANNOTATIONS = [
  'config.kubernetes.io/merge-source',
  'internal.config.kubernetes.io/path',
  'internal.config.kubernetes.io/index',
  'config.kubernetes.io/path',
  'config.kubernetes.io/index',
  'internal.config.kubernetes.io/annotations-migration-resource-id',
  'cnrm.cloud.google.com/blueprint',
];

export interface ResourceMergeOptions {
  generation: Generation;
  conflicts: ConflictPolicy;
  registry: SchemaRegistry;
}

export interface ResourceMergeOutput {
  /** Files whose content changes: path → new text, or `null` when the file is deleted. */
  changed: Map<string, string | null>;
  conflicts: Conflict[];
  stats: Omit<MergeStats, 'filesChanged'>;
}

interface Tuple {
  id: ResourceIdentity;
  path: string;
  original?: ResourceDocument;
  updated?: ResourceDocument;
  local?: ResourceDocument;
}

export type SourceName = 'original' | 'updated' | 'local';
const SOURCE_LABEL: Record<SourceName, string> = { original: 'original', updated: 'updated', local: 'dest' };

interface Entry {
  index: number;
  rank: number;
  text: string;
  resource: boolean;
}

/** Merges the resources of three parsed packages. */
export function mergeResources(
  original: ResourceFile[],
  updated: ResourceFile[],
  local: ResourceFile[],
  options: ResourceMergeOptions,
): ResourceMergeOutput {
  const tuples = buildTuples(original, updated, local);
  const conflicts: Conflict[] = [];
  const stats = { merged: 0, added: 0, deleted: 0, unchanged: 0 };
  const withComments = options.generation === 'B';

  // Local documents that change: rendered text, or null when deleted.
  const localChanges = new Map<ResourceDocument, string | null>();
  const additions = new Map<string, Entry[]>();

  for (const tuple of tuples) {
    const { original: o, updated: u, local: l } = tuple;
    const resourceName = formatIdentity(tuple.id);
    if (l && !u) {
      if (o && sameContent(l.doc.contents, o.doc.contents)) {
        localChanges.set(l, null);
        stats.deleted++;
      } else {
        if (o) {
          conflicts.push({
            file: l.path,
            resource: resourceName,
            field: '(resource)',
            local: 'modified',
            winner: 'local',
          });
        }
        stats.unchanged++;
      }
      continue;
    }
    if (u && !l) {
      if (!o) {
        const list = additions.get(u.path) ?? [];
        list.push({ index: u.index, rank: 1, text: u.raw, resource: true });
        additions.set(u.path, list);
        stats.added++;
      } else if (fingerprint(o.doc.contents, false) !== fingerprint(u.doc.contents, false)) {
        conflicts.push({
          file: u.path,
          resource: resourceName,
          field: '(resource)',
          updated: 'modified',
          winner: 'local',
        });
      }
      continue;
    }
    if (!u || !l) continue;
    const lContents = l.doc.contents as YNode;
    const uContents = u.doc.contents as YNode;
    const oContents = o?.doc.contents as YNode | undefined;
    if (
      (oContents && fingerprint(oContents, withComments) === fingerprint(uContents, withComments)) ||
      fingerprint(lContents, true) === fingerprint(uContents, true)
    ) {
      stats.unchanged++;
      continue;
    }
    const before = fingerprint(lContents, true);
    const schema = resourceSchema(options.registry, [lContents, oContents, uContents]);
    const result = mergeNodes(lContents, oContents, uContents, schema, {
      generation: options.generation,
      registry: options.registry,
      conflicts: options.conflicts,
      onConflict: (c: FieldConflict) => conflicts.push({ file: l.path, resource: resourceName, ...c }),
    });
    if (result !== lContents) l.doc.contents = (result ? cloneNode(result) : null) as typeof l.doc.contents;
    if (fingerprint(l.doc.contents, true) === before) {
      stats.unchanged++;
      continue;
    }
    try {
      localChanges.set(l, renderDocument(l));
    } catch (e) {
      throw new MergeError(
        `${l.path} (document ${l.index}): cannot write the merged ${resourceName}: ${(e as Error).message}`,
        l.path,
        l.index,
      );
    }
    stats.merged++;
  }

  const changed = new Map<string, string | null>();
  const localByPath = new Map(local.map((f) => [f.path, f]));
  for (const path of new Set([...localByPath.keys(), ...additions.keys()])) {
    const file = localByPath.get(path);
    const added = additions.get(path) ?? [];
    const touched = added.length > 0 || (file?.resources.some((r) => localChanges.has(r)) ?? false);
    if (!touched) continue;
    const entries: Entry[] = [];
    const resources = new Map((file?.resources ?? []).map((r) => [r.index, r]));
    for (const document of file?.documents ?? []) {
      const resource = resources.get(document.index);
      const change = resource ? localChanges.get(resource) : undefined;
      if (change === null) continue;
      entries.push({ index: document.index, rank: 0, text: change ?? document.raw, resource: !!resource });
    }
    entries.push(...added);
    if (!entries.some((e) => e.resource)) {
      changed.set(path, null);
      continue;
    }
    entries.sort((a, b) => a.index - b.index || a.rank - b.rank);
    changed.set(path, joinDocuments(entries.map((e) => e.text)));
  }
  return { changed, conflicts, stats };
}

function identityKey(resource: ResourceDocument): { id: ResourceIdentity; key: string } {
  const id = resourceIdentity(resource.doc.contents);
  return { id, key: JSON.stringify([id.group, id.kind, id.namespace, id.name, resource.path]) };
}

function duplicateError(source: SourceName, id: ResourceIdentity, first: ResourceDocument, second: ResourceDocument) {
  return new MergeError(
    `found duplicate "${SOURCE_LABEL[source]}" resources in file "${second.path}", please refer to "update" ` +
      `documentation for the fix (${formatIdentity(id)} in documents ${first.index} and ${second.index})`,
    second.path,
    second.index,
  );
}

/** Throws when two resources of one file have the same identity (kpt's duplicate check). */
export function assertNoDuplicates(file: ResourceFile, source: SourceName = 'local'): void {
  const seen = new Map<string, ResourceDocument>();
  for (const resource of file.resources) {
    const { id, key } = identityKey(resource);
    const first = seen.get(key);
    if (first) throw duplicateError(source, id, first, resource);
    seen.set(key, resource);
  }
}

function buildTuples(original: ResourceFile[], updated: ResourceFile[], local: ResourceFile[]): Tuple[] {
  const byKey = new Map<string, Tuple>();
  const add = (files: ResourceFile[], source: SourceName) => {
    for (const file of files) {
      for (const resource of file.resources) {
        const { id, key } = identityKey(resource);
        let tuple = byKey.get(key);
        if (!tuple) {
          tuple = { id, path: resource.path };
          byKey.set(key, tuple);
        }
        const existing = tuple[source];
        if (existing) throw duplicateError(source, id, existing, resource);
        tuple[source] = resource;
      }
    }
  };
  add(original, 'original');
  add(updated, 'updated');
  add(local, 'local');
  return [...byKey.values()];
}

function resourceSchema(registry: SchemaRegistry, sources: Array<YNode | undefined>) {
  for (const source of sources) {
    const schema = registry.forResource(
      scalarString(getField(source, 'apiVersion')),
      scalarString(getField(source, 'kind')),
    );
    if (schema) return schema;
  }
  return undefined;
}

/**
 * Equal text (comments included) once the reader's bookkeeping annotations are ignored, and the merge
 * keys too (`kpt-merge` comment, upstream-identifier annotation): `kpt pkg update` adds those to all
 * three packages before comparing, so a downstream that only carries them counts as unchanged.
 */
function sameContent(a: unknown, b: unknown): boolean {
  return fingerprint(stripBookkeeping(a), true) === fingerprint(stripBookkeeping(b), true);
}

const IGNORED_ANNOTATIONS = [...BOOKKEEPING_ANNOTATIONS, UPSTREAM_IDENTIFIER_ANNOTATION];

function stripBookkeeping(node: unknown): unknown {
  const metadataKey = getPair(node, 'metadata')?.key as { comment?: string | null } | undefined;
  const annotations = getIn(node, ['metadata', 'annotations']);
  const hasAnnotation = isMap(annotations) && IGNORED_ANNOTATIONS.some((k) => getField(annotations, k) !== undefined);
  const hasComment = parseKptMergeComment(metadataKey?.comment) !== undefined;
  if (!hasAnnotation && !hasComment) return node;
  const copy = cloneNode(node as YNode);
  const copiedKey = getPair(copy, 'metadata')?.key as { comment?: string | null } | undefined;
  if (copiedKey && hasComment) copiedKey.comment = undefined;
  const copied = getIn(copy, ['metadata', 'annotations']);
  if (isMap(copied)) {
    for (const key of IGNORED_ANNOTATIONS) deleteField(copied, key);
    const metadata = getIn(copy, ['metadata']);
    if (copied.items.length === 0 && isMap(metadata)) deleteField(metadata, 'annotations');
  }
  return copy;
}
