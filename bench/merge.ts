// Benchmark of the package merge (not a test): `make bench-merge` or `node --expose-gc bench/merge.ts`.
// Reports the time per merge for a 20-resource and a 500-resource package, the throughput of 1,000
// merges of the 20-resource package in one process, and the peak RSS.
import { performance } from 'node:perf_hooks';
import type { PackageFiles } from '../lib/kpt/package.ts';
import { mergePackages, type MergeInput } from '../lib/merge/index.ts';
import { benchArgs } from './lib/args.ts';

benchArgs(import.meta.url, {});

const KPTFILE = `apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: bench
  annotations:
    config.kubernetes.io/local-config: "true"
info:
  description: benchmark package
pipeline:
  mutators:
    - image: ghcr.io/kptdev/krm-functions-catalog/set-labels:v0.1
      configMap:
        app: bench
`;

interface Variant {
  image: string;
  replicas: number;
  extraEnv: boolean;
  label?: string;
  configValue: string;
}

function resource(i: number, v: Variant): string {
  switch (i % 3) {
    case 0:
      return `# Deployment ${i}
apiVersion: apps/v1
kind: Deployment
metadata: # kpt-merge: /app-${i}
  name: app-${i}
  labels:
    app: app-${i}${v.label ? `\n    team: ${v.label}` : ''}
spec:
  replicas: ${v.replicas} # scaled
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
          image: ${v.image}
          args: ["--port", "8080"]
          ports:
            - containerPort: 8080
              protocol: TCP
          env:
            - name: MODE
              value: "prod"${v.extraEnv ? '\n            - name: CACHE\n              value: "on"' : ''}
          resources:
            limits: {cpu: 500m, memory: 256Mi}
`;
    case 1:
      return `apiVersion: v1
kind: Service
metadata: # kpt-merge: /svc-${i}
  name: svc-${i}
spec:
  selector:
    app: app-${i - 1}
  ports:
    - port: 80
      targetPort: 8080
`;
    default:
      return `apiVersion: v1
kind: ConfigMap
metadata: # kpt-merge: /cfg-${i}
  name: cfg-${i}
data:
  level: ${v.configValue}
  region: eu-west-1 # default region
  script: |
    #!/bin/sh
    echo ${i}
`;
  }
}

/** O, U (10% of resources changed upstream, one added, one removed) and L (20% customised locally). */
function makePackage(count: number, perFile: number): MergeInput {
  const build = (side: 'o' | 'u' | 'l'): PackageFiles => {
    const files: PackageFiles = new Map([['Kptfile', Buffer.from(KPTFILE)]]);
    files.set('README.md', Buffer.from('# bench\n'));
    const docs: string[][] = [];
    const total = side === 'u' ? count + 1 : count;
    for (let i = 0; i < total; i++) {
      if (side === 'u' && i === 1) continue; // removed upstream
      const upstreamChange = side !== 'o' && side !== 'l' && i % 10 === 0;
      const localChange = side === 'l' && i % 5 === 0;
      const v: Variant = {
        image: upstreamChange ? 'registry.example.com/app:2.0' : 'registry.example.com/app:1.0',
        replicas: localChange ? 5 : 2,
        extraEnv: upstreamChange,
        ...(localChange ? { label: 'payments' } : {}),
        configValue: upstreamChange ? 'debug' : localChange ? 'warn' : 'info',
      };
      const file = Math.floor(i / perFile);
      (docs[file] ??= []).push(resource(i, v));
    }
    docs.forEach((list, n) => list && files.set(`resources/file-${n}.yaml`, Buffer.from(list.join('---\n'))));
    return files;
  };
  return { original: build('o'), updated: build('u'), local: build('l') };
}

/**
 * `input` at the root and again in three nested subpackages (db, db/backup, db/backup/archive),
 * each with its own Kptfile: 4 × the resources, merged subpackage by subpackage.
 */
function withNestedSubpackages(input: MergeInput): MergeInput {
  const dirs = ['', 'db', 'db/backup', 'db/backup/archive'];
  const nest = (files: PackageFiles): PackageFiles => {
    const out: PackageFiles = new Map();
    for (const dir of dirs) {
      for (const [path, content] of files) {
        const text =
          path === 'Kptfile' && dir
            ? content.toString().replace('name: bench', `name: ${dir.split('/').pop()}`)
            : content;
        out.set(dir ? `${dir}/${path}` : path, Buffer.isBuffer(text) ? text : Buffer.from(text));
      }
    }
    return out;
  };
  return { original: nest(input.original), updated: nest(input.updated), local: nest(input.local) };
}

/** Downstream `n`: the local package with its own namespace in every resource (so no two are alike). */
function downstream(local: PackageFiles, n: number): PackageFiles {
  const out: PackageFiles = new Map();
  for (const [path, content] of local) {
    const text = content.toString('utf8');
    out.set(
      path,
      Buffer.from(
        path.endsWith('.yaml')
          ? text.replace(/^metadata: (# kpt-merge: \S+)\n/gm, `metadata: $1\n  namespace: ns-${n}\n`)
          : text,
      ),
    );
  }
  return out;
}

function memory(): string {
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  return `[rss ${mib(process.memoryUsage().rss)}, peak ${mib(process.resourceUsage().maxRSS * 1024)}]`;
}

function time(label: string, input: MergeInput, iterations: number): number {
  const locals = Array.from({ length: iterations + 5 }, (_, n) => downstream(input.local, n));
  for (let i = 0; i < 5; i++) mergePackages({ ...input, local: locals[iterations + i]! });
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    mergePackages({ ...input, local: locals[i]! });
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const p = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  console.log(
    `${label.padEnd(28)} mean ${mean.toFixed(2)} ms  p50 ${p(0.5).toFixed(2)} ms  p95 ${p(0.95).toFixed(2)} ms  (${iterations} runs)  ${memory()}`,
  );
  return mean;
}

console.log(`start ${memory()}`);
const small = makePackage(20, 1);
const large = makePackage(500, 5);
const check = mergePackages({ ...large, local: downstream(large.local, 0) });
console.log(
  `500-resource package: ${check.stats.merged} merged, ${check.stats.added} added, ${check.stats.deleted} deleted, ` +
    `${check.stats.unchanged} unchanged, ${check.conflicts.length} conflicts, ${check.stats.filesChanged} files changed`,
);

time('20 resources (20 files)', small, 200);
time('80 resources, 3 nested subpackages', withNestedSubpackages(small), 100);

const fleet = Array.from({ length: 1000 }, (_, n) => downstream(small.local, 1000 + n));
const start = performance.now();
for (const local of fleet) mergePackages({ ...small, local });
const seconds = (performance.now() - start) / 1000;
console.log(
  `1,000 merges of the 20-resource package (1,000 distinct downstreams): ${seconds.toFixed(2)} s (${(1000 / seconds).toFixed(0)} merges/s)  ${memory()}`,
);

time('500 resources (100 files)', large, 20);

(globalThis as { gc?: () => void }).gc?.();
const { maxRSS } = process.resourceUsage();
console.log(
  `peak RSS ${(maxRSS / 1024).toFixed(0)} MiB; heap used now ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`,
);
