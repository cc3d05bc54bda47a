// The PackageVariant reconciler: every reconcile is the same four steps.
//   observe  (observe.ts)  every read: Repositories, upstream revision, downstream revisions, package
//                          contents, injection sources — a plain value;
//   content  (content.ts)  the downstream package, stage by stage: merge → mutations → ...;
//   decide   (decide.ts)   pure: the git operations, events and status targets;
//   act      (act.ts)      one push, the events, the publish, the metrics;
//   report   (status.ts)   the status, written only when it changed.
// Every decision is made from git state, so a restarted controller finds its drafts again and never
// makes a second one.
import {
  defaultPackageVariantSpec,
  describeFieldErrors,
  PACKAGE_VARIANT_FINALIZER,
  PACKAGE_VARIANT_SET_KIND,
  SUSPENDED_REASON,
  validatePackageVariant,
  type PackageVariant,
} from '../../api/v1alpha1/index.ts';
import type { RenderOptions } from '../../lib/fn/render.ts';
import type { GitStore } from '../../lib/git/store.ts';
import type { ReconcileResult } from '../../lib/kube/workqueue.ts';
import { MergeConflictError, type ConflictPolicy } from '../../lib/merge/index.ts';
import type { VariantMetrics } from '../../lib/metrics/metrics.ts';
import { backgroundContext, type ReconcileContext } from '../context.ts';
import { TerminalError } from '../errors.ts';
import { keyString, parseKey, type ObjectStore } from '../store.ts';
import type { UpstreamWatch } from '../repositories/index.ts';
import { act, type ActDeps } from './act.ts';
import { incompleteCleanup, planCleanup } from './cleanup.ts';
import { computeContent } from './content.ts';
import type { ContentThreads } from './content-threads.ts';
import { decide, keptEvent } from './decide.ts';
import { ownerOf } from './downstream.ts';
import { locationOf, type GitStores } from './git-stores.ts';
import { MutationError } from './mutations.ts';
import { refsFingerprint, type ReconcileMemo } from './memo.ts';
import { observeRefs, observeVariant, type Observed } from './observe.ts';
import { UPGRADE_HELD_REASON } from './publish.ts';
import type { PushCoalescer } from './push-coalescer.ts';
import { newRequest, nextStatus, statusChanged, upstreamStatus, type Outcome } from './status.ts';

/** What the controller learns about a variant that the watches need. */
export interface Observation {
  upstream?: UpstreamWatch;
  /** Namespaced names of the Repositories the variant uses. */
  repositories: string[];
  /** apiVersion/kind of the injection points found in its inputs. */
  injectionKinds: string[];
}

export interface ReconcilerOptions extends Omit<ActDeps, 'objects' | 'stores' | 'pushes'> {
  objects: ObjectStore;
  stores: GitStores;
  pushes: PushCoalescer;
  conflictPolicy?: ConflictPolicy;
  /** Function runtimes for rendering drafts: allowed executables, a container runtime, timeouts. */
  render?: RenderOptions;
  /** Worker threads for the content pipeline (merge, mutations, render); without: on this thread. */
  contentThreads?: ContentThreads;
  /** Called after each reconcile of a live variant, and with `undefined` when it is gone. */
  observe?(key: string, observation: Observation | undefined): void;
  /** Drafts, publishes, conflicts and each variant's state, for the metrics (controller mode). */
  metrics?: VariantMetrics;
  /** Remembered no-op reconciles (local mode): a variant whose inputs did not move is not read again. */
  memo?: ReconcileMemo;
  /** Called after the variant's own push to its downstream package (so the watcher does not take it for news). */
  downstreamWritten?(store: GitStore, packageName: string): Promise<void>;
  now?: () => string;
}

/** A reconcile's result, with the resourceVersion of the status it wrote (controller mode), if it wrote one. */
export type VariantReconcileResult = ReconcileResult & { statusVersion?: string };

const failedStatusVersions = new WeakMap<object, string>();

/**
 * The resourceVersion of the status a failed reconcile wrote before it threw `error` (its error
 * status), as {@link VariantReconcileResult.statusVersion} is for one that returned.
 */
export function failedStatusVersion(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? failedStatusVersions.get(error) : undefined;
}

export class PackageVariantReconciler {
  private readonly options: ReconcilerOptions;

  constructor(options: ReconcilerOptions) {
    this.options = options;
  }

  /** Reconciles one variant, `namespace/name`. Throws to be retried with backoff. */
  async reconcile(
    key: string,
    context: ReconcileContext = backgroundContext(),
  ): Promise<VariantReconcileResult | void> {
    const { objects } = this.options;
    let pv = await objects.get('PackageVariant', parseKey(key));
    if (!pv) {
      this.options.observe?.(key, undefined);
      this.options.metrics?.variantGone(key);
      return;
    }
    if (pv.metadata?.deletionTimestamp) return this.finalize(pv, await this.suspendedBy(pv));
    const finalizers = pv.metadata?.finalizers ?? [];
    if (!finalizers.includes(PACKAGE_VARIANT_FINALIZER)) {
      pv = await objects.setFinalizers('PackageVariant', pv, [...finalizers, PACKAGE_VARIANT_FINALIZER]);
    }
    const invalid = validatePackageVariant(pv);
    if (invalid.length) {
      return this.report(pv, { kind: 'stalled', reason: 'ValidationError', message: describeFieldErrors(invalid) });
    }
    try {
      return await this.report(pv, await this.ensureDownstream(key, pv, context, await this.suspendedBy(pv)));
    } catch (error) {
      if (error instanceof TerminalError) {
        return this.report(pv, { kind: 'stalled', reason: error.reason, message: error.message });
      }
      const message = error instanceof MutationError || error instanceof Error ? error.message : String(error);
      const reason = error instanceof MergeConflictError ? 'MergeConflicts' : 'Error';
      const reported = await this.report(pv, { kind: 'error', reason, message });
      if (reported?.statusVersion && typeof error === 'object' && error !== null) {
        failedStatusVersions.set(error, reported.statusVersion);
      }
      objects.recordEvent(pv, { type: 'Warning', reason: 'ReconcileFailed', message });
      throw error;
    }
  }

  /**
   * What suspends the variant: its own `spec.suspend`, or the `spec.suspend` of the
   * PackageVariantSet that controls it; undefined when nothing does.
   */
  private async suspendedBy(pv: PackageVariant): Promise<string | undefined> {
    if (pv.spec?.suspend) return 'spec.suspend';
    const owner = pv.metadata?.ownerReferences?.find((r) => r.controller && r.kind === PACKAGE_VARIANT_SET_KIND);
    if (!owner?.name) return undefined;
    const namespace = pv.metadata?.namespace ?? 'default';
    const set = await this.options.objects.get('PackageVariantSet', { namespace, name: owner.name });
    return set?.spec?.suspend && (!owner.uid || set.metadata?.uid === owner.uid)
      ? `PackageVariantSet ${owner.name} is suspended`
      : undefined;
  }

  /** observe → content → decide → act, and the outcome to report; a suspended variant stops after observe. */
  private async ensureDownstream(
    key: string,
    pv: PackageVariant,
    context: ReconcileContext,
    suspendedBy?: string,
  ): Promise<Outcome> {
    const { log, signal } = context;
    let started = performance.now();
    const lap = () => {
      const ms = Math.round(performance.now() - started);
      started = performance.now();
      return ms;
    };
    const spec = defaultPackageVariantSpec(pv.spec!);
    const watched: Observation = { repositories: [], injectionKinds: [] };
    // A request (`pvctl request-reconcile`) not handled yet: git is fetched now, not at the next poll.
    const refetch = newRequest(pv);
    const deps = {
      objects: this.options.objects,
      stores: this.options.stores,
      refetch,
      onRepositories: (names: string[]) => {
        watched.repositories = names;
        this.options.observe?.(key, watched);
      },
    };
    const refs = await observeRefs(deps, pv, spec);
    const { memo } = this.options;
    const namespace = pv.metadata?.namespace ?? 'default';
    const settings = { conflictPolicy: this.options.conflictPolicy ?? null, render: this.options.render ?? null };
    const refsPrint = memo && !refetch && !suspendedBy ? await refsFingerprint(refs, pv, settings) : undefined;
    const remembered = refsPrint ? await memo!.recall(key, refsPrint, this.options.objects, namespace) : undefined;
    if (remembered) {
      log.debug(
        { durationMs: lap(), upstreamCommit: refs.upstream.commit },
        'unchanged since a reconcile that wrote nothing',
      );
      this.options.observe?.(key, {
        ...watched,
        upstream: refs.upstream.watch,
        injectionKinds: remembered.injectionKinds,
      });
      return remembered.outcome;
    }
    // The packages live only in this function: a reconcile waiting for its push (every other
    // reconcile of the pass, in local mode) holds the draft it writes, not the packages it read.
    const decided = await (async () => {
      const observed = await observeVariant(deps, pv, spec, refs);
      log.debug(
        {
          durationMs: lap(),
          upstreamCommit: observed.upstream.commit,
          base: observed.base?.revision.ref,
          drafts: observed.downstream.drafts.length,
        },
        'observed',
      );
      signal.throwIfAborted();
      this.options.metrics?.upstreamResolved(observed.upstream.commit);
      const injectionKinds = [...observed.injection.keys()];
      this.options.observe?.(key, { ...watched, upstream: observed.upstream.watch, injectionKinds });
      if (suspendedBy) return { suspended: suspendedOutcome(observed, suspendedBy) };
      const contentOptions = {
        conflictPolicy: this.options.conflictPolicy ?? 'upstream-wins',
        ...(this.options.render ? { render: this.options.render } : {}),
      };
      const { contentThreads } = this.options;
      const content = contentThreads
        ? await contentThreads.compute(observed, contentOptions)
        : await computeContent(observed, contentOptions);
      const decision = decide(observed, content);
      log.debug(
        {
          durationMs: lap(),
          task: content.task,
          ops: decision.ops.map((op) => op.kind),
          ...(decision.publish ? { publish: decision.publish.workspace } : {}),
          ...(decision.held ? { held: decision.held } : {}),
          ...(decision.withheld ? { withheld: decision.withheld } : {}),
        },
        'decided',
      );
      if (decision.stalled) throw new TerminalError(decision.stalled.reason, decision.stalled.message);
      return { decision, injectionKinds, observed: withoutPackages(observed) };
    })();
    if (decided.suspended) return decided.suspended;
    const { decision, injectionKinds, observed } = decided;
    signal.throwIfAborted();
    const targets = await act(this.options, observed, decision);
    log.debug({ durationMs: lap(), targets: targets.map((t) => `${t.name} ${t.lifecycle}`) }, 'acted');
    // Nothing was pushed and nothing will be until the package or its pipeline changes: a person
    // must act, and a rollout must not count the variant as up to date.
    if (decision.render?.blocked) {
      throw new TerminalError('RenderFailed', `render failed; nothing pushed: ${decision.render.error}`);
    }
    // A revision published just now is the latest published one: its upstream lock is the draft's.
    const justPublished = decision.publish && targets[0]?.lifecycle === 'Published' ? targets[0] : undefined;
    const outcome: Outcome = {
      kind: 'ready',
      reason: decision.held ? UPGRADE_HELD_REASON : 'NoErrors',
      message: decision.held ?? decision.withheld ?? 'successfully ensured downstream package variant',
      targets,
      upstream: upstreamStatus(
        observed,
        justPublished ? (justPublished.upstreamCommit ?? observed.upstream.commit) : undefined,
      ),
    };
    if (refsPrint) {
      const wroteNothing = !decision.ops.length && !decision.publish && !decision.events.length;
      await memo!.remember(key, refsPrint, this.options.objects, namespace, {
        injectionKinds,
        outcome: wroteNothing ? outcome : undefined,
      });
    }
    return outcome;
  }

  /**
   * Deletion: drafts go, published revisions are proposed for deletion (or all is left, `orphan`).
   * A suspended variant writes nothing to git, on deletion too: it is orphaned (as Flux skips
   * garbage collection for a suspended object).
   */
  private async finalize(pv: PackageVariant, suspendedBy?: string): Promise<void> {
    const { objects, stores } = this.options;
    const finalizers = pv.metadata?.finalizers ?? [];
    const namespace = pv.metadata!.namespace ?? 'default';
    const key = keyString({ namespace, name: pv.metadata!.name! });
    if (!finalizers.includes(PACKAGE_VARIANT_FINALIZER)) return;
    const spec = defaultPackageVariantSpec(pv.spec ?? {});
    const repoName = spec.downstream?.repo;
    const repo = repoName ? await objects.get('Repository', { namespace, name: repoName }) : undefined;
    if (suspendedBy && spec.deletionPolicy === 'delete') {
      objects.recordEvent(pv, {
        type: 'Normal',
        reason: 'Orphaned',
        message: `deleted while suspended (${suspendedBy}): the downstream revisions were left in place`,
      });
    } else if (spec.deletionPolicy === 'delete' && repo?.spec?.git && spec.downstream?.package) {
      const store = await stores.get(locationOf(repo));
      await stores.ensureRefreshed(store);
      const packageName = spec.downstream.package;
      const plan = planCleanup(await store.listRevisions({ packageName }), ownerOf(pv), packageName);
      for (const kept of plan.kept) objects.recordEvent(pv, keptEvent(repoName!, kept));
      const failed = incompleteCleanup(plan.ops.length ? await this.options.pushes.submit(store, plan.ops) : []);
      if (failed.length) {
        stores.invalidate(store);
        throw new Error(
          `cleanup of ${packageName} in ${repoName} incomplete: ${failed.map((r) => `${r.op} ${r.status}`).join(', ')}`,
        );
      }
    } else if (spec.deletionPolicy === 'delete' && repoName && !repo) {
      objects.recordEvent(pv, {
        type: 'Warning',
        reason: 'Orphaned',
        message: `Repository ${repoName} is gone; the downstream revisions were left in place`,
      });
    }
    await objects.setFinalizers(
      'PackageVariant',
      pv,
      finalizers.filter((f) => f !== PACKAGE_VARIANT_FINALIZER),
    );
    this.options.observe?.(key, undefined);
    this.options.metrics?.variantGone(key);
  }

  /** Status from the outcome, written only when it changed; the resourceVersion written, if any. */
  private async report(pv: PackageVariant, outcome: Outcome): Promise<VariantReconcileResult | undefined> {
    const status = nextStatus(pv, outcome, this.options.now?.());
    if (!statusChanged(pv.status, status)) return undefined;
    const statusVersion = await this.options.objects.patchStatus('PackageVariant', pv, status);
    return statusVersion ? { statusVersion } : undefined;
  }
}

/** What a reconcile keeps of its observation past the decision (for act and status.upstream): not the packages. */
function withoutPackages({ pv, key, downStore, packageName, upstream, upstreamHistory, lock }: Observed) {
  return { pv, key, downStore, packageName, upstream, upstreamHistory, lock };
}

/** Ready False, reason Suspended: what was observed, and what a resume would do first. */
function suspendedOutcome(observed: Observed, suspendedBy: string): Outcome {
  const short = observed.upstream.commit.slice(0, 12);
  const pending = !observed.base
    ? `; on resume the downstream package ${observed.packageName} is created from upstream ${short}`
    : !observed.lock?.current
      ? `; upstream ${short} is not in the downstream yet`
      : '';
  return {
    kind: 'suspended',
    reason: SUSPENDED_REASON,
    message: `suspended (${suspendedBy}): nothing is written to git${pending}`,
    upstream: upstreamStatus(observed),
  };
}
