// Parsed resource files for the render, by content. A fleet renders the same file bytes in draft
// after draft (every resource a site does not customize), so each distinct file is parsed once. The
// nodes handed out from the cache are shared between renders and never changed: a function that runs
// in process gets its own copy of a node first (`ownNode`).
import { isMap, type Document, type ToStringOptions, type YAMLMap } from 'yaml';
import { contentKey, takeParse } from '../kpt/parse-handoff.ts';
import { cloneNode, fingerprint, parseDocuments, type SourceDocument } from '../kpt/yaml.ts';

export interface ParsedResource {
  node: YAMLMap;
  raw: string;
  doc: Document.Parsed;
  style: ToStringOptions;
  fingerprint: string;
}

/** A file's resources (empty documents left out), or the index of its first document that is not a map. */
export type ParsedFile = { resources: readonly ParsedResource[] } | { notAMap: number };

// Hot files (those of the blueprint) are hit by every draft and stay. A file is kept from the second
// time it is seen: most files of a rendered fleet (every resource with the site's namespace) belong
// to one draft only, and handing those out unshared spares the copy an in-process function would
// need. Bounded by count: a parsed 20-line resource is some tens of KiB.
const LIMIT = 500;
const SEEN_LIMIT = 20_000;
const cache = new Map<string, ParsedFile>();
const seen = new Set<string>();
const shared = new WeakSet<YAMLMap>();

/** The parsed resources of a file's UTF-8 content; throws YamlSyntaxError (not remembered). */
export function parsedFile(content: Buffer): ParsedFile {
  const key = contentKey(content);
  const known = cache.get(key);
  if (known) {
    cache.delete(key);
    cache.set(key, known);
    return known;
  }
  const secondSighting = seen.delete(key);
  const file = fromDocuments(takeParse(key) ?? parseDocuments(content.toString('utf8')), secondSighting);
  if (secondSighting) {
    cache.set(key, file);
    if (cache.size > LIMIT) cache.delete(cache.keys().next().value!);
  } else {
    if (seen.size >= SEEN_LIMIT) seen.delete(seen.keys().next().value!);
    seen.add(key);
  }
  return file;
}

function fromDocuments(documents: readonly SourceDocument[], share: boolean): ParsedFile {
  const resources: ParsedResource[] = [];
  for (const doc of documents) {
    const contents = doc.doc.contents;
    if (contents === null || (contents as { value?: unknown }).value === null) continue;
    if (!isMap(contents)) return { notAMap: doc.index };
    if (share) shared.add(contents);
    resources.push({
      node: contents,
      raw: doc.raw,
      doc: doc.doc,
      style: doc.style,
      fingerprint: fingerprint(contents, true),
    });
  }
  return { resources };
}

/** Whether `node` is handed out to every render of its file (and so never changed). */
export const isShared = (node: YAMLMap): boolean => shared.has(node);

/** `node` itself when it is not shared, else a copy the caller may change. */
export const ownNode = (node: YAMLMap): YAMLMap => (isShared(node) ? cloneNode(node) : node);
