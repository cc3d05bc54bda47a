// Every metric the controller exports, on one prom-client Registry per Metrics instance (never the
// global one): controller-runtime's and client-go's series with their exact names, labels and
// buckets (so the kubebuilder dashboards work unchanged), Node process metrics, and the domain
// series under `packagevariant_`. The code being measured reports through small methods; the
// gauges that describe current state read it at scrape time.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WorkQueueHooks } from '../kube/workqueue.ts';
import { UpgradeLagTracker } from './upgrade-lag.ts';

/** controller-runtime's `controller_runtime_reconcile_time_seconds` buckets. */
export const RECONCILE_TIME_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75,
  2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

/** controller-runtime's workqueue buckets: ExponentialBuckets(10e-9, 10, 12), 1e-8 … 1e3 s. */
export const WORKQUEUE_BUCKETS = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1000];

const GIT_OPERATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Upstream commit first seen → draft pushed: seconds (webhook) to days (held rollouts). */
const UPGRADE_LAG_BUCKETS = [
  0.25, 0.5, 1, 2.5, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400, 259200, 604800,
];

export type ReconcileOutcome = 'success' | 'error' | 'requeue' | 'requeue_after';
const RECONCILE_OUTCOMES: readonly ReconcileOutcome[] = ['success', 'error', 'requeue', 'requeue_after'];

export type DraftKind = 'clone' | 'upgrade' | 'edit';
const DRAFT_KINDS: readonly DraftKind[] = ['clone', 'upgrade', 'edit'];

/** What one controller's queue and workers look like right now (read at scrape time). */
export interface ControllerSource {
  queue: { readonly length: number; unfinishedWork(): { totalSeconds: number; longestSeconds: number } };
  activeWorkers(): number;
  maxConcurrentReconciles: number;
}

/** A variant's state after its last reconcile, for the fleet gauges. */
export interface VariantState {
  /** No published downstream revision carries the current upstream package tree yet. */
  outdated: boolean;
  /** A draft or proposed revision is waiting to be published. */
  draftPending: boolean;
  /** That pending revision carries merge conflicts. */
  conflicted: boolean;
  /** The upstream commit the variant should be at. */
  upstreamCommit: string;
}

/** The reports the PackageVariant reconciler makes (all optional for its callers: see `ReconcilerOptions`). */
export interface VariantMetrics {
  upstreamResolved(commit: string): void;
  draftWritten(kind: DraftKind, operation: 'created' | 'updated', upstreamCommit: string, conflicts: number): void;
  published(): void;
  /** A draft's Kptfile pipeline ran; `failedFunction` names the function that failed, if one did. */
  rendered(seconds: number, failedFunction?: string): void;
  variantState(key: string, state: VariantState): void;
  variantGone(key: string): void;
}

/** The report the PackageVariantSet reconciler makes after each reconcile of a set with a rollout. */
export interface SetMetrics {
  /** `halted`: the set's rollout halted (more failed variants than `maxFailures`); undefined: no rollout (or the set is gone). */
  rolloutState(key: string, halted: boolean | undefined): void;
}

interface TrackedVariant {
  state: VariantState;
  /** When the variant became outdated (ms since the epoch). */
  outdatedSince?: number;
}

export class Metrics implements VariantMetrics, SetMetrics {
  readonly registry = new Registry();

  // controller-runtime (pkg/internal/controller/metrics)
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  // controller-runtime's workqueue provider (pkg/metrics/workqueue.go)
  readonly workqueueDepth: Gauge<'name' | 'controller'>;
  readonly workqueueAdds: Counter<'name' | 'controller'>;
  readonly workqueueQueueDuration: Histogram<'name' | 'controller'>;
  readonly workqueueWorkDuration: Histogram<'name' | 'controller'>;
  readonly workqueueUnfinishedWork: Gauge<'name' | 'controller'>;
  readonly workqueueLongestRunning: Gauge<'name' | 'controller'>;
  readonly workqueueRetries: Counter<'name' | 'controller'>;
  // client-go (tools/metrics) and leader election
  readonly restClientRequests: Counter<'code' | 'method' | 'host'>;
  readonly leaderElectionMasterStatus: Gauge<'name'>;
  // domain
  readonly upstreamRevisions: Counter<'repository'>;
  readonly draftsCreated: Counter<'kind'>;
  readonly draftsUpdated: Counter<'kind'>;
  readonly publishes: Counter;
  readonly mergeConflicts: Counter;
  readonly renderDuration: Histogram;
  readonly renderFailures: Counter<'function'>;
  readonly renders: Counter<'result'>;
  readonly rolloutHalted: Gauge<'packagevariantset'>;
  readonly upgradeLag: Histogram;
  readonly gitOperationDuration: Histogram<'operation' | 'result'>;
  readonly repositoryPolls: Counter<'repository' | 'result'>;
  readonly repositoryLastSuccessfulPoll: Gauge<'repository'>;

  private readonly controllers = new Map<string, ControllerSource>();
  private readonly variants = new Map<string, TrackedVariant>();
  /** Set key → its rollout is halted, for the sets with a rollout. */
  private readonly rollouts = new Map<string, boolean>();
  /** git operations seen, whose two result series exist. */
  private readonly gitOperations = new Set<string>();
  private readonly lag: UpgradeLagTracker;
  private readonly now: () => number;

  constructor(options: { defaultMetrics?: boolean; now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
    this.lag = new UpgradeLagTracker(this.now);
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    // Gauges of current state are set at scrape time, from what the controllers hold.
    const controllers = this.controllers;
    const perController = (read: (source: ControllerSource) => number) =>
      function (this: Gauge<'controller'>) {
        for (const [controller, source] of controllers) this.set({ controller }, read(source));
      };
    const perQueue = (read: (source: ControllerSource) => number) =>
      function (this: Gauge<'name' | 'controller'>) {
        for (const [name, source] of controllers) this.set({ name, controller: name }, read(source));
      };
    const variantGauge = (name: string, help: string, value: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(value());
        },
      });

    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: RECONCILE_TIME_BUCKETS,
      registers,
    });
    this.maxConcurrentReconciles = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
      collect: perController((s) => s.maxConcurrentReconciles),
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
      collect: perController((s) => s.activeWorkers()),
    });

    const queueLabels = ['name', 'controller'] as const;
    this.workqueueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: queueLabels,
      registers,
      collect: perQueue((s) => s.queue.length),
    });
    this.workqueueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: queueLabels,
      registers,
    });
    this.workqueueQueueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: queueLabels,
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.workqueueWorkDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: queueLabels,
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.workqueueUnfinishedWork = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help:
        "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. " +
        'Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.',
      labelNames: queueLabels,
      registers,
      collect: perQueue((s) => s.queue.unfinishedWork().totalSeconds),
    });
    this.workqueueLongestRunning = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: queueLabels,
      registers,
      collect: perQueue((s) => s.queue.unfinishedWork().longestSeconds),
    });
    this.workqueueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: queueLabels,
      registers,
    });

    this.restClientRequests = new Counter({
      name: 'rest_client_requests_total',
      help: 'Number of HTTP requests, partitioned by status code, method, and host.',
      labelNames: ['code', 'method', 'host'],
      registers,
    });
    this.leaderElectionMasterStatus = new Gauge({
      name: 'leader_election_master_status',
      help:
        'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. ' +
        "'name' is the string used to identify the lease. Please make sure to group by name.",
      labelNames: ['name'],
      registers,
    });

    this.upstreamRevisions = new Counter({
      name: 'packagevariant_upstream_revisions_detected_total',
      help: 'New upstream package revisions (a changed package tree) detected, by upstream repository',
      labelNames: ['repository'],
      registers,
    });
    this.draftsCreated = new Counter({
      name: 'packagevariant_drafts_created_total',
      help: 'Downstream drafts created, by kind (clone, upgrade, edit)',
      labelNames: ['kind'],
      registers,
    });
    this.draftsUpdated = new Counter({
      name: 'packagevariant_drafts_updated_total',
      help: 'Pending downstream drafts rewritten in place (the upstream or the mutations moved again), by kind',
      labelNames: ['kind'],
      registers,
    });
    for (const kind of DRAFT_KINDS) {
      this.draftsCreated.inc({ kind }, 0);
      this.draftsUpdated.inc({ kind }, 0);
    }
    this.publishes = new Counter({
      name: 'packagevariant_publishes_total',
      help: 'Drafts the controller published (publishPolicy: Automatic)',
      registers,
    });
    this.mergeConflicts = new Counter({
      name: 'packagevariant_merge_conflicts_total',
      help: 'Conflicting fields (changed both upstream and downstream) in the drafts written',
      registers,
    });
    this.renderDuration = new Histogram({
      name: 'packagevariant_render_duration_seconds',
      help: "Time to run a draft's Kptfile pipeline (kpt fn render)",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.renderFailures = new Counter({
      name: 'packagevariant_render_failures_total',
      help: 'Renders that failed, by the function that failed (its image or exec path)',
      labelNames: ['function'],
      registers,
    });
    // By result, both pre-initialised: the first failure is an increase from 0 (a series that only
    // appears with its first failure shows no increase()), and alerts read the failure ratio.
    this.renders = new Counter({
      name: 'packagevariant_renders_total',
      help: "Drafts' Kptfile pipeline runs by result (success, failure)",
      labelNames: ['result'],
      registers,
    });
    for (const result of ['success', 'failure']) this.renders.inc({ result }, 0);
    const rollouts = this.rollouts;
    this.rolloutHalted = new Gauge({
      name: 'packagevariant_set_rollout_halted',
      help: 'PackageVariantSets with a rollout: 1 while it is halted (more failed variants than maxFailures), else 0',
      labelNames: ['packagevariantset'],
      registers,
      collect() {
        this.reset();
        for (const [packagevariantset, halted] of rollouts) this.set({ packagevariantset }, halted ? 1 : 0);
      },
    });
    this.upgradeLag = new Histogram({
      name: 'packagevariant_upgrade_lag_seconds',
      help: 'Time from an upstream commit first seen by the controller to an upgrade draft carrying it pushed',
      buckets: UPGRADE_LAG_BUCKETS,
      registers,
    });
    variantGauge(
      'packagevariant_variants_outdated',
      'Variants whose published downstream does not carry the current upstream package yet',
      () => this.count((v) => v.state.outdated),
    );
    variantGauge(
      'packagevariant_variants_outdated_oldest_seconds',
      'How long the longest-outdated variant has been outdated (0 when none is)',
      () => this.oldestOutdatedSeconds(),
    );
    variantGauge(
      'packagevariant_drafts_pending',
      'Variants with a draft or proposed downstream revision waiting to be published',
      () => this.count((v) => v.state.draftPending),
    );
    variantGauge('packagevariant_variants_conflicted', 'Variants whose pending draft carries merge conflicts', () =>
      this.count((v) => v.state.conflicted),
    );
    this.gitOperationDuration = new Histogram({
      name: 'packagevariant_git_operation_duration_seconds',
      help: 'Duration of git commands (ls-remote, fetch, push, fast-import, ...) by operation and result',
      labelNames: ['operation', 'result'],
      buckets: GIT_OPERATION_BUCKETS,
      registers,
    });
    this.repositoryPolls = new Counter({
      name: 'packagevariant_repository_polls_total',
      help: 'Git polls (ls-remote, and a fetch when refs moved) by repository and result (success, failure)',
      labelNames: ['repository', 'result'],
      registers,
    });
    this.repositoryLastSuccessfulPoll = new Gauge({
      name: 'packagevariant_repository_last_successful_poll_timestamp_seconds',
      help: 'Unix time of the last successful poll of a repository',
      labelNames: ['repository'],
      registers,
    });
  }

  /** Starts reporting a controller's queue and workers; returns the hooks its WorkQueue takes. */
  workQueueHooks(controller: string): WorkQueueHooks {
    const labels = { name: controller, controller };
    this.workqueueAdds.inc(labels, 0);
    this.workqueueRetries.inc(labels, 0);
    this.workqueueQueueDuration.zero(labels);
    this.workqueueWorkDuration.zero(labels);
    return {
      added: () => this.workqueueAdds.inc(labels),
      started: (_key, waitedMs) => this.workqueueQueueDuration.observe(labels, waitedMs / 1000),
      finished: (_key, workedMs) => this.workqueueWorkDuration.observe(labels, workedMs / 1000),
      retried: () => this.workqueueRetries.inc(labels),
    };
  }

  /** Registers the queue and worker pool of `controller` for the gauges read at scrape time. */
  registerController(controller: string, source: ControllerSource): void {
    this.controllers.set(controller, source);
    for (const result of RECONCILE_OUTCOMES) this.reconcileTotal.inc({ controller, result }, 0);
    this.reconcileErrors.inc({ controller }, 0);
    this.reconcileTime.zero({ controller });
  }

  reconciled(controller: string, outcome: ReconcileOutcome, seconds: number): void {
    this.reconcileTotal.inc({ controller, result: outcome });
    if (outcome === 'error') this.reconcileErrors.inc({ controller });
    this.reconcileTime.observe({ controller }, seconds);
  }

  /** For leader election: 1 while this process holds the lease `name`, 0 otherwise. */
  setLeader(name: string, leading: boolean): void {
    this.leaderElectionMasterStatus.set({ name }, leading ? 1 : 0);
  }

  kubeRequest(code: string, method: string, host: string): void {
    this.restClientRequests.inc({ code, method, host });
  }

  /** One git process. The long-lived `cat-file --batch` readers live as long as their cache: no operation. */
  gitCommand(operation: string, seconds: number, ok: boolean): void {
    if (operation === 'cat-file') return;
    // Both results exist from an operation's first run, so error rates read 0 rather than nothing
    // (a histogram's zero() resets the series: only once per operation).
    if (!this.gitOperations.has(operation)) {
      this.gitOperations.add(operation);
      this.gitOperationDuration.zero({ operation, result: ok ? 'error' : 'success' });
    }
    this.gitOperationDuration.observe({ operation, result: ok ? 'success' : 'error' }, seconds);
  }

  /** One poll of a watched repository (its normalized URL, which carries no credentials). */
  polled(repository: string, ok: boolean): void {
    // Both results exist from a repository's first poll: a first failure is an increase from 0.
    this.repositoryPolls.inc({ repository, result: ok ? 'failure' : 'success' }, 0);
    this.repositoryPolls.inc({ repository, result: ok ? 'success' : 'failure' });
    if (ok) this.repositoryLastSuccessfulPoll.set({ repository }, this.now() / 1000);
  }

  /** A watched upstream package changed its tree to `commit`. */
  upstreamRevisionDetected(repository: string, commit: string): void {
    this.upstreamRevisions.inc({ repository });
    this.lag.seen(commit);
  }

  upstreamResolved(commit: string): void {
    this.lag.seen(commit);
  }

  draftWritten(kind: DraftKind, operation: 'created' | 'updated', upstreamCommit: string, conflicts: number): void {
    (operation === 'created' ? this.draftsCreated : this.draftsUpdated).inc({ kind });
    if (conflicts) this.mergeConflicts.inc(conflicts);
    if (kind === 'upgrade') {
      const lagSeconds = this.lag.lagSeconds(upstreamCommit);
      if (lagSeconds !== undefined) this.upgradeLag.observe(lagSeconds);
    }
  }

  published(): void {
    this.publishes.inc();
  }

  rendered(seconds: number, failedFunction?: string): void {
    this.renderDuration.observe(seconds);
    this.renders.inc({ result: failedFunction === undefined ? 'success' : 'failure' });
    if (failedFunction !== undefined) this.renderFailures.inc({ function: failedFunction });
  }

  rolloutState(key: string, halted: boolean | undefined): void {
    if (halted === undefined) this.rollouts.delete(key);
    else this.rollouts.set(key, halted);
  }

  variantState(key: string, state: VariantState): void {
    const before = this.variants.get(key);
    let outdatedSince: number | undefined;
    if (state.outdated) {
      outdatedSince = before?.outdatedSince ?? this.lag.firstSeen(state.upstreamCommit) ?? this.now();
    }
    this.variants.set(key, { state, ...(outdatedSince !== undefined ? { outdatedSince } : {}) });
  }

  variantGone(key: string): void {
    this.variants.delete(key);
  }

  private oldestOutdatedSeconds(): number {
    let oldest = Infinity;
    for (const { outdatedSince } of this.variants.values())
      if (outdatedSince !== undefined) oldest = Math.min(oldest, outdatedSince);
    return Number.isFinite(oldest) ? Math.max(0, (this.now() - oldest) / 1000) : 0;
  }

  private count(predicate: (v: TrackedVariant) => boolean): number {
    let n = 0;
    for (const variant of this.variants.values()) if (predicate(variant)) n++;
    return n;
  }
}
