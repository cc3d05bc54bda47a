import { describe, expect, it } from '@jest/globals';
import { register as globalRegistry } from 'prom-client';
import { runWorkers, WorkQueue } from '../kube/workqueue.ts';
import { Metrics, RECONCILE_TIME_BUCKETS } from './metrics.ts';

/** The value of one series in the registry's text exposition (undefined when absent). */
async function sample(metrics: Metrics, series: string): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('Metrics', () => {
  it('keeps its own registry, apart from prom-client’s global one and from other instances', async () => {
    const a = new Metrics({ defaultMetrics: false });
    const b = new Metrics({ defaultMetrics: false });
    a.reconciled('packagevariant', 'success', 0.1);
    expect(await sample(a, 'controller_runtime_reconcile_total{controller="packagevariant",result="success"}')).toBe(1);
    expect(await sample(b, 'controller_runtime_reconcile_total{controller="packagevariant",result="success"}')).toBe(
      undefined,
    );
    expect(globalRegistry.getSingleMetric('controller_runtime_reconcile_total')).toBeUndefined();
  });

  it('includes the Node process metrics the resources dashboard reads, without a prefix', async () => {
    const text = await new Metrics().registry.metrics();
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('pre-initialises every reconcile result and uses controller-runtime’s buckets', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.registerController('packagevariant', {
      queue: new WorkQueue(),
      activeWorkers: () => 0,
      maxConcurrentReconciles: 4,
    });
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) {
      expect(
        await sample(m, `controller_runtime_reconcile_total{controller="packagevariant",result="${result}"}`),
      ).toBe(0);
    }
    m.reconciled('packagevariant', 'error', 0.12);
    m.reconciled('packagevariant', 'requeue_after', 2);
    expect(await sample(m, 'controller_runtime_reconcile_errors_total{controller="packagevariant"}')).toBe(1);
    expect(await sample(m, 'controller_runtime_reconcile_time_seconds_count{controller="packagevariant"}')).toBe(2);
    expect(
      await sample(m, 'controller_runtime_reconcile_time_seconds_bucket{le="0.15",controller="packagevariant"}'),
    ).toBe(1);
    const text = await m.registry.metrics();
    const les = [...text.matchAll(/^controller_runtime_reconcile_time_seconds_bucket\{le="([^"]+)"/gm)].map(
      (x) => x[1],
    );
    expect(les).toEqual([...RECONCILE_TIME_BUCKETS.map(String), '+Inf']);
    expect(text).toMatch(/^# TYPE controller_runtime_reconcile_time_seconds histogram$/m);
  });

  it('reports a work queue and its workers: adds, waits, work, retries, depth and unfinished work', async () => {
    let now = 0;
    const m = new Metrics({ defaultMetrics: false });
    const queue = new WorkQueue({ hooks: m.workQueueHooks('packagevariant'), now: () => now });
    m.registerController('packagevariant', { queue, activeWorkers: () => 3, maxConcurrentReconciles: 8 });
    const labels = '{name="packagevariant",controller="packagevariant"}';
    queue.add('a');
    queue.add('a'); // de-duplicated, but still an add (client-go counts every Add)
    queue.add('b');
    expect(await sample(m, `workqueue_depth${labels}`)).toBe(2);
    now = 2_000;
    queue.get();
    now = 5_000;
    expect(await sample(m, `workqueue_unfinished_work_seconds${labels}`)).toBe(3);
    expect(await sample(m, `workqueue_longest_running_processor_seconds${labels}`)).toBe(3);
    queue.done('a');
    queue.addRateLimited('b'); // a failure: retried after backoff
    queue.addAfter('c', 10_000); // RequeueAfter: also a retry
    queue.shutDown();
    expect(await sample(m, `workqueue_adds_total${labels}`)).toBe(2);
    expect(await sample(m, `workqueue_retries_total${labels}`)).toBe(2);
    expect(await sample(m, `workqueue_queue_duration_seconds_sum${labels}`)).toBe(2);
    expect(await sample(m, `workqueue_work_duration_seconds_sum${labels}`)).toBe(3);
    expect(
      await sample(
        m,
        `workqueue_work_duration_seconds_bucket{le="10",name="packagevariant",controller="packagevariant"}`,
      ),
    ).toBe(1);
    expect(await sample(m, `controller_runtime_active_workers{controller="packagevariant"}`)).toBe(3);
    expect(await sample(m, `controller_runtime_max_concurrent_reconciles{controller="packagevariant"}`)).toBe(8);
  });

  it('counts the reconciles a worker pool runs on an instrumented queue', async () => {
    const m = new Metrics({ defaultMetrics: false });
    const queue = new WorkQueue({ hooks: m.workQueueHooks('packagevariantset') });
    const workers = runWorkers(queue, 2, async () => {});
    for (const key of ['a', 'b', 'c']) queue.add(key);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await workers.drain();
    workers.stop();
    queue.shutDown();
    expect(
      await sample(m, 'workqueue_work_duration_seconds_count{name="packagevariantset",controller="packagevariantset"}'),
    ).toBe(3);
  });

  it('reports leader election status', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.setLeader('packagevariant-controller', true);
    expect(await sample(m, 'leader_election_master_status{name="packagevariant-controller"}')).toBe(1);
    m.setLeader('packagevariant-controller', false);
    expect(await sample(m, 'leader_election_master_status{name="packagevariant-controller"}')).toBe(0);
  });

  it('measures upgrade lag from the upstream commit first seen to the upgrade draft', async () => {
    let now = 1_000_000;
    const m = new Metrics({ defaultMetrics: false, now: () => now });
    m.upstreamRevisionDetected('example.com/blueprints', 'c2');
    now += 90_000;
    m.upstreamResolved('c2'); // seen again by a reconcile: the first sighting counts
    now += 30_000;
    m.draftWritten('upgrade', 'created', 'c2', 2);
    m.draftWritten('clone', 'created', 'c1', 0); // a clone is no upgrade: no lag
    m.draftWritten('upgrade', 'updated', 'never-seen', 0); // unknown commit: no lag
    expect(await sample(m, 'packagevariant_upgrade_lag_seconds_count')).toBe(1);
    expect(await sample(m, 'packagevariant_upgrade_lag_seconds_sum')).toBe(120);
    expect(await sample(m, 'packagevariant_drafts_created_total{kind="upgrade"}')).toBe(1);
    expect(await sample(m, 'packagevariant_drafts_created_total{kind="clone"}')).toBe(1);
    expect(await sample(m, 'packagevariant_drafts_created_total{kind="edit"}')).toBe(0);
    expect(await sample(m, 'packagevariant_drafts_updated_total{kind="upgrade"}')).toBe(1);
    expect(await sample(m, 'packagevariant_merge_conflicts_total')).toBe(2);
    expect(
      await sample(m, 'packagevariant_upstream_revisions_detected_total{repository="example.com/blueprints"}'),
    ).toBe(1);
  });

  it('counts outdated, pending and conflicted variants, and how long the oldest has been outdated', async () => {
    let now = 0;
    const m = new Metrics({ defaultMetrics: false, now: () => now });
    m.upstreamRevisionDetected('r', 'c2');
    now = 60_000;
    m.variantState('ns/a', { outdated: true, draftPending: true, conflicted: true, upstreamCommit: 'c2' });
    m.variantState('ns/b', { outdated: true, draftPending: false, conflicted: false, upstreamCommit: 'c3' });
    m.variantState('ns/c', { outdated: false, draftPending: true, conflicted: false, upstreamCommit: 'c2' });
    now = 100_000;
    // Still outdated: the clock keeps running from the commit's first sighting (0), not from now.
    m.variantState('ns/a', { outdated: true, draftPending: true, conflicted: true, upstreamCommit: 'c2' });
    expect(await sample(m, 'packagevariant_variants_outdated')).toBe(2);
    expect(await sample(m, 'packagevariant_drafts_pending')).toBe(2);
    expect(await sample(m, 'packagevariant_variants_conflicted')).toBe(1);
    expect(await sample(m, 'packagevariant_variants_outdated_oldest_seconds')).toBe(100);
    m.variantState('ns/a', { outdated: false, draftPending: false, conflicted: false, upstreamCommit: 'c2' });
    m.variantGone('ns/c');
    expect(await sample(m, 'packagevariant_variants_outdated')).toBe(1);
    expect(await sample(m, 'packagevariant_drafts_pending')).toBe(0);
    expect(await sample(m, 'packagevariant_variants_outdated_oldest_seconds')).toBe(40); // ns/b, since 60 s
  });

  it('reports polls by repository and git operations by result, ignoring the long-lived cat-file readers', async () => {
    const m = new Metrics({ defaultMetrics: false, now: () => 1_700_000_000_000 });
    m.polled('example.com/deploy', true);
    // From the first poll on both results exist, so that a first failure is an increase from 0.
    expect(
      await sample(m, 'packagevariant_repository_polls_total{repository="example.com/deploy",result="failure"}'),
    ).toBe(0);
    m.polled('example.com/deploy', false);
    expect(
      await sample(m, 'packagevariant_repository_polls_total{repository="example.com/deploy",result="success"}'),
    ).toBe(1);
    expect(
      await sample(m, 'packagevariant_repository_polls_total{repository="example.com/deploy",result="failure"}'),
    ).toBe(1);
    expect(
      await sample(
        m,
        'packagevariant_repository_last_successful_poll_timestamp_seconds{repository="example.com/deploy"}',
      ),
    ).toBe(1_700_000_000);
    m.gitCommand('fetch', 0.2, true);
    expect(
      await sample(m, 'packagevariant_git_operation_duration_seconds_count{operation="fetch",result="error"}'),
    ).toBe(0);
    m.gitCommand('fetch', 0.3, false);
    m.gitCommand('fetch', 0.4, true);
    m.gitCommand('push', 1, false);
    m.gitCommand('cat-file', 600, true);
    expect(
      await sample(m, 'packagevariant_git_operation_duration_seconds_count{operation="fetch",result="success"}'),
    ).toBe(2);
    expect(
      await sample(m, 'packagevariant_git_operation_duration_seconds_count{operation="fetch",result="error"}'),
    ).toBe(1);
    expect(
      await sample(m, 'packagevariant_git_operation_duration_seconds_count{operation="push",result="error"}'),
    ).toBe(1);
    expect(await m.registry.metrics()).not.toContain('operation="cat-file"');
  });

  it('counts renders by result (both pre-initialised) and failures by function', async () => {
    const m = new Metrics({ defaultMetrics: false });
    expect(await sample(m, 'packagevariant_renders_total{result="success"}')).toBe(0);
    expect(await sample(m, 'packagevariant_renders_total{result="failure"}')).toBe(0);
    m.rendered(0.2);
    m.rendered(0.1, '/usr/bin/some-tool');
    m.rendered(0.1, '/usr/bin/some-tool');
    expect(await sample(m, 'packagevariant_renders_total{result="success"}')).toBe(1);
    expect(await sample(m, 'packagevariant_renders_total{result="failure"}')).toBe(2);
    expect(await sample(m, 'packagevariant_render_failures_total{function="/usr/bin/some-tool"}')).toBe(2);
    expect(await sample(m, 'packagevariant_render_duration_seconds_count')).toBe(3);
  });

  it('reports each rollout as halted or not, and forgets sets without one', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.rolloutState('ns/web', false);
    m.rolloutState('ns/api', true);
    expect(await sample(m, 'packagevariant_set_rollout_halted{packagevariantset="ns/web"}')).toBe(0);
    expect(await sample(m, 'packagevariant_set_rollout_halted{packagevariantset="ns/api"}')).toBe(1);
    m.rolloutState('ns/api', undefined);
    m.rolloutState('ns/web', true);
    expect(await sample(m, 'packagevariant_set_rollout_halted{packagevariantset="ns/api"}')).toBeUndefined();
    expect(await sample(m, 'packagevariant_set_rollout_halted{packagevariantset="ns/web"}')).toBe(1);
  });
});
