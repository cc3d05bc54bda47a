// Parsed resource files for the render, by content. A fleet renders the same file bytes in draft
// after draft (every resource a site does not customize), so each distinct file is parsed once. The
// nodes handed out are shared between renders and never changed: a function that runs in process
// gets its own copy of a node first (`ownNode`), so a node still shared after the pipeline is known
// to be unchanged without comparing it.
import { createHash } from 'node:crypto';
import { isMap, type Document, type ToStringOptions, type YAMLMap } from 'yaml';
import { fingerprint, parseDocuments } from '../kpt/yaml.ts';

export interface ParsedResource {
  node: YAMLMap;
  raw: string;
  doc: Document.Parsed;
  style: ToStringOptions;
  fingerprint: string;
}

/** A file's resources (empty documents left out), or the index of its first document that is not a map. */
export type ParsedFile = { resources: readonly ParsedResource[] } | { notAMap: number };

// Hot files (those of the blueprint) are hit by every draft and stay; the entries of files only one
// draft has pass through. Bounded by count: a parsed 20-line resource is some tens of KiB.
const LIMIT = 500;
const cache = new Map<string, ParsedFile>();
const shared = new WeakSet<YAMLMap>();

/** The parsed resources of a file's UTF-8 content; throws YamlSyntaxError (not remembered). */
export function parsedFile(content: Buffer): ParsedFile {
  const key = createHash('sha1').update(content).digest('base64');
  const known = cache.get(key);
  if (known) {
    cache.delete(key);
    cache.set(key, known);
    return known;
  }
  const file = parse(content.toString('utf8'));
  cache.set(key, file);
  if (cache.size > LIMIT) cache.delete(cache.keys().next().value!);
  return file;
}

function parse(text: string): ParsedFile {
  const resources: ParsedResource[] = [];
  for (const doc of parseDocuments(text)) {
    const contents = doc.doc.contents;
    if (contents === null || (contents as { value?: unknown }).value === null) continue;
    if (!isMap(contents)) return { notAMap: doc.index };
    shared.add(contents);
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

/** `node` itself when it is not shared, else a copy the caller may change. */
export const ownNode = (node: YAMLMap): YAMLMap => (shared.has(node) ? (node.clone() as YAMLMap) : node);
