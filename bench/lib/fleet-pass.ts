// Child mode of the fleet benchmark: one reconcileLocally pass over the objects in a state file,
// in a Node process of its own, its stats printed as the last line of stdout. Kept apart from
// bench/fleet.ts so that the process loads what a pass loads and nothing of the harness: a pass
// answered from the pass memo is measured with the modules it needs, as `pvctl reconcile` would.
import { readFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import type { KubeObject } from '../../api/v1alpha1/index.ts';
import { reconcileLocally } from '../../controllers/local.ts';
import { gitProcessStats } from '../../lib/git/exec.ts';
import type { ProfileSummary } from './fleet-profile.ts';
import { childCpuSeconds, spawnHelperPeakRssMiB } from './stats.ts';

export const PASS_SCRIPT = new URL(import.meta.url).pathname;

/** What one reconcile pass measured (in the process that ran it). */
export interface PassStats {
  name: string;
  variants: number;
  seconds: number;
  pushes: number;
  errors: number;
  /** Variants whose status differs from the one they came in with. */
  statusChanges: number;
  gitProcesses: number;
  byCommand: Record<string, { count: number; ms: number }>;
  maxRssMiB: number;
  /** Peak RSS of the spawn helper process (lib/spawn), apart from maxRssMiB; 0 without one. */
  spawnHelperRssMiB: number;
  /** CPU seconds of this Node process and of its (ended) git children. */
  cpu: { node: number; git: number };
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** Peaks of process.memoryUsage() (MiB), sampled every 50 ms: where the RSS is (V8 heap or outside it). */
  memoryMiB?: { heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  /** Whole child process, from spawn to exit (includes Node start and module loading). */
  processSeconds?: number;
  profile?: ProfileSummary;
}

const MiB = 2 ** 20;

/**
 * Peak memory by kind while a pass runs. With BENCH_HEAP_SNAPSHOT_MIB set, one V8 heap snapshot
 * is written next to the cwd the first time the heap in use passes that many MiB (for a heap
 * analysis: bench/lib/heap-summary.ts).
 */
function sampleMemory() {
  const peaks = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  const snapshotAt = Number(process.env.BENCH_HEAP_SNAPSHOT_MIB ?? 0);
  let snapshotTaken = false;
  const sample = () => {
    const usage = process.memoryUsage();
    for (const key of Object.keys(peaks) as Array<keyof typeof peaks>) {
      peaks[key] = Math.max(peaks[key], Math.round(usage[key] / MiB));
    }
    if (snapshotAt && !snapshotTaken && usage.heapUsed / MiB >= snapshotAt) {
      snapshotTaken = true;
      process.stderr.write(`heap snapshot: ${writeHeapSnapshot()}\n`);
    }
  };
  const timer = setInterval(sample, 50);
  return {
    peaks,
    stop: () => {
      sample();
      clearInterval(timer);
    },
  };
}

/** Child mode: one reconcileLocally pass over the objects in `state`, results written next to it. */
export async function runPass(name: string, state: string, cacheDir: string): Promise<void> {
  const objects = JSON.parse(readFileSync(state, 'utf8')) as KubeObject[];
  const before = new Map(
    objects.filter((o) => o.kind === 'PackageVariant').map((o) => [o.metadata!.name!, JSON.stringify(o.status)]),
  );
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const memory = sampleMemory();
  const cpu0 = process.cpuUsage();
  const git0 = childCpuSeconds();
  const start = performance.now();
  // Content threads (--threads; 0, the default: on the main thread); reconciles at once (--concurrency; default all).
  const concurrency = process.env.BENCH_CONCURRENCY ? Number(process.env.BENCH_CONCURRENCY) : undefined;
  const result = await reconcileLocally(objects, {
    cacheDir,
    threads: Number(process.env.BENCH_THREADS ?? 0),
    ...(concurrency ? { concurrency } : {}),
  });
  const seconds = (performance.now() - start) / 1000;
  delay.disable();
  memory.stop();
  const cpu = process.cpuUsage(cpu0);
  const statusChanges = result.variants.filter(
    (v) => JSON.stringify(v.status) !== before.get(v.metadata!.name!),
  ).length;
  const out = result.store.all().map((o) => {
    const copy = structuredClone(o);
    delete copy.metadata!.uid; // derived again from the name by the local store
    return copy;
  });
  writeFileSync(`${state}.out.json`, JSON.stringify(out));
  const stats: PassStats = {
    name,
    variants: result.variants.length,
    seconds,
    pushes: result.pushes,
    errors: result.errors.size,
    statusChanges,
    gitProcesses: gitProcessStats.spawned,
    byCommand: gitProcessStats.byCommand,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    spawnHelperRssMiB: spawnHelperPeakRssMiB(),
    cpu: { node: (cpu.user + cpu.system) / 1e6, git: childCpuSeconds() - git0 },
    memoryMiB: memory.peaks,
    eventLoopDelayMs: {
      p50: delay.percentile(50) / 1e6,
      p99: delay.percentile(99) / 1e6,
      max: delay.max / 1e6,
    },
  };
  if (result.errors.size) stats.name += ` (first error: ${[...result.errors.values()][0]})`;
  process.stdout.write(`\n${JSON.stringify(stats)}\n`);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { pass: { type: 'string' }, state: { type: 'string' }, cache: { type: 'string' } },
  });
  await runPass(values.pass!, values.state!, values.cache!);
}
