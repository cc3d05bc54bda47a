// Every metric the Grafana dashboards and the Prometheus alert rules in config/ query must be one
// the controller exports: parse each PromQL expression, take its metric names, and look them up
// in a registry that has seen every kind of observation.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { WorkQueue } from '../kube/workqueue.ts';
import { Metrics } from './metrics.ts';

const CONFIG = join(import.meta.dirname, '..', '..', 'config');

/** PromQL words that are not metric names (operators, modifiers, grouping, histogram labels). */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression (or a Grafana `label_values(...)` query) reads. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range and subquery selectors
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // grouping labels
    .replace(/\$\{?\w+\}?/g, ' '); // Grafana variables
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = match[0];
    const rest = stripped.slice(match.index + word.length);
    if (/^\s*\(/.test(rest)) continue; // a function or an aggregation
    if (KEYWORDS.has(word.toLowerCase())) continue;
    if (/^\d/.test(stripped.slice(match.index - 1, match.index))) continue; // 5m, 1e-9
    names.add(word);
  }
  return [...names];
}

/** Series Prometheus itself writes for every scrape target (not the controller). */
const SCRAPE_SERIES = new Set(['up']);

interface Query {
  file: string;
  where: string;
  expr: string;
}

function dashboardQueries(): Query[] {
  const dir = join(CONFIG, 'grafana');
  const queries: Query[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const dashboard = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
      templating: { list: Array<{ name: string; type: string; query?: string }> };
    };
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) queries.push({ file, where: panel.title, expr: target.expr });
    }
    for (const variable of dashboard.templating.list) {
      if (variable.type === 'query' && variable.query) {
        queries.push({
          file,
          where: `$${variable.name}`,
          expr: variable.query.replace(/^label_values\((.*),\s*\w+\)$/, '$1'),
        });
      }
    }
  }
  return queries;
}

function ruleQueries(): Query[] {
  const dir = join(CONFIG, 'prometheus');
  const queries: Query[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of loadAll(readFileSync(join(dir, file), 'utf8')) as Array<Record<string, unknown>>) {
      if (doc?.kind !== 'PrometheusRule') continue;
      const spec = doc.spec as { groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }> };
      for (const rule of spec.groups.flatMap((g) => g.rules)) {
        queries.push({ file, where: rule.alert ?? rule.record ?? '?', expr: rule.expr });
      }
    }
  }
  return queries;
}

/** Every series name a fully instrumented registry exposes (histograms with their three suffixes). */
async function exportedNames(): Promise<Set<string>> {
  return new Set((await exportedTypes()).keys());
}

/** Series name → the type of its metric family (`counter`, `gauge`, `histogram`, `summary`). */
async function exportedTypes(): Promise<Map<string, string>> {
  const metrics = new Metrics();
  metrics.registerController('packagevariant', {
    queue: new WorkQueue(),
    activeWorkers: () => 0,
    maxConcurrentReconciles: 1,
  });
  metrics.setLeader('packagevariant-controller', true);
  metrics.kubeRequest('200', 'GET', 'api:6443');
  metrics.polled('example.com/repo', true);
  metrics.gitCommand('fetch', 0.1, true);
  metrics.upstreamRevisionDetected('example.com/repo', 'c');
  metrics.draftWritten('upgrade', 'created', 'c', 1);
  metrics.published();
  metrics.rendered(0.1, 'gcr.io/kpt-fn/set-namespace:v0.4.1');
  metrics.rolloutState('ns/set', true);
  metrics.variantState('ns/v', { outdated: true, draftPending: true, conflicted: true, upstreamCommit: 'c' });
  const types = new Map<string, string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    const type = String(metric.type);
    types.set(metric.name, type);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) types.set(`${metric.name}${s}`, type);
  }
  return types;
}

/** The metrics a PromQL expression takes rate(), irate() or increase() of. */
function ratedNames(expr: string): string[] {
  return [...expr.matchAll(/\b(?:rate|irate|increase)\(\s*([A-Za-z_:][A-Za-z0-9_:]*)/g)].map((m) => m[1]!);
}

describe('dashboards and alert rules', () => {
  it('finds the metric names in PromQL', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum(rate(workqueue_queue_duration_seconds_bucket{job="$job", le!="1e-9"}[5m])) by (instance, name, le))',
      ),
    ).toEqual(['workqueue_queue_duration_seconds_bucket']);
    expect(
      metricNames(
        'sum by (repository) (increase(a_total{result="failure"}[15m])) > 0 unless sum without (x) (b_total) > 1e-9 * 7 and on (job) time() - c',
      ),
    ).toEqual(['a_total', 'b_total', 'c']);
    expect(metricNames('rate(process_cpu_seconds_total{pod="$pod"}[$__rate_interval]) * 100')).toEqual([
      'process_cpu_seconds_total',
    ]);
  });

  it('reports a metric the controller does not export', async () => {
    const exported = await exportedNames();
    const missing = metricNames('sum(rate(controller_runtime_reconcile_total[5m])) / sum(no_such_metric_total)').filter(
      (n) => !exported.has(n),
    );
    expect(missing).toEqual(['no_such_metric_total']);
  });

  it('has the three dashboards and the nine alerts, each with queries', () => {
    const dashboards = new Set(dashboardQueries().map((q) => q.file));
    expect([...dashboards].sort()).toEqual([
      'controller-resources-metrics.json',
      'controller-runtime-metrics.json',
      'fleet-upgrades.json',
    ]);
    expect(ruleQueries().map((q) => q.where)).toEqual([
      'PackageVariantControllerDown',
      'PackageVariantControllerNoLeader',
      'PackageVariantReconcileErrors',
      'PackageVariantWorkQueueStuck',
      'PackageVariantRolloutHalted',
      'PackageVariantRenderFailures',
      'PackageVariantConflictsWaiting',
      'PackageVariantOutdatedTooLong',
      'PackageVariantRepositoryUnreachable',
    ]);
  });

  it('query only metrics the controller exports', async () => {
    const exported = await exportedNames();
    const missing: string[] = [];
    for (const query of [...dashboardQueries(), ...ruleQueries()]) {
      const names = metricNames(query.expr);
      if (!names.length) missing.push(`${query.file} ${query.where}: no metric in ${query.expr}`);
      for (const name of names)
        if (!exported.has(name) && !SCRAPE_SERIES.has(name)) missing.push(`${query.file} ${query.where}: ${name}`);
    }
    expect(missing).toEqual([]);
  });

  it('take rate() and increase() of counters and histogram series only, never of a gauge', async () => {
    const types = await exportedTypes();
    expect(ratedNames('rate(a_total[5m]) + increase(b_bucket{x="y"}[1h]) - irate( c [1m])')).toEqual([
      'a_total',
      'b_bucket',
      'c',
    ]);
    const gauges = [...dashboardQueries(), ...ruleQueries()].flatMap((q) =>
      ratedNames(q.expr)
        .filter((name) => types.get(name) === 'gauge')
        .map((name) => `${q.file} ${q.where}: rate of the gauge ${name}`),
    );
    expect(gauges).toEqual([]);
  });

  it('group the "per controller" panels by the controller label, not by pod', () => {
    const perController = dashboardQueries().filter((q) => /per controller/i.test(q.where));
    expect(perController.length).toBeGreaterThanOrEqual(5);
    const wrong = perController
      .filter((q) => !/\bby \((?:[^)]*, )?controller\b/.test(q.expr) || /\bby \([^)]*\b(?:pod|instance)\b/.test(q.expr))
      .map((q) => `${q.file} ${q.where}: ${q.expr}`);
    expect(wrong).toEqual([]);
  });

  it('select the metrics Service the ServiceMonitor scrapes', () => {
    const [monitor] = loadAll(readFileSync(join(CONFIG, 'prometheus', 'monitor.yaml'), 'utf8')) as Array<{
      kind: string;
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string }> };
    }>;
    expect(monitor?.kind).toBe('ServiceMonitor');
    expect(monitor?.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'packagevariant-controller',
      'app.kubernetes.io/component': 'metrics',
    });
    expect(monitor?.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    // Of the deployment's Services it selects the metrics one only (the webhook Service shares the name label).
    const services = readdirSync(join(CONFIG, 'manager'))
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => loadAll(readFileSync(join(CONFIG, 'manager', f), 'utf8')) as Array<Record<string, unknown>>)
      .filter((o) => o?.kind === 'Service') as Array<{
      metadata: { name: string; labels?: Record<string, string> };
      spec: { ports: Array<{ name: string }> };
    }>;
    const selected = services.filter((svc) =>
      Object.entries(monitor!.spec.selector.matchLabels).every(([k, v]) => svc.metadata.labels?.[k] === v),
    );
    expect(selected.map((svc) => svc.metadata.name)).toEqual(['packagevariant-controller-metrics']);
    expect(selected[0]!.spec.ports.map((p) => p.name)).toContain('metrics');
  });
});
