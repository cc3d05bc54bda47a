// Big maps (ConfigMaps, labels with 10k+ keys): the merge must look each key up in constant time and
// the parser must find duplicate keys without comparing every pair. Operations are counted, never timed
// (the time is in `make bench-big`).
import { describe, expect, it } from '@jest/globals';
import { parseDocuments, type YAMLMap, type YNode } from '../kpt/yaml.ts';
import { mergeNodes } from './merge3.ts';
import { SchemaRegistry } from './schema.ts';

const configMap = (n: number, value: (i: number) => string) => {
  const lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: big', 'data:'];
  for (let i = 0; i < n; i++) lines.push(`  key${i}: "${value(i)}"`);
  return lines.join('\n') + '\n';
};

/** Counts reads of the `data` map's items (element reads through a Proxy: for…of, indexOf, filter, find). */
function countedData(text: string): { root: YNode; counter: { reads: number } } {
  const root = parseDocuments(text)[0]!.doc.contents as YNode;
  const data = (root as YAMLMap).get('data') as YAMLMap;
  const counter = { reads: 0 };
  data.items = new Proxy(data.items, {
    get(target, property, receiver) {
      if (typeof property === 'string' && /^\d+$/.test(property)) counter.reads++;
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  return { root, counter };
}

/** Reads of map items by a three-way merge of a ConfigMap with `n` keys (both sides change some, delete some). */
function itemReads(n: number): number {
  const o = countedData(configMap(n, (i) => `v${i}`));
  const u = countedData(configMap(n, (i) => (i % 10 === 0 ? `u${i}` : `v${i}`)).replace(/^ {2}key3\d*0: .*\n/gm, ''));
  const l = countedData(configMap(n, (i) => (i % 7 === 0 ? `l${i}` : `v${i}`)) + '  extra: "x"\n');
  const merged = mergeNodes(l.root, o.root, u.root, undefined, {
    generation: 'B',
    registry: SchemaRegistry.kubernetes(),
    conflicts: 'upstream-wins',
  });
  const data = (merged as YAMLMap).get('data') as YAMLMap;
  expect(data.get('key0')).toBeDefined();
  expect(data.has('key30')).toBe(false); // deleted upstream, unchanged locally
  expect(data.get('extra')).toBeDefined();
  return o.counter.reads + u.counter.reads + l.counter.reads;
}

describe('merge of big maps', () => {
  it('reads each key of a map a constant number of times (one index per map, not a lookup per key)', () => {
    const small = itemReads(500);
    const big = itemReads(2_000);
    // An index per map reads each item a few times; a linear lookup per key reads ~n/2 items per key.
    expect(big).toBeLessThan(10 * 2_000);
    expect(big / small).toBeLessThan(4.5);
  });
});

describe('duplicate keys (found with a Set, not by comparing every pair)', () => {
  const error = (text: string) => {
    try {
      parseDocuments(text);
      return undefined;
    } catch (e) {
      const { message, index, line } = e as { message: string; index: number; line: number };
      return { message, index, line };
    }
  };

  it('rejects a repeated key in block and flow maps, naming the document and the line', () => {
    expect(error('a: 1\nb:\n  x: 1\n  x: 2\n')).toEqual({ message: 'Map keys must be unique', index: 0, line: 4 });
    expect(error('---\na: 1\n---\nb: [{x: 1, y: 2, x: 3}]\n')).toEqual({
      message: 'Map keys must be unique',
      index: 1,
      line: 4,
    });
  });

  it('reports the earliest problem of a document: a duplicate before a syntax error, and after one', () => {
    expect(error('a: 1\na: 2\nc: [\n')).toEqual({ message: 'Map keys must be unique', index: 0, line: 2 });
    expect(error('c: [\na: 1\na: 2\n')?.message).not.toBe('Map keys must be unique');
  });

  it("compares scalar keys by value and type, as the yaml package does: 1 and '1' differ, collections never match", () => {
    expect(error('1: a\n"1": b\n')).toBeUndefined();
    expect(error('? [1]\n: a\n? [1]\n: b\n')).toBeUndefined();
    expect(error('.nan: a\n.nan: b\n')).toBeUndefined();
    expect(error('~: a\nnull: b\n')?.message).toBe('Map keys must be unique');
  });
});
