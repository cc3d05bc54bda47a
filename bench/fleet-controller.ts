// Fleet-upgrade benchmark of the PackageVariant controller in controller mode, against the real
// kube-apiserver and etcd of the e2e test env (`make bench-fleet-controller`).
//
//   node bench/fleet-controller.ts [--n 1000] [--repos 10] [--runs 1] [--concurrency 8]
//     [--poll-interval-ms 2000] [--steady-intervals 5] [--local] [--profile] [--keep]
//   (or N=, REPOS=, RUNS=, CONCURRENCY=, POLL_INTERVAL_MS=, LOCAL=1, PROFILE=1 in the environment)
//
// The fleet (repositories, blueprint, customizations, upgrade, checks) is the local-mode benchmark's
// (bench/lib/fleet.ts). The controller runs as its own process (bench/lib/controller-child.ts: the
// Manager as `pvctl run` starts it, plus an IPC channel for counters): it makes the N clone drafts;
// the benchmark approves them and publishes every site's customizations; the controller sees them
// by its downstream poll and settles. Measured: app/v2 is committed and a signed push webhook sent
// (as a git host would); time until all N upgrade drafts are in the downstream remotes (git refs
// polled), API requests, status writes, git processes, pushes, peak RSS of the controller, and the
// local benchmark's correctness checks. Then the steady state over a few poll intervals. Each
// further run restores the remotes and the controller's cache, restarts the controller and lets it
// settle before measuring again. Benchmarks never assert on time.
import { fork, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchArgs } from './lib/args.ts';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject, PackageVariant } from '../api/v1alpha1/index.ts';
import { installCrds, PROJECT_CRD_DIR } from '../e2e/testenv/crds.ts';
import { startTestEnv, type TestEnv } from '../e2e/testenv/testenv.ts';
import { runGit } from '../lib/git/exec.ts';
import { removeDir, tempDir } from '../lib/git/testing/repos.ts';
import { makeClients, type KubeClients } from '../lib/kube/client.ts';
import { runFleetBenchmark } from './fleet.ts';
import type { ChildMessage, ChildRequest, ControllerStats } from './lib/controller-child.ts';
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
import { summarizeProfile, type ProfileSummary } from './lib/fleet-profile.ts';
import { median, spread } from './lib/stats.ts';

const HERE = new URL('.', import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
const GROUP = 'packagevariant.dev';
const VERSION = 'v1alpha1';
export const WEBHOOK_SECRET = 'fleet-bench-secret';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The controller process and its IPC. */
export class Controller {
  readonly child: ChildProcess;
  webhook = 0;
  /** The port of the controller's `/metrics` (0: not served; see --metrics-bind-address). */
  metrics = 0;
  private waiters: Array<(m: ChildMessage) => boolean> = [];
  private stderr = '';

  constructor(args: string[]) {
    this.child = fork(join(HERE, 'lib', 'controller-child.ts'), args, {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-20_000);
    });
    this.child.on('message', (message: ChildMessage) => {
      this.waiters = this.waiters.filter((w) => !w(message));
    });
  }

  static async start(args: string[]): Promise<Controller> {
    const controller = new Controller(args);
    const exited = new Promise<never>((_, reject) =>
      controller.child.once('exit', (code) =>
        reject(new Error(`controller exited (${code}) before listening:\n${controller.stderr}`)),
      ),
    );
    const listening = controller.next('listening') as Promise<Extract<ChildMessage, { type: 'listening' }>>;
    const message = await Promise.race([listening, exited]);
    controller.webhook = message.webhook;
    controller.metrics = message.metrics ?? 0;
    return controller;
  }

  private next(type: ChildMessage['type']): Promise<ChildMessage> {
    return new Promise((resolve) =>
      this.waiters.push((m) => {
        if (m.type !== type) return false;
        resolve(m);
        return true;
      }),
    );
  }

  private async ask(request: ChildRequest, reply: ChildMessage['type']): Promise<ChildMessage> {
    const answer = this.next(reply);
    this.child.send(request);
    return answer;
  }

  async stats(): Promise<ControllerStats> {
    return ((await this.ask({ type: 'stats' }, 'stats')) as { stats: ControllerStats }).stats;
  }

  async resetPeak(): Promise<ControllerStats> {
    return ((await this.ask({ type: 'resetPeak' }, 'stats')) as { stats: ControllerStats }).stats;
  }

  async profileStart(): Promise<void> {
    await this.ask({ type: 'profileStart' }, 'profiled');
  }

  async profileStop(path: string): Promise<void> {
    await this.ask({ type: 'profileStop', path }, 'profiled');
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ type: 'stop' } satisfies ChildRequest);
    await Promise.race([exited, sleep(40_000)]);
    this.child.kill('SIGKILL');
  }

  tail(): string {
    return this.stderr.slice(-3000);
  }
}

/** What happened in the controller between two stats. */
export interface Delta {
  seconds: number;
  requests: Record<string, number>;
  apiRequests: number;
  statusWrites: number;
  pushes: number;
  reconciles: number;
  gitProcesses: number;
  byCommand: Record<string, { count: number; ms: number }>;
  cpu: { node: number; git: number };
  /** Peak RSS since the last resetPeak (VmHWM) and over the whole process life. */
  peakRssMiB: number;
  maxRssMiB: number;
  eventLoopDelayMs: ControllerStats['eventLoopDelayMs'];
}

export function delta(a: ControllerStats, b: ControllerStats): Delta {
  const requests: Record<string, number> = {};
  for (const verb of Object.keys(b.requests)) {
    const d = b.requests[verb]! - (a.requests[verb] ?? 0);
    if (d) requests[verb] = d;
  }
  const byCommand: Delta['byCommand'] = {};
  for (const [command, s] of Object.entries(b.byCommand)) {
    const before = a.byCommand[command] ?? { count: 0, ms: 0 };
    if (s.count - before.count)
      byCommand[command] = { count: s.count - before.count, ms: Math.round(s.ms - before.ms) };
  }
  return {
    seconds: (b.at - a.at) / 1000,
    requests,
    apiRequests: Object.values(requests).reduce((x, y) => x + y, 0),
    statusWrites: b.statusWrites - a.statusWrites,
    pushes: b.pushes - a.pushes,
    reconciles: b.reconciles - a.reconciles,
    gitProcesses: b.gitProcesses - a.gitProcesses,
    byCommand,
    cpu: { node: b.cpu.node - a.cpu.node, git: b.cpu.git - a.cpu.git },
    peakRssMiB: b.peakRssMiB,
    maxRssMiB: b.maxRssMiB,
    eventLoopDelayMs: b.eventLoopDelayMs,
  };
}

/** Runs `fn` over `items`, at most `limit` at once. */
export async function bounded<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export async function listVariants(clients: KubeClients, namespace: string): Promise<PackageVariant[]> {
  const list = (await clients.customObjects.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'packagevariants',
  })) as { items: PackageVariant[] };
  return list.items;
}

export const ready = (pv: PackageVariant) =>
  pv.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Polls the API until `count(variants)` reaches n; returns the seconds it took. */
export async function waitForVariants(
  clients: KubeClients,
  namespace: string,
  n: number,
  what: string,
  matches: (pv: PackageVariant) => boolean,
  controller: Controller,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<number> {
  const start = performance.now();
  let last = -1;
  for (;;) {
    const count = (await listVariants(clients, namespace)).filter(matches).length;
    if (count >= n) return (performance.now() - start) / 1000;
    if (count !== last) log(`  ${what}: ${count}/${n}`);
    last = count;
    if (performance.now() - start > timeoutMs)
      throw new Error(`${what}: ${count}/${n} after ${timeoutMs} ms\n${controller.tail()}`);
    if (controller.child.exitCode !== null) throw new Error(`controller exited\n${controller.tail()}`);
    await sleep(1000);
  }
}

/** Waits until the controller has done nothing (no reconcile, push or status write) for `quietMs`. */
export async function waitQuiet(
  controller: Controller,
  quietMs: number,
  timeoutMs: number,
  log?: (line: string) => void,
): Promise<ControllerStats & { idleSince: number; idle: boolean }> {
  const start = Date.now();
  let reported = start;
  let last = await controller.stats();
  let since = Date.now();
  for (;;) {
    await sleep(250);
    const now = await controller.stats();
    const busy =
      now.reconciles !== last.reconciles ||
      now.pushes !== last.pushes ||
      now.statusWrites !== last.statusWrites ||
      now.queueLength > 0 ||
      now.inProgress > 0;
    if (busy) since = Date.now();
    last = now;
    if (Date.now() - since >= quietMs) return { ...now, idleSince: since, idle: true };
    if (Date.now() - start > timeoutMs) {
      // Reported, not fatal: a controller that never settles is a finding of the benchmark.
      log?.(`  NOT IDLE after ${timeoutMs} ms; going on`);
      return { ...now, idleSince: Date.now(), idle: false };
    }
    if (Date.now() - reported > 15_000) {
      reported = Date.now();
      log?.(
        `  not idle yet: ${now.reconciles} reconciles, ${now.queueLength} queued, ${now.inProgress} running, ` +
          `${now.pushes} pushes, ${now.statusWrites} status writes, ${now.gitProcesses} git processes`,
      );
    }
  }
}

/** The downstream remotes with fewer draft refs than variants (for-each-ref on the bare repositories, no project code). */
export async function reposMissingDrafts(repos: Fleet['deploy']): Promise<Fleet['deploy']> {
  const counts = await Promise.all(
    repos.map(async (d) => {
      const out = (
        await runGit(['for-each-ref', '--format=%(refname)', 'refs/heads/drafts/'], { env: { GIT_DIR: d.bare } })
      ).stdout.toString();
      return out.split('\n').filter(Boolean).length;
    }),
  );
  return repos.filter((d, i) => counts[i]! < d.variants.length);
}

/** Creates a fleet object (Repository, PackageVariant, set) in `namespace`. */
export function createInNamespace(clients: KubeClients, namespace: string, plural: string, obj: KubeObject) {
  return clients.customObjects.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural,
    body: { ...obj, metadata: { ...obj.metadata, namespace } },
  });
}

export async function sendWebhook(port: number, repoUrl: string, ref: string): Promise<number> {
  const body = JSON.stringify({ ref, repository: { clone_url: repoUrl } });
  const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`;
  const res = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature },
  });
  return res.status;
}

export interface UpgradeRun {
  run: number;
  /** Upstream commit (app/v2 ref update) → all N upgrade drafts in the remotes (git refs polled every 100 ms). */
  draftsSeconds: number;
  /** Upstream commit → N status writes made by the controller. */
  statusSeconds: number;
  /** Upstream commit → the controller idle again (downstream-poll reconciles included). */
  quietSeconds: number;
  /** Commit → last draft, in the controller process only (the webhook answered, the work). */
  webhookStatus: number;
  /** Counters from the commit until all drafts were pushed. */
  toDrafts: Delta;
  /** Counters from the commit until the controller was idle again (quiet period excluded). */
  toQuiet: Delta;
  steady: Delta & { intervals: number; lsRemotePerRepoPerInterval: number };
  verification?: Verification;
  duplicateDrafts: number;
  statusUpgraded: number;
  profile?: ProfileSummary;
}

export interface ControllerResult {
  n: number;
  repos: number;
  runs: number;
  concurrency: number;
  pollIntervalMs: number;
  trigger: string;
  node: string;
  date: string;
  setup: {
    fleetSeconds: number;
    createObjectsSeconds: number;
    cloneDraftsSeconds: number;
    clone: Delta;
    settleSeconds: number;
    settle: Delta;
  };
  upgrade: UpgradeRun[];
  local?: { upgradeSeconds: unknown; upgradeFromReleaseSeconds: unknown; pushes: number; maxRssMiB: unknown };
  summary: Record<string, unknown>;
}

export interface ControllerOptions {
  n: number;
  repos: number;
  runs: number;
  concurrency: number;
  pollIntervalMs: number;
  steadyIntervals: number;
  local: boolean;
  profile: boolean;
  keep: boolean;
  /** Serve the controller's `/metrics` on 127.0.0.1 (an ephemeral port: `Controller.metrics`). */
  metrics?: boolean;
  /**
   * Called as run 1's upgrade starts, just before app/v2 is committed (`releasedAt`: Date.now());
   * the function it returns is awaited once the controller is idle again (bench/metrics-plot.ts).
   */
  watchUpgrade?: (controller: Controller, releasedAt: number) => () => Promise<void>;
  log(line: string): void;
}

/**
 * The e2e tests' etcd and kube-apiserver with the project's CRDs, namespace `fleet`, and the
 * webhook secret written to a file under `root`. The caller stops `env`.
 */
export async function startControlPlane(root: string) {
  const secretFile = join(root, 'webhook-secret');
  writeFileSync(secretFile, `${WEBHOOK_SECRET}\n`);
  const env = await startTestEnv();
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(env.kubeconfigPath);
    await installCrds(kc, PROJECT_CRD_DIR);
    const clients = makeClients(kc);
    const namespace = 'fleet';
    await clients.core.createNamespace({ body: { metadata: { name: namespace } } });
    return { env, clients, namespace, secretFile };
  } catch (error) {
    await env.stop();
    throw error;
  }
}

export async function runControllerBenchmark(o: ControllerOptions): Promise<ControllerResult> {
  const { log, n } = o;
  const root = tempDir('pv-fleet-ctl-');
  const cache = join(root, 'cache');
  let env: TestEnv | undefined;
  let controller: Controller | undefined;
  try {
    const plane = await startControlPlane(root);
    env = plane.env;
    const { clients, namespace, secretFile } = plane;
    log(`test env: ${env.server}`);

    const t0 = performance.now();
    const fleet = await createFleet(root, n, o.repos);
    const fleetSeconds = (performance.now() - t0) / 1000;
    log(`fleet: ${n} variants in ${o.repos} repositories under ${root} (${fleetSeconds.toFixed(1)} s)`);

    const controllerArgs = [
      '--kubeconfig',
      env.kubeconfigPath,
      '--namespace',
      namespace,
      '--concurrency',
      String(o.concurrency),
      '--poll-interval',
      `${o.pollIntervalMs}ms`,
      '--cache-dir',
      cache,
      '--webhook-secret-file',
      secretFile,
      ...(o.metrics ? ['--metrics-bind-address', '127.0.0.1:0'] : []),
    ];
    controller = await Controller.start(controllerArgs);
    const s0 = await controller.stats();

    // 1. Repository objects, then the N PackageVariants, created concurrently (32 at once).
    const t1 = performance.now();
    const create = (obj: KubeObject, plural: string) => createInNamespace(clients, namespace, plural, obj);
    await bounded(
      fleet.objects.filter((x) => x.kind === 'Repository'),
      32,
      (r) => create(r, 'repositories'),
    );
    await bounded(
      fleet.objects.filter((x) => x.kind === 'PackageVariant'),
      32,
      (pv) => create(pv, 'packagevariants'),
    );
    const createObjectsSeconds = (performance.now() - t1) / 1000;
    log(`created ${n} PackageVariants in ${createObjectsSeconds.toFixed(1)} s`);

    // 2. Clone drafts, approval, customizations, settle.
    const cloneDraftsSeconds =
      createObjectsSeconds +
      (await waitForVariants(
        clients,
        namespace,
        n,
        'Ready with a clone draft',
        (pv) => ready(pv) && pv.status?.downstreamTargets?.[0]?.lifecycle === 'Draft',
        controller,
        30 * 60_000,
        log,
      ));
    const s1 = await waitQuiet(controller, 2 * o.pollIntervalMs, 3 * 60_000, log);
    const clone = delta(s0, s1);
    log(
      `clone drafts: ${cloneDraftsSeconds.toFixed(1)} s, ${clone.pushes} pushes, ${clone.statusWrites} status writes`,
    );
    const t2 = performance.now();
    await approveAllDrafts(fleet, join(root, 'setup-cache'));
    await publishCustomizations(fleet, join(root, 'setup-cache'));
    await waitForVariants(
      clients,
      namespace,
      n,
      'sees the published customization',
      (pv) =>
        ready(pv) &&
        pv.status?.downstreamTargets?.[0]?.lifecycle === 'Published' &&
        pv.status.downstreamTargets[0].ref?.endsWith('/v2') === true,
      controller,
      10 * 60_000,
      log,
    );
    const s2 = await waitQuiet(controller, 2 * o.pollIntervalMs, 3 * 60_000, log);
    const settle = delta(s1, s2);
    const settleSeconds = (performance.now() - t2) / 1000;
    log(
      `settled after the customizations: ${settleSeconds.toFixed(1)} s, ${settle.pushes} pushes, ` +
        `${settle.reconciles} reconciles, ${settle.statusWrites} status writes`,
    );
    if (settle.pushes) throw new Error(`the controller pushed ${settle.pushes} times after the customizations`);

    // Each run starts from here: the remotes and the controller's cache.
    const snap = join(root, 'snapshot');
    snapshot(fleet.remotes, join(snap, 'remotes'));
    snapshot(cache, join(snap, 'cache'));

    const upgrade: UpgradeRun[] = [];
    for (let run = 1; run <= o.runs; run++) {
      if (run > 1) {
        await controller.stop();
        restore(join(snap, 'remotes'), fleet.remotes);
        restore(join(snap, 'cache'), cache);
        controller = await Controller.start(controllerArgs);
        await waitForVariants(
          clients,
          namespace,
          n,
          'restarted controller back at the published customization',
          (pv) => pv.status?.downstreamTargets?.[0]?.ref?.endsWith('/v2') === true,
          controller,
          10 * 60_000,
          log,
        );
        await waitQuiet(controller, 2 * o.pollIntervalMs, 3 * 60_000, log);
      }
      upgrade.push(await measureUpgrade(o, run, fleet, controller, clients, namespace, root));
    }
    await controller.stop();
    controller = undefined;
    await env.stop();
    env = undefined;

    let local: ControllerResult['local'];
    if (o.local) {
      log(`local mode, same N (bench/fleet.ts, 1 run)`);
      const r = await runFleetBenchmark({ n, repos: o.repos, runs: 1, coldRuns: 0, log: (l) => log(`  local: ${l}`) });
      local = {
        upgradeSeconds: r.summary.upgradeSeconds,
        upgradeFromReleaseSeconds: r.summary.upgradeFromReleaseSeconds,
        pushes: r.upgrade[0]!.pushes,
        maxRssMiB: r.summary.upgradeMaxRssMiB,
      };
    }

    const drafts = upgrade.map((u) => u.draftsSeconds);
    const first = upgrade[0]!;
    const summary = {
      draftsSeconds: spread(drafts),
      statusSeconds: spread(upgrade.map((u) => u.statusSeconds)),
      quietSeconds: spread(upgrade.map((u) => u.quietSeconds)),
      peakRssMiB: spread(upgrade.map((u) => u.toQuiet.peakRssMiB)),
      apiRequestsPerVariant: median(upgrade.map((u) => u.toQuiet.apiRequests)) / n,
      statusWritesPerVariant: median(upgrade.map((u) => u.toQuiet.statusWrites)) / n,
      reconcilesPerVariant: median(upgrade.map((u) => u.toQuiet.reconciles)) / n,
      gitProcessesPerVariant: median(upgrade.map((u) => u.toQuiet.gitProcesses)) / n,
      pushes: median(upgrade.map((u) => u.toQuiet.pushes)),
      steadyLsRemotePerRepoPerInterval: median(upgrade.map((u) => u.steady.lsRemotePerRepoPerInterval)),
      steadyFetches: Math.max(...upgrade.map((u) => u.steady.byCommand['fetch']?.count ?? 0)),
      steadyPushes: Math.max(...upgrade.map((u) => u.steady.pushes)),
      steadyStatusWrites: Math.max(...upgrade.map((u) => u.steady.statusWrites)),
      steadyReconciles: Math.max(...upgrade.map((u) => u.steady.reconciles)),
      correct:
        first.verification !== undefined &&
        first.verification.exact === n &&
        first.verification.fieldsOk === n &&
        first.verification.oneDraft === n &&
        upgrade.every((u) => u.duplicateDrafts === 0 && u.statusUpgraded === n),
      ...(local
        ? {
            localUpgradeSeconds: local.upgradeSeconds,
            ratioToLocal: median(drafts) / (local.upgradeFromReleaseSeconds as { median: number }).median,
          }
        : {}),
    };
    return {
      n,
      repos: o.repos,
      runs: o.runs,
      concurrency: o.concurrency,
      pollIntervalMs: o.pollIntervalMs,
      trigger: 'signed GitHub push webhook for the blueprint repository, right after app/v2 was committed',
      node: process.version,
      date: new Date().toISOString(),
      setup: { fleetSeconds, createObjectsSeconds, cloneDraftsSeconds, clone, settleSeconds, settle },
      upgrade,
      ...(local ? { local } : {}),
      summary,
    };
  } finally {
    await controller?.stop();
    await env?.stop();
    if (!o.keep) removeDir(root);
  }
}

async function measureUpgrade(
  o: ControllerOptions,
  run: number,
  fleet: Fleet,
  controller: Controller,
  clients: KubeClients,
  namespace: string,
  root: string,
): Promise<UpgradeRun> {
  const { log, n } = o;
  const profilePath = o.profile && run === 1 ? join(root, `upgrade-${run}.cpuprofile`) : undefined;
  if (profilePath) await controller.profileStart();
  const before = await controller.resetPeak();
  const released = performance.now();
  const releasedAt = Date.now();
  const unwatch = run === 1 ? o.watchUpgrade?.(controller, releasedAt) : undefined;
  const v2 = await publishUpstreamV2(fleet);
  const webhookStatus = await sendWebhook(controller.webhook, fleet.upstreamUrl, 'refs/tags/app/v2');
  // Poll the remotes' draft refs (and the controller's status-write counter) until all N are there.
  let pending = [...fleet.deploy];
  let draftsSeconds = 0;
  let statusSeconds = 0;
  let toDrafts: Delta | undefined;
  const deadline = released + 30 * 60_000;
  while (!toDrafts || !statusSeconds) {
    if (performance.now() > deadline) throw new Error(`upgrade run ${run} not done\n${controller.tail()}`);
    if (pending.length) {
      pending = await reposMissingDrafts(pending);
      if (!pending.length) {
        draftsSeconds = (performance.now() - released) / 1000;
        toDrafts = delta(before, await controller.stats());
      }
    }
    if (!statusSeconds) {
      const s = await controller.stats();
      if (s.statusWrites - before.statusWrites >= n) statusSeconds = (performance.now() - released) / 1000;
    }
    await sleep(100);
  }
  const quiet = await waitQuiet(controller, 2 * o.pollIntervalMs, 3 * 60_000, log);
  await unwatch?.();
  // (The counters to idle include the quiet period that proves it: a few ls-remotes.)
  const quietSeconds = (quiet.idleSince - releasedAt) / 1000;
  const toQuiet = delta(before, quiet);
  if (profilePath) await controller.profileStop(profilePath);
  log(
    `upgrade run ${run}: all ${n} drafts ${draftsSeconds.toFixed(2)} s after the commit (webhook ${webhookStatus}), ` +
      `${statusSeconds.toFixed(2)} s to ${n} status writes, idle after ${quietSeconds.toFixed(1)} s; ` +
      `${toQuiet.pushes} pushes, ${toQuiet.gitProcesses} git processes, ${toQuiet.apiRequests} API requests, ` +
      `${toQuiet.reconciles} reconciles, peak RSS ${toQuiet.peakRssMiB.toFixed(0)} MiB`,
  );
  const statusUpgraded = (await listVariants(clients, namespace)).filter(
    (pv) =>
      pv.status?.downstreamTargets?.[0]?.upstreamCommit === v2 && pv.status.downstreamTargets[0].lifecycle === 'Draft',
  ).length;
  const counts = await draftRefCounts(fleet);
  const duplicateDrafts = [...counts.values()].filter((c) => c > 1).length;

  // Steady state: nothing changes for a few poll intervals.
  const s0 = await controller.stats();
  await sleep(o.steadyIntervals * o.pollIntervalMs);
  const s1 = await controller.stats();
  const steadyDelta = delta(s0, s1);
  // Each repository waits interval × (1 + 0.1 × random) between polls: 1.05 intervals on average.
  const intervals = steadyDelta.seconds / ((o.pollIntervalMs / 1000) * 1.05);
  const lsRemote = steadyDelta.byCommand['ls-remote']?.count ?? 0;
  const steady = {
    ...steadyDelta,
    intervals,
    lsRemotePerRepoPerInterval: lsRemote / ((o.repos + 1) * intervals),
  };
  log(
    `steady run ${run}: ${steadyDelta.seconds.toFixed(1)} s (${intervals.toFixed(1)} intervals): ` +
      `${steadyDelta.gitProcesses} git processes (${Object.entries(steadyDelta.byCommand)
        .map(([k, v]) => `${k} ${v.count}`)
        .join(', ')}), ${steadyDelta.pushes} pushes, ${steadyDelta.statusWrites} status writes, ` +
      `${steadyDelta.reconciles} reconciles`,
  );
  let verification: Verification | undefined;
  if (run === 1) {
    verification = await verifyUpgrade(fleet, join(root, `verify-cache-${run}`), v2);
    log(
      `verified: ${verification.exact}/${verification.checked} equal the expected merge, ` +
        `${verification.fieldsOk} pass the field checks, ${verification.oneDraft} have exactly one draft; ` +
        `${statusUpgraded} statuses name the v2 draft`,
    );
    verification.problems = verification.problems.slice(0, 20);
  }
  return {
    run,
    draftsSeconds,
    statusSeconds,
    quietSeconds,
    webhookStatus,
    toDrafts: toDrafts,
    toQuiet,
    steady,
    ...(verification ? { verification } : {}),
    duplicateDrafts,
    statusUpgraded,
    ...(profilePath ? { profile: summarizeProfile(profilePath) } : {}),
  };
}

function table(r: ControllerResult): string {
  const s = r.summary as Record<string, { median: number; min: number; max: number } | number | boolean>;
  const range = (x: unknown, digits = 2) => {
    const v = x as { median: number; min: number; max: number };
    return `${v.median.toFixed(digits)} (${v.min.toFixed(digits)}–${v.max.toFixed(digits)})`;
  };
  const u = r.upgrade[0]!;
  const verbs = (d: Delta) =>
    Object.entries(d.requests)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  const commands = (d: Delta) =>
    Object.entries(d.byCommand)
      .map(([k, v]) => `${k} ${v.count}`)
      .join(', ');
  const rows = [
    ['variants / repositories / runs / concurrency', `${r.n} / ${r.repos} / ${r.runs} / ${r.concurrency}`],
    ['trigger', `webhook; poll interval ${r.pollIntervalMs} ms`],
    ['commit → all N drafts pushed: s, median (min–max)', range(s.draftsSeconds)],
    ['commit → N status writes: s', range(s.statusSeconds)],
    ['commit → controller idle: s', range(s.quietSeconds, 1)],
    ['reconciles per variant (to idle)', (s.reconcilesPerVariant as number).toFixed(2)],
    [
      'API requests (per variant), to idle',
      `${u.toQuiet.apiRequests} (${(u.toQuiet.apiRequests / r.n).toFixed(2)}): ${verbs(u.toQuiet)}`,
    ],
    ['status writes (per variant)', `${u.toQuiet.statusWrites} (${(u.toQuiet.statusWrites / r.n).toFixed(2)})`],
    [
      'git processes (per variant), to idle',
      `${u.toQuiet.gitProcesses} (${(u.toQuiet.gitProcesses / r.n).toFixed(3)})`,
    ],
    ['git processes by command', commands(u.toQuiet)],
    ['git processes until the last draft', `${u.toDrafts.gitProcesses}: ${commands(u.toDrafts)}`],
    ['pushes', String(u.toQuiet.pushes)],
    ['controller CPU s node / git (to idle)', `${u.toQuiet.cpu.node.toFixed(1)} / ${u.toQuiet.cpu.git.toFixed(1)}`],
    ['peak RSS MiB: upgrade; process life', `${range(s.peakRssMiB, 0)}; ${u.toQuiet.maxRssMiB.toFixed(0)}`],
    [
      'event-loop delay ms p99 / max',
      `${u.toQuiet.eventLoopDelayMs.p99.toFixed(0)} / ${u.toQuiet.eventLoopDelayMs.max.toFixed(0)}`,
    ],
    [
      'correct: exact merge / field checks / one draft / status',
      `${u.verification?.exact} / ${u.verification?.fieldsOk} / ${u.verification?.oneDraft} / ${u.statusUpgraded} of ${r.n}`,
    ],
    ['duplicate drafts', String(u.duplicateDrafts)],
    [
      'steady: s (intervals), git processes, ls-remote/repo/interval',
      `${u.steady.seconds.toFixed(1)} (${u.steady.intervals.toFixed(1)}), ${u.steady.gitProcesses} (${commands(u.steady)}), ${u.steady.lsRemotePerRepoPerInterval.toFixed(2)}`,
    ],
    [
      'steady: pushes, status writes, reconciles, API requests',
      `${u.steady.pushes}, ${u.steady.statusWrites}, ${u.steady.reconciles}, ${u.steady.apiRequests}`,
    ],
    [
      'setup: create objects s, clone drafts s (pushes, status writes)',
      `${r.setup.createObjectsSeconds.toFixed(1)}, ${r.setup.cloneDraftsSeconds.toFixed(1)} (${r.setup.clone.pushes}, ${r.setup.clone.statusWrites})`,
    ],
    ...(r.local
      ? [
          ['local mode, same N: commit → last push s', range(r.local.upgradeFromReleaseSeconds)],
          ['ratio controller / local', (s.ratioToLocal as number).toFixed(2)],
        ]
      : []),
  ];
  const width = Math.max(...rows.map(([k]) => k!.length));
  return rows.map(([k, v]) => `${k!.padEnd(width)}  ${v}`).join('\n');
}

async function main(): Promise<void> {
  const truthy = (v: string | undefined) => ['1', 'true', 'yes'].includes(v ?? '');
  const { values } = benchArgs(import.meta.url, {
    n: { type: 'string', default: process.env.N ?? '1000' },
    repos: { type: 'string', default: process.env.REPOS ?? '10' },
    runs: { type: 'string', default: process.env.RUNS ?? '1' },
    concurrency: { type: 'string', default: process.env.CONCURRENCY ?? '8' },
    'poll-interval-ms': { type: 'string', default: process.env.POLL_INTERVAL_MS ?? '2000' },
    'steady-intervals': { type: 'string', default: process.env.STEADY_INTERVALS ?? '5' },
    local: { type: 'boolean', default: truthy(process.env.LOCAL) },
    profile: { type: 'boolean', default: truthy(process.env.PROFILE) },
    keep: { type: 'boolean', default: false },
    out: { type: 'string' },
  });
  const started = Date.now();
  const log = (line: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`);
  const result = await runControllerBenchmark({
    n: Number(values.n),
    repos: Number(values.repos),
    runs: Number(values.runs),
    concurrency: Number(values.concurrency),
    pollIntervalMs: Number(values['poll-interval-ms']),
    steadyIntervals: Number(values['steady-intervals']),
    local: values.local,
    profile: values.profile,
    keep: values.keep,
    log,
  });
  const dir = join(HERE, 'results');
  mkdirSync(dir, { recursive: true });
  const file = values.out ?? join(dir, `fleet-controller-n${result.n}-r${result.repos}.json`);
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
