// Resource identity as kpt's merge sees it: API group + kind + namespace/name, where a
// `kpt-merge: <namespace>/<name>` line comment on `metadata:` overrides the name and namespace,
// and the `internal.kpt.dev/upstream-identifier` annotation kpt/Porch write next to it.
import { createHash } from 'node:crypto';
import { declaresPipeline } from './kptfile.ts';
import { KPTFILE, type PackageFiles } from './package.ts';
import { contentKey, offerParse } from './parse-handoff.ts';
import { isParsedResourceFile, parseResourceFile, yamlText } from './resources.ts';
import {
  ensureMap,
  getField,
  getPair,
  isMap,
  joinDocuments,
  renderDocument,
  Scalar,
  scalarString,
  setField,
  type YAMLMap,
} from './yaml.ts';

export const UPSTREAM_IDENTIFIER_ANNOTATION = 'internal.kpt.dev/upstream-identifier';
const MERGE_COMMENT_PREFIX = 'kpt-merge:';

export interface ResourceIdentity {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/** Parses a `kpt-merge: ns/name` comment; `undefined` when the text is not one. */
export function parseKptMergeComment(
  comment: string | null | undefined,
): { namespace: string; name: string } | undefined {
  if (!comment) return undefined;
  let text = comment.trim();
  if (text.startsWith('#')) text = text.slice(1);
  text = text.trim();
  if (!text.startsWith(MERGE_COMMENT_PREFIX)) return undefined;
  text = text.slice(MERGE_COMMENT_PREFIX.length).trim();
  const slash = text.indexOf('/');
  if (slash === -1) return undefined;
  return { namespace: text.slice(0, slash), name: text.slice(slash + 1) };
}

/** The API group of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``). */
export function apiGroup(apiVersion: string | undefined): string {
  if (!apiVersion) return '';
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

/** The line comment on the `metadata:` key of a resource, if any. */
export function metadataKeyComment(resource: unknown): string | undefined {
  const pair = getPair(resource, 'metadata');
  const key = pair?.key as Scalar | undefined;
  return key?.comment ?? undefined;
}

/** Identity of a resource for matching: kpt-merge comment first, then metadata. */
export function resourceIdentity(resource: unknown): ResourceIdentity {
  const metadata = getField(resource, 'metadata');
  const fromComment = parseKptMergeComment(metadataKeyComment(resource));
  return {
    group: apiGroup(scalarString(getField(resource, 'apiVersion'))),
    kind: scalarString(getField(resource, 'kind')) ?? '',
    namespace: fromComment ? fromComment.namespace : (scalarString(getField(metadata, 'namespace')) ?? ''),
    name: fromComment ? fromComment.name : (scalarString(getField(metadata, 'name')) ?? ''),
  };
}

/** Human-readable identity, e.g. `Deployment.apps my-space/nginx`. */
export function formatIdentity(id: ResourceIdentity): string {
  const kind = id.group ? `${id.kind}.${id.group}` : id.kind || '<no kind>';
  return `${kind} ${id.namespace ? `${id.namespace}/` : ''}${id.name || '<no name>'}`;
}

/** Value of the upstream-identifier annotation: `group|kind|namespace|name`, empty namespace → `default`. */
export function upstreamIdentifier(id: ResourceIdentity): string {
  return `${id.group}|${id.kind}|${id.namespace || 'default'}|${id.name}`;
}

/**
 * Adds the `kpt-merge` comment (when `metadata:` has none) and the upstream-identifier annotation to
 * one resource, as kpt/Porch do after clone and update. Returns whether the resource changed.
 * Resources without metadata, or with empty name, namespace and labels, are left alone.
 */
export function ensureMergeKey(resource: YAMLMap): boolean {
  const metadataPair = getPair(resource, 'metadata');
  const metadata = metadataPair?.value;
  if (!metadataPair || !isMap(metadata)) return false;
  const name = scalarString(getField(metadata, 'name')) ?? '';
  const namespace = scalarString(getField(metadata, 'namespace')) ?? '';
  const labels = getField(metadata, 'labels');
  if (!name && !namespace && !(isMap(labels) && labels.items.length)) return false;
  let changed = false;
  const key = metadataPair.key as Scalar;
  if (!key.comment?.includes(MERGE_COMMENT_PREFIX)) {
    key.comment = ` kpt-merge: ${namespace}/${name}`;
    changed = true;
  }
  const id = upstreamIdentifier(resourceIdentity(resource));
  const annotations = ensureMap(metadata, ['annotations']);
  if (scalarString(getField(annotations, UPSTREAM_IDENTIFIER_ANNOTATION)) !== id) {
    setField(annotations, UPSTREAM_IDENTIFIER_ANNOTATION, new Scalar(id));
    changed = true;
  }
  return changed;
}

export interface EnsureMergeKeysOptions {
  /**
   * Also mark Kptfiles (Porch's clone/upgrade do, through its resource list; `kpt pkg get/update`
   * do not). Default false.
   */
  includeKptfile?: boolean;
}

/**
 * Adds merge keys to every resource of a package (`*.yaml`/`*.yml` files, and Kptfiles when asked).
 * Only files that change are re-rendered; the others keep their bytes (so do YAML files that are not
 * UTF-8: they are opaque; a Kptfile that is not UTF-8 is refused). Returns a new file map.
 */
export function ensureMergeKeys(files: PackageFiles, options: EnsureMergeKeysOptions = {}): PackageFiles {
  const out: PackageFiles = new Map();
  const rendered = declaresPipeline(files);
  for (const [path, content] of files) {
    const isKptfile = path === KPTFILE || path.endsWith(`/${KPTFILE}`);
    if (!isParsedResourceFile(path, content) && !(isKptfile && options.includeKptfile)) {
      out.set(path, content);
      continue;
    }
    // A fleet passes the same file contents again and again: the outcome is remembered by content.
    const key = createHash('sha1').update(path).update('\0').update(content).digest('base64');
    const known = marked.get(key);
    if (known) {
      out.set(path, known === SAME ? content : known);
      continue;
    }
    const parsed = parseResourceFile(path, yamlText(path, content), { requireKind: false });
    let changed = false;
    const texts = parsed.documents.map((document) => {
      const contents = document.doc.contents;
      if (isMap(contents) && ensureMergeKey(contents)) {
        changed = true;
        return renderDocument(document);
      }
      return document.raw;
    });
    const result = changed ? Buffer.from(joinDocuments(texts), 'utf8') : content;
    // the render reads these bytes next; unchanged, the parse is theirs exactly
    if (rendered && !changed && !isKptfile) offerParse(contentKey(content), parsed.documents);
    out.set(path, result);
    marked.set(key, changed ? result : SAME);
    if (marked.size > MARKED_LIMIT) marked.delete(marked.keys().next().value as string);
  }
  return out;
}

/** Outcomes of ensureMergeKeys by hash of path and content: SAME, or the new bytes (never modified). */
const SAME = Symbol('unchanged');
const MARKED_LIMIT = 5_000;
const marked = new Map<string, Buffer | typeof SAME>();
