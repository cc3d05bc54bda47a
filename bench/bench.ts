// `make bench`: the fleet-upgrade benchmark end to end, side by side with its baselines.
//
//   node bench/bench.ts        (configured by the environment)
//     BENCH_NS=10,100,1000     fleet sizes; BENCH_LARGE=1 adds 10,000
//     BENCH_RUNS=3             measured runs per approach and N (the table shows medians)
//     BENCH_LARGE_RUNS=1       measured runs from N = 10,000 on
//     BENCH_SLOW_RUNS=1        runs of the naive and kpt baselines from N = 1,000 on (they take minutes)
//     BENCH_BASELINES_MAX_N=1000  larger fleets skip the naive and kpt baselines (hours)
//     BENCH_CONTROLLER=1       controller mode against the real API server (0: local mode only)
//     BENCH_ONLY=controller    measure controller mode again into the existing results (after a controller change)
//     BENCH_RENDER_N=1000      the render pipeline variant (bench/fleet-render.ts) at this N, BENCH_RUNS runs
//                              (default 1000 when BENCH_NS has it, else 0: none)
//     REPOS=10 CONCURRENCY=8 BASELINE_JOBS=<CPUs> KPT=<kpt binary, from scripts/kpt.sh>
//
// Per N: bench/fleet.ts (local mode, with the floor, naive and kpt baselines on the same fleet),
// then bench/fleet-controller.ts (controller mode, same generated fleet, real kube-apiserver). The
// compact results go to bench/results/bench.json (the full ones to bench-raw-n<N>.json), and
// bench/report.ts renders BENCHMARKS.md and the plot from them. Then the fleet upgrade with a rendered
// pipeline (bench/fleet-render.ts), which writes its own section. Benchmarks never assert on time.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { runControllerBenchmark, type ControllerResult } from './fleet-controller.ts';
import { runFleetBenchmark, type BaselineResult, type FleetResult } from './fleet.ts';
import { runFleetRender, writeFleetRender } from './fleet-render.ts';
import { stopWasmRuntime } from '../lib/fn/runtimes/wasm.ts';
import { defaultJobs, type BaselineName } from './lib/baselines.ts';
import { median, spread } from './lib/stats.ts';
import { writeReport } from './report.ts';
import { benchArgs } from './lib/args.ts';

const HERE = new URL('.', import.meta.url).pathname;
export const RESULTS = join(HERE, 'results', 'bench.json');

type Spread = { median: number; min: number; max: number };

/** One approach at one N, in the units of the table. */
export interface ApproachResult {
  /** Upstream commit → all N drafts pushed (floor: its fast-imports and pushes only). */
  seconds: Spread;
  runs: number;
  gitProcesses: number;
  pushes: number;
  apiRequests?: number;
  maxRssMiB: number;
  /** Drafts equal to the expected merge, passing the field checks, exactly one per package; of `checked`. */
  exact: number;
  fieldsOk: number;
  oneDraft: number;
  checked: number;
  duplicateDrafts: number;
  /** Local mode: its clone pass (setup, Node start included); controller mode: objects created → all clone drafts. */
  cloneSeconds?: number;
  /** Local mode: a run with nothing changed (answered from the pass memo, Node start included) and its floor. */
  noChange?: { seconds: Spread; gitProcesses: number; floorSeconds: number };
  note?: string;
}

export interface BenchPoint {
  n: number;
  repos: number;
  approaches: Partial<Record<'local' | 'controller' | BaselineName, ApproachResult | { skipped: string }>>;
}

export interface BenchResults {
  date: string;
  /** When controller mode alone was measured again (`BENCH_ONLY=controller`) into earlier results. */
  controllerDate?: string;
  machine: { cpus: number; model: string; node: string; git: string; kpt?: string; loadAverage: number[] };
  config: Record<string, unknown>;
  points: BenchPoint[];
}

const env = (key: string, fallback: string) => process.env[key] || fallback;

function localApproach(r: FleetResult): ApproachResult {
  const v = r.verification;
  return {
    seconds: spread(r.upgrade.map((u) => u.processSeconds ?? u.seconds)),
    runs: r.upgrade.length,
    gitProcesses: median(r.upgrade.map((u) => u.gitProcesses)),
    pushes: median(r.upgrade.map((u) => u.pushes)),
    maxRssMiB: median(r.upgrade.map((u) => u.maxRssMiB)),
    exact: v.exact,
    fieldsOk: v.fieldsOk,
    oneDraft: v.oneDraft,
    checked: v.checked,
    duplicateDrafts: r.duplicateDrafts,
    cloneSeconds: r.clone.processSeconds ?? r.clone.seconds,
    noChange: {
      seconds: spread(r.remembered.map((s) => s.processSeconds ?? s.seconds)),
      gitProcesses: median(r.remembered.map((s) => s.gitProcesses)),
      floorSeconds: r.summary['noChangeFloorSeconds'] as number,
    },
  };
}

function baselineApproach(name: BaselineName, b: BaselineResult): ApproachResult | { skipped: string } {
  if ('skipped' in b) return b;
  const v = b.verification;
  return {
    seconds: spread(b.runs.map((r) => (name === 'floor' ? r.seconds : r.fromReleaseSeconds))),
    runs: b.runs.length,
    gitProcesses: median(b.runs.map((r) => r.gitProcesses)),
    pushes: median(b.runs.map((r) => r.pushes)),
    maxRssMiB: median(b.runs.map((r) => r.maxRssMiB)),
    exact: v.exact,
    fieldsOk: v.fieldsOk,
    oneDraft: v.oneDraft,
    checked: v.checked,
    duplicateDrafts: b.duplicateDrafts,
    ...(name === 'floor' ? {} : { note: `${b.runs[0]!.jobs} downstreams at once` }),
  };
}

function controllerApproach(r: ControllerResult): ApproachResult {
  const v = r.upgrade[0]!.verification!;
  return {
    seconds: spread(r.upgrade.map((u) => u.draftsSeconds)),
    runs: r.upgrade.length,
    gitProcesses: median(r.upgrade.map((u) => u.toDrafts.gitProcesses)),
    pushes: median(r.upgrade.map((u) => u.toDrafts.pushes)),
    apiRequests: median(r.upgrade.map((u) => u.toQuiet.apiRequests)),
    maxRssMiB: median(r.upgrade.map((u) => u.toQuiet.peakRssMiB)),
    exact: v.exact,
    fieldsOk: v.fieldsOk,
    oneDraft: v.oneDraft,
    checked: v.checked,
    duplicateDrafts: Math.max(...r.upgrade.map((u) => u.duplicateDrafts)),
    cloneSeconds: r.setup.cloneDraftsSeconds,
    note: `concurrency ${r.concurrency}; API requests to idle; ${r.upgrade.filter((u) => u.statusUpgraded === r.n).length}/${r.upgrade.length} runs with every status naming the v2 draft`,
  };
}

function kptVersion(kpt: string | undefined): string | undefined {
  if (!kpt) return undefined;
  try {
    return execFileSync(kpt, ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const log = (line: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`);
  const ns = env('BENCH_NS', '10,100,1000').split(',').map(Number);
  if (process.env.BENCH_LARGE === '1' && !ns.includes(10_000)) ns.push(10_000);
  const runs = Number(env('BENCH_RUNS', '3'));
  const largeRuns = Number(env('BENCH_LARGE_RUNS', '1'));
  const renderN = Number(env('BENCH_RENDER_N', ns.includes(1000) ? '1000' : '0'));
  const slowRuns = Number(env('BENCH_SLOW_RUNS', '1'));
  const baselinesMaxN = Number(env('BENCH_BASELINES_MAX_N', '1000'));
  const controllerMode = env('BENCH_CONTROLLER', '1') === '1';
  // After a controller change: measure controller mode again, keep the other approaches' results.
  const controllerOnly = env('BENCH_ONLY', '') === 'controller';
  const repos = Number(env('REPOS', '10'));
  const concurrency = Number(env('CONCURRENCY', '8'));
  const jobs = defaultJobs();
  const kpt = process.env.KPT && existsSync(process.env.KPT) ? process.env.KPT : undefined;
  const results: BenchResults = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? '',
      node: process.version,
      git: execFileSync('git', ['--version'], { encoding: 'utf8' }).trim(),
      ...(kpt ? { kpt: kptVersion(kpt) ?? 'unknown' } : {}),
      loadAverage: [],
    },
    config: { ns, runs, largeRuns, slowRuns, baselinesMaxN, repos, concurrency, baselineJobs: jobs, controllerMode },
    points: [],
  };
  mkdirSync(join(HERE, 'results'), { recursive: true });
  if (controllerOnly) return remeasureController(ns, runs, repos, concurrency, log);
  for (const n of ns) {
    const nRuns = n > 1000 ? largeRuns : runs;
    const slow = n >= 1000 ? slowRuns : nRuns;
    const tooBig = `N > ${baselinesMaxN}: hours; BENCH_BASELINES_MAX_N=${n} runs it`;
    log(`N = ${n}: local mode and baselines`);
    const local = await runFleetBenchmark({
      n,
      repos,
      runs: nRuns,
      coldRuns: 0,
      baselineJobs: jobs,
      ...(kpt ? { kpt } : {}),
      baselines: {
        floor: { runs: nRuns },
        naive: n > baselinesMaxN ? { skipped: tooBig } : { runs: slow },
        kpt: !kpt
          ? { skipped: 'kpt not built (make bench builds it with scripts/kpt.sh)' }
          : n > baselinesMaxN
            ? { skipped: tooBig }
            : { runs: slow },
      },
      log: (l) => log(`  ${l}`),
    });
    const point: BenchPoint = { n, repos, approaches: { local: localApproach(local) } };
    for (const [name, b] of Object.entries(local.baselines) as Array<[BaselineName, BaselineResult]>)
      point.approaches[name] = baselineApproach(name, b);
    const raw: Record<string, unknown> = { local };
    results.points.push(point);
    // Written before controller mode too, so that an interrupted large run keeps its local results.
    const save = () => {
      results.machine.loadAverage = loadavg();
      writeFileSync(join(HERE, 'results', `bench-raw-n${n}.json`), `${JSON.stringify(raw, null, 1)}\n`);
      writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
      writeReport(results, loadSetResult());
    };
    save();
    if (controllerMode) {
      const controller = await measureController(n, nRuns, repos, concurrency, log);
      point.approaches.controller = controllerApproach(controller);
      raw.controller = controller;
      save();
    }
    log(`N = ${n} done; ${RESULTS}, BENCHMARKS.md and bench/results/bench.png written`);
    if (n === renderN) await measureRender(n, runs, repos, log);
  }
}

async function measureRender(n: number, runs: number, repos: number, log: (l: string) => void): Promise<void> {
  log(`N = ${n}: the upgrade without and with a rendered pipeline`);
  const render = await runFleetRender({ ns: [n], repos, runs, fnRuns: 50, profile: false, log: (l) => log(`  ${l}`) });
  writeFleetRender(render, { report: true });
  stopWasmRuntime();
  log('the fleet-render section of BENCHMARKS.md written');
}

function measureController(n: number, runs: number, repos: number, concurrency: number, log: (l: string) => void) {
  log(`N = ${n}: controller mode`);
  return runControllerBenchmark({
    n,
    repos,
    runs,
    concurrency,
    pollIntervalMs: 2000,
    steadyIntervals: 2,
    local: false,
    profile: false,
    keep: false,
    log: (l) => log(`  ${l}`),
  });
}

async function remeasureController(
  ns: number[],
  runs: number,
  repos: number,
  concurrency: number,
  log: (l: string) => void,
): Promise<void> {
  if (!existsSync(RESULTS)) throw new Error(`BENCH_ONLY=controller needs earlier results in ${RESULTS}`);
  const results = JSON.parse(readFileSync(RESULTS, 'utf8')) as BenchResults;
  for (const n of ns) {
    const point = results.points.find((p) => p.n === n && p.repos === repos);
    if (!point) throw new Error(`no earlier results for N = ${n} with ${repos} repositories in ${RESULTS}`);
    const controller = await measureController(n, runs, repos, concurrency, log);
    point.approaches.controller = controllerApproach(controller);
    const rawFile = join(HERE, 'results', `bench-raw-n${n}.json`);
    const raw = (existsSync(rawFile) ? JSON.parse(readFileSync(rawFile, 'utf8')) : {}) as Record<string, unknown>;
    writeFileSync(rawFile, `${JSON.stringify({ ...raw, controller }, null, 1)}\n`);
    results.controllerDate = new Date().toISOString();
    writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
    log(`N = ${n}: controller mode done; ${RESULTS}`);
  }
  writeReport(results, loadSetResult());
  log('BENCHMARKS.md and bench/results/bench.png written');
}

export function loadSetResult(): unknown {
  const file = join(HERE, 'results', 'bench-set.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  benchArgs(import.meta.url, {});
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
