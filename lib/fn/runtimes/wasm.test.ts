import { afterAll, describe, expect, it } from '@jest/globals';
import { Document, parseDocument, type YAMLMap } from 'yaml';
import { annotateForCall, collectOutput, type Item } from '../resourcelist.ts';
import { renderPackage } from '../render.ts';
import { runWasm, stopWasmRuntime, wasmAnswers } from './wasm.ts';

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

describe('items sent as the text they were parsed from', () => {
  it('are sent again as YAML written here when the module cannot read that text', async () => {
    const input = [
      item(
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.25\n',
        'web.yaml',
      ),
    ];
    const { nodes } = annotateForCall(input, 'text');
    const out = await runWasm(
      'set-image',
      { items: nodes, functionConfig: config, sources: ['metadata: {name: [unclosed\n'] },
      { timeoutMs: 30_000, maxOutputBytes: 1 << 20 },
    );
    expect(out.error).toBeUndefined();
    const text = Object.assign(new Document(), { contents: out.items![0] }).toString();
    expect(text).toContain('image: nginx:1.27');
  });
});

describe('answers as edits', () => {
  it('render as whole items do: a key removed, list items and values changed, keys added', async () => {
    const script = [
      'def run(items):',
      '  for r in items:',
      '    if r["kind"] != "Deployment":',
      '      continue',
      '    r["metadata"]["labels"].pop("legacy")',
      '    r["spec"]["replicas"] = 5',
      '    r["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"',
      '    r["spec"]["template"]["spec"]["containers"][0]["args"][1] = "8080"',
      '    r["metadata"]["annotations"]["owner"] = "team-a"',
      '    r["spec"]["paused"] = True',
      'run(ctx.resource_list["items"])',
    ].join('\n');
    const starlark = new Document({
      apiVersion: 'fn.kpt.dev/v1alpha1',
      kind: 'StarlarkRun',
      metadata: { name: 'edit', annotations: { 'config.kubernetes.io/local-config': 'true' } },
      source: script,
    }).toString();
    // starlark drops every comment of what it writes: without comments, its changes are edits
    const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
    legacy: "true"
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: web:1
          args:
            - --port
            - "80"
`;
    const files = new Map([
      [
        'Kptfile',
        Buffer.from(
          'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: app\npipeline:\n  mutators:\n    - image: gcr.io/kpt-fn/starlark:v0.4\n      configPath: starlark.yaml\n',
        ),
      ],
      ['starlark.yaml', Buffer.from(starlark)],
      ['web.yaml', Buffer.from(deployment)],
    ]);
    const edited = wasmAnswers.editedItems;
    const byEdits = await renderPackage(files);
    expect(wasmAnswers.editedItems).toBeGreaterThan(edited);
    wasmAnswers.wholeItems = true;
    const whole = await renderPackage(files).finally(() => (wasmAnswers.wholeItems = false));
    expect(byEdits.error).toBeUndefined();
    expect(byEdits.files.get('web.yaml')!.toString()).toBe(whole.files.get('web.yaml')!.toString());
    expect(byEdits.files.get('web.yaml')!.toString()).toBe(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
  annotations:
    owner: team-a
spec:
  replicas: 5
  template:
    spec:
      containers:
        - name: web
          image: web:2
          args:
            - --port
            - "8080"
  paused: true
`);
  });
});
