// Comment-preserving YAML helpers shared by the Kptfile, package and merge code (the `yaml` package's
// Document API). Multi-document files keep the exact source text of every document, so a file whose
// documents are not changed can be written back byte for byte.
import {
  Composer,
  Document,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  Pair,
  Parser,
  Scalar,
  YAMLMap,
  YAMLSeq,
} from 'yaml';
import type { Node as YNode, ScalarTag, Tags, ToStringOptions } from 'yaml';

export type { YNode };

/** One YAML document of a file, with its exact source text. */
export interface SourceDocument {
  /** Position of the document in its file (0-based), counting empty documents too. */
  index: number;
  doc: Document.Parsed;
  /** Exact source text of this document (with its `---` marker and any text up to the next document). */
  raw: string;
  /** Rendering options that reproduce the document's own layout (sequence indentation). */
  style: ToStringOptions;
}

/** A YAML syntax problem, with the 0-based document index and 1-based line where known. */
export class YamlSyntaxError extends Error {
  readonly index: number;
  readonly line: number | undefined;
  constructor(message: string, index: number, line: number | undefined) {
    super(message);
    this.name = 'YamlSyntaxError';
    this.index = index;
    this.line = line;
  }
}

const BASE_STYLE: ToStringOptions = {
  indent: 2,
  lineWidth: 0,
  minContentWidth: 0,
  flowCollectionPadding: false,
};

/**
 * Parses every document of `text`. Comments written on a key's line (`metadata: # kpt-merge: ns/n`,
 * `list: # comment`) are attached to the key node, as YAML line comments, instead of the `yaml`
 * package's default of a comment line before the value; they are written back on the key's line.
 */
export function parseDocuments(text: string): SourceDocument[] {
  const tokens = Array.from(new Parser().parse(text));
  const starts: number[] = [];
  for (const token of tokens) if (token.type === 'document') starts.push(token.offset);
  // The `yaml` package's own duplicate-key check compares each key with every earlier one
  // (quadratic: minutes for a 30k-key ConfigMap); firstDuplicateKey does the same check with a Set.
  const docs = Array.from(new Composer({ customTags: keepNumberSource, uniqueKeys: false }).compose(tokens));
  const result: SourceDocument[] = [];
  docs.forEach((doc, index) => {
    const duplicate = firstDuplicateKey(doc.contents);
    const error =
      duplicate !== undefined && !(doc.errors[0] && doc.errors[0].pos[0] < duplicate)
        ? { message: 'Map keys must be unique', pos: [duplicate] }
        : doc.errors[0];
    if (error) {
      const offset = error.pos[0] ?? 0;
      const line = text.slice(0, offset).split('\n').length;
      throw new YamlSyntaxError(error.message.split('\n')[0] ?? error.message, index, line);
    }
    const start = index === 0 ? 0 : (starts[index] ?? text.length);
    const end = starts[index + 1] ?? text.length;
    const raw = text.slice(start, end);
    attachKeyLineComments(doc.contents, text);
    result.push({
      index,
      doc,
      raw,
      style: { ...BASE_STYLE, indent: detectIndent(raw), indentSeq: detectIndentSeq(raw) },
    });
  });
  return result;
}

/**
 * Offset of the first key that repeats an earlier key of its map, as the `yaml` package defines
 * one: scalar keys with `===` values (`1` and `"1"` differ; collection and alias keys never match).
 */
function firstDuplicateKey(node: unknown): number | undefined {
  let first: number | undefined;
  const visit = (n: unknown): void => {
    if (isSeq(n)) for (const item of n.items) visit(item);
    if (!isMap(n)) return;
    const seen = new Set<unknown>();
    for (const pair of n.items) {
      const key = pair.key;
      if (isScalar(key) && !(typeof key.value === 'number' && Number.isNaN(key.value))) {
        const offset = key.range?.[0] ?? 0;
        if (seen.has(key.value) && (first === undefined || offset < first)) first = offset;
        seen.add(key.value);
      }
      visit(key);
      visit(pair.value);
    }
  };
  visit(node);
  return first;
}

const NUMBER_TAGS = new Set(['tag:yaml.org,2002:int', 'tag:yaml.org,2002:float']);

/**
 * Numbers are written back as they were written (`0755`, `1.10`, a 40-digit SHA that does not fit a
 * double), as long as the source still denotes the node's value.
 */
function keepNumberSource(tags: Tags): Tags {
  return tags.map((tag) => {
    const scalarTag = tag as ScalarTag;
    if (!NUMBER_TAGS.has(scalarTag.tag) || !scalarTag.stringify) return tag;
    const stringify = scalarTag.stringify.bind(scalarTag);
    const wrapped: ScalarTag = {
      ...scalarTag,
      stringify(item, ctx, onComment, onChompKeep) {
        const source = (item as Scalar).source;
        const value = item.value;
        if (typeof source === 'string' && (typeof value === 'number' || typeof value === 'bigint')) {
          const parsed = Number(source.replace(/_/g, ''));
          if (parsed === Number(value)) return source;
        }
        return stringify(item, ctx, onComment, onChompKeep);
      },
    };
    return wrapped;
  });
}

/** Renders a document with the layout options detected when it was parsed. */
export function renderDocument(source: Pick<SourceDocument, 'doc' | 'style'>): string {
  return source.doc.toString(source.style);
}

/** Joins document texts into one file, adding `---` separators where missing. */
export function joinDocuments(texts: string[]): string {
  let out = '';
  texts.forEach((text, i) => {
    if (i > 0) {
      if (!out.endsWith('\n')) out += '\n';
      if (!/^---(\s|$)/.test(text)) out += '---\n';
    }
    out += text;
  });
  return out;
}

/** `true` when block sequences under a key are indented (`key:\n  - a`); compact (kyaml's default) otherwise. */
function detectIndentSeq(raw: string): boolean {
  const re = /^( *)[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\n(?:[ \t]*(?:#[^\n]*)?\n)*( *)- /gm;
  const match = re.exec(raw);
  if (!match) return false;
  return (match[2] ?? '').length > (match[1] ?? '').length;
}

/** Indentation width of nested maps (2 unless the document uses another width). */
function detectIndent(raw: string): number {
  const re = /^( *)[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\n( +)[^\s#-]/gm;
  const match = re.exec(raw);
  if (!match) return 2;
  const width = (match[2] ?? '').length - (match[1] ?? '').length;
  return width >= 1 && width <= 8 ? width : 2;
}

function attachKeyLineComments(node: unknown, text: string): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key;
      const value = pair.value;
      if (isScalar(key) && key.range && (isMap(value) || isSeq(value) || isScalar(value))) {
        const lineEnd = text.indexOf('\n', key.range[2]);
        const rest = text.slice(key.range[2], lineEnd === -1 ? text.length : lineEnd);
        const m = /^[ \t]*:[ \t]+#(.*)$/.exec(rest);
        if (m && !key.comment) {
          const comment = m[1] ?? '';
          const before = value.commentBefore;
          if (before !== undefined && before !== null && (before === comment || before.startsWith(`${comment}\n`))) {
            const remaining = before.slice(comment.length + 1);
            value.commentBefore = remaining.length ? remaining : undefined;
            key.comment = comment;
          }
        }
      }
      attachKeyLineComments(value, text);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) attachKeyLineComments(item, text);
  }
}

// ---------------------------------------------------------------------------------------------
// Node helpers

/** A value that is absent (`undefined`) or an explicit YAML null (`null`, `~`, empty). */
export function isMissingOrNull(node: unknown): boolean {
  return node === undefined || node === null || (isScalar(node) && node.value === null);
}

/** An explicit YAML null node. */
export function isNullNode(node: unknown): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

/** Looks a key up in a map node; `undefined` when the map or the key is absent. */
export function getPair(map: unknown, key: string): Pair<Scalar, YNode | null> | undefined {
  if (!isMap(map)) return undefined;
  for (const pair of map.items) {
    if (isPair(pair) && keyString(pair.key) === key) return pair as Pair<Scalar, YNode | null>;
  }
  return undefined;
}

/** The value node of `key` in `map`; an explicit null comes back as a null Scalar. */
export function getField(map: unknown, key: string): YNode | undefined {
  const pair = getPair(map, key);
  if (!pair) return undefined;
  return (pair.value ?? new Scalar(null)) as YNode;
}

/** Follows a path of map keys. */
export function getIn(node: unknown, path: readonly string[]): YNode | undefined {
  let current: unknown = node;
  for (const key of path) {
    current = getField(current, key);
    if (current === undefined) return undefined;
  }
  return current as YNode;
}

/** The string value of a scalar node, `undefined` for anything else. */
export function scalarString(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  if (node.value === null || node.value === undefined) return undefined;
  return String(node.value);
}

export function keyString(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

/** Sets `key` to `value` in a map node, in place when the key exists, else appended. */
export function setField(map: YAMLMap, key: string, value: YNode): void {
  const pair = getPair(map, key);
  if (pair) pair.value = value;
  else map.items.push(new Pair(new Scalar(key), value));
}

/** Removes `key` from a map node; returns whether it was there. */
export function deleteField(map: YAMLMap, key: string): boolean {
  const i = map.items.findIndex((p) => isPair(p) && keyString(p.key) === key);
  if (i === -1) return false;
  map.items.splice(i, 1);
  return true;
}

/** Returns the map at `path`, creating empty maps on the way. */
export function ensureMap(root: YAMLMap, path: readonly string[]): YAMLMap {
  let current = root;
  for (const key of path) {
    const next = getField(current, key);
    if (isMap(next)) {
      current = next;
      continue;
    }
    const created = new YAMLMap();
    setField(current, key, created);
    current = created;
  }
  return current;
}

/**
 * Deep copy of a node (comments and styles included), as `node.clone()` makes it but several times
 * faster: yaml's clone copies every property through its descriptor, which dominated the render.
 */
export function cloneNode<T extends YNode>(node: T): T {
  return copyTree(node) as T;
}

function copyTree(value: unknown): unknown {
  if (isScalar(value)) return withRange(Object.assign(new Scalar(value.value), value), value);
  if (isMap(value) || isSeq(value)) {
    const copy = Object.assign(isMap(value) ? new YAMLMap(value.schema) : new YAMLSeq(value.schema), value);
    copy.items = (value.items as unknown[]).map(copyTree) as typeof copy.items;
    return withRange(copy, value);
  }
  if (isPair(value)) return new Pair(copyTree(value.key), copyTree(value.value));
  return isNode(value) ? value.clone() : value; // an alias
}

const withRange = <T extends YNode>(copy: T, node: YNode) => {
  if (node.range) copy.range = [...node.range];
  return copy;
};

/** Plain JS value of a node (maps as objects). */
export function toPlain(node: unknown): unknown {
  if (node === undefined || node === null) return node ?? null;
  if (isScalar(node)) return node.value;
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) out[keyString(pair.key)] = toPlain(pair.value);
    return out;
  }
  if (isSeq(node)) return node.items.map((item) => toPlain(item));
  if (isPair(node)) return toPlain(node.value);
  return (node as { toJSON?: () => unknown }).toJSON?.() ?? null;
}

/** Builds a node from a plain value, with block style. */
export function fromPlain(value: unknown): YNode {
  const doc = new Document(value);
  return doc.contents as YNode;
}

/**
 * A canonical text of a node for comparisons. With `comments`, comments and key order count (as
 * kyaml's serialised comparison does); without, only structure and resolved values count.
 */
export function fingerprint(node: unknown, comments: boolean): string {
  if (node === undefined) return '∅';
  const c = (n: { comment?: string | null; commentBefore?: string | null }) =>
    comments ? `#${n.commentBefore ?? ''}#${n.comment ?? ''}` : '';
  if (node === null) return 'null';
  if (isScalar(node)) {
    const v = node.value;
    return `${v === null ? 'null' : typeof v}:${String(v)}${c(node)}`;
  }
  if (isMap(node)) {
    const parts = node.items.map((p) => `${fingerprint(p.key, comments)}=${fingerprint(p.value, comments)}`);
    if (!comments) parts.sort();
    return `{${parts.join(',')}}${c(node)}`;
  }
  if (isSeq(node)) {
    return `[${node.items.map((i) => fingerprint(i, comments)).join(',')}]${c(node)}`;
  }
  return JSON.stringify(toPlain(node));
}

/** Short human-readable text of a value for reports (`undefined` when absent). */
export function describeValue(node: unknown): string | undefined {
  if (node === undefined) return undefined;
  if (node === null) return 'null';
  if (isScalar(node)) return node.value === null ? 'null' : String(node.value);
  return JSON.stringify(toPlain(node));
}

export { isMap, isPair, isScalar, isSeq, Pair, Scalar, YAMLMap, YAMLSeq, Document };
