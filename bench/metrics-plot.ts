// What the "Fleet upgrades" dashboard shows during an upgrade wave, from a real run
// (`make bench-metrics-plot`): the controller-mode fleet benchmark (bench/fleet-controller.ts, one
// run, against the real kube-apiserver and etcd) with the controller serving `/metrics` on
// 127.0.0.1, scraped every ~250 ms from the upstream app/v2 commit until the controller is idle.
// Plotted against seconds since the commit (linear axes) as docs/img/fleet-upgrade-metrics.png;
// the samples in bench/results/metrics-plot.json; the upgrade-lag P50/P90 from the
// packagevariant_upgrade_lag_seconds histogram at the end (computed as histogram_quantile does).
//
//   node bench/metrics-plot.ts [--n 30] [--repos 3] [--concurrency 8] [--poll-interval-ms 2000]
//     [--scrape-ms 250] [--png docs/img/fleet-upgrade-metrics.png] [--out bench/results/metrics-plot.json]
//   (or N=, REPOS=, CONCURRENCY=, POLL_INTERVAL_MS=, SCRAPE_MS= in the environment)
//   node bench/metrics-plot.ts --replot   (the PNG again from the JSON, no run)
import { cpus, loadavg, totalmem } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { benchArgs } from './lib/args.ts';
import { runControllerBenchmark, sleep, type Controller } from './fleet-controller.ts';
import { writePlotPng, type PlotSeries } from './lib/plot.ts';
import { histogramQuantile, parseExposition, sumOf, type Sample } from './lib/prom-text.ts';

const HERE = new URL('.', import.meta.url).pathname;
const ROOT = join(HERE, '..');
const SELF = new URL(import.meta.url).pathname;
const LAG = 'packagevariant_upgrade_lag_seconds';

/** The plotted series, with the PromQL the dashboards' panels use for them. */
const SERIES = [
  { key: 'outdated', name: 'variants outdated', query: 'sum(packagevariant_variants_outdated)' },
  { key: 'draftsPending', name: 'drafts pending', query: 'sum(packagevariant_drafts_pending)' },
  {
    key: 'upgradeDraftsCreated',
    name: 'upgrade drafts created',
    query: 'sum(packagevariant_drafts_created_total{kind="upgrade"})',
  },
  { key: 'workqueueDepth', name: 'workqueue depth', query: 'workqueue_depth{name="packagevariant"}' },
  {
    key: 'activeWorkers',
    name: 'active workers',
    query: 'controller_runtime_active_workers{controller="packagevariant"}',
  },
] as const;
type Key = (typeof SERIES)[number]['key'];
export type MetricsSample = { t: number } & Record<Key, number>;

// Outdated, pending and created move together in a run whose drafts nobody publishes: a wide pale
// line, a dashed one and a thin one on top of each other keep all three visible.
const STYLE: Record<Key, Omit<PlotSeries, 'name' | 'points'>> = {
  outdated: { color: 'rgba(31, 119, 180, 0.35)', width: 11 },
  draftsPending: { color: '#d62728', dashed: true, width: 3 },
  upgradeDraftsCreated: { color: '#2ca02c', width: 1.5 },
  workqueueDepth: { color: '#ff7f0e' },
  activeWorkers: { color: '#9467bd' },
};

interface Output {
  n: number;
  repos: number;
  summary: { quietSeconds: number };
  samples: MetricsSample[];
}

/** The samples up to a second after the controller went idle, and a marker where it did. */
function plot(r: Output, png: string): void {
  const until = r.summary.quietSeconds + 1;
  const shown = r.samples.filter((p) => p.t <= until);
  const idle = r.summary.quietSeconds;
  mkdirSync(dirname(png), { recursive: true });
  writePlotPng(
    png,
    [
      ...SERIES.map((s) => ({ name: s.name, ...STYLE[s.key], points: shown.map((p) => ({ x: p.t, y: p[s.key] })) })),
      {
        name: `controller idle (${idle.toFixed(1)} s)`,
        color: '#7f7f7f',
        dashed: true,
        width: 1.5,
        points: [
          { x: idle, y: 0 },
          { x: idle, y: r.n },
        ],
      },
    ],
    {
      title: `Fleet upgrade: N = ${r.n} variants in ${r.repos} repositories, controller /metrics`,
      xLabel: 'seconds since the upstream commit (app/v2)',
      yLabel: 'variants / drafts / queued keys / workers',
      markers: false,
      width: 1000,
      height: 520,
      legendWidth: 240,
    },
  );
}

function read(samples: Sample[]): Record<Key, number> {
  return {
    outdated: sumOf(samples, 'packagevariant_variants_outdated'),
    draftsPending: sumOf(samples, 'packagevariant_drafts_pending'),
    upgradeDraftsCreated: sumOf(samples, 'packagevariant_drafts_created_total', { kind: 'upgrade' }),
    workqueueDepth: sumOf(samples, 'workqueue_depth', { name: 'packagevariant' }),
    activeWorkers: sumOf(samples, 'controller_runtime_active_workers', { controller: 'packagevariant' }),
  };
}

async function scrape(port: number): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  return parseExposition(await res.text());
}

/** Scrapes every `intervalMs` from now until the returned function is called; that one scrapes once more. */
function sampler(controller: Controller, releasedAt: number, intervalMs: number, samples: MetricsSample[]) {
  let stopped = false;
  let failure: unknown;
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      try {
        samples.push({ t: (at - releasedAt) / 1000, ...read(await scrape(controller.metrics)) });
      } catch (error) {
        failure = error;
        return;
      }
      await sleep(Math.max(0, intervalMs - (Date.now() - at)));
    }
  })();
  return async (): Promise<Sample[]> => {
    stopped = true;
    await loop;
    if (failure) throw failure;
    const last = await scrape(controller.metrics);
    samples.push({ t: (Date.now() - releasedAt) / 1000, ...read(last) });
    return last;
  };
}

async function main(): Promise<void> {
  const { values } = benchArgs(import.meta.url, {
    n: { type: 'string', default: process.env.N ?? '30' },
    repos: { type: 'string', default: process.env.REPOS ?? '3' },
    concurrency: { type: 'string', default: process.env.CONCURRENCY ?? '8' },
    'poll-interval-ms': { type: 'string', default: process.env.POLL_INTERVAL_MS ?? '2000' },
    'scrape-ms': { type: 'string', default: process.env.SCRAPE_MS ?? '250' },
    png: { type: 'string', default: join(ROOT, 'docs', 'img', 'fleet-upgrade-metrics.png') },
    out: { type: 'string', default: join(HERE, 'results', 'metrics-plot.json') },
    replot: { type: 'boolean', default: false },
  });
  if (values.replot) return plot(JSON.parse(readFileSync(values.out, 'utf8')) as Output, values.png);
  const n = Number(values.n);
  const repos = Number(values.repos);
  const scrapeMs = Number(values['scrape-ms']);
  const started = Date.now();
  const log = (line: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`);
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB`;
  const load = loadavg()[0]!;

  const samples: MetricsSample[] = [];
  let final: Sample[] = [];
  const result = await runControllerBenchmark({
    n,
    repos,
    runs: 1,
    concurrency: Number(values.concurrency),
    pollIntervalMs: Number(values['poll-interval-ms']),
    steadyIntervals: 1,
    local: false,
    profile: false,
    keep: false,
    metrics: true,
    watchUpgrade: (controller, releasedAt) => {
      const stop = sampler(controller, releasedAt, scrapeMs, samples);
      return async () => {
        final = await stop();
      };
    },
    log,
  });
  if (!samples.length) throw new Error('no /metrics samples');

  const lag = {
    count: sumOf(final, `${LAG}_count`),
    sumSeconds: sumOf(final, `${LAG}_sum`),
    p50: histogramQuantile(0.5, final, LAG),
    p90: histogramQuantile(0.9, final, LAG),
    buckets: Object.fromEntries(final.filter((s) => s.name === `${LAG}_bucket`).map((s) => [s.labels.le!, s.value])),
  };
  const run = result.upgrade[0]!;
  const date = result.date.slice(0, 10);
  const peak = (key: Key) => Math.max(...samples.map((s) => s[key]));
  const firstAt = (key: Key, value: number) => samples.find((s) => s[key] >= value)?.t;
  const summary = {
    scrapes: samples.length,
    draftsSeconds: run.draftsSeconds,
    statusSeconds: run.statusSeconds,
    quietSeconds: run.quietSeconds,
    correct: result.summary.correct,
    peakWorkqueueDepth: peak('workqueueDepth'),
    peakActiveWorkers: peak('activeWorkers'),
    allUpgradeDraftsCreatedAtSeconds: firstAt('upgradeDraftsCreated', n),
    allOutdatedAtSeconds: firstAt('outdated', n),
    final: samples.at(-1),
    upgradeLag: lag,
  };
  const output = {
    n,
    repos,
    concurrency: result.concurrency,
    pollIntervalMs: result.pollIntervalMs,
    scrapeIntervalMs: scrapeMs,
    trigger: result.trigger,
    node: result.node,
    machine,
    loadAverageAtStart: load,
    date: result.date,
    series: SERIES,
    summary,
    samples,
  };
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(output, null, 2)}\n`);
  plot(output, values.png);
  const s = (x: number | undefined) => (x === undefined ? '—' : `${x.toFixed(2)} s`);
  console.log(
    [
      `N = ${n} variants in ${repos} repositories, concurrency ${result.concurrency}, ${machine}, ${date}`,
      `${samples.length} scrapes of /metrics every ${scrapeMs} ms from the commit until idle`,
      `commit → all ${n} drafts pushed ${s(run.draftsSeconds)}, → ${n} status writes ${s(run.statusSeconds)}, → idle ${s(run.quietSeconds)}; correct: ${String(result.summary.correct)}`,
      `upgrade drafts created reached ${n} at ${s(summary.allUpgradeDraftsCreatedAtSeconds)}, variants outdated at ${s(summary.allOutdatedAtSeconds)}`,
      `peak workqueue depth ${summary.peakWorkqueueDepth}, peak active workers ${summary.peakActiveWorkers}`,
      `final: outdated ${summary.final!.outdated}, drafts pending ${summary.final!.draftsPending}, upgrade drafts created ${summary.final!.upgradeDraftsCreated}`,
      `upgrade lag (${LAG}, ${lag.count} observations, mean ${(lag.sumSeconds / lag.count).toFixed(2)} s): ` +
        `P50 ${lag.p50.toFixed(2)} s, P90 ${lag.p90.toFixed(2)} s (histogram_quantile over buckets ${Object.keys(lag.buckets).join(', ')})`,
      `plot: ${relative(ROOT, values.png)}; samples: ${relative(ROOT, values.out)}`,
    ].join('\n'),
  );
}

if (process.argv[1] === SELF) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
