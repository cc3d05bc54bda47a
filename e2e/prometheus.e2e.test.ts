// The dashboards and alert rules against a real Prometheus: `pvctl run` (a child process, with
// leader election, against the test API server and real git) runs a PackageVariantSet's staged
// rollout (canary, then prod; published automatically) over three sites through v1 and a fleet
// upgrade to v2; then the canary's git repository goes away and v3 is published, so the canary's
// upgrade fails and the rollout halts before prod. Beside the set, a PackageVariant of a package
// whose pipeline runs a function the controller may not exec fails to render. Prometheus
// (e2e/prometheus.ts) scrapes the controller every second and evaluates config/prometheus/rules.yaml;
// then
//
// * every Grafana panel query (config/grafana/*.json), with the dashboard variables substituted as
//   Grafana would, must return data: at least one finite sample over the run (a 1 s subquery through
//   /api/v1/query, as a dashboard's time range asks);
// * every template variable's label_values() query must offer the value the scrape target has;
// * every alert expression is valid and evaluated by Prometheus's rule engine without error, and by
//   /api/v1/query: the alerts whose condition this run makes true (rollout halted, render
//   failures) must return their series now (and be pending in /api/v1/alerts: their `for` has not
//   passed); every other alert must return nothing — the run does not reach their thresholds (the
//   canary's repository was polled successfully minutes ago, so it is not "unreachable" for 15
//   minutes yet) — and, so that "nothing" cannot come from a misspelt metric, its condition's
//   operands (the expression without its comparison, written below and checked to be part of the
//   expression) must return series. PackageVariantReconcileErrors is the one whose truth the run
//   does not fix (the canary's failed upgrade is retried with backoff, how often depends on timing):
//   its ratio must return series, and the alert expression must return a series exactly when a
//   ratio is over its 0.1 threshold.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { load } from 'js-yaml';
import { blueprint, type TestRepo } from '../controllers/testing/fixtures.ts';
import { CONFIG_DIR, render } from './deploy-env.ts';
import { eventually } from './helpers.ts';
import { condition } from './packagevariant-env.ts';
import { useSetEnv } from './packagevariantset-env.ts';
import { startPrometheus, type Prometheus, type Sample } from './prometheus.ts';

const TIMEOUT_MS = 150_000;
const PVCTL = join(import.meta.dirname, '..', 'cli', 'pvctl.ts');
/** The job the Prometheus Operator names after the metrics Service (config/manager/metrics_service.yaml). */
const JOB = 'packagevariant-controller-metrics';
const POD = 'packagevariant-controller-0';
/** Grafana's $__rate_interval for a 1 s scrape interval: max(4 × scrape interval, $__interval + scrape interval). */
const RATE_INTERVAL = '4s';
const FORBIDDEN_EXEC = '/usr/bin/not-allowed-here';

interface Target {
  refId: string;
  expr: string;
}
interface Panel {
  title: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: string }> };
}
interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}

const dashboards = () =>
  readdirSync(join(CONFIG_DIR, 'grafana'))
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({
      file,
      dashboard: JSON.parse(readFileSync(join(CONFIG_DIR, 'grafana', file), 'utf8')) as Dashboard,
    }));

const panelsOf = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]);

const ruleSpec = () =>
  (
    load(readFileSync(join(CONFIG_DIR, 'prometheus', 'rules.yaml'), 'utf8')) as {
      spec: { groups: Array<{ rules: Rule[] }> };
    }
  ).spec;

/** What to expect of each alert in this run (see the file's comment). Every alert must be listed. */
const ALERTS: Record<
  string,
  { fires: true } | { fires: false; operands: string[] } | { fires: 'ratio'; operands: string[]; threshold: number }
> = {
  PackageVariantControllerDown: { fires: false, operands: ['up{job=~"(.+-)?packagevariant-controller-metrics"}'] },
  PackageVariantControllerNoLeader: {
    fires: false,
    operands: ['max by (namespace, job, name) (leader_election_master_status)'],
  },
  PackageVariantReconcileErrors: {
    fires: 'ratio',
    threshold: 0.1,
    operands: [
      'sum by (namespace, job, controller) (rate(controller_runtime_reconcile_errors_total[10m])) / clamp_min(sum by (namespace, job, controller) (rate(controller_runtime_reconcile_total[10m])), 1e-9)',
    ],
  },
  PackageVariantWorkQueueStuck: {
    fires: false,
    operands: [
      'max by (namespace, job, name) (workqueue_longest_running_processor_seconds)',
      'max by (namespace, job, name) (workqueue_depth)',
      'sum by (namespace, job, name) (rate(workqueue_work_duration_seconds_count[10m]))',
    ],
  },
  PackageVariantRolloutHalted: { fires: true },
  PackageVariantRenderFailures: { fires: true },
  PackageVariantConflictsWaiting: {
    fires: false,
    operands: ['max by (namespace, job) (packagevariant_variants_conflicted)'],
  },
  PackageVariantOutdatedTooLong: {
    fires: false,
    operands: ['max by (namespace, job) (packagevariant_variants_outdated_oldest_seconds)'],
  },
  PackageVariantRepositoryUnreachable: {
    fires: false,
    operands: [
      'sum by (namespace, job, repository) (increase(packagevariant_repository_polls_total{result="failure"}[15m]))',
      'sum by (namespace, job, repository) (increase(packagevariant_repository_polls_total{result="success"}[15m]))',
    ],
  },
};

const oneLine = (expr: string) => expr.replace(/\s+/g, ' ').trim();

/** A dashboard query as Grafana sends it: its variables replaced; throws on one it does not know. */
function substitute(expr: string, variables: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (match, braced?: string, bare?: string) => {
    const name = (braced ?? bare)!;
    const value = variables[name];
    if (value === undefined) throw new Error(`unknown dashboard variable ${match} in ${expr}`);
    return value;
  });
}

const finite = (samples: Sample[]) =>
  samples.some((s) => [...(s.values ?? []), ...(s.value ? [s.value] : [])].some(([, v]) => Number.isFinite(Number(v))));

describe('dashboards and alerts against a real Prometheus (pvctl run, fleet upgrade)', () => {
  const env = useSetEnv();
  let controller: ChildProcess | undefined;
  let prometheus: Prometheus | undefined;
  afterEach(async () => {
    controller?.kill('SIGKILL');
    controller = undefined;
    await prometheus?.stop();
    prometheus = undefined;
  });

  it(
    'every panel query returns data and every alert expression evaluates as the fleet upgrade says',
    async () => {
      const startedAt = Date.now();
      const namespace = env.namespace();
      // The fleet: blueprint nginx v1, a canary site and two prod sites.
      const upstream = await env.repo('blueprints');
      await upstream.publish('nginx', blueprint('nginx'), 1);
      await env.createRepository('blueprints', upstream.url);
      const sites: Record<string, TestRepo> = {};
      for (const [site, tier] of [
        ['canary', 'canary'],
        ['prod-1', 'prod'],
        ['prod-2', 'prod'],
      ] as const) {
        sites[site] = await env.repo(site);
        await env.createLabelledRepository(site, sites[site].url, { tier });
      }
      // And a package whose pipeline runs a function the controller may not exec (no --allow-exec).
      const tool = blueprint('tool');
      tool.set(
        'Kptfile',
        Buffer.concat([tool.get('Kptfile')!, Buffer.from(`pipeline:\n  mutators:\n    - exec: ${FORBIDDEN_EXEC}\n`)]),
      );
      await upstream.publish('tool', tool, 1);
      await env.createRepository('tools', (await env.repo('tools')).url, true);

      // The controller as the Deployment runs it, with JSON logs on stdout (not a terminal).
      const lines: Array<Record<string, unknown>> = [];
      let stderr = '';
      controller = spawn(
        process.execPath,
        [
          PVCTL,
          'run',
          '--kubeconfig',
          process.env.TESTENV_KUBECONFIG!,
          '--namespace',
          namespace,
          '--poll-interval',
          '500ms',
          '--cache-dir',
          join(env.root(), 'cache'),
          '--metrics-bind-address',
          '127.0.0.1:0',
          '--health-probe-bind-address',
          '0',
          '--webhook-bind-address',
          '0',
          '--leader-elect',
          '--leader-election-namespace',
          namespace,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let buffered = '';
      controller.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const parts = buffered.split('\n');
        buffered = parts.pop()!;
        for (const line of parts) lines.push(JSON.parse(line) as Record<string, unknown>);
      });
      controller.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const listening = await eventually(() => {
        const line = lines.find((l) => l.msg === 'listening');
        if (!line) throw new Error(`pvctl run is not listening yet; stderr: ${stderr}`);
        return line as { addresses: Array<{ port: number }> };
      }, 30_000);
      const metricsPort = listening.addresses[0]!.port;
      expect(lines[0]).toMatchObject({ level: 'info', name: 'pvctl' });
      expect(lines[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

      prometheus = await startPrometheus({
        jobs: [{ job: JOB, targets: [`127.0.0.1:${metricsPort}`], labels: { namespace, pod: POD } }],
        rules: ruleSpec(),
      });
      const prom = prometheus;
      await eventually(async () => {
        const up = await prom.query(`up{job="${JOB}"}`);
        if (up[0]?.value?.[1] !== '1') throw new Error(`target not up yet: ${JSON.stringify(up)}`);
      }, 20_000);

      // v1 rolls out stage by stage, published automatically.
      await env.createSet('web', {
        upstream: { repo: 'blueprints', package: 'nginx', revision: -1 },
        targets: [{ repositorySelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } }],
        rollout: {
          stages: [
            { name: 'canary', selector: { matchLabels: { tier: 'canary' } } },
            { name: 'prod', selector: { matchLabels: { tier: 'prod' } } },
          ],
          maxConcurrent: 2,
          publishPolicy: 'Automatic',
        },
      });
      // Its render fails at the clone: nothing is pushed.
      await env.createVariant('tool', {
        upstream: { repo: 'blueprints', package: 'tool' },
        downstream: { repo: 'tools', package: 'tool' },
      });
      await env.waitFor(
        'tool',
        (pv) => condition(pv, 'Ready')?.message?.startsWith('render failed; nothing pushed') === true,
        30_000,
      );
      await env.waitForSet('web', (s) => s.status?.variants?.upToDate === 3, 40_000);
      // The fleet upgrade: v2 (a new image) reaches every site, upgrade drafts published automatically.
      const v2 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
      await env.waitForSet(
        'web',
        (s) => s.status?.variants?.upToDate === 3 && s.status.observedGeneration !== undefined,
      );
      await eventually(async () => {
        const variants = [...(await env.variants()).values()];
        const upgraded = variants.filter((pv) =>
          pv.status?.downstreamTargets?.some((t) => t.lifecycle === 'Published' && t.upstreamCommit === v2),
        );
        if (upgraded.length !== 3) throw new Error(`${upgraded.length}/3 variants published v2`);
      }, 40_000);
      // Prometheus has seen the canary's repository polled successfully, so it is not "unreachable"
      // below (under load its first scrape can come after every successful poll of a short run).
      await eventually(async () => {
        const polled = `increase(packagevariant_repository_polls_total{result="success", repository=~".*/canary"}[15m]) > 0`;
        if (!(await prom.query(polled)).length) throw new Error('no successful poll of the canary scraped yet');
      }, 30_000);
      // The canary's repository goes away; v3 is released to the canary first, whose upgrade fails:
      // the rollout halts before prod.
      renameSync(sites.canary!.bare, `${sites.canary!.bare}.gone`);
      await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.28' }), 3);
      const halted = await env.waitForSet('web', (s) => s.status?.rollout?.halted === true, 40_000);
      expect(halted.status?.rollout?.message).toMatch(
        /^halted: 1 failed variant\(s\) exceed maxFailures 0: web-canary-nginx/,
      );
      // Prometheus has scraped the halt and the failed render.
      await eventually(async () => {
        if (!(await prom.query(`packagevariant_set_rollout_halted{packagevariantset="${namespace}/web"} == 1`)).length)
          throw new Error('halt not scraped yet');
        if (!(await prom.query('packagevariant_renders_total{result="failure"} > 0')).length)
          throw new Error('render failure not scraped yet');
      }, 20_000);
      await new Promise((resolve) => setTimeout(resolve, 5_000)); // a few more scrapes and rule evaluations

      const window = Math.ceil((Date.now() - startedAt) / 1000);
      const variables = {
        namespace,
        job: JOB,
        pod: POD,
        datasource: 'prometheus',
        __rate_interval: RATE_INTERVAL,
        __interval: '1s',
      };

      // Every panel query returns data.
      const panels: string[] = [];
      const noData: string[] = [];
      for (const { file, dashboard } of dashboards()) {
        for (const panel of panelsOf(dashboard.panels)) {
          for (const target of panel.targets ?? []) {
            const where = `${file} "${panel.title}" ${target.refId}`;
            panels.push(where);
            const expr = substitute(target.expr, variables);
            let samples: Sample[];
            try {
              samples = await prom.query(`(${expr})[${window}s:1s]`);
            } catch (error) {
              noData.push(`${where}: ${(error as Error).message}`);
              continue;
            }
            if (!finite(samples)) noData.push(`${where}: no data for ${expr}`);
          }
        }
      }
      expect(noData).toEqual([]);
      expect(panels.length).toBeGreaterThanOrEqual(40);

      // Every template variable offers the scrape target's value.
      const wrongVariables: string[] = [];
      for (const { file, dashboard } of dashboards()) {
        for (const variable of dashboard.templating.list) {
          if (variable.type !== 'query' || !variable.query) continue;
          const match = /^label_values\((.*),\s*(\w+)\)$/.exec(variable.query);
          if (!match) {
            wrongVariables.push(`${file} $${variable.name}: not label_values(): ${variable.query}`);
            continue;
          }
          // Grafana's multi-value syntax: the variables the query depends on as regexes.
          const selector = substitute(match[1]!, variables);
          const values = await prom.api<string[]>(`label/${match[2]}/values`, { 'match[]': selector });
          const expected = variables[variable.name as keyof typeof variables];
          if (!values.includes(expected)) wrongVariables.push(`${file} $${variable.name}: ${JSON.stringify(values)}`);
        }
      }
      expect(wrongVariables).toEqual([]);

      // Every alert: the rule engine evaluates it without error; /api/v1/query as described above.
      const rules = ruleSpec().groups.flatMap((g) => g.rules);
      expect(Object.keys(ALERTS).sort()).toEqual(
        rules
          .filter((r) => r.alert)
          .map((r) => r.alert!)
          .sort(),
      );
      const engine = await prom.api<{
        groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string; state?: string }> }>;
      }>('rules');
      const evaluated = engine.groups.flatMap((g) => g.rules);
      expect(evaluated.map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`.trim()).sort()).toEqual(
        rules.map((r) => `${r.alert ?? r.record}: ok`).sort(),
      );
      const active = await prom.api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>('alerts');
      const wrongAlerts: string[] = [];
      for (const rule of rules.filter((r) => r.alert)) {
        const expectation = ALERTS[rule.alert!]!;
        const result = await prom.query(rule.expr);
        const state = active.alerts.filter((a) => a.labels.alertname === rule.alert).map((a) => a.state);
        if (expectation.fires === true) {
          if (!result.length) wrongAlerts.push(`${rule.alert}: its condition holds in this run, but no series`);
          if (!state.length) wrongAlerts.push(`${rule.alert}: not pending or firing in /api/v1/alerts`);
          continue;
        }
        for (const operand of expectation.operands) {
          if (!oneLine(rule.expr).includes(oneLine(operand)))
            wrongAlerts.push(`${rule.alert}: "${operand}" is not part of its expression`);
          else if (!(await prom.query(operand)).length) wrongAlerts.push(`${rule.alert}: no series for ${operand}`);
        }
        if (expectation.fires === false) {
          if (result.length) wrongAlerts.push(`${rule.alert}: fires in a healthy run: ${JSON.stringify(result)}`);
          if (state.length) wrongAlerts.push(`${rule.alert}: ${state.join(', ')} in /api/v1/alerts`);
        } else {
          const ratios = await prom.query(expectation.operands[0]!);
          const over = ratios.some((s) => Number(s.value![1]) > expectation.threshold);
          if (over !== result.length > 0) wrongAlerts.push(`${rule.alert}: ${JSON.stringify({ ratios, result })}`);
        }
      }
      expect(wrongAlerts).toEqual([]);
      // The two alerts of this run name what happened.
      expect(await prom.query(rules.find((r) => r.alert === 'PackageVariantRolloutHalted')!.expr)).toEqual([
        expect.objectContaining({ metric: { namespace, job: JOB, packagevariantset: `${namespace}/web` } }),
      ]);
      const failures = await prom.query('packagevariant_render_failures_total');
      expect(failures.map((s) => s.metric.function)).toEqual([FORBIDDEN_EXEC]);
      process.stderr.write(
        `prometheus e2e: ${panels.length} panel queries and ${rules.length} alert expressions evaluated over ${window} s\n`,
      );
    },
    TIMEOUT_MS,
  );

  it('ships the dashboards as sidecar ConfigMaps and the Prometheus objects as a kustomization', () => {
    const configMaps = render(join(CONFIG_DIR, 'grafana')) as Array<{
      kind: string;
      metadata: { name: string; labels: Record<string, string> };
      data: Record<string, string>;
    }>;
    const files = dashboards().map((d) => d.file);
    expect(configMaps.map((c) => c.kind)).toEqual(files.map(() => 'ConfigMap'));
    for (const configMap of configMaps) {
      expect(configMap.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
      const [[file, json]] = Object.entries(configMap.data) as [[string, string]];
      expect(JSON.parse(json)).toEqual(JSON.parse(readFileSync(join(CONFIG_DIR, 'grafana', file), 'utf8')));
    }
    expect(configMaps.flatMap((c) => Object.keys(c.data)).sort()).toEqual([...files].sort());
    const objects = render(join(CONFIG_DIR, 'prometheus')) as Array<{ kind: string; metadata: { namespace: string } }>;
    expect(objects.map((o) => `${o.kind} ${o.metadata.namespace}`).sort()).toEqual([
      'PrometheusRule packagevariant-system',
      'ServiceMonitor packagevariant-system',
    ]);
  });
});
