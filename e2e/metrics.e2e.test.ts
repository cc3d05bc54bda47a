// `/metrics` of a manager running against the test API server with real git: after a clone, a
// person's approval and an upstream upgrade, a scrape over HTTP holds every controller-runtime,
// workqueue, rest-client and domain series, with values that follow from what happened.
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { blueprint } from '../controllers/testing/fixtures.ts';
import { adminKubeConfig } from './helpers.ts';
import { approve, useControllerEnv } from './packagevariant-env.ts';

const TIMEOUT_MS = 60_000;

/** Prometheus text exposition → series (name with labels, as printed) → value. */
function parseExposition(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    series.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return series;
}

describe('metrics endpoint (cluster, real git)', () => {
  const env = useControllerEnv();

  it(
    'serves controller-runtime, workqueue, rest-client, process and fleet metrics after an upgrade',
    async () => {
      const startedAt = Date.now() / 1000;
      const upstream = await env.repo('blueprints');
      const deploy = await env.repo('deploy');
      await upstream.publish('nginx', blueprint('nginx'), 1);
      await env.createRepository('blueprints', upstream.url);
      await env.createRepository('deploy', deploy.url, true);
      const manager = await env.start({ metricsAddress: { host: '127.0.0.1', port: 0 } });
      const url = `http://127.0.0.1:${manager.addressOf('metrics')!.port}/metrics`;

      await env.createVariant('east', {
        upstream: { repo: 'blueprints', package: 'nginx' },
        downstream: { repo: 'deploy', package: 'east' },
      });
      await env.waitFor('east', (pv) => pv.status?.downstreamTargets?.[0]?.lifecycle === 'Draft');
      await approve(deploy, join(env.root(), 'person'), 'east', 'packagevariant-1');
      await env.waitFor('east', (pv) => pv.status?.downstreamTargets?.[0]?.lifecycle === 'Published');
      const v2 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
      await env.waitFor(
        'east',
        (pv) =>
          pv.status?.downstreamTargets?.[0]?.upstreamCommit === v2 &&
          pv.status.downstreamTargets[0].lifecycle === 'Draft',
      );

      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const series = parseExposition(await response.text());
      const value = (name: string) => {
        const v = series.get(name);
        if (v === undefined) {
          const family = name.replace(/\{.*$/, '');
          const similar = [...series.keys()].filter((k) => k.startsWith(family)).join('\n  ');
          throw new Error(`no series ${name}; of that family:\n  ${similar || '(none)'}`);
        }
        return v;
      };
      const find = (pattern: RegExp) => [...series].filter(([name]) => pattern.test(name));

      // controller-runtime
      for (const controller of ['packagevariant', 'packagevariantset']) {
        const c = `controller="${controller}"`;
        for (const result of ['error', 'requeue', 'requeue_after']) {
          expect(value(`controller_runtime_reconcile_total{${c},result="${result}"}`)).toBeGreaterThanOrEqual(0);
        }
        expect(value(`controller_runtime_reconcile_errors_total{${c}}`)).toBeGreaterThanOrEqual(0);
        expect(value(`controller_runtime_active_workers{${c}}`)).toBeGreaterThanOrEqual(0);
        const q = `{name="${controller}",${c}}`;
        expect(value(`workqueue_depth${q}`)).toBeGreaterThanOrEqual(0);
        expect(value(`workqueue_retries_total${q}`)).toBeGreaterThanOrEqual(0);
        expect(value(`workqueue_unfinished_work_seconds${q}`)).toBeGreaterThanOrEqual(0);
        expect(value(`workqueue_longest_running_processor_seconds${q}`)).toBeGreaterThanOrEqual(0);
      }
      const pv = 'controller="packagevariant"';
      // Clone, approval noticed, upgrade: at least three successful reconciles of the variant.
      expect(value(`controller_runtime_reconcile_total{${pv},result="success"}`)).toBeGreaterThanOrEqual(3);
      expect(value(`controller_runtime_reconcile_time_seconds_count{${pv}}`)).toBeGreaterThanOrEqual(3);
      expect(value(`controller_runtime_reconcile_time_seconds_bucket{le="+Inf",${pv}}`)).toBe(
        value(`controller_runtime_reconcile_time_seconds_count{${pv}}`),
      );
      expect(value(`controller_runtime_max_concurrent_reconciles{${pv}}`)).toBe(4);
      expect(value('controller_runtime_max_concurrent_reconciles{controller="packagevariantset"}')).toBe(2);
      const q = '{name="packagevariant",controller="packagevariant"}';
      expect(value(`workqueue_adds_total${q}`)).toBeGreaterThanOrEqual(3);
      expect(value(`workqueue_queue_duration_seconds_count${q}`)).toBeGreaterThanOrEqual(3);
      expect(value(`workqueue_work_duration_seconds_count${q}`)).toBeGreaterThanOrEqual(3);
      expect(value(`workqueue_work_duration_seconds_sum${q}`)).toBeGreaterThan(0);

      // client-go: every API request, by code, method and the API server's host
      const host = new URL(adminKubeConfig().getCurrentCluster()!.server).host;
      expect(value(`rest_client_requests_total{code="200",method="GET",host="${host}"}`)).toBeGreaterThanOrEqual(4);
      // Status and finalizer writes are merge patches.
      expect(value(`rest_client_requests_total{code="200",method="PATCH",host="${host}"}`)).toBeGreaterThanOrEqual(2);

      // Node process metrics, unprefixed (the kubebuilder resources dashboard reads them)
      expect(value('process_cpu_seconds_total')).toBeGreaterThan(0);
      expect(value('process_resident_memory_bytes')).toBeGreaterThan(0);

      // domain
      expect(value('packagevariant_drafts_created_total{kind="clone"}')).toBe(1);
      expect(value('packagevariant_drafts_created_total{kind="upgrade"}')).toBe(1);
      expect(value('packagevariant_drafts_created_total{kind="edit"}')).toBe(0);
      expect(value('packagevariant_publishes_total')).toBe(0); // a person approved, not the controller
      expect(value('packagevariant_merge_conflicts_total')).toBe(0);
      const detected = find(/^packagevariant_upstream_revisions_detected_total\{repository="file:\/\/.*blueprints/);
      expect(detected.map(([, v]) => v)).toEqual([1]);
      expect(value('packagevariant_upgrade_lag_seconds_count')).toBe(1);
      const lag = value('packagevariant_upgrade_lag_seconds_sum');
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThan(Date.now() / 1000 - startedAt);
      // The upgrade is drafted, not published: one variant outdated, one draft pending.
      expect(value('packagevariant_variants_outdated')).toBe(1);
      expect(value('packagevariant_drafts_pending')).toBe(1);
      expect(value('packagevariant_variants_conflicted')).toBe(0);
      expect(value('packagevariant_variants_outdated_oldest_seconds')).toBeGreaterThanOrEqual(0);
      for (const operation of ['ls-remote', 'fetch', 'push']) {
        expect(
          value(`packagevariant_git_operation_duration_seconds_count{operation="${operation}",result="success"}`),
        ).toBeGreaterThanOrEqual(1);
      }
      for (const repo of ['blueprints', 'deploy']) {
        const polls = find(
          new RegExp(`^packagevariant_repository_polls_total\\{repository="file://.*${repo}[^"]*",result="success"\\}`),
        );
        expect(polls.length).toBe(1);
        expect(polls[0]![1]).toBeGreaterThanOrEqual(1);
        const [last] = find(
          new RegExp(
            `^packagevariant_repository_last_successful_poll_timestamp_seconds\\{repository="file://.*${repo}`,
          ),
        );
        expect(last?.[1]).toBeGreaterThanOrEqual(startedAt);
      }

      expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);
    },
    TIMEOUT_MS,
  );
});
