// Benchmark of the render (not a test): `make bench-render` or `node bench/render.ts`.
// A 20-resource package (10 Deployments with a ConfigMap each) rendered with a pipeline of one
// function at a time and with the three together (set-namespace, set-labels, apply-replacements).
// The cost of a function is the median render time with it minus the median with an empty pipeline
// (reading and writing the package). The first apply-replacements run also reports the WebAssembly
// cold start (worker, module compile). RUNS (default 200) renders per pipeline.
import { writeFileSync, mkdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { PackageFiles } from '../lib/kpt/package.ts';
import { renderPackage } from '../lib/fn/render.ts';
import { stopWasmRuntime } from '../lib/fn/runtimes/wasm.ts';
import { benchArgs } from './lib/args.ts';

benchArgs(import.meta.url, {});
const RUNS = Number(process.env.RUNS ?? 200);

const FUNCTIONS: Record<string, string> = {
  'set-namespace': `    - image: ghcr.io/kptdev/krm-functions-catalog/set-namespace:v0.4
      configMap:
        namespace: bench-ns
`,
  'set-labels': `    - image: ghcr.io/kptdev/krm-functions-catalog/set-labels:v0.2
      configMap:
        team: bench
        tier: backend
`,
  'apply-replacements': `    - image: ghcr.io/kptdev/krm-functions-catalog/apply-replacements:v0.1
      configPath: replacements.yaml
`,
};

function pkg(functions: string[]): PackageFiles {
  const files: PackageFiles = new Map();
  const pipeline = functions.length ? `pipeline:\n  mutators:\n${functions.map((f) => FUNCTIONS[f]).join('')}` : '';
  files.set(
    'Kptfile',
    Buffer.from(
      `apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: bench\n  annotations:\n    config.kubernetes.io/local-config: "true"\n${pipeline}`,
    ),
  );
  files.set(
    'replacements.yaml',
    Buffer.from(`apiVersion: fn.kpt.dev/v1alpha1
kind: ApplyReplacements
metadata:
  name: replacements
  annotations:
    config.kubernetes.io/local-config: "true"
replacements:
  - source:
      kind: ConfigMap
      name: app-0-config
      fieldPath: data.image
    targets:
      - select:
          kind: Deployment
        fieldPaths:
          - spec.template.spec.containers.[name=app].image
`),
  );
  for (let i = 0; i < 10; i++) {
    files.set(
      `app-${i}/deployment.yaml`,
      Buffer.from(`# app ${i}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-${i} # the app
  labels:
    app: app-${i}
spec:
  replicas: ${i + 1}
  selector:
    matchLabels:
      app: app-${i}
  template:
    metadata:
      labels:
        app: app-${i}
    spec:
      containers:
        - name: app
          image: registry.example.com/app:1.${i}
          ports:
            - containerPort: 8080
          env:
            - name: MODE
              value: production
`),
    );
    files.set(
      `app-${i}/config.yaml`,
      Buffer.from(`apiVersion: v1
kind: ConfigMap
metadata:
  name: app-${i}-config
data:
  image: registry.example.com/app:2.${i}
  level: info
`),
    );
  }
  return files;
}

async function time(files: PackageFiles): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    const out = await renderPackage(files);
    samples.push(performance.now() - start);
    if (out.error) throw new Error(out.error);
  }
  return samples.sort((a, b) => a - b);
}

const median = (s: number[]) => s[Math.floor(s.length / 2)]!;
const p95 = (s: number[]) => s[Math.floor(s.length * 0.95)]!;
const ms = (n: number) => `${n.toFixed(2)} ms`;

const cold = performance.now();
const first = await renderPackage(pkg(['apply-replacements']));
if (first.error) throw new Error(first.error);
const coldStart = performance.now() - cold;

const baseline = await time(pkg([]));
const rows: Record<string, { median: number; p95: number; cost: number }> = {};
for (const fn of Object.keys(FUNCTIONS)) {
  const s = await time(pkg([fn]));
  rows[fn] = { median: median(s), p95: p95(s), cost: median(s) - median(baseline) };
}
const all = await time(pkg(Object.keys(FUNCTIONS)));
stopWasmRuntime();

console.log(`render, 20 resources (10 Deployments, 10 ConfigMaps), ${RUNS} runs per pipeline, node ${process.version}`);
console.log(`  empty pipeline (write back; parse cached):  median ${ms(median(baseline))}, p95 ${ms(p95(baseline))}`);
for (const [fn, r] of Object.entries(rows)) {
  console.log(`  ${fn.padEnd(20)} median ${ms(r.median)}, p95 ${ms(r.p95)}  → the function: ${ms(r.cost)}`);
}
console.log(`  all three             median ${ms(median(all))}, p95 ${ms(p95(all))}`);
console.log(`  WebAssembly cold start (first apply-replacements render: worker + module compile): ${ms(coldStart)}`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/render.json', import.meta.url),
  `${JSON.stringify({ runs: RUNS, node: process.version, baselineMedianMs: median(baseline), functions: rows, allThreeMedianMs: median(all), allThreeP95Ms: p95(all), wasmColdStartMs: coldStart }, null, 2)}\n`,
);
