// Big inputs (issue 13), a benchmark, not a test: `make bench-big`, or
//
//   node bench/big-inputs.ts [--only merge,set,fetch] [--out FILE] [--report]
//   BIG_MERGE_KEYS=2000,20000,200000  BIG_SET_N=10000  BIG_FETCH_REFS=40000  BIG_RUNS=2
//
// * merge: the three-way merge (`mergePackages`, resource-merge) of one ConfigMap with N keys in
//   `data` and N/10 in `metadata.labels`; upstream changes 10 % of the values, deletes 1 % and adds
//   1 %, the local copy changes 1/7. Fresh Buffers and an empty merge memo every run, after a warm-up.
// * set: one PackageVariantSet with BIG_SET_N targets in one deployment repository, reconciled in
//   local mode (`reconcileLocally`, the `pvctl reconcile` path): time to all variants Ready with a
//   draft, git pushes (atomic waves of at most `--max-push-refs`), drafts in the remote, peak RSS.
// * fetch: a repository with BIG_FETCH_REFS refs (90 % branches, 10 % tags, distinct commits) read
//   by `RepoCache.refresh` into an empty cache, then again after 1,000 (at most a quarter of the
//   refs) and after 10 refs moved, each against plain `git fetch` of the same refs into a bare
//   repository in the same state.
//
// Each part runs in its own Node process (its own peak RSS, a cold JIT). Results go to
// bench/results/big-inputs.json and bench/results/big-inputs.md, which is also written into
// BENCHMARKS.md between the `big-inputs` markers. Benchmarks never assert on time.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchArgs } from './lib/args.ts';
import { writeSection } from './lib/report-sections.ts';
import { API_VERSION, type KubeObject } from '../api/v1alpha1/index.ts';
import { reconcileLocally } from '../controllers/local.ts';
import { acquireRepoCache, releaseRepoCache } from '../lib/git/cache.ts';
import { gitProcessStats, runGit } from '../lib/git/exec.ts';
import { removeDir, tempDir } from '../lib/git/testing/repos.ts';
import { getCondition } from '../lib/kube/conditions.ts';
import { mergePackages } from '../lib/merge/index.ts';
import { clearFileMergeMemo } from '../lib/merge/merge-memo.ts';
import { createFleet, variantName } from './lib/fleet.ts';
import { PACKAGE } from './lib/fleet-package.ts';
import { spread } from './lib/stats.ts';

const HERE = new URL('.', import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
const list = (value: string | undefined, fallback: number[]) =>
  value ? value.split(',').map((v) => Number(v.trim())) : fallback;
const RUNS = Number(process.env.BIG_RUNS ?? 2);

type Part = 'merge' | 'set' | 'fetch';
type Spread = ReturnType<typeof spread>;
const peakRssMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);
const seconds = (since: number) => (performance.now() - since) / 1000;

// -------------------------------------------------------------------------------------------------
// merge

function configMap(n: number, value: (i: number) => string | undefined, extra: string[] = []): Buffer {
  const lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: big', '  labels:'];
  for (let i = 0; i < n / 10; i++) {
    const v = value(i);
    if (v !== undefined) lines.push(`    label-${i}: "${v}"`);
  }
  lines.push('data:');
  for (let i = 0; i < n; i++) {
    const v = value(i);
    if (v !== undefined) lines.push(`  key-${i}: "${v}"`);
  }
  return Buffer.from([...lines, ...extra].join('\n') + '\n');
}

function mergeOnce(n: number): { seconds: number; conflicts: number } {
  const added = Array.from({ length: n / 100 }, (_, i) => `  new-${i}: "u"`);
  const files = (text: Buffer) => new Map([['config.yaml', text]]);
  const input = {
    original: files(configMap(n, (i) => `v${i}`)),
    updated: files(configMap(n, (i) => (i % 100 === 1 ? undefined : i % 10 === 0 ? `u${i}` : `v${i}`), added)),
    local: files(configMap(n, (i) => (i % 7 === 0 ? `l${i}` : `v${i}`), ['  local-only: "l"'])),
  };
  clearFileMergeMemo();
  const started = performance.now();
  const result = mergePackages(input);
  const took = seconds(started);
  if (!result.files.get('config.yaml')?.includes('new-0')) throw new Error(`merge of ${n} keys lost an upstream key`);
  return { seconds: took, conflicts: result.conflicts.length };
}

interface MergeRow {
  keys: number;
  seconds: Spread;
  runs: number;
  conflicts: number;
}

function mergePart(): { rows: MergeRow[]; peakRssMiB: number } {
  mergeOnce(2_000); // warm-up: the first merge also compiles the code
  const rows: MergeRow[] = [];
  for (const keys of list(process.env.BIG_MERGE_KEYS, [2_000, 20_000, 200_000])) {
    const runs = keys >= 100_000 ? 1 : RUNS;
    const results = Array.from({ length: runs }, () => mergeOnce(keys));
    rows.push({ keys, seconds: spread(results.map((r) => r.seconds)), runs, conflicts: results[0]!.conflicts });
    log(`merge ${keys} keys: ${rows.at(-1)!.seconds.median.toFixed(2)} s`);
  }
  return { rows, peakRssMiB: peakRssMiB() };
}

// -------------------------------------------------------------------------------------------------
// set

interface SetResult {
  targets: number;
  seconds: number;
  ready: number;
  setReady: string;
  draftsInRemote: number;
  batches: number;
  gitPushes: number;
  gitProcesses: number;
  /** Git processes of the pass by command: count and wall seconds (spawn to exit). */
  gitByCommand: Record<string, { count: number; seconds: number }>;
  errors: number;
  firstError?: string;
  peakRssMiB: number;
}

async function setPart(): Promise<SetResult> {
  const n = Number(process.env.BIG_SET_N ?? 10_000);
  const root = tempDir('pv-big-set-');
  try {
    const fleet = await createFleet(root, 0, 1);
    const deploy = fleet.deploy[0]!;
    const names = Array.from({ length: n }, (_, i) => variantName(i));
    const set: KubeObject = {
      apiVersion: API_VERSION,
      kind: 'PackageVariantSet',
      metadata: { name: 'fleet', namespace: 'default' },
      spec: {
        upstream: { repo: 'blueprints', package: PACKAGE, revision: -1 },
        targets: [
          {
            repositories: [{ name: deploy.name, packageNames: names }],
            template: {
              labels: { 'fleet.example.com/managed': 'true' },
              annotationExprs: [{ key: 'fleet.example.com/site', valueExpr: 'packageDefault' }],
              packageContext: { dataExprs: [{ key: 'site', valueExpr: 'packageDefault' }] },
            },
          },
        ],
      },
    } as KubeObject;
    log(`set: ${n} targets in ${deploy.name} under ${root}`);
    const spawned = gitProcessStats.spawned;
    const byCommand = structuredClone(gitProcessStats.byCommand);
    const pushesBefore = gitProcessStats.byCommand.push?.count ?? 0;
    const started = performance.now();
    const result = await reconcileLocally([...fleet.objects, set], { cacheDir: join(root, 'cache') });
    const took = seconds(started);
    const refs = (
      await runGit(['--git-dir', deploy.bare, 'for-each-ref', '--format=%(refname)', 'refs/heads/drafts'])
    ).stdout
      .toString()
      .split('\n')
      .filter(Boolean);
    const ready = result.variants.filter((v) => getCondition(v.status?.conditions, 'Ready')?.status === 'True');
    const setReady = getCondition(result.sets[0]?.status?.conditions, 'Ready');
    const firstError = result.errors.values().next().value as string | undefined;
    return {
      targets: n,
      seconds: took,
      ready: ready.length,
      setReady: `${setReady?.status ?? 'Unknown'} ${setReady?.reason ?? ''}`.trim(),
      draftsInRemote: refs.length,
      batches: result.pushes,
      gitPushes: (gitProcessStats.byCommand.push?.count ?? 0) - pushesBefore,
      gitProcesses: gitProcessStats.spawned - spawned,
      gitByCommand: Object.fromEntries(
        Object.entries(gitProcessStats.byCommand).map(([command, { count, ms }]) => [
          command,
          { count: count - (byCommand[command]?.count ?? 0), seconds: (ms - (byCommand[command]?.ms ?? 0)) / 1000 },
        ]),
      ),
      errors: result.errors.size,
      ...(firstError ? { firstError: firstError.slice(0, 300) } : {}),
      peakRssMiB: peakRssMiB(),
    };
  } finally {
    removeDir(root);
  }
}

// -------------------------------------------------------------------------------------------------
// fetch

const MIRROR_REFSPECS = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'];

/** Points `count` refs, from `from` on (every 10th a tag), at new commits: one fast-import. */
async function writeRefs(gitDir: string, from: number, count: number, round: number): Promise<void> {
  let stream = '';
  for (let i = from; i < from + count; i++) {
    const ref = i % 10 === 9 ? `refs/tags/t/${i}` : `refs/heads/b/${i}`;
    const data = `ref ${i} round ${round}\n`;
    stream += `commit ${ref}\ncommitter b <b@example.com> ${1_700_000_000 + round} +0000\ndata 2\nc\n`;
    stream += `M 644 inline f\ndata ${Buffer.byteLength(data)}\n${data}\n`;
  }
  await runGit(['fast-import', '--quiet', '--force'], { env: { GIT_DIR: gitDir }, input: stream });
}

async function plainFetch(gitDir: string, url: string): Promise<number> {
  const started = performance.now();
  await runGit(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--prune', url, ...MIRROR_REFSPECS], {
    env: { GIT_DIR: gitDir },
    timeoutMs: 3_600_000,
  });
  return seconds(started);
}

interface FetchRow {
  step: string;
  moved: number;
  ours: Spread;
  plain: Spread;
  oursProcesses: Record<string, number>;
  oursError?: string;
}

async function fetchPart(): Promise<{ refs: number; rows: FetchRow[]; peakRssMiB: number }> {
  const refs = Number(process.env.BIG_FETCH_REFS ?? 40_000);
  const root = tempDir('pv-big-fetch-');
  try {
    const upstream = join(root, 'upstream.git');
    await runGit(['init', '-q', '--bare', upstream]);
    await writeRefs(upstream, 0, refs, 0);
    const url = `file://${upstream}`;
    log(`fetch: ${refs} refs in ${upstream}`);
    const many = Math.min(1_000, Math.floor(refs / 4));
    const steps: Array<{ step: string; moved: number; change?: (round: number) => Promise<void> }> = [
      { step: 'empty cache', moved: refs },
      { step: 'many refs moved', moved: many, change: (round) => writeRefs(upstream, 0, many, round) },
      { step: '10 refs moved', moved: 10, change: (round) => writeRefs(upstream, Math.floor(refs / 2), 10, round) },
    ];
    const rows: FetchRow[] = [];
    const ours: number[][] = steps.map(() => []);
    const plain: number[][] = steps.map(() => []);
    const processes: Array<Record<string, number>> = steps.map(() => ({}));
    const errors: Array<string | undefined> = steps.map(() => undefined);
    let round = 1;
    for (let run = 0; run < RUNS; run++) {
      const cacheDir = join(root, `cache-${run}`);
      const mirror = join(root, `plain-${run}.git`);
      await runGit(['init', '-q', '--bare', mirror]);
      const cache = acquireRepoCache({ url, cacheDir });
      try {
        for (const [s, step] of steps.entries()) {
          if (step.change) await step.change(round++);
          const before = structuredClone(gitProcessStats.byCommand);
          const started = performance.now();
          try {
            await cache.refresh();
            ours[s]!.push(seconds(started));
          } catch (e) {
            errors[s] = `${(e as Error).message.slice(0, 200)} (after ${seconds(started).toFixed(0)} s)`;
          }
          for (const [command, { count }] of Object.entries(gitProcessStats.byCommand)) {
            const n = count - (before[command]?.count ?? 0);
            if (n) processes[s]![command] = n;
          }
          plain[s]!.push(await plainFetch(mirror, url));
          log(
            `fetch ${step.step}: ours ${ours[s]!.at(-1)?.toFixed(2) ?? errors[s]} s, git fetch ${plain[s]!.at(-1)!.toFixed(2)} s`,
          );
          if (errors[s]) break;
        }
      } finally {
        releaseRepoCache(cache);
      }
    }
    steps.forEach((step, s) => {
      const empty = { median: NaN, min: NaN, max: NaN };
      rows.push({
        step: step.step,
        moved: step.moved,
        ours: ours[s]!.length ? spread(ours[s]!) : empty,
        plain: plain[s]!.length ? spread(plain[s]!) : empty,
        oursProcesses: processes[s]!,
        ...(errors[s] ? { oursError: errors[s] } : {}),
      });
    });
    return { refs, rows, peakRssMiB: peakRssMiB() };
  } finally {
    removeDir(root);
  }
}

// -------------------------------------------------------------------------------------------------
// report

interface Results {
  date: string;
  node: string;
  git: string;
  merge?: ReturnType<typeof mergePart>;
  set?: SetResult;
  fetch?: Awaited<ReturnType<typeof fetchPart>>;
}

// A step that failed has no times (NaN, null once read back from the JSON).
const s2 = (s: Spread) =>
  !Number.isFinite(s.median)
    ? '—'
    : s.min === s.max
      ? s.median.toFixed(2)
      : `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;

export function renderMarkdown(r: Results): string {
  const out = [
    '<!-- big-inputs: written by `node bench/big-inputs.ts` (make bench-big) from bench/results/big-inputs.json -->',
    '## Big inputs (`make bench-big`)',
    '',
    `${r.date.slice(0, 10)}, Node ${r.node}, ${r.git}. Seconds: median (min–max). See docs/benchmarks.md.`,
    '',
  ];
  if (r.merge) {
    const base = r.merge.rows[0];
    out.push('| ConfigMap keys (+ 10 % labels) | merge (s) | ÷ first row | runs |', '|---|---|---|---|');
    for (const row of r.merge.rows) {
      const ratio = base ? (row.seconds.median / base.seconds.median).toFixed(1) : '';
      out.push(`| ${row.keys.toLocaleString('en')} | ${s2(row.seconds)} | ${ratio}× | ${row.runs} |`);
    }
    out.push('', `Peak RSS of the merge process: ${r.merge.peakRssMiB} MiB.`, '');
  }
  if (r.set) {
    const s = r.set;
    out.push(
      `| PackageVariantSet, ${s.targets.toLocaleString('en')} targets in one repository (local mode) | |`,
      '|---|---|',
      `| reconcile pass (s) | ${s.seconds.toFixed(1)} |`,
      `| variants Ready / drafts in the remote | ${s.ready.toLocaleString('en')} / ${s.draftsInRemote.toLocaleString('en')} |`,
      `| set Ready | ${s.setReady} |`,
      `| batches / git pushes (atomic waves) | ${s.batches} / ${s.gitPushes} |`,
      `| git processes (count, wall s) | ${s.gitProcesses}: ${Object.entries(s.gitByCommand ?? {})
        .map(([c, { count, seconds }]) => `${c} ${count}, ${seconds.toFixed(1)}`)
        .join('; ')} |`,
      `| errors | ${s.errors}${s.firstError ? ` (${s.firstError.replace(/\|/g, '\\|')})` : ''} |`,
      `| peak RSS (MiB) | ${s.peakRssMiB} |`,
      '',
    );
  }
  if (r.fetch) {
    out.push(
      `| ${r.fetch.refs.toLocaleString('en')}-ref repository | refs moved | RepoCache.refresh (s) | plain git fetch (s) | our git processes |`,
      '|---|---|---|---|---|',
    );
    for (const row of r.fetch.rows) {
      const procs = Object.entries(row.oursProcesses)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ');
      out.push(
        `| ${row.step} | ${row.moved.toLocaleString('en')} | ${row.oursError ? `failed: ${row.oursError.replace(/\|/g, '\\|')}` : s2(row.ours)} | ${s2(row.plain)} | ${procs} |`,
      );
    }
    out.push('');
  }
  out.push('<!-- /big-inputs -->');
  return out.join('\n');
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function runPart(part: Part): unknown {
  const child = spawnSync(process.execPath, [SELF, '--part', part], {
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
    env: process.env,
  });
  const lines = child.stdout.toString().trim().split('\n');
  if (child.status !== 0) throw new Error(`part ${part} failed (exit ${child.status})`);
  return JSON.parse(lines.at(-1)!);
}

async function main(): Promise<void> {
  const { values } = benchArgs(import.meta.url, {
    part: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string' },
    report: { type: 'boolean' },
  });
  if (values.part) {
    const part = values.part as Part;
    const result = part === 'merge' ? mergePart() : part === 'set' ? await setPart() : await fetchPart();
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  // --report: the markdown again from the JSON, nothing measured.
  const parts = values.report ? [] : ((values.only ?? 'merge,set,fetch').split(',') as Part[]);
  const out = values.out ?? join(HERE, 'results', 'big-inputs.json');
  const previous = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as Results) : undefined;
  const git = (await runGit(['--version'])).stdout.toString().trim();
  const date = values.report && previous ? previous.date : new Date().toISOString();
  const results: Results = { ...previous, date, node: process.versions.node, git };
  for (const part of parts) (results as unknown as Record<string, unknown>)[part] = runPart(part);
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  const markdown = renderMarkdown(results);
  writeFileSync(out.replace(/\.json$/, '') + '.md', `${markdown}\n`);
  if (!values.out) writeSection('big-inputs', markdown);
  console.log(markdown);
}

await main();
