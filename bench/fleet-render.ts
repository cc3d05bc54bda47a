// What rendering costs a fleet upgrade (`make bench-fleet-render`, issue 15), local mode.
//
//   node bench/fleet-render.ts [--n 100[,1000]] [--repos 10] [--runs 3] [--fn-runs 50] [--profile] [--no-report]
//   (or N=100,1000 REPOS=10 RUNS=3 FN_RUNS=50 PROFILE=1 in the environment; --profile: a CPU profile
//   of the first upgrade pass of each mode, summarized by area, in the JSON)
//
// For each N, the fleet benchmark of bench/fleet.ts twice in the same run: once with the plain
// blueprint, once with a blueprint whose Kptfile declares a three-function pipeline (set-namespace,
// set-labels, apply-replacements with its config in a local-config file, bench/lib/fleet-package.ts).
// The reconcile renders every draft it writes (controllers/packagevariant/content.ts renderStage),
// so the difference between the two upgrades (upstream release → all N upgrade drafts pushed) is
// what rendering costs; render share = (with − without) / with. Every upgraded draft of the
// pipeline fleet is checked against merge + mutations + renderPackage computed here, and for the
// namespace, the label and the replaced annotation (the render really ran).
//
// The render metrics (packagevariant_render_duration_seconds) exist only in controller mode, so the
// cost per function is measured apart, in a fresh Node process: renderPackage on one rendered
// package of the fleet (the v2 blueprint, rendered, with a site's customizations) with a pipeline of
// each function alone, minus the same package with no pipeline (the write-back: the files' parse is
// cached from the second render on), plus the first render of the process (WebAssembly worker start
// and module compile, paid once per pass).
// Writes bench/results/fleet-render.json and the `fleet-render` section of BENCHMARKS.md.
// Benchmarks never assert on time.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { benchArgs } from './lib/args.ts';
import { writeSection } from './lib/report-sections.ts';
import { renderPackage } from '../lib/fn/render.ts';
import { stopWasmRuntime } from '../lib/fn/runtimes/wasm.ts';
import { runFleetBenchmark, type FleetResult } from './fleet.ts';
import {
  ALL_FUNCTIONS,
  blueprintFiles,
  customizationOf,
  customize,
  kptfileWith,
  V2,
  type PipelineFunction,
} from './lib/fleet-package.ts';
import { variantName } from './lib/fleet.ts';
import { spread } from './lib/stats.ts';

const SELF = new URL(import.meta.url).pathname;
const HERE = import.meta.dirname;

interface Timing {
  median: number;
  p95: number;
}

/** renderPackage timings of one rendered fleet package, ms. */
export interface FunctionTimings {
  runs: number;
  resources: number;
  /** The first render in the process, full pipeline (WebAssembly worker start + module compile + the render). */
  firstRenderMs: number;
  /** No pipeline: parse and write back. */
  emptyPipeline: Timing;
  /** Each function alone; `cost` = its median − the empty pipeline's median. */
  functions: Record<PipelineFunction, Timing & { cost: number }>;
  allThree: Timing;
}

function timing(samples: number[]): Timing {
  const s = [...samples].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, p95: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))]! };
}

/** Child mode: the per-function timings, as JSON on stdout. */
async function functionTimings(runs: number): Promise<FunctionTimings> {
  const site = variantName(0);
  const blueprint = blueprintFiles(V2, true);
  const t0 = performance.now();
  const first = await renderPackage(blueprint);
  const firstRenderMs = performance.now() - t0;
  if (first.error !== undefined) throw new Error(first.error);
  const rendered = customize(first.files, customizationOf(site, 0));
  const withKptfile = (functions: readonly PipelineFunction[]) =>
    new Map([...rendered, ['Kptfile', Buffer.from(kptfileWith(functions))]]);
  const time = async (functions: readonly PipelineFunction[]): Promise<Timing> => {
    const files = withKptfile(functions);
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      const out = await renderPackage(files);
      samples.push(performance.now() - start);
      if (out.error !== undefined) throw new Error(`${functions.join(', ')}: ${out.error}`);
    }
    return timing(samples);
  };
  const emptyPipeline = await time([]);
  const functions = {} as FunctionTimings['functions'];
  for (const fn of ALL_FUNCTIONS) {
    const t = await time([fn]);
    functions[fn] = { ...t, cost: t.median - emptyPipeline.median };
  }
  const allThree = await time(ALL_FUNCTIONS);
  stopWasmRuntime();
  const resources = [...rendered.keys()].filter((p) => p.endsWith('.yaml') && p !== 'replacements.yaml').length;
  return { runs, resources, firstRenderMs, emptyPipeline, functions, allThree };
}

async function functionTimingsInChild(runs: number): Promise<FunctionTimings> {
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [SELF, '--fn-timing', '--fn-runs', String(runs)], (error, out, err) =>
      error ? reject(new Error(`function timings failed: ${error.message}\n${err}`)) : resolve(out),
    ),
  );
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as FunctionTimings;
}

export interface RenderShare {
  n: number;
  repos: number;
  runs: number;
  without: FleetResult;
  with: FleetResult;
  summary: {
    /** Upstream release → all N upgrade drafts pushed, s (median, min, max). */
    withoutSeconds: { median: number; min: number; max: number };
    withSeconds: { median: number; min: number; max: number };
    /** (with − without) / with, medians. */
    renderShare: number;
    /** (with − without) / without, medians: the target is ≤ 0.5. */
    addedFraction: number;
    /** (with − without) / N, ms: what one draft's render costs the upgrade. */
    perDraftMs: number;
    /** The reconcile pass alone (without the release commit), medians, s. */
    passWithoutSeconds: number;
    passWithSeconds: number;
    /** CPU of the pass's Node process (main thread + the WebAssembly worker), medians, s. */
    cpuNodeWithout: number;
    cpuNodeWith: number;
    /** Event-loop delay p99 / max of the pass with the pipeline (first run), ms. */
    eventLoopDelayWithMs: { p99: number; max: number };
    correct: boolean;
  };
}

const median = (xs: number[]) => spread(xs).median;

function share(without: FleetResult, withPipeline: FleetResult): RenderShare['summary'] {
  const w0 = spread(without.upgrade.map((s) => s.processSeconds ?? 0));
  const w1 = spread(withPipeline.upgrade.map((s) => s.processSeconds ?? 0));
  const added = w1.median - w0.median;
  const correct = (r: FleetResult) =>
    r.verification.exact === r.n && r.verification.fieldsOk === r.n && r.verification.oneDraft === r.n;
  return {
    withoutSeconds: w0,
    withSeconds: w1,
    renderShare: added / w1.median,
    addedFraction: added / w0.median,
    perDraftMs: (added / withPipeline.n) * 1000,
    passWithoutSeconds: median(without.upgrade.map((s) => s.seconds)),
    passWithSeconds: median(withPipeline.upgrade.map((s) => s.seconds)),
    cpuNodeWithout: median(without.upgrade.map((s) => s.cpu.node)),
    cpuNodeWith: median(withPipeline.upgrade.map((s) => s.cpu.node)),
    eventLoopDelayWithMs: {
      p99: withPipeline.upgrade[0]!.eventLoopDelayMs.p99,
      max: withPipeline.upgrade[0]!.eventLoopDelayMs.max,
    },
    correct: correct(without) && correct(withPipeline),
  };
}

export interface FleetRenderResult {
  date: string;
  node: string;
  loadAverage: number[];
  shares: RenderShare[];
  functions: FunctionTimings;
}

const f2 = (x: number) => x.toFixed(2);
const range = (x: { median: number; min: number; max: number }) =>
  x.min === x.max ? f2(x.median) : `${f2(x.median)} (${f2(x.min)}–${f2(x.max)})`;
const pct = (x: number) => `${(x * 100).toFixed(0)} %`;

export function markdown(r: FleetRenderResult): string {
  const out: string[] = [
    '<!-- fleet-render: written by `node bench/fleet-render.ts` (make bench-fleet-render) from bench/results/fleet-render.json -->',
    '## Rendering in the fleet upgrade (`make bench-fleet-render`)',
    '',
    `${r.date.slice(0, 10)}, Node ${r.node.replace(/^v/, '')}, local mode, 10 repositories; load average at the end ` +
      `${r.loadAverage.map((l) => l.toFixed(1)).join(' / ')}. The same upgrade without and with a Kptfile pipeline ` +
      '(set-namespace, set-labels, apply-replacements) rendered on every draft; seconds from the upstream release to ' +
      'all N upgrade drafts pushed, median (min–max). See docs/benchmarks.md.',
    '',
    '| N | runs | without pipeline (s) | with pipeline (s) | added | render share of the total | per draft (ms) | drafts correct and rendered |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const s of r.shares) {
    const v = s.with.verification;
    out.push(
      `| ${s.n.toLocaleString('en')} | ${s.runs} | ${range(s.summary.withoutSeconds)} | ${range(s.summary.withSeconds)} | ` +
        `+${pct(s.summary.addedFraction)} | ${pct(s.summary.renderShare)} | ${s.summary.perDraftMs.toFixed(0)} | ` +
        `${Math.min(v.exact, v.fieldsOk)} / ${s.n} |`,
    );
  }
  for (const s of r.shares) {
    const profile = s.with.upgrade[0]?.profile;
    if (!profile) continue;
    const areas = Object.entries(profile.areasMs)
      .sort(([, a], [, b]) => b - a)
      .slice(0, 6)
      .map(([k, ms]) => `${k} ${(ms / 1000).toFixed(2)} s`)
      .join('; ');
    out.push(
      '',
      `CPU profile of the first upgrade pass with the pipeline, N = ${s.n} (main thread, by area): ${areas}.`,
    );
  }
  const fn = r.functions;
  out.push(
    '',
    `renderPackage on one rendered fleet package (${fn.resources} resources), ${fn.runs} renders per pipeline, ms:`,
    '',
    '| pipeline | median | p95 | the function alone (median − empty) |',
    '|---|---|---|---|',
    `| empty (write back; the files are parsed once and cached) | ${f2(fn.emptyPipeline.median)} | ${f2(fn.emptyPipeline.p95)} | – |`,
  );
  for (const name of ALL_FUNCTIONS) {
    const t = fn.functions[name];
    out.push(`| ${name} | ${f2(t.median)} | ${f2(t.p95)} | ${f2(t.cost)} |`);
  }
  out.push(
    `| all three | ${f2(fn.allThree.median)} | ${f2(fn.allThree.p95)} | – |`,
    '',
    `First render of a process (WebAssembly worker start + module compile, paid once per pass): ${fn.firstRenderMs.toFixed(0)} ms.`,
    '<!-- /fleet-render -->',
  );
  return out.join('\n');
}

export interface FleetRenderOptions {
  ns: number[];
  repos: number;
  runs: number;
  fnRuns: number;
  profile: boolean;
  log(line: string): void;
}

/** The upgrade without and with the pipeline at each N, then the per-function timings. */
export async function runFleetRender(o: FleetRenderOptions): Promise<FleetRenderResult> {
  const shares: RenderShare[] = [];
  for (const n of o.ns) {
    const results: Partial<Record<'without' | 'with', FleetResult>> = {};
    for (const mode of ['without', 'with'] as const) {
      o.log(`N = ${n}, ${mode} pipeline`);
      results[mode] = await runFleetBenchmark({
        n,
        repos: o.repos,
        runs: o.runs,
        coldRuns: 0,
        pipeline: mode === 'with',
        profile: o.profile,
        log: (l) => o.log(`  ${mode}: ${l}`),
      });
    }
    const s: RenderShare = {
      n,
      repos: o.repos,
      runs: o.runs,
      without: results.without!,
      with: results.with!,
      summary: share(results.without!, results.with!),
    };
    shares.push(s);
    o.log(
      `N = ${n}: ${range(s.summary.withoutSeconds)} s without, ${range(s.summary.withSeconds)} s with the pipeline: ` +
        `+${pct(s.summary.addedFraction)}, render share ${pct(s.summary.renderShare)}, ${s.summary.perDraftMs.toFixed(0)} ms per draft` +
        (s.summary.correct ? '' : ` — NOT CORRECT: ${s.with.verification.problems.slice(0, 3).join('; ')}`),
    );
  }
  o.log('per-function timings (fresh process)');
  const functions = await functionTimingsInChild(o.fnRuns);
  return { date: new Date().toISOString(), node: process.version, loadAverage: loadavg(), shares, functions };
}

/** Writes the result (JSON, its markdown) and, with `report`, the fleet-render section of BENCHMARKS.md. */
export function writeFleetRender(result: FleetRenderResult, options: { out?: string; report: boolean }): string {
  const dir = join(HERE, 'results');
  mkdirSync(dir, { recursive: true });
  const file = options.out ?? join(dir, 'fleet-render.json');
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  const section = markdown(result);
  writeFileSync(join(dir, 'fleet-render.md'), `${section}\n`);
  if (options.report) writeSection('fleet-render', section);
  return file;
}

async function main(): Promise<void> {
  const { values } = benchArgs(import.meta.url, {
    n: { type: 'string', default: process.env.N ?? '100' },
    repos: { type: 'string', default: process.env.REPOS ?? '10' },
    runs: { type: 'string', default: process.env.RUNS ?? '3' },
    'fn-runs': { type: 'string', default: process.env.FN_RUNS ?? '50' },
    'fn-timing': { type: 'boolean', default: false },
    'no-report': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: ['1', 'true', 'yes'].includes(process.env.PROFILE ?? '') },
    out: { type: 'string' },
  });
  if (values['fn-timing']) {
    process.stdout.write(`\n${JSON.stringify(await functionTimings(Number(values['fn-runs'])))}\n`);
    return;
  }
  const result = await runFleetRender({
    ns: values.n.split(',').map(Number),
    repos: Number(values.repos),
    runs: Number(values.runs),
    fnRuns: Number(values['fn-runs']),
    profile: values.profile,
    log: (line) => console.error(line),
  });
  const file = writeFleetRender(result, { ...(values.out ? { out: values.out } : {}), report: !values['no-report'] });
  console.log(markdown(result));
  console.log(`\nresult: ${file}`);
  stopWasmRuntime();
}

if (process.argv[1] === SELF) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
