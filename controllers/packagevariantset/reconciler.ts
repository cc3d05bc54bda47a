// The PackageVariantSet reconciler: validate, unroll targets, render one PackageVariant spec per
// target, then create / update / delete the generated variants by identity (recomputed from each
// variant's spec), gate upgrades by the rollout, and report status aggregated from the variants.
import {
  API_VERSION,
  describeFieldErrors,
  PACKAGE_VARIANT_SET_FINALIZER,
  PACKAGE_VARIANT_SET_LABEL,
  SUSPENDED_REASON,
  validatePackageVariantSet,
  type PackageVariant,
  type PackageVariantSet,
  type Repository,
  type TargetCollision,
  type VariantSummary,
} from '../../api/v1alpha1/index.ts';
import type { CelLimits } from '../../api/v1alpha1/cel-cost.ts';
import type { ReconcileResult } from '../../lib/kube/workqueue.ts';
import type { SetMetrics } from '../../lib/metrics/metrics.ts';
import { backgroundContext, type ReconcileContext } from '../context.ts';
import { ConflictError, TerminalError } from '../errors.ts';
import { keyString, parseKey, type GroupVersionKind, type ObjectStore } from '../store.ts';
import { TemplateError, TemplateEvaluator } from './cel.ts';
import { variantIdentity, variantName } from './naming.ts';
import { renderVariantSpec, stageLabels, upstreamMap } from './render.ts';
import { variantState, type RolloutPlan, type VariantState } from './rollout.ts';
import { planSetChanges, type DesiredVariant } from './plan.ts';
import { nextSetStatus, setStatusChanged, type SetOutcome } from './status.ts';
import { selectedKinds, TargetListError, unrollTargets, type TargetContext } from './targets.ts';

/** What a manager must watch for a set (Porch watches none of the first two). */
export interface SetObservation {
  /** Repositories in the set's namespace matter: targets select them, or templates read them. */
  repositories: boolean;
  /** Kinds selected by `objectSelector` targets. */
  objectKinds: GroupVersionKind[];
  /** Keys (`namespace/name`) of the generated variants: their status changes move the rollout on. */
  variants: string[];
}

export interface SetReconcilerOptions {
  objects: ObjectStore;
  /**
   * Looks the set's upstream package revision up in its repository: a message when it does not exist
   * (the set is then Stalled with UpstreamNotFound and renders nothing). Absent: not looked up.
   */
  findUpstream?(pvs: PackageVariantSet, repository: Repository): Promise<string | undefined>;
  /** Cost and time limits of template expressions (default DEFAULT_CEL_LIMITS). */
  celLimits?: CelLimits;
  /** Called after each reconcile of a live set, and with `undefined` when it is gone. */
  observe?(key: string, observation: SetObservation | undefined): void;
  /** Where a set's rollout state is reported (`pvctl run`; local mode passes none). */
  metrics?: SetMetrics;
  now?: () => string;
}

export type { DesiredVariant } from './plan.ts';

/** Terminating variants hold their name until their finalizer has cleaned up: look again soon. */
const TERMINATING_REQUEUE_MS = 5_000;
/** Rendering targets gives the event loop a turn this often. */
const YIELD_AFTER_MS = 5;
/** A missing upstream revision is looked for again this often (git is polled, not watched, for a set). */
const UPSTREAM_RECHECK_MS = 60_000;

export class PackageVariantSetReconciler {
  private readonly options: SetReconcilerOptions;

  constructor(options: SetReconcilerOptions) {
    this.options = options;
  }

  async reconcile(key: string, context: ReconcileContext = backgroundContext()): Promise<ReconcileResult | void> {
    context.signal.throwIfAborted();
    const { objects } = this.options;
    let pvs = await objects.get('PackageVariantSet', parseKey(key));
    if (!pvs) {
      this.options.observe?.(key, undefined);
      this.options.metrics?.rolloutState(key, undefined);
      return;
    }
    if (pvs.metadata?.deletionTimestamp) return this.finalize(key, pvs);
    const finalizers = pvs.metadata?.finalizers ?? [];
    if (!finalizers.includes(PACKAGE_VARIANT_SET_FINALIZER)) {
      pvs = await objects.setFinalizers('PackageVariantSet', pvs, [...finalizers, PACKAGE_VARIANT_SET_FINALIZER]);
    }
    const existing = await this.generated(pvs);
    const observation: SetObservation = {
      repositories: true,
      objectKinds: selectedKinds(pvs).filter((k) => k.kind !== 'Repository' || k.apiVersion !== API_VERSION),
      variants: existing.map((pv) => keyString({ namespace: namespaceOf(pvs!), name: pv.metadata!.name! })),
    };
    try {
      const invalid = validatePackageVariantSet(pvs, this.options.celLimits);
      if (invalid.length) throw new TerminalError('ValidationError', describeFieldErrors(invalid));
      const desired = await this.desired(pvs);
      if (pvs.spec?.suspend) {
        await this.writeStatus(pvs, suspendedOutcome(planSetChanges(pvs, desired.variants, existing), existing));
        this.options.metrics?.rolloutState(key, undefined);
        return;
      }
      const result = await this.apply(pvs, desired.variants, existing);
      observation.variants = result.variants.map((pv) =>
        keyString({ namespace: namespaceOf(pvs!), name: pv.metadata!.name! }),
      );
      const outcome: SetOutcome = desired.collisions.length
        ? {
            kind: 'stalled',
            reason: 'TargetCollision',
            message: desired.collisions.map((c) => `${c.name}: ${c.targets.join(' and ')}`).join('; '),
          }
        : { kind: 'ready', reason: 'Reconciled', message: 'package variants successfully reconciled' };
      await this.writeStatus(pvs, {
        ...outcome,
        summary: summarize(result.states),
        failedVariants: result.failed,
        collisions: desired.collisions,
        ...(pvs.spec?.rollout ? { rollout: result.plan } : {}),
      });
      this.options.metrics?.rolloutState(key, pvs.spec?.rollout ? result.plan.halted : undefined);
      return result.terminating ? { requeueAfterMs: TERMINATING_REQUEUE_MS } : undefined;
    } catch (error) {
      if (error instanceof TerminalError) {
        await this.writeStatus(pvs, { kind: 'stalled', reason: error.reason, message: error.message });
        return error.requeueAfterMs ? { requeueAfterMs: error.requeueAfterMs } : undefined;
      }
      // A variant changed since our cache read it: retried at once, not worth a status or an event.
      if (error instanceof ConflictError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      await this.writeStatus(pvs, { kind: 'error', reason: 'UnexpectedError', message });
      objects.recordEvent(pvs, { type: 'Warning', reason: 'ReconcileFailed', message });
      throw error;
    } finally {
      this.options.observe?.(key, observation);
    }
  }

  /** The variants this set generated: labelled with its UID and controlled by it. */
  private async generated(pvs: PackageVariantSet): Promise<PackageVariant[]> {
    const uid = pvs.metadata?.uid ?? '';
    const labelled = await this.options.objects.list('PackageVariant', namespaceOf(pvs), {
      matchLabels: { [PACKAGE_VARIANT_SET_LABEL]: uid },
    });
    return labelled
      .filter((pv) => pv.metadata?.ownerReferences?.some((r) => r.uid === uid && r.controller))
      .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  }

  /** Renders every target; a template error anywhere stalls the whole set, as in Porch. */
  private async desired(pvs: PackageVariantSet) {
    const { objects } = this.options;
    const namespace = namespaceOf(pvs);
    const upstreamName = pvs.spec!.upstream!.repo!;
    const upstreamRepo = await objects.get('Repository', { namespace, name: upstreamName });
    if (!upstreamRepo) {
      throw new TerminalError(
        'UpstreamNotFound',
        `could not find upstream Repository "${upstreamName}" in namespace ${namespace}`,
      );
    }
    const missing = await this.options.findUpstream?.(pvs, upstreamRepo);
    if (missing) throw new TerminalError('UpstreamNotFound', missing, UPSTREAM_RECHECK_MS);
    let contexts: TargetContext[];
    try {
      contexts = await unrollTargets(pvs, objects);
    } catch (error) {
      if (error instanceof TargetListError) throw new TerminalError(error.reason, error.message);
      throw error;
    }
    const repositories = new Map<string, Repository>(
      (await objects.list('Repository', namespace)).map((r) => [r.metadata!.name!, r]),
    );
    const cel = new TemplateEvaluator(this.options.celLimits);
    const upstream = upstreamMap(pvs, upstreamRepo);
    const byIdentity = new Map<string, DesiredVariant>();
    const byName = new Map<string, DesiredVariant>();
    const collisions = new Map<string, TargetCollision>();
    const collide = (name: string, first: DesiredVariant, next: DesiredVariant) => {
      const entry = collisions.get(name) ?? { name, targets: [first.source] };
      entry.targets.push(next.source);
      collisions.set(name, entry);
    };
    let turn = performance.now();
    for (const context of contexts) {
      // Each expression is bounded; a fleet of them is not: let the event loop turn between targets.
      if (performance.now() - turn > YIELD_AFTER_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        turn = performance.now();
      }
      let rendered;
      try {
        rendered = renderVariantSpec(pvs, context, { repositories, upstream }, cel);
      } catch (error) {
        // Out of time may pass on a retry (the machine was busy); out of cost, or a bad template, not.
        if (error instanceof TemplateError && error.transient) throw new Error(error.message, { cause: error });
        if (error instanceof TemplateError) throw new TerminalError('UnexpectedError', error.message);
        throw error;
      }
      const { spec } = rendered;
      const identity = variantIdentity(pvs.metadata!.name!, spec);
      const variant: DesiredVariant = {
        identity,
        name: variantName(identity),
        spec,
        labels: stageLabels(context, rendered.repository ?? repositories.get(spec.downstream!.repo!)),
        source: `targets[${context.target}]: ${spec.downstream!.repo}/${spec.downstream!.package}`,
      };
      // Two targets rendering the same repo/package, or `a-b`+`c` and `a`+`b-c`: keep the first, report both.
      const clash = byIdentity.get(identity) ?? byName.get(variant.name);
      if (clash) {
        collide(variant.name, clash, variant);
        continue;
      }
      byIdentity.set(identity, variant);
      byName.set(variant.name, variant);
    }
    return { variants: [...byIdentity.values()], collisions: [...collisions.values()] };
  }

  /** Performs a plan: deletions first (their own deletion policy cleans up), then updates and creations. */
  private async apply(pvs: PackageVariantSet, desired: DesiredVariant[], existing: PackageVariant[]) {
    const { objects } = this.options;
    const changes = planSetChanges(pvs, desired, existing);
    for (const name of changes.deletes) {
      await objects.delete('PackageVariant', { namespace: namespaceOf(pvs), name });
      objects.recordEvent(pvs, { type: 'Normal', reason: 'VariantDeleted', message: `deleted PackageVariant ${name}` });
    }
    const variants: PackageVariant[] = [];
    for (const change of changes.variants) {
      if (change.write === 'none') variants.push(change.variant);
      else if (change.write === 'update') variants.push(await objects.update('PackageVariant', change.variant));
      else {
        variants.push(await objects.create('PackageVariant', change.variant));
        objects.recordEvent(pvs, {
          type: 'Normal',
          reason: 'VariantCreated',
          message: `created PackageVariant ${change.variant.metadata!.name}`,
        });
      }
    }
    return { ...changes, variants };
  }

  /** Deletes the generated variants; the set goes once they are gone (their finalizers clean up git). */
  private async finalize(key: string, pvs: PackageVariantSet): Promise<ReconcileResult | void> {
    const finalizers = pvs.metadata?.finalizers ?? [];
    if (!finalizers.includes(PACKAGE_VARIANT_SET_FINALIZER)) return;
    const remaining = await this.generated(pvs);
    for (const pv of remaining) {
      if (!pv.metadata?.deletionTimestamp) {
        await this.options.objects.delete('PackageVariant', { namespace: namespaceOf(pvs), name: pv.metadata!.name! });
      }
    }
    if ((await this.generated(pvs)).length) {
      this.options.observe?.(key, {
        repositories: false,
        objectKinds: [],
        variants: remaining.map((pv) => keyString({ namespace: namespaceOf(pvs), name: pv.metadata!.name! })),
      });
      return { requeueAfterMs: TERMINATING_REQUEUE_MS };
    }
    await this.options.objects.setFinalizers(
      'PackageVariantSet',
      pvs,
      finalizers.filter((f) => f !== PACKAGE_VARIANT_SET_FINALIZER),
    );
    this.options.observe?.(key, undefined);
  }

  private async writeStatus(pvs: PackageVariantSet, outcome: SetOutcome): Promise<void> {
    const status = nextSetStatus(pvs, outcome, this.options.now?.());
    if (setStatusChanged(pvs.status, status)) await this.options.objects.patchStatus('PackageVariantSet', pvs, status);
  }
}

/** What the set would change among its variants, were it not suspended (`argocd appset generate` style). */
function suspendedOutcome(changes: ReturnType<typeof planSetChanges>, existing: PackageVariant[]): SetOutcome {
  const updates = changes.variants.filter((c) => c.write === 'update').length;
  const creates = changes.variants.filter((c) => c.write === 'create').length;
  const pending = [
    creates ? `${creates} to create` : '',
    updates ? `${updates} to update` : '',
    changes.deletes.length ? `${changes.deletes.length} to delete` : '',
  ].filter(Boolean);
  return {
    kind: 'suspended',
    reason: SUSPENDED_REASON,
    message:
      'suspended (spec.suspend): no PackageVariant is created, updated or deleted, and its variants write nothing to git' +
      (pending.length ? `; pending: ${pending.join(', ')}` : ''),
    // The variants there are (not those it would create).
    summary: summarize(existing.filter((pv) => !pv.metadata?.deletionTimestamp).map(variantState)),
  };
}

function namespaceOf(pvs: PackageVariantSet): string {
  return pvs.metadata?.namespace ?? 'default';
}

function summarize(states: readonly VariantState[]): VariantSummary {
  const summary: VariantSummary = {
    total: states.length,
    upToDate: 0,
    waiting: 0,
    draftPending: 0,
    conflicted: 0,
    failed: 0,
  };
  for (const state of states) summary[state]++;
  return summary;
}

export type { RolloutPlan };
