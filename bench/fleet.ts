// Fleet-upgrade benchmark of the PackageVariant controller in local mode (`make bench-fleet`).
//
//   node bench/fleet.ts [--n 1000] [--repos 10] [--runs 3] [--cold-runs 1] [--threads N] [--concurrency C]
//     [--pipeline] [--profile] [--keep]
//   (or N=1000 REPOS=10 RUNS=3 COLD_RUNS=1 PROFILE=1 in the environment)
//   BENCH_NODE_FLAGS="--max-semi-space-size=8"   Node/V8 flags for each pass's process
//   BENCH_HEAP_SNAPSHOT_MIB=200                   a heap snapshot (in the cwd) when a pass's heap passes 200 MiB
//
// Builds a fleet of real bare git repositories (bench/lib/fleet.ts), runs the clone pass, publishes
// the drafts and every site's own customizations, then measures the upgrade pass that follows one
// upstream release (app/v2): wall time, git processes by command, pushes, peak RSS, event-loop
// delay, and checks every draft against an independently computed merge. Then a steady-state pass
// (nothing changed). Every measured pass runs in its own Node process, as a controller would, so
// its peak RSS and process counts are its own. Benchmarks never assert on time.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchArgs } from './lib/args.ts';
import type { KubeObject } from '../api/v1alpha1/index.ts';
import { removeDir, tempDir } from '../lib/git/testing/repos.ts';
import {
  approveAllDrafts,
  createFleet,
  draftRefCounts,
  publishCustomizations,
  publishUpstreamV2,
  restore,
  snapshot,
  verifyUpgrade,
  type Fleet,
  type Verification,
} from './lib/fleet.ts';
import { summarizeProfile } from './lib/fleet-profile.ts';
import { PASS_SCRIPT, type PassStats } from './lib/fleet-pass.ts';
import { baselinePass, type BaselineName, type BaselineStats } from './lib/baselines.ts';
import { median, spread } from './lib/stats.ts';

const SELF = new URL(import.meta.url).pathname;

/** Runs a pass in a fresh Node process; returns its stats and the objects it left. */
async function pass(
  name: string,
  objects: KubeObject[],
  cacheDir: string,
  work: string,
  profileDir?: string,
): Promise<{ stats: PassStats; objects: KubeObject[] }> {
  const state = join(work, `${name}.json`);
  writeFileSync(state, JSON.stringify(objects));
  const args = [
    ...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []),
    ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-interval', '500'] : []),
    PASS_SCRIPT,
    '--pass',
    name,
    '--state',
    state,
    '--cache',
    cacheDir,
  ];
  // as bin/pvctl runs: with Node's compile cache (one per benchmark, filled by the first pass)
  const env = { ...process.env, NODE_COMPILE_CACHE: join(work, 'node-compile-cache') };
  const start = performance.now();
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, args, { maxBuffer: 64 * 2 ** 20, env }, (error, out, err) =>
      error ? reject(new Error(`pass ${name} failed: ${error.message}\n${err}`)) : resolve(out),
    ),
  );
  const lines = stdout.trim().split('\n');
  const stats = JSON.parse(lines[lines.length - 1]!) as PassStats;
  stats.processSeconds = (performance.now() - start) / 1000;
  if (profileDir) {
    const file = readdirSync(profileDir)
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: the main thread's (a worker thread writes its own)
      .filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f))
      .sort()
      .pop();
    if (file) stats.profile = summarizeProfile(join(profileDir, file));
  }
  return { stats, objects: JSON.parse(readFileSync(`${state}.out.json`, 'utf8')) as KubeObject[] };
}

export interface FleetResult {
  n: number;
  /** The blueprint's Kptfile declares the three-function pipeline, so every draft written is rendered. */
  pipeline?: boolean;
  repos: number;
  runs: number;
  /** Content threads of each pass (0: on the main thread). */
  threads?: number;
  node: string;
  git: string;
  date: string;
  setupSeconds: number;
  clone: PassStats;
  warmup: PassStats;
  upgrade: PassStats[];
  upgradeCold: PassStats[];
  steady: PassStats[];
  /** A second pass with nothing changed: decided from refs and trees (the reconcile memo). */
  remembered: PassStats[];
  verification: Verification;
  duplicateDrafts: number;
  baselines: Partial<Record<BaselineName, BaselineResult>>;
  summary: Record<string, unknown>;
}

/** A baseline on the same fleet: its runs, or why it did not run. */
export type BaselineResult =
  | {
      runs: Array<BaselineStats & { fromReleaseSeconds: number }>;
      verification: Verification;
      duplicateDrafts: number;
    }
  | { skipped: string };

export interface FleetOptions {
  n: number;
  repos: number;
  runs: number;
  coldRuns: number;
  profile?: boolean;
  keep?: boolean;
  /** The blueprint declares set-namespace, set-labels and apply-replacements (bench/fleet-render.ts). */
  pipeline?: boolean;
  /** Baselines run on the same fleet after the controller's passes (bench/lib/baselines.ts). */
  baselines?: Partial<Record<BaselineName, { runs: number } | { skipped: string }>>;
  baselineJobs?: number;
  /** The kpt binary, for the kpt baseline. */
  kpt?: string;
  log?(line: string): void;
}

export async function runFleetBenchmark(options: FleetOptions): Promise<FleetResult> {
  const log = options.log ?? (() => {});
  const root = tempDir('pv-fleet-bench-');
  const work = join(root, 'work');
  mkdirSync(work);
  const cache = join(root, 'cache');
  const profileRoot = options.profile ? join(root, 'profiles') : undefined;
  try {
    const setupStart = performance.now();
    const fleet: Fleet = await createFleet(root, options.n, options.repos, { pipeline: options.pipeline ?? false });
    log(`fleet: ${options.n} variants in ${options.repos} repositories under ${root}`);
    const clone = await pass('clone', fleet.objects, cache, work, profileRoot && join(profileRoot, 'clone'));
    if (clone.stats.errors) throw new Error(`clone pass: ${clone.stats.name}`);
    log(`clone pass: ${clone.stats.seconds.toFixed(2)} s, ${clone.stats.pushes} pushes`);
    await approveAllDrafts(fleet, join(root, 'setup-cache'));
    await publishCustomizations(fleet, join(root, 'setup-cache'));
    // The controller sees the published customizations before the release (its poll would).
    const warmup = await pass('warmup', clone.objects, cache, work);
    if (warmup.stats.errors || warmup.stats.pushes) throw new Error(`warm-up pass wrote: ${warmup.stats.name}`);
    const setupSeconds = (performance.now() - setupStart) / 1000;
    log(`setup: ${setupSeconds.toFixed(1)} s`);
    const snap = join(root, 'snapshot');
    snapshot(fleet.remotes, join(snap, 'remotes'));
    snapshot(cache, join(snap, 'cache'));

    const upgrade: PassStats[] = [];
    const steady: PassStats[] = [];
    const remembered: PassStats[] = [];
    const floor = await noChangeFloor(fleet.remotes);
    log(`no-change floor (Node start + one ls-remote per repository): ${floor.toFixed(2)} s`);
    let verification: Verification | undefined;
    let duplicateDrafts = 0;
    for (let run = 1; run <= options.runs; run++) {
      restore(join(snap, 'remotes'), fleet.remotes);
      restore(join(snap, 'cache'), cache);
      const released = performance.now();
      const v2 = await publishUpstreamV2(fleet);
      const profileDir = profileRoot && run === 1 ? join(profileRoot, `upgrade-${run}`) : undefined;
      const up = await pass(`upgrade-${run}`, warmup.objects, cache, work, profileDir);
      up.stats.processSeconds = (performance.now() - released) / 1000;
      upgrade.push(up.stats);
      log(
        `upgrade run ${run}: ${up.stats.seconds.toFixed(2)} s pass, ${up.stats.processSeconds.toFixed(2)} s from the release, ` +
          `${up.stats.gitProcesses} git processes, ${up.stats.pushes} pushes, ${up.stats.maxRssMiB.toFixed(0)} MiB ` +
          `(spawn helper ${up.stats.spawnHelperRssMiB.toFixed(0)} MiB), CPU Node ${up.stats.cpu.node.toFixed(1)} s / git ${up.stats.cpu.git.toFixed(1)} s`,
      );
      const counts = await draftRefCounts(fleet);
      duplicateDrafts = Math.max(duplicateDrafts, [...counts.values()].filter((c) => c > 1).length);
      const st = await pass(`steady-${run}`, up.objects, cache, work);
      steady.push(st.stats);
      log(
        `steady run ${run}: ${st.stats.seconds.toFixed(2)} s, ${st.stats.gitProcesses} git processes, ` +
          `${st.stats.pushes} pushes, ${st.stats.statusChanges} status changes`,
      );
      // The next run with nothing changed (a scheduled CI job): decided from refs and trees.
      const again = await pass(`remembered-${run}`, st.objects, cache, work);
      remembered.push(again.stats);
      log(
        `remembered run ${run}: ${again.stats.seconds.toFixed(2)} s pass, ${again.stats.processSeconds!.toFixed(2)} s with Node start, ` +
          `${again.stats.gitProcesses} git processes, ${again.stats.pushes} pushes, ${again.stats.statusChanges} status changes`,
      );
      if (run === 1) {
        verification = await verifyUpgrade(fleet, join(root, `verify-cache-${run}`), v2);
        log(
          `verified: ${verification.exact}/${verification.checked} equal the expected merge, ` +
            `${verification.fieldsOk} pass the field checks, ${verification.oneDraft} have exactly one draft`,
        );
      }
    }
    const upgradeCold: PassStats[] = [];
    for (let run = 1; run <= options.coldRuns; run++) {
      restore(join(snap, 'remotes'), fleet.remotes);
      const coldCache = join(root, `cold-cache-${run}`);
      const released = performance.now();
      await publishUpstreamV2(fleet);
      const up = await pass(`upgrade-cold-${run}`, warmup.objects, coldCache, work);
      up.stats.processSeconds = (performance.now() - released) / 1000;
      upgradeCold.push(up.stats);
      log(`cold upgrade run ${run}: ${up.stats.seconds.toFixed(2)} s, ${up.stats.gitProcesses} git processes`);
      removeDir(coldCache);
    }
    const baselines: FleetResult['baselines'] = {};
    for (const [name, plan] of Object.entries(options.baselines ?? {}) as Array<
      [BaselineName, { runs: number } | { skipped: string }]
    >) {
      if ('skipped' in plan) {
        baselines[name] = plan;
        log(`baseline ${name}: skipped (${plan.skipped})`);
        continue;
      }
      const runs: Array<BaselineStats & { fromReleaseSeconds: number }> = [];
      let baselineVerification: Verification | undefined;
      let baselineDuplicates = 0;
      for (let run = 1; run <= plan.runs; run++) {
        restore(join(snap, 'remotes'), fleet.remotes);
        const released = performance.now();
        const v2 = await publishUpstreamV2(fleet);
        const stats = await baselinePass({
          baseline: name,
          fleet,
          v2Commit: v2,
          work: join(root, `baseline-${name}-${run}`),
          jobs: options.baselineJobs ?? 2,
          ...(options.kpt ? { kpt: options.kpt } : {}),
        });
        runs.push({ ...stats, fromReleaseSeconds: (performance.now() - released) / 1000 });
        removeDir(join(root, `baseline-${name}-${run}`));
        const counts = await draftRefCounts(fleet);
        baselineDuplicates = Math.max(baselineDuplicates, [...counts.values()].filter((c) => c > 1).length);
        if (run === 1) {
          baselineVerification = await verifyUpgrade(fleet, join(root, `verify-${name}`), v2);
          baselineVerification.problems = baselineVerification.problems.slice(0, 20);
        }
        log(
          `baseline ${name} run ${run}: ${stats.seconds.toFixed(2)} s, ${runs[run - 1]!.fromReleaseSeconds.toFixed(2)} s from the release, ` +
            `${stats.gitProcesses} git processes, ${stats.pushes} pushes` +
            (run === 1
              ? `; ${baselineVerification!.exact}/${n0(baselineVerification!)} equal the expected merge, ${baselineVerification!.fieldsOk} pass the field checks`
              : ''),
        );
      }
      baselines[name] = { runs, verification: baselineVerification!, duplicateDrafts: baselineDuplicates };
    }
    const n = options.n;
    const summary = {
      upgradeSeconds: spread(upgrade.map((s) => s.seconds)),
      upgradeFromReleaseSeconds: spread(upgrade.map((s) => s.processSeconds ?? 0)),
      upgradeColdSeconds: upgradeCold.length ? spread(upgradeCold.map((s) => s.seconds)) : undefined,
      upgradeGitProcesses: median(upgrade.map((s) => s.gitProcesses)),
      upgradeGitProcessesPerVariant: median(upgrade.map((s) => s.gitProcesses)) / n,
      upgradePushes: median(upgrade.map((s) => s.pushes)),
      upgradeMaxRssMiB: spread(upgrade.map((s) => s.maxRssMiB)),
      steadySeconds: spread(steady.map((s) => s.seconds)),
      steadyGitProcesses: median(steady.map((s) => s.gitProcesses)),
      steadyPushes: Math.max(...steady.map((s) => s.pushes)),
      steadyFetches: Math.max(...steady.map((s) => s.byCommand['fetch']?.count ?? 0)),
      steadyStatusChanges: Math.max(...steady.map((s) => s.statusChanges)),
      rememberedSeconds: spread(remembered.map((s) => s.processSeconds ?? s.seconds)),
      rememberedGitProcesses: median(remembered.map((s) => s.gitProcesses)),
      rememberedWrites: Math.max(...remembered.map((s) => s.pushes + s.statusChanges)),
      noChangeFloorSeconds: floor,
      rememberedToFloor: median(remembered.map((s) => s.processSeconds ?? s.seconds)) / floor,
      correct: verification!.exact === n && verification!.fieldsOk === n && verification!.oneDraft === n,
    };
    return {
      n,
      ...(options.pipeline ? { pipeline: true } : {}),
      repos: options.repos,
      runs: options.runs,
      threads: Number(process.env.BENCH_THREADS ?? 0),
      node: process.version,
      git: '',
      date: new Date().toISOString(),
      setupSeconds,
      clone: clone.stats,
      warmup: warmup.stats,
      upgrade,
      upgradeCold,
      steady,
      remembered,
      verification: { ...verification!, problems: verification!.problems.slice(0, 20) },
      duplicateDrafts,
      baselines,
      summary,
    };
  } finally {
    if (!options.keep) removeDir(root);
  }
}

const n0 = (v: Verification) => v.checked;

/** What a no-change run cannot go below: a Node process that runs one `git ls-remote` per repository (at once). */
async function noChangeFloor(remotes: string): Promise<number> {
  const repos = readdirSync(remotes).map((name) => `file://${join(remotes, name)}`);
  const script = `const { execFile } = require('node:child_process');
Promise.all(${JSON.stringify(repos)}.map((url) => new Promise((ok, fail) => execFile('git', ['ls-remote', url], (e) => (e ? fail(e) : ok())))));`;
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, ['-e', script], (error) => (error ? reject(error) : resolve())),
    );
    times.push((performance.now() - start) / 1000);
  }
  return median(times);
}

function table(r: FleetResult): string {
  const s = r.summary as {
    upgradeSeconds: { median: number; min: number; max: number };
    upgradeColdSeconds?: { median: number; min: number; max: number };
    upgradeMaxRssMiB: { median: number; min: number; max: number };
  };
  const range = (x: { median: number; min: number; max: number }, digits = 2) =>
    `${x.median.toFixed(digits)} (${x.min.toFixed(digits)}–${x.max.toFixed(digits)})`;
  const up = r.upgrade[0]!;
  const st = r.steady[0]!;
  const rm = r.remembered[0]!;
  const rows = [
    ['variants / repositories / runs', `${r.n} / ${r.repos} / ${r.runs}`],
    ['upgrade pass, warm cache: s, median (min–max)', range(s.upgradeSeconds)],
    ['upgrade pass, cold cache: s', s.upgradeColdSeconds ? range(s.upgradeColdSeconds) : '-'],
    ['upgrade: git processes (per variant)', `${up.gitProcesses} (${(up.gitProcesses / r.n).toFixed(3)})`],
    [
      'upgrade: git processes by command',
      Object.entries(up.byCommand)
        .map(([k, v]) => `${k} ${v.count}`)
        .join(', '),
    ],
    ['upgrade: pushes', String(up.pushes)],
    ['upgrade: peak RSS MiB', range(s.upgradeMaxRssMiB, 0)],
    [
      'upgrade: peak V8 heap used / heap total / external MiB',
      up.memoryMiB ? `${up.memoryMiB.heapUsed} / ${up.memoryMiB.heapTotal} / ${up.memoryMiB.external}` : '-',
    ],
    ['upgrade: CPU s node / git', `${up.cpu.node.toFixed(2)} / ${up.cpu.git.toFixed(2)}`],
    [
      'upgrade: event-loop delay ms p99 / max',
      `${up.eventLoopDelayMs.p99.toFixed(1)} / ${up.eventLoopDelayMs.max.toFixed(1)}`,
    ],
    [
      'correct: exact merge / field checks / one draft',
      `${r.verification.exact} / ${r.verification.fieldsOk} / ${r.verification.oneDraft} of ${r.n}`,
    ],
    ['duplicate drafts', String(r.duplicateDrafts)],
    [
      'steady pass: s, git processes, pushes, fetches, status changes',
      `${st.seconds.toFixed(2)}, ${st.gitProcesses} (${Object.entries(st.byCommand)
        .map(([k, v]) => `${k} ${v.count}`)
        .join(', ')}), ${st.pushes}, ${st.byCommand['fetch']?.count ?? 0}, ${st.statusChanges}`,
    ],
    [
      'no-change run after it (with Node start): s, git processes, × floor',
      `${(rm.processSeconds ?? rm.seconds).toFixed(2)}, ${rm.gitProcesses}, ${((rm.processSeconds ?? rm.seconds) / (r.summary['noChangeFloorSeconds'] as number)).toFixed(2)}× ` +
        `(floor: Node start + one ls-remote per repository, ${(r.summary['noChangeFloorSeconds'] as number).toFixed(2)} s)`,
    ],
    [
      'clone pass (setup): s, git processes, pushes',
      `${r.clone.seconds.toFixed(2)}, ${r.clone.gitProcesses}, ${r.clone.pushes}`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k!.length));
  return rows.map(([k, v]) => `${k!.padEnd(width)}  ${v}`).join('\n');
}

async function main(): Promise<void> {
  const { values } = benchArgs(import.meta.url, {
    n: { type: 'string', default: process.env.N ?? '1000' },
    repos: { type: 'string', default: process.env.REPOS ?? '10' },
    runs: { type: 'string', default: process.env.RUNS ?? '3' },
    'cold-runs': { type: 'string', default: process.env.COLD_RUNS ?? '1' },
    profile: { type: 'boolean', default: ['1', 'true', 'yes'].includes(process.env.PROFILE ?? '') },
    keep: { type: 'boolean', default: false },
    pipeline: { type: 'boolean', default: false },
    out: { type: 'string' },
    threads: { type: 'string' },
    concurrency: { type: 'string' },
  });
  // Read by each pass's process (bench/lib/fleet-pass.ts).
  if (values.threads !== undefined) process.env.BENCH_THREADS = values.threads;
  if (values.concurrency !== undefined) process.env.BENCH_CONCURRENCY = values.concurrency;
  const result = await runFleetBenchmark({
    n: Number(values.n),
    repos: Number(values.repos),
    runs: Number(values.runs),
    coldRuns: Number(values['cold-runs']),
    profile: values.profile,
    keep: values.keep,
    pipeline: values.pipeline,
    log: (line) => console.error(line),
  });
  const { execFileSync } = await import('node:child_process');
  result.git = execFileSync('git', ['--version']).toString().trim();
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = values.out ?? join(dir, `fleet-n${result.n}-r${result.repos}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(table(result));
  console.log(`\nresult: ${file}`);
}

if (process.argv[1] === SELF) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
