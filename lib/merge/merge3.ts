// Field-level three-way merge of one resource (kyaml's merge3 visitor semantics, written from the
// behaviour described in the kpt reference): sources are walked in parallel in the order
// local (L), original (O), updated (U); the result is written into L's nodes in place, so the parts
// of L that do not change keep their comments, order and quoting.
import {
  cloneNode,
  describeValue,
  fingerprint,
  getField,
  getPair,
  isMap,
  isMissingOrNull,
  isNullNode,
  isScalar,
  isSeq,
  keyString,
  Pair,
  Scalar,
  YAMLMap,
  YAMLSeq,
  type YNode,
} from '../kpt/yaml.ts';
import { schemaFromComment, type JsonSchema, type ListStrategy, type SchemaRegistry } from './schema.ts';
import type { ConflictPolicy, Generation } from './types.ts';

/** A field that both sides changed differently. Values are rendered as strings; absent = undefined. */
export interface FieldConflict {
  field: string;
  original?: string;
  updated?: string;
  local?: string;
  winner: 'upstream' | 'local';
}

export interface FieldMergeOptions {
  generation: Generation;
  registry: SchemaRegistry;
  /** Infer associative lists keyed by `name` (the Kptfile merge turns this on). */
  inferAssociativeLists?: boolean;
  conflicts: ConflictPolicy;
  onConflict?: (conflict: FieldConflict) => void;
}

type Source = YNode | undefined;

const STYLE_TYPES = new Set([Scalar.PLAIN, Scalar.QUOTE_DOUBLE, Scalar.QUOTE_SINGLE]);

/**
 * Merges three versions of one YAML node. Returns the node to place in L (often L's own node,
 * updated in place) or `undefined` when the field must be removed.
 */
export function mergeNodes(
  local: Source,
  original: Source,
  updated: Source,
  schema: JsonSchema | undefined,
  options: FieldMergeOptions,
  path = '',
): Source {
  return new FieldMerger(options).node(local, original, updated, schema, path);
}

class FieldMerger {
  private readonly options: FieldMergeOptions;
  private readonly withComments: boolean;
  constructor(options: FieldMergeOptions) {
    this.options = options;
    this.withComments = options.generation === 'B';
  }

  node(l: Source, o: Source, u: Source, schema: JsonSchema | undefined, path: string): Source {
    const present = [l, o, u].filter((n): n is YNode => !isMissingOrNull(n));
    const first = present[0];
    if (!first) return undefined; // null or absent everywhere: the key never survives
    const kind = kindOf(first);
    if (present.some((n) => kindOf(n) !== kind)) return this.atomic(l, o, u, path);
    if (kind === 'map') return this.map(l, o, u, schema, path);
    if (kind === 'seq') {
      const strategy = this.listStrategy(l, o, u, schema);
      if (strategy.associative) return this.associativeList(l, o, u, strategy, schema, path);
      return this.atomic(l, o, u, path);
    }
    return this.scalar(l, o, u, path, false);
  }

  // ---------------------------------------------------------------------------------------------
  // Rules

  /** Explicit nulls: Gen B clears when U or L is null; Gen C only when O was not null. */
  private cleared(l: Source, o: Source, u: Source): boolean {
    const nulled = isNullNode(u) || isNullNode(l);
    return this.options.generation === 'B' ? nulled : nulled && !isNullNode(o);
  }

  /** Removal because of an explicit null; a local null is the local side's decision. */
  private clear(l: Source, o: Source, u: Source, path: string): Source {
    if (isNullNode(l) && !isNullNode(u)) {
      this.reportIfConflict(path, l, o, u, 'local');
      return undefined;
    }
    return this.takeUpdated(path, l, o, u, undefined);
  }

  scalar(l: Source, o: Source, u: Source, path: string, isKey: boolean): Source {
    const take = (chosen: Source) => (isKey ? chosen : this.takeUpdated(path, l, o, u, chosen));
    if (this.cleared(l, o, u)) return isKey ? undefined : this.clear(l, o, u, path);
    if (isMissingOrNull(u) !== isMissingOrNull(o)) return take(u);
    if (isMissingOrNull(u) && isMissingOrNull(o)) return l;
    if (this.options.generation === 'B') {
      const originalText = fingerprint(o, true);
      if ((l === undefined || fingerprint(l, true) === originalText) && originalText !== fingerprint(u, true)) {
        return take(u);
      }
    }
    if (fingerprint(u, false) !== fingerprint(o, false)) return take(u);
    return l;
  }

  /** Lists without merge keys, and values whose kind differs between the sources: all or nothing. */
  private atomic(l: Source, o: Source, u: Source, path: string): Source {
    if (this.cleared(l, o, u)) return this.clear(l, o, u, path);
    if (isMissingOrNull(u) !== isMissingOrNull(o)) return this.takeUpdated(path, l, o, u, u);
    if (isMissingOrNull(u) && isMissingOrNull(o)) return l;
    if (fingerprint(u, this.withComments) !== fingerprint(o, this.withComments)) {
      return this.takeUpdated(path, l, o, u, u);
    }
    return l;
  }

  private map(l: Source, o: Source, u: Source, schema: JsonSchema | undefined, path: string): Source {
    if (this.cleared(l, o, u)) return this.clear(l, o, u, path);
    if (isMissingOrNull(l) && isMissingOrNull(u)) return undefined;
    const dest = isMap(l) ? l : new YAMLMap();
    // One index per map: a lookup in a YAMLMap walks its items, so per-key lookups were quadratic.
    const [lPairs, oPairs, uPairs] = [pairIndex(dest), pairIndex(o), pairIndex(u)];
    const keys = new Set([...lPairs.keys(), ...oPairs.keys(), ...uPairs.keys()]);
    const removed = new Set<unknown>();
    for (const key of [...keys].sort(compareStrings)) {
      const lp = lPairs.get(key);
      const op = oPairs.get(key);
      const up = uPairs.get(key);
      const keyResult = this.scalar(lp?.key, op?.key, up?.key, '', true) as Scalar | undefined;
      const fieldSchema =
        commentSchema(lp, dest) ??
        commentSchema(op, o) ??
        commentSchema(up, u) ??
        this.options.registry.field(schema, key);
      const value = this.node(valueOf(lp), valueOf(op), valueOf(up), fieldSchema, path ? `${path}.${key}` : key);
      if (value === undefined || isNullNode(value)) {
        if (lp) removed.add(lp);
        continue;
      }
      if (lp) {
        lp.value = place(lp.value, value);
        if (keyResult && keyResult !== lp.key && isScalar(lp.key)) {
          lp.key.comment = keyResult.comment;
          lp.key.commentBefore = keyResult.commentBefore;
        }
      } else {
        const keyNode = keyResult ? cloneNode(keyResult) : new Scalar(key);
        dest.items.push(new Pair(keyNode, place(undefined, value)));
      }
    }
    if (removed.size) dest.items = dest.items.filter((pair) => !removed.has(pair));
    return dest;
  }

  private associativeList(
    l: Source,
    o: Source,
    u: Source,
    strategy: ListStrategy,
    schema: JsonSchema | undefined,
    path: string,
  ): Source {
    if (isMissingOrNull(u) && !isMissingOrNull(o)) return this.takeUpdated(path, l, o, u, undefined);
    const dest = isSeq(l) ? l : new YAMLSeq();
    const itemSchema = this.options.registry.items(schema);
    const items = (n: Source) => (isSeq(n) ? [...n.items] : []) as YNode[];
    if (strategy.keys.length === 0) {
      this.mergeScalarSet(dest, items(dest), items(o), items(u), path);
      return dest;
    }
    const keys = strategy.keys;
    const tuples: KeyTuple[] = [];
    for (const item of [...items(dest), ...items(o), ...items(u)]) {
      const tuple = keyTuple(item, keys);
      if (tuple && !tuples.some((t) => tuplesMatch(t, tuple))) tuples.push(tuple);
    }
    for (const tuple of tuples) {
      const le = findElement(items(dest), keys, tuple);
      const oe = findElement(items(o), keys, tuple);
      const ue = findElement(items(u), keys, tuple);
      const elementPath = `${path}[${describeTuple(keys, tuple)}]`;
      const value = this.node(le, oe, ue, itemSchema, elementPath);
      if (value === undefined || isNullNode(value) || (isMap(value) && value.items.length === 0)) {
        if (le) dest.items.splice(dest.items.indexOf(le), 1);
        continue;
      }
      if (isMap(value)) {
        keys.forEach((key, i) => {
          if (tuple[i] === undefined || getPair(value, key)) return;
          const source = [le, oe, ue].find((e) => getPair(e, key));
          const keyNode = getField(source, key);
          value.items.push(new Pair(new Scalar(key), keyNode ? cloneNode(keyNode) : new Scalar(tuple[i])));
        });
      }
      if (le) dest.items[dest.items.indexOf(le)] = place(le, value);
      else dest.items.push(place(undefined, value));
    }
    return dest;
  }

  /** Associative list without keys (a set of scalars, e.g. `finalizers`). */
  private mergeScalarSet(dest: YAMLSeq, l: YNode[], o: YNode[], u: YNode[], path: string): void {
    const values: string[] = [];
    for (const item of [...l, ...o, ...u]) {
      const text = fingerprint(item, false);
      if (!values.includes(text)) values.push(text);
    }
    for (const text of values) {
      const find = (list: YNode[]) => list.find((item) => fingerprint(item, false) === text);
      const le = find(dest.items as YNode[]);
      const result = this.scalar(le, find(o), find(u), `${path}[${text.slice(text.indexOf(':') + 1)}]`, false);
      if (result === undefined || isNullNode(result)) {
        if (le) dest.items.splice(dest.items.indexOf(le), 1);
      } else if (!le) dest.items.push(place(undefined, result));
      else dest.items[dest.items.indexOf(le)] = place(le, result);
    }
  }

  private listStrategy(l: Source, o: Source, u: Source, schema: JsonSchema | undefined): ListStrategy {
    const fromSchema = this.options.registry.listStrategy(schema);
    if (fromSchema?.associative) return fromSchema;
    if (this.options.inferAssociativeLists) {
      for (const source of [l, o, u]) {
        if (isSeq(source) && source.items.length && source.items.every((item) => getPair(item, 'name'))) {
          return { associative: true, keys: ['name'] };
        }
      }
    }
    return { associative: false, keys: [] };
  }

  // ---------------------------------------------------------------------------------------------
  // Conflicts

  /** Upstream's choice (a node, or `undefined` for removal), unless the conflict policy keeps L. */
  private takeUpdated(path: string, l: Source, o: Source, u: Source, chosen: Source): Source {
    if (!this.isConflict(l, o, u)) return chosen;
    const winner = this.options.conflicts === 'local-wins' ? 'local' : 'upstream';
    this.report(path, l, o, u, winner);
    return winner === 'local' ? l : chosen;
  }

  private reportIfConflict(path: string, l: Source, o: Source, u: Source, winner: 'upstream' | 'local'): void {
    if (this.isConflict(l, o, u)) this.report(path, l, o, u, winner);
  }

  private isConflict(l: Source, o: Source, u: Source): boolean {
    const fl = fingerprint(l, false);
    const fo = fingerprint(o, false);
    const fu = fingerprint(u, false);
    return fl !== fo && fu !== fo && fl !== fu;
  }

  private report(path: string, l: Source, o: Source, u: Source, winner: 'upstream' | 'local'): void {
    this.options.onConflict?.({
      field: path || '.',
      original: describeValue(o),
      updated: describeValue(u),
      local: describeValue(l),
      winner,
    });
  }
}

// -----------------------------------------------------------------------------------------------
// Helpers

type KeyTuple = Array<string | undefined>;

function kindOf(node: YNode): 'map' | 'seq' | 'scalar' {
  if (isMap(node)) return 'map';
  if (isSeq(node)) return 'seq';
  return 'scalar';
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A map's pairs by key (the first pair of a key, as {@link getPair} finds it); empty for a non-map. */
function pairIndex(node: Source): Map<string, Pair<Scalar, YNode | null>> {
  const index = new Map<string, Pair<Scalar, YNode | null>>();
  if (!isMap(node)) return index;
  for (const pair of node.items) {
    const key = keyString(pair.key);
    if (!index.has(key)) index.set(key, pair as Pair<Scalar, YNode | null>);
  }
  return index;
}

function valueOf(pair: Pair | undefined): Source {
  if (!pair) return undefined;
  return (pair.value ?? new Scalar(null)) as YNode;
}

/**
 * A schema in a comment on the field's key or value (line or head comment). The head comment of a
 * map's first key is the map's own `commentBefore` once parsed, so it counts for that key.
 */
function commentSchema(pair: Pair | undefined, parent: Source): JsonSchema | undefined {
  if (!pair) return undefined;
  const key = pair.key as Scalar | undefined;
  const value = pair.value as { comment?: string | null; commentBefore?: string | null } | null;
  const head = isMap(parent) && parent.items[0] === pair ? parent.commentBefore : undefined;
  return (
    schemaFromComment(key?.comment) ??
    schemaFromComment(key?.commentBefore) ??
    schemaFromComment(head) ??
    schemaFromComment(value?.comment) ??
    // a map value's commentBefore is its first key's head comment, not this field's
    (isMap(value) ? undefined : schemaFromComment(value?.commentBefore))
  );
}

function keyTuple(item: YNode, keys: string[]): KeyTuple | undefined {
  if (!isMap(item)) return undefined;
  const tuple = keys.map((key) => {
    const value = getField(item, key);
    return isScalar(value) && value.value !== null && value.value !== '' ? String(value.value) : undefined;
  });
  return tuple.some((v) => v !== undefined) ? tuple : undefined;
}

/** Equal where both have a value, at least one equal value; a missing value acts as a wildcard. */
function tuplesMatch(a: KeyTuple, b: KeyTuple): boolean {
  let equal = false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) continue;
    if (x !== y) return false;
    equal = true;
  }
  return equal;
}

function findElement(items: YNode[], keys: string[], tuple: KeyTuple): YNode | undefined {
  return items.find((item) => {
    const t = keyTuple(item, keys);
    return t !== undefined && tuplesMatch(t, tuple);
  });
}

function describeTuple(keys: string[], tuple: KeyTuple): string {
  return keys
    .map((key, i) => (tuple[i] === undefined ? undefined : `${key}=${tuple[i]}`))
    .filter(Boolean)
    .join(',');
}

/**
 * The node to store where `existing` was: `existing` itself when chosen, else a copy of the chosen
 * node. A string that replaces a string keeps the local quoting style (kyaml's behaviour).
 */
function place(existing: unknown, chosen: YNode): YNode {
  if (chosen === existing) return chosen;
  const copy = cloneNode(chosen);
  if (
    isScalar(existing) &&
    isScalar(copy) &&
    typeof existing.value === 'string' &&
    typeof copy.value === 'string' &&
    existing.type &&
    STYLE_TYPES.has(existing.type) &&
    (copy.type === undefined || STYLE_TYPES.has(copy.type))
  ) {
    copy.type = existing.type;
  }
  return copy;
}
