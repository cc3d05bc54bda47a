import { afterAll, describe, expect, it } from '@jest/globals';
import { Document, parseDocument, type YAMLMap } from 'yaml';
import { annotateForCall, collectOutput, type Item } from '../resourcelist.ts';
import { runWasm, stopWasmRuntime } from './wasm.ts';

afterAll(() => stopWasmRuntime());

const item = (text: string, path: string): Item => ({
  node: parseDocument(text).contents as YAMLMap,
  pkg: '',
  path,
  index: 0,
  seqIndent: 'compact',
});

const config = parseDocument(
  'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {name: nginx, newTag: "1.27"}\n',
).contents as YAMLMap;

describe('runWasm', () => {
  it('answers untouched items with the input nodes themselves, in the function order', async () => {
    const input = [
      item('apiVersion: v1\nkind: ConfigMap # settings\nmetadata: {name: settings}\ndata: {a: "1"}\n', 'cm.yaml'),
      item(
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.25 # pinned\n',
        'web.yaml',
      ),
    ];
    const { nodes: given, before } = annotateForCall(input, 'text');
    const out = await runWasm(
      'set-image',
      { items: given, functionConfig: config },
      { timeoutMs: 30_000, maxOutputBytes: 1 << 20 },
    );
    expect(out.error).toBeUndefined();
    expect(out.items).toHaveLength(2);
    expect(out.items![0]).toBe(given[0]); // the ConfigMap: no image, untouched
    expect(out.items![1]).not.toBe(given[1]);
    expect([...out.unchanged!]).toEqual([given[0]]);

    const collected = collectOutput(input, out.items!, '', true, before, out.unchanged);
    expect(collected[0]!.item.node).toBe(input[0]!.node);
    const text = (node: YAMLMap) => Object.assign(new Document(), { contents: node }).toString();
    expect(text(collected[1]!.item.node)).toContain('image: nginx:1.27 # pinned');
    expect(text(collected[1]!.item.node)).not.toContain('internal.config.kubernetes.io');
  });
});
