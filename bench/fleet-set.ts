// PackageVariantSet benchmark in controller mode, against the real kube-apiserver and real git
// (`make bench-set`): one set with N targets (default 1,000) over REPOS repositories.
//
//   node bench/fleet-set.ts [--n 1000] [--repos 10] [--concurrency 8] [--set-concurrency 2] [--out FILE]
//   (or N=, REPOS=, CONCURRENCY=, SET_CONCURRENCY= in the environment)
//
// The fleet on disk is the fleet benchmark's (bench/lib/fleet.ts); instead of N PackageVariants one
// PackageVariantSet is applied whose template gives every variant the same mutations as there
// (label, annotation and package context from the package name). Measured: set applied → all N
// variants Ready with their clone draft; then (drafts approved, sites' customizations published,
// controller idle) upstream commit + push webhook → all N upgrade drafts in the remotes; API
// requests (client-side, by verb), git processes, pushes, peak RSS of the controller; every
// upgrade draft checked against the independently computed merge. Results: bench/results/bench-set.json,
// which bench/report.ts shows in BENCHMARKS.md. Benchmarks never assert on time.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchArgs } from './lib/args.ts';
import type { PackageVariant } from '../api/v1alpha1/index.ts';
import type { TestEnv } from '../e2e/testenv/testenv.ts';
import { removeDir, tempDir } from '../lib/git/testing/repos.ts';
import {
  bounded,
  Controller,
  delta,
  createInNamespace,
  listVariants,
  ready,
  reposMissingDrafts,
  sendWebhook,
  sleep,
  startControlPlane,
  waitForVariants,
  waitQuiet,
} from './fleet-controller.ts';
import {
  approveAllDrafts,
  createFleet,
  draftRefCounts,
  publishCustomizations,
  publishUpstreamV2,
  UPSTREAM_REPO,
  verifyUpgrade,
} from './lib/fleet.ts';
import { PACKAGE } from './lib/fleet-package.ts';
import type { SetSummary } from './report.ts';

const HERE = new URL('.', import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
const GROUP = 'packagevariant.dev';
const VERSION = 'v1alpha1';
const SET_NAME = 'fleet';

export async function runSetBenchmark(o: {
  n: number;
  repos: number;
  concurrency: number;
  setConcurrency: number;
  pollIntervalMs: number;
  log(line: string): void;
}): Promise<SetSummary> {
  const { n, log } = o;
  const root = tempDir('pv-fleet-set-');
  const cache = join(root, 'cache');
  let env: TestEnv | undefined;
  let controller: Controller | undefined;
  try {
    const plane = await startControlPlane(root);
    env = plane.env;
    const { clients, namespace, secretFile } = plane;
    const fleet = await createFleet(root, n, o.repos);
    log(`fleet: ${n} targets in ${o.repos} repositories under ${root}`);
    controller = await Controller.start([
      '--kubeconfig',
      env.kubeconfigPath,
      '--namespace',
      namespace,
      '--concurrency',
      String(o.concurrency),
      '--set-concurrency',
      String(o.setConcurrency),
      '--poll-interval',
      `${o.pollIntervalMs}ms`,
      '--cache-dir',
      cache,
      '--webhook-secret-file',
      secretFile,
    ]);
    await bounded(
      fleet.objects.filter((x) => x.kind === 'Repository'),
      8,
      (r) => createInNamespace(clients, namespace, 'repositories', r),
    );
    await waitQuiet(controller, 1000, 60_000);

    // 1. Apply the set; wait for every variant Ready with its clone draft.
    const s0 = await controller.resetPeak();
    const applied = performance.now();
    await clients.customObjects.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: 'packagevariantsets',
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'PackageVariantSet',
        metadata: { name: SET_NAME, namespace },
        spec: {
          upstream: { repo: UPSTREAM_REPO, package: PACKAGE, revision: -1 },
          targets: fleet.deploy.map((d) => ({
            repositories: [{ name: d.name, packageNames: d.variants }],
            template: {
              labels: { 'fleet.example.com/managed': 'true' },
              annotationExprs: [{ key: 'fleet.example.com/site', valueExpr: 'packageDefault' }],
              packageContext: { dataExprs: [{ key: 'site', valueExpr: 'packageDefault' }] },
            },
          })),
        },
      },
    });
    const setReport = setInterval(() => {
      void clients.customObjects
        .getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: 'packagevariantsets',
          name: SET_NAME,
        })
        .then(
          (set: {
            status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
          }) =>
            log(
              `  set conditions: ${JSON.stringify(set.status?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason ?? ''} ${c.message ?? ''}`) ?? [])}`,
            ),
        );
    }, 30_000);
    await waitForVariants(
      clients,
      namespace,
      n,
      'variants Ready with a clone draft',
      (pv) => ready(pv) && pv.status?.downstreamTargets?.[0]?.lifecycle === 'Draft',
      controller,
      60 * 60_000,
      log,
    );
    clearInterval(setReport);
    const readySeconds = (performance.now() - applied) / 1000;
    const toReady = delta(s0, await controller.stats());
    log(`set applied → ${n} variants Ready: ${readySeconds.toFixed(1)} s, ${toReady.apiRequests} API requests`);
    await waitQuiet(controller, 2 * o.pollIntervalMs, 5 * 60_000, log);

    // 2. Publish the drafts and the sites' customizations; let the controller see them.
    await approveAllDrafts(fleet, join(root, 'setup-cache'));
    await publishCustomizations(fleet, join(root, 'setup-cache'));
    await waitForVariants(
      clients,
      namespace,
      n,
      'sees the published customization',
      (pv) => ready(pv) && pv.status?.downstreamTargets?.[0]?.ref?.endsWith('/v2') === true,
      controller,
      20 * 60_000,
      log,
    );
    await waitQuiet(controller, 2 * o.pollIntervalMs, 5 * 60_000, log);

    // 3. The upstream release: commit + webhook → every upgrade draft in the remotes.
    const s1 = await controller.resetPeak();
    const released = performance.now();
    const v2 = await publishUpstreamV2(fleet);
    await sendWebhook(controller.webhook, fleet.upstreamUrl, `refs/tags/${PACKAGE}/v2`);
    let pending = [...fleet.deploy];
    for (;;) {
      pending = await reposMissingDrafts(pending);
      if (!pending.length) break;
      if (performance.now() - released > 60 * 60_000) throw new Error(`upgrade not done\n${controller.tail()}`);
      await sleep(100);
    }
    const upgradeDraftsSeconds = (performance.now() - released) / 1000;
    const upgrade = delta(s1, await controller.stats());
    log(
      `upstream commit → ${n} upgrade drafts: ${upgradeDraftsSeconds.toFixed(1)} s, ${upgrade.apiRequests} API requests`,
    );
    const quiet = delta(s1, await waitQuiet(controller, 2 * o.pollIntervalMs, 5 * 60_000, log));

    // 4. Correctness, with the rendered variants' own specs (keyed by their downstream package).
    const rendered = (await listVariants(clients, namespace)).map((pv): PackageVariant => ({
      ...pv,
      metadata: { ...pv.metadata, name: pv.spec!.downstream!.package! },
    }));
    const verification = await verifyUpgrade({ ...fleet, objects: rendered }, join(root, 'verify-cache'), v2);
    const duplicateDrafts = [...(await draftRefCounts(fleet)).values()].filter((c) => c > 1).length;
    log(`verified: ${verification.exact}/${verification.checked} exact, ${verification.fieldsOk} field checks`);
    if (verification.problems.length) log(`  e.g. ${verification.problems.slice(0, 3).join('; ')}`);
    return {
      date: new Date().toISOString(),
      targets: n,
      repos: o.repos,
      concurrency: o.concurrency,
      setConcurrency: o.setConcurrency,
      readySeconds,
      upgradeDraftsSeconds,
      apiRequestsPerTarget: { toReady: toReady.apiRequests / n, upgrade: quiet.apiRequests / n },
      apiRequests: { toReady: toReady.requests, upgrade: quiet.requests },
      gitProcesses: { toReady: toReady.gitProcesses, upgrade: upgrade.gitProcesses },
      pushes: { toReady: toReady.pushes, upgrade: upgrade.pushes },
      peakRssMiB: Math.max(toReady.peakRssMiB, quiet.peakRssMiB),
      correct: {
        exact: verification.exact,
        fieldsOk: verification.fieldsOk,
        oneDraft: verification.oneDraft,
        checked: verification.checked,
        duplicateDrafts,
      },
    };
  } finally {
    await controller?.stop();
    await env?.stop();
    removeDir(root);
  }
}

async function main(): Promise<void> {
  const { values } = benchArgs(import.meta.url, {
    n: { type: 'string', default: process.env.N ?? '1000' },
    repos: { type: 'string', default: process.env.REPOS ?? '10' },
    concurrency: { type: 'string', default: process.env.CONCURRENCY ?? '8' },
    'set-concurrency': { type: 'string', default: process.env.SET_CONCURRENCY ?? '2' },
    out: { type: 'string' },
  });
  const started = Date.now();
  const summary = await runSetBenchmark({
    n: Number(values.n),
    repos: Number(values.repos),
    concurrency: Number(values.concurrency),
    setConcurrency: Number(values['set-concurrency']),
    pollIntervalMs: 2000,
    log: (line) => console.error(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`),
  });
  const file = values.out ?? join(HERE, 'results', 'bench-set.json');
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(JSON.stringify(summary, null, 2));
  console.log(`result: ${file}; node bench/report.ts shows it in BENCHMARKS.md`);
}

if (process.argv[1] === SELF) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
